#!/usr/bin/env bash
# The AWS CLI against the local Step Functions endpoint (make serve's
# pipeline-endpoint), as a user's script would run it with --endpoint-url:
# validate, create-state-machine from the definition file, start-execution,
# describe-execution until it ends, get-execution-history, test-state, and
# the CLI's own error for an unknown execution.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/awscli/ensure.sh
AWS=.local/awscli-venv/bin/aws
BIN=${PIPELINE_ENDPOINT_BIN:-target/debug/pipeline-endpoint}
[ -x "$BIN" ] || cargo build --quiet --locked -p offline-runner --bin pipeline-endpoint

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" --port "$PORT" --store "$WORK/store" --work-dir "$WORK/run" --rows 50 2>"$WORK/endpoint.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
URL="http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
# test-state and start-sync-execution go to a "sync-" host on AWS; an IP
# address takes no prefix (docs/endpoint.md).
export AWS_DISABLE_HOST_PREFIX_INJECTION=true
sfn() { "$AWS" stepfunctions --endpoint-url "$URL" "$@"; }
pass=0
fail=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then
    echo "ok - $1"
    pass=$((pass + 1))
  else
    echo "not ok - $1: expected '$2', got '$3'"
    fail=$((fail + 1))
  fi
}

DEF=file://statemachine/report-pipeline.asl.json
check "validate-state-machine-definition says OK" "OK" \
  "$(sfn validate-state-machine-definition --definition "$DEF" --query result --output text)"

SM=$(sfn create-state-machine --name report-pipeline --definition "$DEF" \
  --role-arn arn:aws:iam::111111111111:role/local --query stateMachineArn --output text)
check "create-state-machine answers the ARN" "arn:aws:states:us-east-1:111111111111:stateMachine:report-pipeline" "$SM"

EXEC=$(sfn start-execution --state-machine-arn "$SM" --name cli-run --input '{}' --query executionArn --output text)
check "start-execution answers the execution ARN" "arn:aws:states:us-east-1:111111111111:execution:report-pipeline:cli-run" "$EXEC"

STATUS=RUNNING
for _ in $(seq 300); do
  STATUS=$(sfn describe-execution --execution-arn "$EXEC" --query status --output text)
  [ "$STATUS" != RUNNING ] && break
  sleep 0.1
done
check "describe-execution: the pipeline succeeded" "SUCCEEDED" "$STATUS"
check "its output says 50 rows were published" "50" \
  "$(sfn describe-execution --execution-arn "$EXEC" --query output --output text | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"])')"

# The CLI pages get-execution-history itself (nextToken) with --page-size.
HISTORY=$(sfn get-execution-history --execution-arn "$EXEC" --page-size 5 --output json)
check "get-execution-history starts with ExecutionStarted" "ExecutionStarted" \
  "$(echo "$HISTORY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"][0]["type"])')"
check "and ends with ExecutionSucceeded after UpdateSite" "UpdateSite ExecutionSucceeded" \
  "$(echo "$HISTORY" | python3 -c '
import json, sys
ev = json.load(sys.stdin)["events"]
names = [e["stateEnteredEventDetails"]["name"] for e in ev if "stateEnteredEventDetails" in e]
print("UpdateSite" if "UpdateSite" in names else "-", ev[-1]["type"])')"
check "event ids run 1..N across pages" "ok" \
  "$(echo "$HISTORY" | python3 -c '
import json, sys
ids = [e["id"] for e in json.load(sys.stdin)["events"]]
print("ok" if ids == list(range(1, len(ids) + 1)) and len(ids) > 5 else ids)')"

check "test-state routes a COMPLETED report to DownloadReport" "DownloadReport" \
  "$(sfn test-state --definition "$DEF" --state-name IsReportReady \
      --input '{"status":"COMPLETED","poll_count":1,"max_polls":30}' --query nextState --output text)"

set +e
ERR=$(sfn describe-execution --execution-arn "$SM:nope" 2>&1 >/dev/null)
set -e
case "$ERR" in
  *"(InvalidArn)"*) check "a state machine ARN given as an execution is InvalidArn" ok ok ;;
  *) check "a state machine ARN given as an execution is InvalidArn" "InvalidArn" "$ERR" ;;
esac
set +e
ERR=$(sfn describe-execution --execution-arn "${EXEC}x" 2>&1 >/dev/null)
set -e
case "$ERR" in
  *"(ExecutionDoesNotExist)"*) check "ExecutionDoesNotExist names the ARN" ok ok ;;
  *) check "ExecutionDoesNotExist names the ARN" "ExecutionDoesNotExist" "$ERR" ;;
esac

echo "# endpoint-cli: $pass passed, $fail failed"
if [ "$fail" -gt 0 ]; then
  echo "--- endpoint log"; cat "$WORK/endpoint.log"
  exit 1
fi
