#!/usr/bin/env bash
# Runs cargo-fuzz targets for a bounded time each; used by fuzz.mk (`make fuzz`,
# `make fuzz-ci`). Usage: fuzz/run.sh SECONDS TARGET...
#
# Each target starts from its committed seed corpus (fuzz/corpus/<target>, read
# only) plus a working corpus that grows across runs ($FUZZ_WORK/corpus/<target>,
# not committed). A failure leaves its input in $FUZZ_WORK/artifacts/<target>/,
# prints the end of the fuzzer's log and the command that replays it, and makes
# the run exit non-zero after the remaining targets have run.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=$1; shift
: "${FUZZ_WORK:=$PWD/.local/fuzz}"
: "${FUZZ_TARGET_DIR:=$PWD/fuzz/target}"
: "${FUZZ_MAX_LEN:=4096}"
: "${FUZZ_ARGS:=}"
# asl_execute also starts from the recorded ASL executions, read in place.
: "${ASL_CONFORMANCE_DIR:=$PWD/../shared/asl-conformance/cases}"
# Fake stacks for use-after-return cost a third of the renderer's speed and
# guard against nothing safe Rust can do.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=0}"
read -r -a fuzz_cargo <<<"${FUZZ_CARGO:-cargo +nightly}"

fuzz() { "${fuzz_cargo[@]}" fuzz "$@"; }

build_start=$SECONDS
# `cargo fuzz build` takes one target, or none for all of them.
if [ $# -eq 1 ]; then
  fuzz build --target-dir "$FUZZ_TARGET_DIR" "$1" || exit 1
else
  fuzz build --target-dir "$FUZZ_TARGET_DIR" || exit 1
fi
echo "== fuzz: built $* in $((SECONDS - build_start)) s"

failed=()
for target in "$@"; do
  work="$FUZZ_WORK/corpus/$target"
  artifacts="$FUZZ_WORK/artifacts/$target/"
  log="$FUZZ_WORK/logs/$target.log"
  mkdir -p "$work" "$artifacts" "$(dirname "$log")"
  stamp="$FUZZ_WORK/logs/$target.started"
  touch "$stamp"
  echo "== fuzz: $target for ${seconds} s (log: $log)"
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of libFuzzer flags
  seeds=("fuzz/corpus/$target")
  max_len=$FUZZ_MAX_LEN
  if [ "$target" = asl_execute ]; then
    # Definitions with their inputs are larger than CSV rows or payloads.
    max_len=$((FUZZ_MAX_LEN > 16384 ? FUZZ_MAX_LEN : 16384))
    if [ -d "$ASL_CONFORMANCE_DIR" ]; then
      seeds+=("$ASL_CONFORMANCE_DIR")
    else
      echo "   (no $ASL_CONFORMANCE_DIR: seeds from fuzz/corpus/$target only)"
    fi
  fi
  fuzz run --target-dir "$FUZZ_TARGET_DIR" "$target" "$work" "${seeds[@]}" -- \
    -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$artifacts" -print_final_stats=1 $FUZZ_ARGS >"$log" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' "$log" | tail -1)
  if [ "$status" -eq 0 ]; then
    echo "   ok: ${runs:-?} runs, ${rate:-?} exec/s; $cov"
  else
    failed+=("$target")
    echo "   FAILED (exit $status): the last lines of $log:"
    tail -n 40 "$log" | sed 's/^/   | /'
    find "$artifacts" -type f -newer "$stamp" | while read -r crash; do
      echo "   input: $crash"
      echo "   replay: ${fuzz_cargo[*]} fuzz run --target-dir $FUZZ_TARGET_DIR $target $crash"
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "== fuzz: ${#@} targets, no failure"
