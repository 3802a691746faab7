#!/usr/bin/env bash
# benchmarks/run.sh — recur beside its peers, measured in one run, recorded, tabulated and drawn:
#
#   bash benchmarks/run.sh [--device cpu|cuda] [--quick|--full] [--filter REGEX] [--no-docs]
#
# Defaults: --device cpu --quick. Steps:
#   1. builds bench_suite and the recur command (preset default; for --device cuda preset gpu,
#      or default where CMakePresets.json has no gpu preset; only those targets, every core), or
#      with RECUR_PREBUILT=DIR uses those of benchmarks/gpu_prebuild.sh (built elsewhere);
#   2. build/PRESET/benchmarks/bench_suite: recur's measurements (GEMM ceiling, the Recurrent
#      layer sweep, streaming latency, CharLM generation) as JSON, in parts (one per cell...);
#   3. after each part, benchmarks/bench_peers.py: PyTorch on exactly those cases, with its own
#      default thread count and with one thread per core (when the two differ; on a GPU one
#      setting, PyTorch's default);
#   4. CharLM training tokens/s: `recur train` beside python_tools/train_reference.py (same model
#      E=128 H=512 L=2 V=256 B=64 T=128, same data order, austen), PyTorch in both thread settings
#      (on a GPU both with --device cuda);
#   5. python_tools/plot_bench.py: merges everything into
#      benchmarks/results/<machine>-<date>-<commit>.json, prints the Markdown table, draws the PNGs
#      next to the JSON and (for a complete run, i.e. without --filter) rewrites the record's
#      section of docs/PERFORMANCE.md.
# --quick takes six to nine minutes on a 2-core CPU machine (plus the first build); --full is the
# whole sweep of issue 5 (B x H x T x layers x directions) and takes days there: narrow it with
# --filter (an ECMAScript regex over case names such as layer/lstm/training/B64/H512/T64/L1/D1;
# list them with build/default/benchmarks/bench_suite --mode full --list).
#
# --device cuda (GPU 0): exits with status 2, before building anything, where nvidia-smi lists no
# GPU. bench_suite times every GPU engine (one row per engine) and the cuBLAS ceilings (f32
# without TF32, bf16) with CUDA events, L2 flushed before every run; bench_peers.py times PyTorch
# (cuDNN) once per shape the same way. PyTorch comes from the first of /usr/bin/python3 and
# python3 whose torch sees the GPU; the PNGs from the first of those with matplotlib (none: no
# PNGs). The GPU machine cannot fetch the austen corpus: CharLM training runs where
# ${RECUR_DATA:-~/.cache/recur/corpora}/austen.txt exists (python_tools/datasets.py writes it)
# and is left out, with a note, where it does not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "")

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
device=cpu
mode=quick
filter=""
write_docs=1
while (($#)); do
  case "$1" in
    --device) device="${2:?--device needs cpu or cuda}"; shift 2 ;;
    --device=*) device="${1#*=}"; shift ;;
    --quick) mode=quick; shift ;;
    --full) mode=full; shift ;;
    --filter) filter="${2:?--filter needs a regex}"; shift 2 ;;
    --filter=*) filter="${1#*=}"; shift ;;
    --no-docs) write_docs=0; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

# Whether this machine has an NVIDIA GPU (nvidia-smi lists one; without nvidia-smi, a device
# node); bench_suite itself also exits 2 when CUDA sees none.
gpu_visible() {
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi -L 2>/dev/null | grep -q '^GPU '
  else
    compgen -G '/dev/nvidia[0-9]*' >/dev/null
  fi
}

case "$device" in
  cpu) preset=default ;;
  cuda)
    if ! gpu_visible; then
      echo "run.sh: --device cuda: no GPU on this machine ($(command -v nvidia-smi >/dev/null \
        && echo "nvidia-smi lists none" || echo "no nvidia-smi, no /dev/nvidia*")); nothing built," \
        "nothing measured. Run it on a GPU machine, or use --device cpu." >&2
      exit 2
    fi
    preset=default
    if cmake --list-presets=configure 2>/dev/null | grep -q '"gpu"'; then preset=gpu; fi
    ;;
  *) echo "run.sh: --device must be cpu or cuda, got '$device'" >&2; exit 2 ;;
esac

# py: the interpreter with the peer's PyTorch (and plot_bench.py); plot_py: the one with
# matplotlib (empty: no PNGs).
if [[ "$device" == cpu ]]; then
  # shellcheck source=scripts/deps.sh
  source scripts/deps.sh
  {
    recur_deps
    if ! recur_bench_deps; then
      echo "run.sh: needs Debian's python3-torch for the peer (see above)"
      exit 1
    fi
    if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
      echo "run.sh: needs python3-matplotlib for the pictures: sudo apt-get install -y python3-matplotlib"
      exit 1
    fi
  } >&2
  py=/usr/bin/python3
  plot_py=/usr/bin/python3
else
  # The GPU machine installs nothing (no registry can be reached there): no apt checks. Its
  # PyTorch with CUDA is the plain python3 on PATH, which need not be /usr/bin/python3.
  py=""
  for candidate in /usr/bin/python3 python3; do
    if "$candidate" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
        2>/dev/null; then
      py=$candidate
      break
    fi
  done
  if [[ -z "$py" ]]; then
    echo "run.sh: --device cuda needs PyTorch with CUDA for the peer: neither /usr/bin/python3" \
      "nor python3 ($(command -v python3 || echo "not found")) has a torch that sees the GPU" >&2
    exit 1
  fi
  plot_py=""
  for candidate in "$py" /usr/bin/python3 python3; do
    if "$candidate" -c "import matplotlib" 2>/dev/null; then
      plot_py=$candidate
      break
    fi
  done
  if [[ -z "$plot_py" ]]; then
    echo "run.sh: no interpreter here has matplotlib: the record and the tables are written," \
      "the PNGs are not" >&2
  fi
fi
if [[ -n ${RECUR_PREBUILT:-} ]]; then
  # Binaries from benchmarks/gpu_prebuild.sh, built on another machine: nothing is built here.
  bench_suite="$RECUR_PREBUILT/bench_suite"
  recur_bin="$RECUR_PREBUILT/recur"
  if [[ ! -x "$bench_suite" || ! -x "$recur_bin" ]]; then
    echo "run.sh: RECUR_PREBUILT=$RECUR_PREBUILT has no bench_suite and recur" >&2
    exit 1
  fi
  # shellcheck source=scripts/prebuilt.sh
  source scripts/prebuilt.sh
  use_prebuilt_libraries "$RECUR_PREBUILT"
  echo "run.sh: prebuilt binaries: $(cat "$RECUR_PREBUILT/commit.txt" 2>/dev/null)" >&2
else
  {
    cmake --preset "$preset"
    cmake --build --preset "$preset" -j"$(nproc)" --target bench_suite recur_cli
  } >&2
  bench_suite="build/$preset/benchmarks/bench_suite"
  recur_bin="build/$preset/apps/recur/recur"
fi

# OpenBLAS (recur's large GEMMs, and PyTorch's on the CPU) chooses its kernels by CPU model, or
# as OPENBLAS_CORETYPE says. This project's development VMs set OPENBLAS_CORETYPE=Haswell (AVX2)
# in their environment, on AVX-512 CPUs: said here, since it halves the GEMM ceiling; the
# record's `openblas` field names the kernels that ran.
if [[ "$device" == cpu && -n ${OPENBLAS_CORETYPE:-} ]]; then
  echo "run.sh: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE is set: OpenBLAS runs those kernels for both" \
    "sides, whatever this CPU has" >&2
fi

# The timing budget (bench_peers.py reads it from bench_suite's JSON, so both sides get the
# same). On a GPU, --quick must fit in about 5 minutes after the build: bench_suite's default
# (0.5 s and 5 runs at least, 50 at most, after a 0.1 s warm-up) becomes 0.2 s and 20 runs at
# most. Estimate for the quick GPU sweep (48 shapes x each engine, 2 ceilings, 4 streams, one
# generation): about 0.3-0.5 s a case (warm-up 0.1 s, 0.2 s or 5 runs, set-up), so 25 s per
# engine on recur's side and 25 s for PyTorch's; 7 parts start bench_suite and bench_peers.py
# (a CUDA context, importing torch: 5-10 s a part, the largest share); CharLM training 50 steps
# on each side, about 20 s with the corpus loading; merge, tables, PNGs about 10 s. About
# 2.5 minutes with one engine, under 4 with three.
budget=()
if [[ "$device" == cuda && "$mode" == quick ]]; then budget=(--min-time 0.2 --max-reps 20); fi

cores=$(nproc)
echo "run.sh: load average at the start: $load_start (on $cores cores; this machine is shared," \
  "and a busy machine makes every number slower and noisier)" >&2

machine=$(hostname -s 2>/dev/null || hostname)
stamp="$machine-$(date -u +%Y%m%d-%H%M)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit)"
out_dir=benchmarks/results
mkdir -p "$out_dir"
record="$out_dir/$stamp.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The cases run in parts (the GEMM ceiling, each cell's layer cases, streaming, generation), and
# each part runs recur and then PyTorch before the next part begins: on a shared, noisy machine
# recur and its peer are then measured minutes apart at most, under much the same load.
# The GEMM ceiling always runs (every result is also a percent of it), whatever --filter says.
thread_settings=(0)
if [[ "$device" == cpu ]]; then
  torch_default=$("$py" -c "import torch; print(torch.get_num_threads())")
  if [[ "$torch_default" != "$cores" ]]; then thread_settings+=("$cores"); fi
fi
parts=("^gemm/" "^layer/rnn_tanh/" "^layer/leaky/" "^layer/gru/" "^layer/lstm/" "^stream/"
       "^generate/")
recur_parts=()
peer_parts=()
cases_failed=0
for i in "${!parts[@]}"; do
  part_filter="${parts[$i]}"
  if [[ -n "$filter" && "$part_filter" != "^gemm/" ]]; then
    part_filter="^(?=.*(?:$filter))(?:$part_filter)"
  fi
  n=$("$bench_suite" --mode "$mode" --device "$device" --filter "$part_filter" --list | wc -l)
  ((n > 0)) || continue
  echo "== ${parts[$i]}: recur (bench_suite --mode $mode --device $device, $n cases)" >&2
  # Exit status 1 with the JSON written: some cases failed (listed in it); the rest are measured.
  "$bench_suite" --mode "$mode" --device "$device" --filter "$part_filter" "${budget[@]}" \
    --out "$tmp/recur-$i.json" || {
    rc=$?
    [[ $rc == 1 && -s "$tmp/recur-$i.json" ]] || exit "$rc"
    cases_failed=1
  }
  recur_parts+=(--recur "$tmp/recur-$i.json")
  for threads in "${thread_settings[@]}"; do
    if [[ "$device" == cuda ]]; then
      echo "== ${parts[$i]}: PyTorch on the GPU ($py)" >&2
    else
      echo "== ${parts[$i]}: PyTorch, $([[ $threads == 0 ]] && echo "its default thread count" \
        "($torch_default)" || echo "$threads threads (one per core)")" >&2
    fi
    "$py" benchmarks/bench_peers.py --device "$device" --cases "$tmp/recur-$i.json" \
      --threads "$threads" --out "$tmp/peer-$i-$threads.json"
    peer_parts+=(--peer "$tmp/peer-$i-$threads.json")
  done
done

# CharLM training: steady-state tokens/s between step 10 and the last step.
# On a GPU 50 steps (200 with --full): a step takes milliseconds there, and the rate is counted
# from step 10 on.
charlm=()
charlm_settings=""
corpus=austen
if [[ "$device" == cuda ]]; then
  corpus="${RECUR_DATA:-$HOME/.cache/recur/corpora}/austen.txt"
fi
if [[ -n "$filter" ]] && ! [[ "charlm_train" =~ $filter ]]; then
  :
elif [[ "$device" == cuda && ! -f "$corpus" ]]; then
  echo "== CharLM training: left out: $corpus is missing (the GPU machine cannot fetch it; copy" \
    "it from a machine where python_tools/datasets.py path austen has written it, and set" \
    "RECUR_DATA to its folder)" >&2
else
  if [[ "$device" == cuda ]]; then
    steps=$([[ "$mode" == full ]] && echo 200 || echo 50)
  else
    steps=$([[ "$mode" == full ]] && echo 40 || echo 16)
  fi
  common=(--corpus "$corpus" --embed 128 --hidden 512 --layers 2 --batch 64 --bptt 128
          --steps "$steps" --lr 2e-3 --eval-every 100000 --val-tokens 1024)
  charlm_settings="E=128 H=512 L=2 V=256 B=64 T=128, LSTM, austen bytes, Adam, $steps steps"
  recur_device=()
  if [[ "$device" == cuda ]]; then
    recur_device=(--device cuda)
    charlm_settings+=", on the GPU (f32, PyTorch with cuDNN and TF32 off)"
  fi
  echo "== CharLM training: recur train ${recur_device[*]} ($steps steps)" >&2
  if ! "$recur_bin" train "${common[@]}" "${recur_device[@]}" --out "$tmp/charlm-recur" \
      2> "$tmp/charlm-recur.log"; then
    tail -20 "$tmp/charlm-recur.log" >&2
    exit 1
  fi
  charlm+=(--charlm recur 0 "$tmp/charlm-recur/metrics.jsonl")
  for threads in "${thread_settings[@]}"; do
    echo "== CharLM training: python_tools/train_reference.py ${recur_device[*]}," \
      "threads ${threads/#0/default}" >&2
    "$py" python_tools/train_reference.py "${common[@]}" "${recur_device[@]}" \
      --threads "$threads" --out "$tmp/charlm-torch-$threads" > /dev/null
    charlm+=(--charlm pytorch "$threads" "$tmp/charlm-torch-$threads/metrics.jsonl")
  done
fi

"$py" python_tools/plot_bench.py merge "${recur_parts[@]}" "${peer_parts[@]}" \
  "${charlm[@]}" --charlm-settings "$charlm_settings" --filter "$filter" --started "$started" \
  --load-start "$load_start" --out "$record"
echo
"$py" python_tools/plot_bench.py table "$record"
echo
if [[ -n "$plot_py" ]]; then
  "$plot_py" python_tools/plot_bench.py plot "$record"
fi
if [[ -z "$filter" && "$write_docs" == 1 ]]; then
  "$py" python_tools/plot_bench.py docs "$record" --doc docs/PERFORMANCE.md
fi
echo "run.sh: $record written in $(($(date +%s) - started)) s" \
  "(load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))" >&2
if [[ $cases_failed == 1 ]]; then
  echo "run.sh: some of recur's cases FAILED (the record's \"failed\" list, and the table)" >&2
  exit 1
fi
