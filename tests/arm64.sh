#!/usr/bin/env bash
# UpdateSite's unit tests built for arm64, the Lambda's architecture, and run
# under qemu: the NEON byte compares (functions/update-site/src/swar/neon.rs)
# run nowhere else here, as every other test runs on the x86_64 host.
# Installs what it needs: the aarch64 standard library (rustup), and Debian's
# qemu-user and aarch64 gcc (linker, and C compiler for aws-lc-sys).
# Where the aarch64 standard library cannot be installed (rustup's server
# out of reach), it says so and skips.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu

if ! rustup target list --installed | grep -qx "$target"; then
  # Bounded: where rustup's server is out of reach, say so soon.
  if ! timeout 300 rustup target add "$target" >&2; then
    echo "arm64 tests SKIPPED: the $target standard library is not installed and rustup could not fetch it" >&2
    exit 0
  fi
fi
if ! command -v qemu-aarch64 >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null \
  || [ ! -d /usr/aarch64-linux-gnu/lib ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "arm64 tests need qemu-user, gcc-aarch64-linux-gnu and libc6-dev-arm64-cross (apt-get install)" >&2
    exit 1
  fi
  echo "installing Debian's qemu-user and aarch64 gcc for the arm64 tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
echo "arm64: update-site's unit tests for $target, under $(qemu-aarch64 --version | head -1)" >&2
exec "${CARGO:-cargo}" test --locked -p update-site --lib --target "$target"
