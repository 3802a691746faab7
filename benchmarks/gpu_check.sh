#!/usr/bin/env bash
# benchmarks/gpu_check.sh — the one prepared check for a GPU machine (H100/H200, nvcc, CMake,
# ninja, GoogleTest, compute-sanitizer; nothing can be installed there):
#
#   OUT=/some/dir bash benchmarks/gpu_check.sh
#
# Stages, each with its own time limit, each run even when an earlier one failed (unless it needs
# the build):
#   configure   `cmake --preset gpu` into build/gpu (a preset-less Ninja Release configure with
#               RECUR_CUDA=ON and sm_90 where CMakePresets.json has no `gpu` preset)
#   build       recur_gpu_tests and bench_suite with every core
#   nvidia-smi  the GPU, driver and memory, for the record
#   gpu_tests   recur_gpu_tests (all of them, or GPU_CHECK_TESTS, a gtest filter)
#   memcheck    compute-sanitizer --tool memcheck on a small filter of the GPU tests
#   racecheck   compute-sanitizer --tool racecheck on a smaller one (shared-memory kernels)
#   synccheck   compute-sanitizer --tool synccheck on the persistent kernel's small cases
#               (these four share the GPU at once: nothing in them is timed; GPU_CHECK_SERIAL=1
#               runs them one after another)
#   bench       then, with the GPU to itself, bench_suite --device cuda on the LSTM/GRU headline
#               shapes (every engine, every cuDNN algorithm, the cuBLAS ceilings; or the cases
#               GPU_CHECK_BENCH_FILTER names), then PyTorch on the same shapes
#               (bench_peers.py, GPU_CHECK_PEER_S seconds, default 90; 0 leaves it out); with
#               GPU_CHECK_RUN_SH=1 also the whole benchmarks/run.sh --device cuda --quick
#   repeat      two 16-bit fused cases, each in three fresh processes: whether their
#               times differ from process to process (docs/GPU_NOTES.md)
# Prints each stage's output when it ends and a table of stage -> status and seconds; exits 1 when
# any stage failed.
#
# Made to fit one device call (at most 600 s, out of 15 minutes of device time a session):
# - a deadline: every stage's limit is cut to what is left of GPU_CHECK_BUDGET_S (default 480 s,
#   counted from the start), and a stage with under 20 s left is skipped, so the summary is always
#   printed and a second, shorter call still fits the session's device time; bench_suite stops
#   starting cases in time to write its JSON;
# - at most 8 files come back from a device call: $OUT holds summary.txt, gpu_tests.json,
#   bench_lstm.json, bench_peers.json, bench_table.md (plot_bench.py's table of both; merge them
#   into a record with plot_bench.py merge --recur ... --peer ...), logs.tar.gz (every log and
#   sanitizer report, re-packed after each stage, so a killed run still returns what ran) and,
#   with GPU_CHECK_RUN_SH=1, results.tar.gz;
# - GPU_CHECK_PREBUILT=DIR skips configure and build, using binaries built elsewhere with
#   benchmarks/gpu_prebuild.sh (carry DIR with the call); where they do not start there (a
#   missing library), the stages build as usual;
# - GPU_CHECK_ONLY="gpu_tests memcheck" runs only the named stages (a rerun after a fix).
# Measured on an H200 (2026-11-29, prebuilt): all 1,128 GPU tests 132 s beside the sanitizers
# (memcheck 22 s, synccheck 6 s, racecheck 64 s), the default bench about 1-1.5 s a case (about
# 300 cases: more than its 220 s; the 16-bit cuDNN cases came last and were cut; much of a case
# was drawing its inputs on the CPU, since made about 16 times faster: docs/GPU_NOTES.md), so a
# full check with the default budget spends about 8 minutes, plus about 35 s to start the machine.
# Logs go to build/gpu_check_logs; $OUT defaults to build/gpu_check.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

OUT="${OUT:-$PWD/build/gpu_check}"
LOGS="$PWD/build/gpu_check_logs"
BUILD=build/gpu
TESTS="$BUILD/tests/recur_gpu_tests"
SUITE="$BUILD/benchmarks/bench_suite"
JOBS=$(nproc 2>/dev/null || echo 16)
# Golden fixtures of the tests, wherever this checkout lies (a prebuilt binary names the path of
# the machine that built it).
export RECUR_TEST_DATA="$PWD/tests/data"
BUDGET=${GPU_CHECK_BUDGET_S:-480}
ONLY=" ${GPU_CHECK_ONLY:-configure build nvidia-smi gpu_tests bench repeat memcheck racecheck synccheck} "

# Filters for the sanitizers, chosen to finish well inside their limits: the runtime's small tests
# (allocator, copies, small GEMMs in f32; not the 1 PiB allocation, whose refused cudaMalloc the
# sanitizer reports as an API error) and the Fused engine's parity cases at B=3 H=37 T=7 with
# h0 and lengths (every cell, both directions, f32 and f64); racecheck only needs the kernels with
# shared memory (the column sums of the backward), so the f32 parity cases and one large batch.
MEMCHECK_FILTER='GpuRuntime.Small*:Parity/GpuRecurrentSeq.FusedMatchesReference/*_h0_len_B3_H37_T7_*'
MEMCHECK_FILTER+=':Parity/GpuPersistentSeq.PersistentMatchesReference/*_h0_len_B3_H37_T7_f32'
# Mixed precision: the operand rounding kernels and cuBLAS on 16-bit operands.
MEMCHECK_FILTER+=':GpuOpsErrors.MixedPrecisionGemm*:Cells/GpuRecurrentLayer.FusedMixedPrecision*/lstm'
MEMCHECK_FILTER+=':GpuPersistentBarrier.*:GpuPersistentSeqAcrossEngines.*'
MEMCHECK_FILTER+=':GpuPersistentMixed.SixteenBitMathAtASmallOddShape'  # its tensor-core forward
MEMCHECK_FILTER+=':DTypes/GpuLayerGraph.*:GpuLayerGraphMixed.*'
# The attention kernels (kernels/cuda/attention_cuda.cu) inside a whole translator.
MEMCHECK_FILTER+=':GpuTranslator.MatchesPyTorchInF64'
# Everything after the '-' is excluded.
MEMCHECK_FILTER+='-GpuRuntime.SmallGemmF64*:GpuRuntime.SmallGemmBF16*:GpuRuntime.SmallGemmF16*'
MEMCHECK_FILTER+=':GpuRuntime.SmallHugeAllocation*'  # its failing cudaMalloc is an API error there
MEMCHECK_FILTER+=':GpuPersistentBarrier.AutoRuns*'  # H = 1024: its other barriers' cases cover it
MEMCHECK_FILTER+=':GpuPersistentSeqAcrossEngines.BackwardThatDoesNotFit*'  # H ~ 1300: as above
RACECHECK_FILTER='Parity/GpuRecurrentSeq.FusedMatchesReference/*_h0_len_B3_H37_T7_f32'
# The persistent kernel shares memory across blocks through the grid barrier: race and sync
# checks on its small cases.
RACECHECK_FILTER+=':Parity/GpuPersistentSeq.PersistentMatchesReference/*_h0_len_B3_H37_T7_f32'
RACECHECK_FILTER+=':Parity/GpuRecurrentSeq.FusedMatchesReference/lstm_proj_rev_h0_len_B64_H50_T7_f32'
RACECHECK_FILTER+=':GpuPersistentMixed.SixteenBitMathAtASmallOddShape'
RACECHECK_FILTER+=':GpuPersistentBarrier.ClusterBarrierAtASmallOddShape'  # H = 256 outlasts it
SYNCCHECK_FILTER='Parity/GpuPersistentSeq.PersistentMatchesReference/*_h0_len_B3_H37_T7_f32'
# The arrival-counter barrier and the persistent backward on a fused forward's saved tensors.
SYNCCHECK_FILTER+=':GpuPersistentBarrier.*:GpuPersistentSeqAcrossEngines.*'
SYNCCHECK_FILTER+=':GpuPersistentMixed.SixteenBitMathAtASmallOddShape'
SYNCCHECK_FILTER+='-GpuPersistentBarrier.AutoRuns*'  # H = 1024, too slow under the sanitizer
SYNCCHECK_FILTER+=':GpuPersistentSeqAcrossEngines.BackwardThatDoesNotFit*'  # H ~ 1300, as well

# --check-filters BINARY (no GPU needed; a CPU test runs it): every pattern of the sanitizers'
# filters names at least one test of BINARY, so a renamed test cannot leave a sanitizer stage
# checking nothing.
if [[ ${1:-} == --check-filters ]]; then
  binary=${2:?--check-filters needs the recur_gpu_tests binary}
  bad=0
  for tool in MEMCHECK RACECHECK SYNCCHECK; do
    filter_var="${tool}_FILTER"
    positive=${!filter_var%%-*}
    IFS=: read -ra patterns <<<"$positive"
    for pattern in "${patterns[@]}"; do
      n=$("$binary" --gtest_list_tests --gtest_filter="$pattern" | grep -c '^  ')
      printf '%-10s %4d  %s\n' "${tool,,}" "$n" "$pattern"
      ((n > 0)) || bad=1
    done
    n=$("$binary" --gtest_list_tests --gtest_filter="${!filter_var}" | grep -c '^  ')
    printf '%-10s %4d  (the whole filter)\n' "${tool,,}" "$n"
    ((n > 0)) || bad=1
  done
  ((bad == 0)) || echo "gpu_check.sh: a sanitizer filter pattern above names no test" >&2
  exit "$bad"
fi

rm -rf "$LOGS" "$LOGS.tar.gz"
mkdir -p "$OUT" "$LOGS"
stages=()
declare -A status seconds

# The seconds a stage may run: its own limit, cut to what is left of the budget (10 s kept for
# the summary and the packing of the logs).
limit() {
  local left=$((BUDGET - SECONDS - 10))
  ((left < $1)) && echo "$left" || echo "$1"
}

# Every log, packed into $OUT/logs.tar.gz (after each stage, so a run killed at its limit still
# returns what ran).
pack_logs() {
  tar -czf "$LOGS.tar.gz" -C "$LOGS" . 2>/dev/null && cp "$LOGS.tar.gz" "$OUT/logs.tar.gz"
}

skip_stage() {
  stages+=("$1")
  status[$1]="SKIPPED ($2)"
  seconds[$1]=0
  echo
  echo "==== $1: skipped ($2)"
}

pending=()

# start_stage NAME COMMAND...: starts the command in the background, its output going to
# $LOGS/NAME.out (shown when the stage is finished); skipped when GPU_CHECK_ONLY leaves it out or
# under 20 s of the budget are left.
start_stage() {
  local name=$1
  shift
  if [[ $ONLY != *" $name "* ]]; then
    skip_stage "$name" "not in GPU_CHECK_ONLY"
    return
  fi
  if (($(limit 20) < 20)); then
    skip_stage "$name" "out of time: ${SECONDS}s of ${BUDGET}s spent"
    return
  fi
  echo
  echo "==== $name: started: $*"
  (
    begin=$SECONDS
    "$@" >"$LOGS/$name.out" 2>&1
    echo "$? $((SECONDS - begin))" >"$LOGS/$name.rc"
  ) &
  pending+=("$name")
}

# finish_stages: waits for the started stages, shows their output and records PASS/FAIL/TIMEOUT
# and their durations.
finish_stages() {
  wait
  local name rc secs
  for name in "${pending[@]}"; do
    echo
    echo "==== $name"
    cat "$LOGS/$name.out"
    read -r rc secs <"$LOGS/$name.rc" || { rc=1 secs=0; }
    stages+=("$name")
    seconds[$name]=$secs
    case $rc in
      0) status[$name]=PASS ;;
      124 | 137) status[$name]="FAIL (timeout)" ;;
      *) status[$name]="FAIL (exit $rc)" ;;
    esac
    echo "==== $name: ${status[$name]} in $secs s"
  done
  pending=()
  pack_logs
}

# run_stage NAME COMMAND...: one stage on its own.
run_stage() {
  start_stage "$@"
  finish_stages
}

configure() {
  if cmake --list-presets=configure 2>/dev/null | grep -q '"gpu"'; then
    timeout "$(limit 120)" cmake --preset gpu 2>&1 | tee "$LOGS/configure.log"
  else
    echo "no 'gpu' configure preset in CMakePresets.json: configuring without presets"
    timeout "$(limit 120)" cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DRECUR_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 2>&1 | tee "$LOGS/configure.log"
  fi
}

build() {
  timeout "$(limit 240)" cmake --build "$BUILD" -j "$JOBS" --target recur_gpu_tests bench_suite \
    >"$LOGS/build.log" 2>&1
  local rc=$?
  grep -E 'error|warning|FAILED|Linking' "$LOGS/build.log"
  [[ $rc == 0 ]] || tail -40 "$LOGS/build.log"
  return "$rc"
}

# Binaries from benchmarks/gpu_prebuild.sh: used when the test binary starts here (its libraries
# found: the directory's own librecur and libfmt, the machine's CUDA, cuDNN and OpenBLAS).
use_prebuilt() {
  local dir=$1
  [[ -x $dir/recur_gpu_tests && -x $dir/bench_suite ]] || {
    echo "GPU_CHECK_PREBUILT=$dir: no recur_gpu_tests and bench_suite there"
    return 1
  }
  # shellcheck source=scripts/prebuilt.sh
  source scripts/prebuilt.sh
  use_prebuilt_libraries "$dir"
  if ! "$dir/recur_gpu_tests" --gtest_list_tests >"$LOGS/prebuilt.log" 2>&1; then
    echo "GPU_CHECK_PREBUILT=$dir: recur_gpu_tests does not start here:"
    tail -5 "$LOGS/prebuilt.log"
    ldd "$dir/recur_gpu_tests" "$dir/librecur.so.0" 2>&1 | grep 'not found'
    return 1
  fi
  echo "using the prebuilt binaries in $dir ($(cat "$dir/commit.txt" 2>/dev/null))"
  TESTS="$dir/recur_gpu_tests"
  SUITE="$dir/bench_suite"
  export RECUR_PREBUILT=$dir  # for benchmarks/run.sh (GPU_CHECK_RUN_SH=1)
  if [[ -d $dir/corpora ]]; then export RECUR_DATA="$PWD/$dir/corpora"; fi
  return 0
}

gpu_info() {
  timeout 30 nvidia-smi 2>&1 | tee "$LOGS/nvidia-smi.txt"
  local rc=${PIPESTATUS[0]}
  timeout 30 nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version,clocks.max.sm \
    --format=csv 2>&1 | tee -a "$LOGS/nvidia-smi.txt"
  return "$rc"
}

# Output goes to files and is summarised afterwards: a `| head` on a live test run would kill it
# with SIGPIPE once head has its lines.
gpu_tests() {
  timeout "$(limit 240)" "$TESTS" --gtest_filter="${GPU_CHECK_TESTS:-*}" \
    --gtest_output="json:$OUT/gpu_tests.json" >"$LOGS/gpu_tests.log" 2>&1
  local rc=$?
  grep -E '^\[  (FAILED|PASSED) |^\[==========\]|Failure|error' "$LOGS/gpu_tests.log" | head -200
  [[ $rc == 0 ]] || tail -20 "$LOGS/gpu_tests.log"
  if grep -q '^\[  SKIPPED \]' "$LOGS/gpu_tests.log"; then
    echo "skipped tests:"
    grep '^\[  SKIPPED \] [A-Z]' "$LOGS/gpu_tests.log" | head -20
  fi
  # On this machine a test that skips for want of a GPU means the GPU is not visible.
  if [[ $rc == 0 ]] && grep -q '^\[  PASSED  \] 0 tests' "$LOGS/gpu_tests.log"; then
    echo "every GPU test skipped: no usable GPU"
    rc=3
  fi
  return "$rc"
}

sanitizer() {
  local tool=$1 filter=$2
  local cs candidate
  cs=$(command -v compute-sanitizer)
  for candidate in /usr/local/cuda/bin/compute-sanitizer \
    /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [[ -z "$cs" && -x $candidate ]] && cs=$candidate
  done
  if [[ -z "$cs" ]]; then
    echo "compute-sanitizer not found"
    return 127
  fi
  timeout "$(limit 150)" "$cs" --tool "$tool" --error-exitcode 1 "$TESTS" \
    --gtest_filter="$filter" --gtest_output="json:$LOGS/$tool.json" >"$LOGS/$tool.log" 2>&1
  local rc=$?
  grep -E '^\[  (FAILED|PASSED) |^\[==========\]|ERROR SUMMARY|RACECHECK SUMMARY|Invalid|Race|Error' \
    "$LOGS/$tool.log" | head -100
  [[ $rc == 0 ]] || tail -20 "$LOGS/$tool.log"
  # A sanitizer that checked nothing (every test skipped: no GPU) has not passed.
  if [[ $rc == 0 ]] && ! grep -q '^\[  PASSED  \] [1-9]' "$LOGS/$tool.log"; then
    echo "$tool: no test ran"
    rc=3
  fi
  return "$rc"
}

# The GPU engine issue's shapes (LSTM and GRU, I = H = 1024, T = 256, B in {1, 8, 64, 256}, f32
# and bf16 (f16 for LSTM), inference and training; and H = 256 at B in {1, 8}, where the
# persistent engine's cluster barrier runs) with every engine that runs them and every cuDNN
# algorithm, plus the cuBLAS ceilings: about 300 cases at 0.2 s or more each, two minutes or so.
# The whole side-by-side run with PyTorch is benchmarks/run.sh --device cuda --quick (about four
# minutes): run it as its own device call, or here with GPU_CHECK_RUN_SH=1.
# The persistent engine's counter barrier is left out: on the H200 it measured the same as the
# grid sync at every shape, within 3% (gpu-h200-20261129-1849-3fce187.json).
BENCH_FILTER='^gemm/|^(?!.*persistent-counter$)layer/(lstm|gru)/(inference|training)/(B(1|8|64|256)/H1024|B(1|8)/H256)/T256/L1/D1/'
# Seconds kept for PyTorch's side (bench_peers.py, one run per shape); 0 leaves it out.
BENCH_PEER_S=${GPU_CHECK_PEER_S:-90}
bench() {
  [[ -x $SUITE ]] || { echo "no $SUITE"; return 1; }
  # bench_suite stops starting cases 40 s before its limit, so its JSON is written; PyTorch gets
  # BENCH_PEER_S after it (a third of what is left, near the deadline).
  local total seconds peer_s
  total=$(limit $((220 + BENCH_PEER_S)))
  peer_s=$((BENCH_PEER_S < total / 3 ? BENCH_PEER_S : total / 3))
  seconds=$((total - peer_s))
  timeout "$seconds" "$SUITE" --device cuda --min-time 0.1 --max-reps 5 \
    --time-limit $((seconds > 80 ? seconds - 40 : seconds / 2)) \
    --filter "${GPU_CHECK_BENCH_FILTER:-$BENCH_FILTER}" \
    --out "$OUT/bench_lstm.json" 2>&1 | tee "$LOGS/bench.log"
  local rc=${PIPESTATUS[0]}
  # PyTorch (the machine's, with cuDNN) on the same shapes, right after, with the GPU to itself.
  local peers=()
  if [[ -s $OUT/bench_lstm.json ]] && ((peer_s > 0)) &&
    python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    timeout "$(limit "$peer_s")" python3 benchmarks/bench_peers.py --device cuda \
      --cases "$OUT/bench_lstm.json" --out "$OUT/bench_peers.json" 2>&1 | tee -a "$LOGS/bench.log"
    [[ ${PIPESTATUS[0]} == 0 && -s $OUT/bench_peers.json ]] && peers=(--peer "$OUT/bench_peers.json")
  else
    echo "PyTorch with CUDA is not there (or GPU_CHECK_PEER_S=0): the table has no PyTorch column"
  fi
  # The table of every engine per shape beside PyTorch (plot_bench.py), and the largest H the
  # persistent engine fits on this card, as bench_suite recorded it.
  [[ -s $OUT/bench_lstm.json ]] &&
    python3 python_tools/plot_bench.py merge --recur "$OUT/bench_lstm.json" "${peers[@]}" \
      --out "$LOGS/bench_record.json" 2>&1 &&
    python3 python_tools/plot_bench.py table "$LOGS/bench_record.json" 2>&1 |
    tee "$OUT/bench_table.md"
  [[ -s $OUT/bench_lstm.json ]] && python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])).get("persistent_limits") or []:
    print("persistent max H: {cell} {direction} {precision} {barrier}: {max_hidden}".format(**r))' \
    "$OUT/bench_lstm.json" 2>&1 | tee -a "$LOGS/bench.log"
  if [[ ${GPU_CHECK_RUN_SH:-0} == 1 && $rc == 0 ]]; then
    timeout "$(limit 420)" bash benchmarks/run.sh --device cuda --quick --no-docs 2>&1 |
      tee -a "$LOGS/bench.log"
    rc=${PIPESTATUS[0]}
    # One file back for the record and its pictures.
    tar -czf "$OUT/results.tar.gz" benchmarks/results/*.json benchmarks/results/*.png 2>/dev/null
  fi
  return "$rc"
}

# The fused engine's 16-bit cases whose times differed most between two machines of the same
# kind (docs/GPU_NOTES.md: bf16 LSTM training at B = 8, 10.07 against 6.78 ms), each timed in
# three fresh processes one after another: one process's times against another's on one machine.
REPEAT_FILTER='^layer/(lstm|gru)/training/B8/H1024/T256/L1/D1/bf16/fused$'
repeat() {
  [[ -x $SUITE ]] || { echo "no $SUITE"; return 1; }
  local i
  for i in 1 2 3; do
    timeout "$(limit 40)" "$SUITE" --device cuda --min-time 0.1 --max-reps 5 \
      --filter "$REPEAT_FILTER" --out "$LOGS/repeat-$i.json" 2>&1 | grep -E '^\[[0-9]+/' |
      sed "s/^/process $i: /"
    [[ ${PIPESTATUS[0]} == 0 ]] || return 1
  done
}

if [[ -n ${GPU_CHECK_PREBUILT:-} ]] && use_prebuilt "$GPU_CHECK_PREBUILT"; then
  skip_stage configure "prebuilt: $GPU_CHECK_PREBUILT"
  skip_stage build "prebuilt: $GPU_CHECK_PREBUILT"
else
  run_stage configure configure
  if [[ ${status[configure]:-} == PASS || $ONLY != *" configure "* ]]; then
    run_stage build build
  else
    skip_stage build "configure failed"
  fi
fi
run_stage nvidia-smi gpu_info
# The binaries to test: just built, prebuilt, or (GPU_CHECK_ONLY without build) an earlier build.
built() {
  [[ -x "$TESTS" ]] && case ${status[build]:-} in
    PASS | SKIPPED\ \(prebuilt* | SKIPPED\ \(not\ in*) return 0 ;;
    *) return 1 ;;
  esac
}
if built; then
  # The tests and the sanitizers share the GPU at once (correctness only: nothing is timed), unless
  # GPU_CHECK_SERIAL=1; the benchmark runs after them with the GPU to itself.
  start_stage gpu_tests gpu_tests
  [[ ${GPU_CHECK_SERIAL:-0} == 1 ]] && finish_stages
  start_stage memcheck sanitizer memcheck "$MEMCHECK_FILTER"
  [[ ${GPU_CHECK_SERIAL:-0} == 1 ]] && finish_stages
  start_stage racecheck sanitizer racecheck "$RACECHECK_FILTER"
  [[ ${GPU_CHECK_SERIAL:-0} == 1 ]] && finish_stages
  start_stage synccheck sanitizer synccheck "$SYNCCHECK_FILTER"
  finish_stages
  run_stage bench bench
  run_stage repeat repeat
else
  for s in gpu_tests memcheck racecheck synccheck bench repeat; do
    skip_stage "$s" "no test binary"
  done
fi

echo
echo "==== summary (logs in $OUT/logs.tar.gz)"
printf '%-12s %-40s %s\n' stage status seconds
failed=0
for s in "${stages[@]}"; do
  printf '%-12s %-40s %s\n' "$s" "${status[$s]}" "${seconds[$s]}"
done | tee "$OUT/summary.txt" "$LOGS/summary.txt"
for s in "${stages[@]}"; do
  [[ ${status[$s]} == PASS || ${status[$s]} == SKIPPED\ \(prebuilt* ||
    ${status[$s]} == SKIPPED\ \(not\ in* ]] || failed=1
done
pack_logs
exit "$failed"
