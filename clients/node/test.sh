#!/usr/bin/env bash
# Runs the Node client's end-to-end tests against a real ggufd (GGUFD_BIN)
# with the real model (GGUFD_MODELS_DIR), comparing with GGUFCTL_BIN.
# Quiet on success but for one summary line; the full report on failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
export GGUFD_BIN=${GGUFD_BIN:-$root/build/service/ggufd}
export GGUFCTL_BIN=${GGUFCTL_BIN:-$root/build/clients/cpp/ggufctl}
export GGUFD_MODELS_DIR=${GGUFD_MODELS_DIR:-$root/models}
cd "$here"

for bin in "$GGUFD_BIN" "$GGUFCTL_BIN"; do
  [[ -x $bin ]] || { echo "clients/node: $bin is missing; build it first" >&2; exit 1; }
done

# Build when the sources (or the API) changed since the last build.
built=dist/test/sessions.test.js
if [[ ! -d node_modules ]]; then
  ./setup.sh
elif [[ ! -f $built || -n $(find src test examples scripts "$root/proto" tsconfig.json package.json \
        -type f -newer "$built" -not -path 'src/generated/*' -print -quit) ]]; then
  npm run --silent build
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
# One file at a time: each starts its own ggufd, and the timing-sensitive
# cancellation checks should not share the CPU with the other's model.
if node --test --test-concurrency=1 --test-reporter=tap dist/test/e2e.test.js dist/test/sessions.test.js dist/test/security.test.js \
    >"$log" 2>&1; then
  passed=$(sed -n 's/^# pass //p' "$log")
  echo "clients/node: $passed tests passed in $((SECONDS - start)) s"
else
  cat "$log"
  echo "clients/node: FAILED" >&2
  exit 1
fi
