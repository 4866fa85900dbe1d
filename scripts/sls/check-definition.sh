#!/usr/bin/env bash
# Lint a state machine definition with two independent validators:
#   - asl-validator (npm, pinned in package.json) on the definition as written
#     (it accepts the {"Fn::GetAtt": ...} Resources) and on the rendered copy;
#   - statelint (PyPI, pinned in requirements-statelint.txt, venv in .local/)
#     on the rendered copy, since statelint requires every Resource to be a URI.
# Usage: scripts/sls/check-definition.sh [DEFINITION.json]   (exit 1 on any failure)
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEF="${1:-$ROOT/statemachine/report-pipeline.asl.json}"
cd "$ROOT"
scripts/sls/ensure-node-modules.sh >&2 || exit 1
scripts/sls/ensure-statelint.sh >&2 || exit 1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

echo "== asl-validator $(node_modules/.bin/asl-validator --version) on $DEF"
node_modules/.bin/asl-validator --json-path "$DEF" || status=1

if python3 scripts/sls/render-definition.py "$DEF" "$tmp/rendered.asl.json"; then
  echo "== asl-validator on the rendered definition (ARN check on)"
  node_modules/.bin/asl-validator --json-path "$tmp/rendered.asl.json" || status=1
  echo "== statelint $(.local/statelint-venv/bin/pip show statelint 2>/dev/null | sed -n 's/^Version: //p') on the rendered definition"
  if .local/statelint-venv/bin/statelint "$tmp/rendered.asl.json"; then
    echo "✓ statelint: no problems"
  else
    status=1
  fi
else
  status=1
fi

if [ $status -eq 0 ]; then echo "definition OK: $DEF"; else echo "definition INVALID: $DEF" >&2; fi
exit $status
