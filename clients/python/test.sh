#!/usr/bin/env bash
# End-to-end tests of the Python client (sync and asyncio) against a real
# ggufd started on 127.0.0.1. Reads GGUFD_BIN, GGUFCTL_BIN and
# GGUFD_MODELS_DIR (defaults: build/service/ggufd, build/clients/cpp/ggufctl,
# models under the repository root). Prints only pytest's summary line
# unless something fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
export GGUFD_BIN=${GGUFD_BIN:-$repo/build/service/ggufd}
export GGUFCTL_BIN=${GGUFCTL_BIN:-$repo/build/clients/cpp/ggufctl}
export GGUFD_MODELS_DIR=${GGUFD_MODELS_DIR:-$repo/models}

"$here/build.sh"
cd "$here"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "$python" -m pytest -q -p no:cacheprovider tests >"$log" 2>&1; then
  tail -n 1 "$log"
else
  status=$?
  cat "$log"
  exit "$status"
fi
