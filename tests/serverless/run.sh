#!/usr/bin/env bash
# Offline checks of serverless.yml + the state machine definition (`make test-serverless`).
# Ends with "N passed, M failed"; exits non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 tests/serverless/check_serverless.py "$@"
