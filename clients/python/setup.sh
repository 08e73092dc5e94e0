#!/usr/bin/env bash
# Installs the Python client's pinned dependencies (requirements.txt) and
# the client itself into python3. Idempotent; reaches only PyPI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
"$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
  -r "$here/requirements.txt"
"$here/build.sh"
