#!/usr/bin/env bash
# scripts/test.sh — set up and run recur's whole test suite, from a fresh clone:
#
#   bash scripts/test.sh            all stages
#   bash scripts/test.sh --quick    skip the gpu_emu and asan stages; same as RECUR_TEST_QUICK=1
#
# Stages, in order; the first failure stops the run with a non-zero status:
#   deps      Debian packages (installed when root; otherwise prints the apt-get line and fails)
#   format    clang-format --dry-run --Werror on every tracked *.h *.cpp *.cu *.cuh
#   build     cmake --preset ci (warnings are errors; CUDA when nvcc is found) and build
#   test      ctest --preset ci (GPU-labelled tests skip themselves without a GPU)
#   install   cmake --install build/ci --prefix build/ci/install
#   consumer  tests/consumer built against the installed package, then run
#   gpu_emu   the GPU tests run on the CPU by tools/cuda_emu (fake CUDA, cuBLAS, CUB and cuDNN;
#             every CUDA thread a fiber): kernels, launches and the GPU engines checked without
#             a GPU, and the fake cuDNN itself against PyTorch (skipped with --quick)
#   asan      cmake/build/ctest with the asan preset (CPU, AddressSanitizer + UBSan)
set -euo pipefail

usage() { sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

quick=0
case "${RECUR_TEST_QUICK:-0}" in 0 | "" | false | no) ;; *) quick=1 ;; esac
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
JOBS="$(nproc)"
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

# ------------------------------------------------------------------ stage bookkeeping
now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { s = b - a; printf "%dm%04.1fs", int(s / 60), s - 60 * int(s / 60) }'; }

RUN_START="$(now)"
SUMMARY=()
CURRENT=""
STAGE_START=""

run_stage() {  # run_stage NAME FUNCTION
  CURRENT="$1"
  STAGE_START="$(now)"
  printf '\n==================== [%s] %s ====================\n' "$1" "$(date '+%H:%M:%S')"
  "$2"
  local t
  t="$(elapsed "$STAGE_START" "$(now)")"
  SUMMARY+=("$(printf '  %-9s passed  %s' "$1" "$t")")
  printf -- '-------------------- [%s] passed in %s\n' "$1" "$t"
  CURRENT=""
}

skip_stage() {  # skip_stage NAME WHY
  SUMMARY+=("$(printf '  %-9s skipped (%s)' "$1" "$2")")
  printf '\n==================== [%s] skipped: %s\n' "$1" "$2"
}

on_exit() {
  local rc=$?
  local total
  total="$(elapsed "$RUN_START" "$(now)")"
  if [[ -n "$CURRENT" ]]; then
    SUMMARY+=("$(printf '  %-9s FAILED  %s' "$CURRENT" "$(elapsed "$STAGE_START" "$(now)")")")
  fi
  echo
  echo "==================== summary ===================="
  if ((${#SUMMARY[@]})); then printf '%s\n' "${SUMMARY[@]}"; fi
  if ((rc == 0)); then
    echo "recur tests: ALL PASSED in $total"
  else
    echo "recur tests: FAILED (status $rc) in stage '${CURRENT:-?}' after $total"
  fi
}
trap on_exit EXIT

# ------------------------------------------------------------------ stages
stage_deps() {
  recur_deps
  echo "cmake: $(cmake --version | head -n1)"
  echo "c++:   $(c++ --version | head -n1)"
  if command -v nvcc >/dev/null 2>&1 || [[ -x /usr/local/cuda/bin/nvcc ]]; then
    echo "nvcc:  found (CUDA kernels will be compiled)"
  else
    echo "nvcc:  not found (CPU-only build)"
  fi
  echo "jobs:  $JOBS"
}

# Every C++/CUDA source under version control (plus new files git does not ignore), minus
# tests/data and build trees. Falls back to find(1) outside a git checkout.
format_files() {
  local list
  if list="$(git -c safe.directory="$ROOT" ls-files -z --cached --others --exclude-standard \
    -- '*.h' '*.cpp' '*.cu' '*.cuh' 2>/dev/null | tr '\0' '\n')"; then
    printf '%s\n' "$list"
  else
    find . \( -path ./.git -o -path './build*' -o -path './install*' -o -path ./out \) -prune \
      -o -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' \) -print |
      sed 's|^\./||'
  fi | grep -v -E '^(tests/data/|build[^/]*/|install[^/]*/|out/)' | grep -v '^$' | sort -u || true
}

stage_format() {
  local clang_format="${CLANG_FORMAT:-clang-format}"
  "$clang_format" --version
  local files=() bad=() f
  mapfile -t files < <(format_files)
  for f in "${files[@]}"; do
    [[ -f "$f" ]] || continue  # deleted in the working tree but still tracked
    if ! "$clang_format" --dry-run --Werror "$f" >/dev/null 2>&1; then
      bad+=("$f")
    fi
  done
  echo "checked ${#files[@]} files against .clang-format"
  if ((${#bad[@]})); then
    echo "format: ${#bad[@]} file(s) are not clang-formatted:" >&2
    printf '  %s\n' "${bad[@]}" >&2
    echo "format: the first differences:" >&2
    "$clang_format" --dry-run "${bad[0]}" 2>&1 | head -n 20 >&2 || true
    echo "format: fix with:" >&2
    echo "  $clang_format -i ${bad[*]}" >&2
    return 1
  fi
}

stage_build() {
  cmake --preset ci
  cmake --build --preset ci -j"$JOBS"
}

stage_test() {
  ctest --preset ci -j"$JOBS" --no-tests=error
}

INSTALL_DIR="$ROOT/build/ci/install"

stage_install() {
  rm -rf "$INSTALL_DIR"  # no headers left over from earlier runs
  cmake --install build/ci --prefix "$INSTALL_DIR"
}

stage_consumer() {
  local dir="$ROOT/build/ci/consumer"
  rm -rf "$dir"
  cmake -S tests/consumer -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$INSTALL_DIR"
  cmake --build "$dir" -j"$JOBS"
  "$dir/consumer"
}

stage_gpu_emu() {
  make -C tools/cuda_emu -j"$JOBS"
  make -C tools/cuda_emu check  # the emulator's own checks: shuffles, misuse reports
  build/cuda_emu/recur_gpu_tests_emu --gtest_brief=1
  /usr/bin/python3 tools/cuda_emu/tests/cudnn_vs_torch.py > build/cuda_emu/cudnn_vs_torch.log ||
    { tail -20 build/cuda_emu/cudnn_vs_torch.log; return 1; }
  tail -1 build/cuda_emu/cudnn_vs_torch.log
}

stage_asan() {
  cmake --preset asan
  cmake --build --preset asan -j"$JOBS"
  ctest --preset asan -j"$JOBS" --no-tests=error
}

echo "recur: testing $ROOT$([[ "$quick" == 1 ]] && echo ' (quick: no gpu_emu, no asan)')"
run_stage deps stage_deps
run_stage format stage_format
run_stage build stage_build
run_stage test stage_test
run_stage install stage_install
run_stage consumer stage_consumer
if [[ "$quick" == 1 ]]; then
  skip_stage gpu_emu "--quick / RECUR_TEST_QUICK=1"
  skip_stage asan "--quick / RECUR_TEST_QUICK=1"
else
  run_stage gpu_emu stage_gpu_emu
  run_stage asan stage_asan
fi
