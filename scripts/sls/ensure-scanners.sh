#!/usr/bin/env bash
# Create .local/scanners-venv with the pinned cfn-lint and checkov (PyPI) when
# missing or older than scripts/sls/requirements-scanners.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.local/scanners-venv
REQ=scripts/sls/requirements-scanners.txt
if [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -x "$VENV/bin/checkov" ] || [ "$REQ" -nt "$VENV/.installed" ]; then
  echo "creating $VENV (cfn-lint and checkov from PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  touch "$VENV/.installed"
fi
