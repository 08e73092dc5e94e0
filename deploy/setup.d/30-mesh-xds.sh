#!/usr/bin/env bash
# The programs of the proxyless xDS mesh stage (tests/deploy/mesh_xds.sh),
# built from their own Go module tests/mesh/xds (go.mod/go.sum pin
# go-control-plane and grpc-go) into the git-ignored tools/bin:
#   tools/bin/xds-control-plane  an ADS control plane (go-control-plane's
#                                snapshot cache) with an HTTP control API
#   tools/bin/xds-mesh-client    the checks, dialing xds:///ggufd with the
#                                ggufd Go client (clients/go)
# Idempotent: rebuilt only when a source, go.mod or go.sum (or the Go
# client) is newer than the binaries.
set -euo pipefail
log() { printf '[setup 30-mesh-xds] %s\n' "$*" >&2; }
root=$(pwd)
module=tests/mesh/xds
programs=(xds-control-plane xds-mesh-client)
export GOFLAGS=-buildvcs=false

stale=0
for p in "${programs[@]}"; do
  bin=tools/bin/$p
  if [[ ! -x $bin ]] || [[ -n $(find "$module" clients/go/ggufd clients/go/gen \
      clients/go/go.mod \( -name '*.go' -o -name go.mod -o -name go.sum \) \
      -newer "$bin" -print -quit) ]]; then
    stale=1
  fi
done
if ((stale)); then
  log "building ${programs[*]} (go build, $module)"
  mkdir -p tools/bin
  (cd "$module" && go build -o "$root/tools/bin/" ./cmd/...)
  touch "${programs[@]/#/tools/bin/}"
fi
