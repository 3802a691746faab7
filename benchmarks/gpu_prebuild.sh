#!/usr/bin/env bash
# benchmarks/gpu_prebuild.sh — builds the GPU check's binaries HERE (a machine with nvcc but no
# GPU) and stages them in one small folder, so that the GPU machine's scarce minutes go to running
# them, not compiling them:
#
#   bash benchmarks/gpu_prebuild.sh [PRESET]        # default preset: ci (sm_90, -Werror)
#
# Writes build/gpu_prebuilt/: recur_gpu_tests, bench_suite, recur, librecur.so.0, the libfmt the
# binaries link (the GPU machine's may differ), corpora/austen.txt (when it is here), commit.txt.
# Then one device call runs
#
#   GPU_CHECK_PREBUILT=build/gpu_prebuilt OUT=$OUT bash benchmarks/gpu_check.sh
#
# with carry ["build/gpu_prebuilt"] (about 12 MiB). There, gpu_check.sh puts the folder and the
# machine's CUDA library folders on LD_LIBRARY_PATH (CUDA, cuBLAS, cuDNN and OpenBLAS are the
# machine's own; scripts/prebuilt.sh) and falls back to building when the binaries do not start.
# The side-by-side run uses them too:
#
#   RECUR_PREBUILT=build/gpu_prebuilt RECUR_DATA=build/gpu_prebuilt/corpora \
#     bash benchmarks/run.sh --device cuda --quick --no-docs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset=${1:-ci}
build=build/$preset
out=build/gpu_prebuilt
[[ -f $build/CMakeCache.txt ]] || cmake --preset "$preset"
cmake --build "$build" -j"$(nproc)" --target recur_gpu_tests bench_suite recur_cli

rm -rf "$out"
mkdir -p "$out"
cp "$build/tests/recur_gpu_tests" "$build/benchmarks/bench_suite" "$build/apps/recur/recur" "$out/"
cp -L "$build/librecur.so.0" "$out/"
# Every library the binaries need outside the system's core and the GPU stack, copied beside them.
ldd "$out/recur_gpu_tests" "$out/bench_suite" "$out/librecur.so.0" |
  awk '$2 == "=>" && $3 ~ /libfmt/ {print $3}' | sort -u | xargs -r cp -L -t "$out/"
# The GPU code must be there (a build configured without nvcc has none); sm_90 is checked where
# cuobjdump is installed.
readelf -SW "$out/librecur.so.0" | grep -q '\.nv_fatbin' || {
  echo "gpu_prebuild: $build/librecur.so.0 holds no CUDA code (configured without nvcc?)" >&2
  exit 1
}
if command -v cuobjdump >/dev/null; then
  cuobjdump --list-elf "$out/librecur.so.0" | grep -q sm_90 || {
    echo "gpu_prebuild: $build/librecur.so.0 holds no sm_90 code" >&2
    exit 1
  }
fi
# The CharLM training corpus of benchmarks/run.sh, which the GPU machine cannot fetch (4 MB).
corpus="${RECUR_DATA:-$HOME/.cache/recur/corpora}/austen.txt"
if [[ -f $corpus ]]; then
  mkdir -p "$out/corpora"
  cp "$corpus" "$out/corpora/"
else
  echo "gpu_prebuild: no $corpus (python_tools/datasets.py path austen writes it): run.sh on the" \
    "GPU machine will leave CharLM training out" >&2
fi
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . || echo '+uncommitted') built $(date -u +%FT%TZ) with preset $preset" \
  >"$out/commit.txt"
du -sh "$out"
ls -l "$out"
