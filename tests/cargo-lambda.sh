#!/usr/bin/env bash
# The cargo-lambda workflow the README documents, for real: the dev servers,
# `cargo lambda watch` serving the four functions with the environment that
# points at them, and `cargo lambda invoke <Function> --data-file
# tests/payloads/<Function>.json` for each step in order. Ends with
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

cl=$(scripts/ensure-cargo-lambda.sh)
export PATH="$(dirname "$cl"):$PATH"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 1 600); do
    (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "nothing listens on port $1 after 300 s" >&2
  return 1
}

sim_port=$(free_port); s3_port=$(free_port); lambda_port=$(free_port)
cargo build --quiet -p local-services --bin dev-servers
# The report completes on the first poll, so the payloads run straight through.
target/debug/dev-servers --sim-port "$sim_port" --s3-port "$s3_port" --root "$work/s3" --polls 0 > "$work/dev-servers.log" 2>&1 &
pids+=($!)
wait_port "$sim_port"; wait_port "$s3_port"

export REPORT_API_URL=http://127.0.0.1:$sim_port S3_ENDPOINT_URL=http://127.0.0.1:$s3_port S3_FORCE_PATH_STYLE=true \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=testtesttest AWS_REGION=us-east-1 \
  REPORTS_BUCKET=reports SITE_BUCKET=site LOCAL_MODE=true RUST_LOG=info
echo "cargo lambda watch on :$lambda_port (log: $work/watch.log)"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$lambda_port" > "$work/watch.log" 2>&1 &
pids+=($!)
wait_port "$lambda_port"

passed=0; failed=0
check() { # name, command output file, jq-free python assertion
  local name=$1 out=$2 expr=$3
  if python3 -c "import json,sys; v=json.load(open('$out')); sys.exit(0 if ($expr) else 1)" 2>/dev/null; then
    echo "PASS: $name"; passed=$((passed+1))
  else
    echo "FAIL: $name: $(head -c 600 "$out")"; failed=$((failed+1))
  fi
}
invoke() { # function -> $work/<function>.out (the payload's simulator URLs moved to this run's port)
  sed "s/127.0.0.1:9100/127.0.0.1:$sim_port/g" "tests/payloads/$1.json" > "$work/$1.json"
  # The first invocation of each function compiles it; give it time.
  cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$lambda_port" \
    --data-file "$work/$1.json" --output-format json > "$work/$1.out" 2>&1 || true
}

invoke CreateReport
check "cargo lambda invoke CreateReport creates rpt-000001" "$work/CreateReport.out" "v['report_id']=='rpt-000001' and v['poll_count']==0"
invoke PollReport
check "cargo lambda invoke PollReport sees it COMPLETED" "$work/PollReport.out" "v['status']=='COMPLETED' and v['download_url'].endswith('/files/rpt-000001.csv')"
invoke DownloadReport
check "cargo lambda invoke DownloadReport stores the CSV" "$work/DownloadReport.out" "v['key']=='reports/rpt-000001.csv' and v['bytes']>0"
# UpdateSite reads what DownloadReport stored; its payload names that key.
invoke UpdateSite
check "cargo lambda invoke UpdateSite publishes index.html" "$work/UpdateSite.out" "v['index_key']=='index.html' and v['rows']>0"
if [ -f "$work/s3/site/index.html" ] && grep -q '<table id="report"' "$work/s3/site/index.html"; then
  echo "PASS: the page is on the embedded S3"; passed=$((passed+1))
else
  echo "FAIL: no page at $work/s3/site/index.html"; failed=$((failed+1))
fi
# A function error comes back with its stable name.
echo '{"report_id": "../x"}' > "$work/bad.json"
cargo lambda invoke UpdateSite --invoke-address 127.0.0.1 --invoke-port "$lambda_port" --data-file "$work/bad.json" --output-format json > "$work/bad.out" 2>&1 || true
if grep -q 'Input.Invalid' "$work/bad.out"; then
  echo "PASS: a bad payload fails as Input.Invalid"; passed=$((passed+1))
else
  echo "FAIL: a bad payload: $(head -c 600 "$work/bad.out")"; failed=$((failed+1))
fi
[ "$failed" -eq 0 ] || { echo "--- watch.log"; tail -40 "$work/watch.log"; }
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
