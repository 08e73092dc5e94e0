#!/usr/bin/env bash
# Stage: nginx as the L7 gRPC proxy in front of two real ggufd replicas, on
# loopback. Runs deploy/nginx/ggufd.conf itself (replica addresses, the
# listen port and the log path substituted) under a foreground nginx with
# its own prefix in a temporary folder (never the system service), then
# tests/deploy/proxy_checks.py through it with the Python client: load
# spreading, unbuffered streaming and cancellation, error details,
# deadline propagation, session affinity, failover after SIGKILL, and every
# replica down. Prints one line per check and exits non-zero on any failure.
# Env: GGUFD_BIN, GGUFD_MODELS_DIR (as tests/run_all.sh sets them),
# NGINX_BIN (default /usr/sbin/nginx).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/proxy_replicas.bash"
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}
require_proxy mesh_nginx "$nginx_bin" "deploy/setup.sh installs Debian's"
proxy_init mesh_nginx
start_replicas

# The production example with this run's addresses; fail loudly if a
# substitution did not apply (the example's layout changed).
ng=$work/nginx
mkdir -p "$ng"
listen=$(free_port)
sed -e "s/ggufd-0\.ggufd:50051/127.0.0.1:${port[a]}/" \
  -e "s/ggufd-1\.ggufd:50051/127.0.0.1:${port[b]}/" \
  -e "s/^\( *listen \)50050 http2;/\1127.0.0.1:$listen http2;/" \
  -e "s#/var/log/nginx/ggufd.access.log#$ng/access.log#" \
  "$root/deploy/nginx/ggufd.conf" >"$ng/ggufd.conf"
for want in "127.0.0.1:${port[a]} " "127.0.0.1:${port[b]} "; do
  [[ $(grep -c "server $want" "$ng/ggufd.conf") == 2 ]] ||
    { echo "FAIL mesh_nginx: could not substitute the replicas into ggufd.conf"; exit 1; }
done
grep -q "listen 127.0.0.1:$listen http2;" "$ng/ggufd.conf" &&
  grep -q "$ng/access.log" "$ng/ggufd.conf" ||
  { echo "FAIL mesh_nginx: could not substitute the listen port/log into ggufd.conf"; exit 1; }
# The main file a distribution's nginx.conf would be, with every path in
# the temporary folder.
cat >"$ng/nginx.conf" <<EOF
worker_processes 1;
pid $ng/nginx.pid;
error_log $ng/error.log info;
events { worker_connections 512; }
http {
  client_body_temp_path $ng/body;
  proxy_temp_path $ng/proxy;
  fastcgi_temp_path $ng/fastcgi;
  uwsgi_temp_path $ng/uwsgi;
  scgi_temp_path $ng/scgi;
  include $ng/ggufd.conf;
}
EOF
"$nginx_bin" -t -q -p "$ng" -e "$ng/error.log" -c "$ng/nginx.conf"
"$nginx_bin" -p "$ng" -e "$ng/error.log" -c "$ng/nginx.conf" -g 'daemon off;' &
pids+=("$!")
wait_port "$listen"

echo "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///') on 127.0.0.1:$listen ->" \
  "replicas a=127.0.0.1:${port[a]} b=127.0.0.1:${port[b]}"
run_checks "127.0.0.1:$listen" "$ng/access.log"
