#!/usr/bin/env bash
# Installs the pinned cargo-lambda (and zig, which it cross-compiles with)
# from PyPI into .local/venv, unless that exact version is already there.
# Prints the path of the cargo-lambda binary.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LAMBDA_VERSION=1.9.2
ZIG_VERSION=0.14.1
VENV=.local/venv
bin="$VENV/bin/cargo-lambda"
if [ -x "$bin" ] && "$bin" lambda --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  echo "$bin"; exit 0
fi
echo "installing cargo-lambda $CARGO_LAMBDA_VERSION and ziglang $ZIG_VERSION into $VENV" >&2
python3 -m venv "$VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION" >&2
echo "$bin"
