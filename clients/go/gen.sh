#!/usr/bin/env bash
# Generates the Go code for proto/ggufd/v1 into gen/ggufd/v1 (git-ignored).
# The protoc plugins are the versions pinned by the `tool` lines of go.mod
# (checksummed in go.sum), built into .bin/ so protoc finds them without
# touching the user's GOPATH/bin. The protos' go_package names a path outside
# this module, so M options map each file to this module's gen/ package.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proto_root="$(cd "$here/../../proto" && pwd)"
cd "$here"

module="$(go list -m)"
pkg="$module/gen/ggufd/v1"
go build -o .bin/ google.golang.org/protobuf/cmd/protoc-gen-go \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc

files=()
maps=()
for f in "$proto_root"/ggufd/v1/*.proto; do
  rel="ggufd/v1/$(basename "$f")"
  files+=("$rel")
  maps+=("M$rel=$pkg;ggufdv1")
done
go_opts="module=$module,$(IFS=,; echo "${maps[*]}")"

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
