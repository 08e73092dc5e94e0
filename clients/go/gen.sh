#!/usr/bin/env bash
# Generates the Go code for proto/ggufd/v1 into gen/ggufd/v1 (git-ignored).
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

rm -rf gen.tmp && mkdir gen.tmp
protoc -I "$proto_root" \
  --plugin=protoc-gen-go="$here/.bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$here/.bin/protoc-gen-go-grpc" \
  --go_out=gen.tmp --go_opt="$go_opts" \
  --go-grpc_out=gen.tmp --go-grpc_opt="$go_opts" \
  "${files[@]}"
# Swap in the new tree only once protoc succeeded, so a failed run never
# leaves a half-generated package behind.
rm -rf gen && mv gen.tmp/gen gen && rm -rf gen.tmp
