#!/usr/bin/env bash
# Load and soak test of ggufd on loopback (tests/load/soak.py): 10x the
# queue capacity of Generate calls with random cancels, deadlines and
# disconnects against stories260K, then the invariants and the figures.
#   tests/load/run.sh                    # the suite's bounded run (~2 min)
#   tests/load/run.sh --seconds 1800     # a long soak (any soak.py option)
# Reads GGUFD_BIN (default build/service/ggufd), GGUFD_TESTDATA_DIR
# (default ../shared/testdata) and GGUFD_SOAK_SECONDS (the storm's length,
# for a long soak through tests/run_all.sh); needs python3 with grpcio and
# grpcio-tools (deploy/setup.sh installs them for the Python client).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
ggufd=${GGUFD_BIN:-$repo/build/service/ggufd}
testdata=${GGUFD_TESTDATA_DIR:-$repo/../shared/testdata}

# Our own stubs from proto/, in a temporary folder: independent of the
# client libraries and of anything installed.
stubs=$(mktemp -d)
trap 'rm -rf "$stubs"' EXIT
python3 -m grpc_tools.protoc -I "$repo/proto" --python_out="$stubs" \
  --grpc_python_out="$stubs" "$repo"/proto/ggufd/v1/*.proto
touch "$stubs/ggufd/__init__.py" "$stubs/ggufd/v1/__init__.py"

python3 "$here/soak.py" --ggufd "$ggufd" \
  --model "$testdata/models/stories260K.gguf" --stubs "$stubs" \
  ${GGUFD_SOAK_SECONDS:+--seconds "$GGUFD_SOAK_SECONDS"} "$@"
