#!/usr/bin/env bash
# Create .local/awscli-venv with the pinned AWS CLI (PyPI) when missing or
# older than scripts/awscli/requirements.txt. Prints nothing when it is there.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=.local/awscli-venv
REQ=scripts/awscli/requirements.txt
if [ ! -x "$VENV/bin/aws" ] || [ "$REQ" -nt "$VENV/.installed" ]; then
  echo "creating $VENV (the AWS CLI from PyPI)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  touch "$VENV/.installed"
fi
