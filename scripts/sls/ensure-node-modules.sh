#!/usr/bin/env bash
# Install the pinned deployment tooling (package-lock.json) when node_modules is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x node_modules/.bin/sls ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "node_modules missing or older than package-lock.json: running npm ci"
  npm ci --no-audit --no-fund
fi
