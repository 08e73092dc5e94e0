#!/usr/bin/env bash
# Installs this client into python3 (regular pip install, protos generated
# by the setup.py build hook) unless the installed copy was built from the
# current sources and protos. Used by setup.sh and test.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
cd "$here"

# What the installed package is built from (the generated ggufd/v1 and
# build leftovers excluded).
digest=$( {
  find src -path src/ggufd/v1 -prune -o -name '*.egg-info' -prune \
    -o -name __pycache__ -prune -o -type f -print
  find "$repo/proto/ggufd/v1" -name '*.proto'
  echo setup.py pyproject.toml requirements.txt | tr ' ' '\n'
} | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)

stamp=.install-stamp
if [[ -f $stamp && $(cat "$stamp") == "$digest" ]] &&
  (cd / && "$python" -c 'import ggufd, ggufd.v1.inference_pb2_grpc') 2>/dev/null; then
  exit 0
fi
# No build isolation: build with the pinned grpcio-tools/setuptools that
# setup.sh installed, without fetching anything.
"$python" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
  --no-build-isolation --no-deps --force-reinstall .
rm -rf build  # setuptools' in-tree build folder
echo "$digest" >"$stamp"
