#!/usr/bin/env bash
# Create .local/statelint-venv with the pinned statelint (PyPI) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.local/statelint-venv
REQ=scripts/sls/requirements-statelint.txt
if [ ! -x "$VENV/bin/statelint" ] || [ "$REQ" -nt "$VENV/.installed" ]; then
  echo "creating $VENV (statelint from PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  touch "$VENV/.installed"
fi
