#!/usr/bin/env bash
# Debian's Chromium (and CJK fonts for the screenshots) for the browser
# tests; puppeteer-core drives it and downloads no browser of its own.
set -euo pipefail
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "Chromium is missing: install Debian's chromium (apt-get install chromium fonts-noto-cjk) or set CHROMIUM" >&2
  exit 1
fi
echo "installing Debian's chromium for the browser tests"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
