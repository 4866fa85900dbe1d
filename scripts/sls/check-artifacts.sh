#!/usr/bin/env bash
# Refuse to deploy unless every dist/<Name>.zip exists, is a real build (not a
# stub from stub-artifacts.sh) and contains an executable named bootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0
# FUNCTIONS comes from the Makefile, where the list is declared once.
for name in ${FUNCTIONS:?run this through make, which exports FUNCTIONS}; do
  zip="dist/$name.zip"
  if ! python3 - "$zip" <<'PY'
import sys, zipfile
path = sys.argv[1]
try:
    z = zipfile.ZipFile(path)
except (OSError, zipfile.BadZipFile) as e:
    sys.exit(f"{path}: missing or not a zip ({e}); run 'make build'")
names = z.namelist()
if "bootstrap" not in names:
    sys.exit(f"{path}: no 'bootstrap' at the zip root (has {names[:5]})")
if b"REPORT_PIPELINE_STUB_ARTIFACT" in z.read("bootstrap")[:4096]:
    sys.exit(f"{path}: is a STUB artifact; run 'make build' before deploying")
PY
  then
    status=1
  fi
done
exit $status
