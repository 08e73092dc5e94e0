#!/usr/bin/env bash
# The whole test suite: format check, release build + unit/e2e tests,
# client tests, a bounded load test, ASan+UBSan build + tests, TSan build +
# service tests, bounded fuzzing.
# Expects deploy/setup.sh to have run (the README's test command runs both).
#   GGUFD_FUZZ_SECONDS=N   seconds per fuzz target (default 45)
#   GGUFD_SKIP_SANITIZERS=1 / GGUFD_SKIP_FUZZ=1   for quick local runs
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)
# Each stage's wall time goes into the summary (the suite has a 30-minute
# budget on 2 cores).
timings=()
stage=
stage_start=$SECONDS
step() {
  [[ -n $stage ]] && timings+=("$(printf '%5ds  %s' $((SECONDS - stage_start)) "$stage")")
  stage=$*
  stage_start=$SECONDS
  printf '\n=== %s\n' "$*"
}
failures=()
run() {  # run NAME CMD...: records a failure but keeps going
  local name=$1; shift
  if ! "$@"; then failures+=("$name"); fi
}

step "format (clang-format --dry-run)"
mapfile -t sources < <(git ls-files '*.cc' '*.h' | grep -v '^clients/.*/gen/')
run format clang-format --dry-run --Werror "${sources[@]}"

step "release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

step "unit and end-to-end tests (ctest)"
run ctest ctest --test-dir build --output-on-failure -j "$jobs"

if [[ -d tests/e2e ]] && compgen -G "tests/e2e/test_*.py" >/dev/null; then
  step "end-to-end tests (pytest)"
  run pytest env GGUFD_BIN="$root/build/service/ggufd" \
    python3 -m pytest -q tests/e2e
fi

# The client libraries against a real ggufd, one language at a time
# (clients/<lang>/test.sh; deploy/setup.sh prepared their toolchains).
for lang in python go node java; do
  step "$lang client end-to-end tests"
  run "client-$lang" env GGUFD_BIN="$root/build/service/ggufd" \
    GGUFCTL_BIN="$root/build/clients/cpp/ggufctl" \
    GGUFD_MODELS_DIR="$root/models" "clients/$lang/test.sh"
done

# 10x the queue capacity of Generate calls with random cancels, deadlines
# and disconnects; GGUFD_SOAK_SECONDS=N for a long soak.
step "load and soak (tests/load)"
run load env GGUFD_BIN="$root/build/service/ggufd" tests/load/run.sh

# Deployment artefacts with the real tools: the container image under
# podman, manifests under kubeconform and helm, the meshes on loopback
# (tests/deploy/<name>.sh, one stage each; a stage that cannot run here
# prints why and exits 0). GGUFD_SKIP_DEPLOY=1 for quick local runs.
if [[ ${GGUFD_SKIP_DEPLOY:-0} != 1 ]]; then
  for script in tests/deploy/*.sh; do
    [[ -e $script ]] || continue
    name=$(basename "$script" .sh)
    step "deploy: $name"
    run "deploy-$name" env GGUFD_BIN="$root/build/service/ggufd" \
      GGUFCTL_BIN="$root/build/clients/cpp/ggufctl" \
      GGUFD_MODELS_DIR="$root/models" "$script"
  done
fi

if [[ ${GGUFD_SKIP_SANITIZERS:-0} != 1 ]]; then
  step "ASan+UBSan build and tests"
  # The runtime's tests (the service's threads get TSan below). Debug keeps
  # assertions (the runtime's owner guard); -O1 keeps the kernels and the
  # 10 MB tokenizer inputs fast enough under ASan.
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DGGUFD_SANITIZE=address \
    -DGGUFD_SERVICE=OFF -DGGUFD_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$jobs"
  run asan env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow
fi

if [[ ${GGUFD_SKIP_SANITIZERS:-0} != 1 ]]; then
  # Only the service slice (its threads are what TSan is for): the service
  # tests, ggufd and ggufctl; the slow real-model runs are left out. Without
  # NDEBUG, so the service's assertions (the worker's owner thread, the
  # command channel's and the metrics registry's invariants) are compiled in
  # somewhere: the release build drops them and ASan builds no service.
  step "TSan build and the service tests"
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" \
    -DGGUFD_SANITIZE=thread -DGGUFD_BENCH=OFF >/dev/null
  cmake --build build-tsan -j "$jobs" --target service_tests
  run tsan env TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$root/tests/service/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure -j "$jobs" -L service \
    -LE slow
fi

if [[ ${GGUFD_SKIP_FUZZ:-0} != 1 ]]; then
  step "fuzzing (libFuzzer, ${GGUFD_FUZZ_SECONDS:-45}s per target)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGGUFD_FUZZ=ON -DGGUFD_TESTS=OFF -DGGUFD_SERVICE=OFF \
    -DGGUFD_BENCH=OFF >/dev/null
  cmake --build build-fuzz -j "$jobs" --target fuzzers
  run fuzz tests/fuzz/run_fuzzers.sh build-fuzz "${GGUFD_FUZZ_SECONDS:-45}"
fi

step "summary"
printf '%s\n' "${timings[@]}"
printf '%5ds  total\n' "$SECONDS"
if ((${#failures[@]})); then
  echo "FAILED: ${failures[*]}"
  exit 1
fi
echo "all test stages passed"
