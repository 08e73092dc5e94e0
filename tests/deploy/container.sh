#!/usr/bin/env bash
# The container image (deploy/container/Containerfile) under podman, built
# from the checked-out sources and checked through a running container:
#   - the build (wall time, steps taken from podman's layer cache) and the
#     image's size, user and entrypoint;
#   - a container with --read-only (no tmpfs either), all capabilities
#     dropped, the models folder mounted read-only and --network host, ggufd
#     on a free loopback port (port 0, read back from its "listening" line):
#     gRPC health SERVING for "" and ggufd.v1.Inference, a streamed Generate
#     with output tokens (grpcurl, and ggufctl), /metrics, a non-root uid for
#     the server process, a root filesystem that refuses writes;
#   - SIGTERM during a running Generate: the stream still finishes, the log
#     shows the drain, and the container exits with code 0;
#   - the `model` target (the default model baked in) serves with no volume.
# Env: GGUFD_MODELS_DIR (holds SmolLM2-135M-Instruct.Q4_1.gguf), GGUFCTL_BIN;
# GGUFD_IMAGE / GGUFD_IMAGE_BAKED name the images built (kept afterwards, so
# the next run reuses their layers). Needs deploy/setup.sh (its
# setup.d/10-container.sh made the base image; grpcurl in tools/bin).
# Prints one line per check and a closing "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root" || exit 1
start_s=$SECONDS

# The tag deploy/k8s and the Helm chart name.
image=${GGUFD_IMAGE:-localhost/ggufd:0.1.0}
baked_image=${GGUFD_IMAGE_BAKED:-$image-smollm2}
base_image=localhost/ggufd-base:bookworm
models=${GGUFD_MODELS_DIR:-$root/models}
model_file=SmolLM2-135M-Instruct.Q4_1.gguf
ggufctl=${GGUFCTL_BIN:-$root/build/clients/cpp/ggufctl}
grpcurl=tools/bin/grpcurl

passed=0
failed=0
pass() { printf 'ok    %s\n' "$1"; passed=$((passed + 1)); }
fail() {
  printf 'FAIL  %s\n' "$1"
  [[ -n ${2:-} ]] && printf '%s\n' "$2" | tail -n 40 | sed 's/^/      /'
  failed=$((failed + 1))
}
check() { # check NAME DETAIL CMD...: pass if CMD succeeds, else fail with DETAIL
  local name=$1 detail=$2
  shift 2
  if "$@"; then pass "$name"; else fail "$name" "$detail"; fi
}
finish() {
  printf '      wall time: %ds\n' $((SECONDS - start_s))
  printf 'container: %d passed, %d failed\n' "$passed" "$failed"
  ((failed == 0))
  exit
}

if ! command -v podman >/dev/null; then
  echo "FAIL container: podman is not installed (deploy/setup.sh installs it)"
  exit 1
fi
# The volume's model, and the one the `model` target copies from the context.
for need in "$grpcurl" "$models/$model_file" "models/$model_file"; do
  if [[ ! -e $need ]]; then
    fail "$need is missing: run deploy/setup.sh"
    finish
  fi
done
if ! podman image exists "$base_image"; then
  fail "no $base_image: run deploy/setup.sh (deploy/setup.d/10-container.sh)"
  finish
fi

tmp=$(mktemp -d)
containers=()
bg_pids=()
cleanup() {
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${bg_pids[@]}"; do wait "$pid" 2>/dev/null; done
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- build ---------------------------------------------------------------------
# build NAME TAG [ARGS...]: builds the image, prints its wall time and how many
# steps came from the cache; the log is kept in $tmp/build-NAME.log.
build() {
  local name=$1 tag=$2 old_id t0 rc
  shift 2
  old_id=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null)
  t0=$SECONDS
  podman build --network host -f deploy/container/Containerfile -t "$tag" "$@" . \
    >"$tmp/build-$name.log" 2>&1
  rc=$?
  local steps cached
  steps=$(grep -E '^(\[[0-9]+/[0-9]+\] )?STEP ' "$tmp/build-$name.log" | grep -c -v ': FROM ')
  cached=$(grep -c -- '--> Using cache' "$tmp/build-$name.log")
  printf '      %s build: %ds, %d of %d steps from the layer cache\n' \
    "$name" $((SECONDS - t0)) "$cached" "$steps"
  grep -i -E '^[[:space:]]*(hits|misses):' "$tmp/build-$name.log" |
    sed 's/^[[:space:]]*/      ccache /'
  # The image this tag named before is replaced: drop it unless something
  # still uses it, so repeated runs do not pile up images.
  local new_id
  new_id=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null)
  if [[ -n $old_id && $old_id != "$new_id" ]]; then
    podman rmi "$old_id" >/dev/null 2>&1
  fi
  return $rc
}

if build image "$image"; then
  pass "image builds ($image)"
else
  fail "image builds ($image)" "$(cat "$tmp/build-image.log")"
  finish
fi

size=$(podman image inspect --format '{{.Size}}' "$image")
size_mb=$((size / 1000000))
echo "      image size: ${size_mb} MB"
# The runtime stage is Debian minbase + gRPC's libraries + ggufd; a build
# stage leaking into it (compilers, -dev packages) would be several times this.
check "image is small (${size_mb} MB <= 200 MB)" "" test "$size_mb" -le 200
config=$(podman image inspect --format \
  '{{.Config.User}}|{{json .Config.Entrypoint}}|{{range .Config.Env}}{{.}} {{end}}' "$image")
check "image config: uid 10001, entrypoint ggufd serve, GGUFD_* defaults" "$config" \
  grep -q '^10001:10001|\["/usr/local/bin/ggufd","serve"\]|.*GGUFD_LISTEN=0.0.0.0:50051' \
  <<<"$config"

# --- run -------------------------------------------------------------------------
# run_ggufd NAME IMAGE [ARGS...]: starts a hardened container; its ggufd
# listens on a free loopback port of the host (--network host; port 0). One
# compute thread: on a busy 2-core machine two threads that wait for each
# other every token decode up to 20x slower, one only by its share of a core.
run_ggufd() {
  local name=$1 from=$2
  shift 2
  containers+=("$name")
  podman run -d --name "$name" --network host \
    --read-only --read-only-tmpfs=false \
    --cap-drop all --security-opt no-new-privileges \
    -e GGUFD_LISTEN=127.0.0.1:0 -e GGUFD_METRICS_PORT=0 \
    -e GGUFD_GRACE_PERIOD_MS=90000 -e GGUFD_THREADS=1 \
    "$@" "$from" >/dev/null
}
# listening NAME: waits (up to 60 s) for the container's ggufd to log
# "listening" (after its model is in) and prints "PORT METRICS_PORT".
listening() {
  local line=
  for _ in $(seq 300); do
    line=$(podman logs "$1" 2>&1 | python3 -c '
import json, sys
for line in sys.stdin:
    try: j = json.loads(line)
    except ValueError: continue
    if j.get("msg") == "listening": print(j["port"], j["metrics_port"])')
    [[ -n $line ]] && break
    [[ $(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null) == true ]] || break
    sleep 0.2
  done
  [[ -n $line ]] && echo "$line"
}
health() { # health PORT SERVICE: prints the serving status
  "$grpcurl" -plaintext -max-time 10 -import-path proto \
    -proto grpc/health/v1/health.proto -d "{\"service\": \"$2\"}" \
    "127.0.0.1:$1" grpc.health.v1.Health/Check 2>&1
}
generate() { # generate PORT MAX_TOKENS: a streamed Generate, one JSON message each
  "$grpcurl" -plaintext -max-time 120 -import-path proto -proto ggufd/v1/inference.proto \
    -d "{\"text\": \"Once upon a time\", \"sampling\": {\"temperature\": 0},
         \"stopping\": {\"max_tokens\": $2, \"ignore_eos\": true}}" \
    "127.0.0.1:$1" ggufd.v1.Inference/Generate
}
# stream_ok FILE N: the Generate stream in FILE has a Started, chunks with
# text, and a Finished with N completion tokens.
stream_ok() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
text, want = open(sys.argv[1]).read(), int(sys.argv[2])
decoder, pos, messages = json.JSONDecoder(), 0, []
while True:
    while pos < len(text) and text[pos].isspace(): pos += 1
    if pos >= len(text): break
    message, pos = decoder.raw_decode(text, pos)
    messages.append(message)
chunks = [m["chunk"] for m in messages if "chunk" in m]
finished = [m["finished"] for m in messages if "finished" in m]
tokens = finished[-1]["usage"].get("completionTokens", 0) if finished else 0
print(f"      {len(messages)} messages, {len(chunks)} chunks, "
      f"{tokens} completion tokens: {''.join(c.get('text', '') for c in chunks)[:60]!r}")
sys.exit(0 if "started" in messages[0] and chunks and tokens == want
         and "".join(c.get("text", "") for c in chunks) else 1)
EOF
}

ctr=ggufd-test-$$
run_ggufd "$ctr" "$image" -v "$models:/models:ro"
if ports=$(listening "$ctr"); then
  read -r port metrics_port <<<"$ports"
  pass "container starts and listens (127.0.0.1:$port, metrics $metrics_port)"
else
  fail "container starts and listens" "$(podman logs "$ctr" 2>&1)"
  finish
fi

status=$(health "$port" "")
check 'health "" is SERVING' "$status" grep -q '"SERVING"' <<<"$status"
status=$(health "$port" ggufd.v1.Inference)
check "health ggufd.v1.Inference is SERVING (the model is loaded)" "$status" \
  grep -q '"SERVING"' <<<"$status"

generate "$port" 16 >"$tmp/generate.json" 2>&1
check "streamed Generate (grpcurl): Started, chunks, 16 tokens" \
  "$(cat "$tmp/generate.json")" stream_ok "$tmp/generate.json" 16

if [[ -x $ggufctl ]]; then
  out=$("$ggufctl" --server "127.0.0.1:$port" --timeout 60 generate -n 8 -t 0 \
    "The capital of France is" 2>&1)
  check "streamed Generate (ggufctl) prints text" "$out" test -n "${out//[[:space:]]/}"
else
  echo "      (no ggufctl at $ggufctl: its check is left out)"
fi

metrics=$(python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
  "http://127.0.0.1:$metrics_port/metrics" 2>&1)
check "/metrics answers with ggufd_ series" "$metrics" grep -q '^ggufd_' <<<"$metrics"

# PID 1 is ggufd itself (no shell or init in between); its real and
# effective uids are the image's user.
proc=$(podman exec "$ctr" cat /proc/1/status /proc/1/cmdline 2>&1 | tr '\0' ' ')
uids=$(awk '/^Uid:/ {print $2, $3}' <<<"$proc")
check "server runs as a non-root uid (ggufd is PID 1, uid ${uids:-?})" "$proc" \
  eval '[[ $uids == "10001 10001" ]] && grep -q "ggufd serve" <<<"$proc"'
out=$(podman exec "$ctr" sh -c 'touch /tmp/x || touch /x' 2>&1)
check "root filesystem refuses writes" "$out" eval '[[ $out == *"Read-only file system"* ]]'

# SIGTERM while a longer Generate runs (sent at its first chunk): the drain
# lets it finish. It asks for about 3 s of tokens at the decode speed of a
# warm Generate just before (a shared 2-core machine is 40x slower busy than
# idle), so it is still running when the signal lands and done well inside
# the 90 s grace period.
generate "$port" 32 >"$tmp/speed.json" 2>&1
speed=$(grep -o '"decodeTokensPerSecond": [0-9.]*' "$tmp/speed.json" |
  awk '{printf "%d", $2}')
drain_tokens=$((${speed:-0} * 3))
((drain_tokens < 100)) && drain_tokens=100
((drain_tokens > 1000)) && drain_tokens=1000
generate "$port" "$drain_tokens" >"$tmp/drain.json" 2>&1 &
bg_pids+=($!)
gen_pid=$!
for _ in $(seq 500); do
  grep -q '"chunk"' "$tmp/drain.json" 2>/dev/null && break
  sleep 0.02
done
podman kill --signal TERM "$ctr" >/dev/null
wait_out=$(timeout 150 podman wait "$ctr" 2>&1)
wait "$gen_pid"
gen_rc=$?
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
logs=$(podman logs "$ctr" 2>&1)
check "SIGTERM: the container exits with code 0 (podman wait: $wait_out)" "$logs" \
  test "$exit_code" = 0
drain=$(grep -E '"msg":"(signal|draining|stopped)"' <<<"$logs")
check "SIGTERM: the log shows signal, draining and stopped" "$logs" \
  eval '[[ $(grep -c . <<<"$drain") == 3 ]] && grep -q SIGTERM <<<"$drain"'
printf '%s\n' "$drain" | sed 's/^/      /'
check "SIGTERM: the Generate running then (in_flight 1) still finishes ($drain_tokens tokens)" \
  "grpcurl exit $gen_rc: $(cat "$tmp/drain.json")" \
  eval '((gen_rc == 0)) && grep -q "\"in_flight\":1," <<<"$drain" &&
        stream_ok "$tmp/drain.json" "$drain_tokens"'

# --- the default model baked in ------------------------------------------------
# Same layers plus one COPY of the model, so it costs seconds after the
# image above.
if build baked "$baked_image" --target model; then
  pass "--target model builds ($baked_image)"
  baked=ggufd-test-baked-$$
  run_ggufd "$baked" "$baked_image"
  if ports=$(listening "$baked"); then
    read -r port _ <<<"$ports"
    status=$(health "$port" ggufd.v1.Inference)
    check "baked model, no volume: health ggufd.v1.Inference is SERVING" "$status" \
      grep -q '"SERVING"' <<<"$status"
  else
    fail "baked model, no volume: container listens" "$(podman logs "$baked" 2>&1)"
  fi
  podman stop -t 30 "$baked" >/dev/null 2>&1
else
  fail "--target model builds ($baked_image)" "$(cat "$tmp/build-baked.log")"
fi

# Each source change leaves the build stage's image of the sources before
# (its layers: a few MB); all but this run's go. The build below is all
# cache and names this run's.
keep=$(podman build --network host -q -f deploy/container/Containerfile \
  --target build . 2>/dev/null | tail -n 1)
if [[ -n $keep ]]; then
  for id in $(podman images -q --no-trunc --filter dangling=true \
    --filter label=ggufd.stage=build); do
    [[ $id == *"$keep" ]] || podman rmi "$id" >/dev/null 2>&1
  done
fi

finish
