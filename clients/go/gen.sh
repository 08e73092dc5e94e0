#!/usr/bin/env bash
# Generates the Go code for proto/ggufd/v1 into gen/ggufd/v1. The output is
# committed, because `go get` of this module cannot run a generator; with
# --check it writes nothing and fails when the committed code is not what the
# protos generate now (the suite's guard against a proto edit left unapplied).
# The protoc plugins are the versions pinned by the `tool` lines of go.mod
# (checksummed in go.sum), built into .bin/ so protoc finds them without
# touching the user's GOPATH/bin. The protos' go_package is this module's
# gen/ggufd/v1 package, so module= strips the module path from the output.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proto_root="$(cd "$here/../../proto" && pwd)"
cd "$here"

module="$(go list -m)"
go build -o .bin/ google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc

files=()
for f in "$proto_root"/ggufd/v1/*.proto; do
  files+=("ggufd/v1/$(basename "$f")")
done
# Each proto's go_package must name this module's package; a mismatch would
# make module= fail, so check it here with a clear message.
want="$module/gen/ggufd/v1;ggufdv1"
for f in "${files[@]}"; do
  if ! grep -qF "option go_package = \"$want\";" "$proto_root/$f"; then
    echo "gen.sh: $f: go_package is not \"$want\"" >&2
    exit 1
  fi
done
go_opts="module=$module"

check=0
[[ ${1:-} == --check ]] && check=1

rm -rf gen.tmp && mkdir gen.tmp
protoc -I "$proto_root" \
  --plugin=protoc-gen-go="$here/.bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$here/.bin/protoc-gen-go-grpc" \
  --go_out=gen.tmp --go_opt="$go_opts" \
  --go-grpc_out=gen.tmp --go-grpc_opt="$go_opts" \
  "${files[@]}"
if ((check)); then
  status=0
  diff -r gen gen.tmp/gen >/dev/null || status=$?
  rm -rf gen.tmp
  if ((status != 0)); then
    echo "gen.sh: clients/go/gen differs from what proto/ generates;" \
      "run clients/go/gen.sh and commit the result" >&2
  fi
  exit "$status"
fi
# Swap in the new tree only once protoc succeeded, so a failed run never
# leaves a half-generated package behind.
rm -rf gen && mv gen.tmp/gen gen && rm -rf gen.tmp
