#!/usr/bin/env bash
# Prepares the Go client on a fresh machine (idempotent): downloads the
# modules pinned in go.mod/go.sum, checks that the committed gRPC code in
# gen/ is what ../../proto generates (gen.sh --check), and compiles
# everything including the test binaries so test.sh only links and runs.
# Needs Go >= 1.26 and protoc (Debian's protobuf-compiler).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

go mod download
./gen.sh --check
go build -buildvcs=false ./...
# Compile every test binary without running any (go test -run would still
# run the e2e TestMain, which starts a server); the binaries are thrown away,
# the compiled packages stay in the build cache.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/" ./... >/dev/null
