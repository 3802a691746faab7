#!/usr/bin/env bash
# benchmarks/run.sh — recur beside its peers, measured in one run, recorded, tabulated and drawn:
#
#   bash benchmarks/run.sh [--device cpu|cuda] [--quick|--full] [--filter REGEX] [--no-docs]
#
# Defaults: --device cpu --quick. Steps:
#   1. builds bench_suite and the recur command (preset default, only those targets);
#   2. build/default/benchmarks/bench_suite: recur's measurements (GEMM ceiling, the Recurrent
#      layer sweep, streaming latency, CharLM generation) as JSON, in parts (one per cell...);
#   3. after each part, benchmarks/bench_peers.py: PyTorch on exactly those cases, with its own
#      default thread count and with one thread per core (when the two differ);
#   4. CharLM training tokens/s: `recur train` beside python_tools/train_reference.py (same model
#      E=128 H=512 L=2 V=256 B=64 T=128, same data order, austen), PyTorch in both thread settings;
#   5. python_tools/plot_bench.py: merges everything into
#      benchmarks/results/<machine>-<date>-<commit>.json, prints the Markdown table, draws the PNGs
#      next to the JSON and (for a complete run, i.e. without --filter) rewrites the record's
#      section of docs/PERFORMANCE.md.
# --quick takes about six minutes on a 2-core CPU machine (plus the first build); --full is the
# whole sweep of issue 5 (B x H x T x layers x directions) and takes days there: narrow it with
# --filter (an ECMAScript regex over case names such as layer/lstm/training/B64/H512/T64/L1/D1;
# list them with build/default/benchmarks/bench_suite --mode full --list).
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

case "$device" in
  cpu) ;;
  cuda)
    # The GPU half of issue 5 goes here once recur has GPU engines: build the `gpu` preset,
    # run `bench_suite --device cuda` (every engine: Fused, Persistent, CuDNN with each cuDNN
    # algorithm; CUDA-event timing, L2 flushed between runs; the cuBLAS GEMM ceiling), then
    # `bench_peers.py --device cuda` (PyTorch with cuDNN), and merge/plot as for the CPU.
    echo "run.sh: --device cuda: this build has no GPU engine. recur's CUDA engines (Fused," \
      "Persistent, CuDNN) do not exist yet, so there is nothing to measure on a GPU and no GPU" \
      "numbers are recorded (see docs/PERFORMANCE.md)." >&2
    exit 2
    ;;
  *) echo "run.sh: --device must be cpu or cuda, got '$device'" >&2; exit 2 ;;
esac

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
  cmake --preset default
  cmake --build --preset default -j"$(nproc)" --target bench_suite recur_cli
} >&2

cores=$(nproc)
echo "run.sh: load average at the start: $load_start (on $cores cores; this machine is shared," \
  "and a busy machine makes every number slower and noisier)" >&2

machine=$(hostname -s 2>/dev/null || hostname)
stamp="$machine-$(date -u +%Y%m%d-%H%M)-$(git rev-parse --short HEAD)"
out_dir=benchmarks/results
mkdir -p "$out_dir"
record="$out_dir/$stamp.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The cases run in parts (the GEMM ceiling, each cell's layer cases, streaming, generation), and
# each part runs recur and then PyTorch before the next part begins: on a shared, noisy machine
# recur and its peer are then measured minutes apart at most, under much the same load.
# The GEMM ceiling always runs (every result is also a percent of it), whatever --filter says.
torch_default=$(/usr/bin/python3 -c "import torch; print(torch.get_num_threads())")
thread_settings=(0)
if [[ "$torch_default" != "$cores" ]]; then thread_settings+=("$cores"); fi
parts=("^gemm/" "^layer/rnn_tanh/" "^layer/leaky/" "^layer/gru/" "^layer/lstm/" "^stream/"
       "^generate/")
recur_parts=()
peer_parts=()
for i in "${!parts[@]}"; do
  part_filter="${parts[$i]}"
  if [[ -n "$filter" && "$part_filter" != "^gemm/" ]]; then
    part_filter="^(?=.*(?:$filter))(?:$part_filter)"
  fi
  n=$(build/default/benchmarks/bench_suite --mode "$mode" --filter "$part_filter" --list | wc -l)
  ((n > 0)) || continue
  echo "== ${parts[$i]}: recur (bench_suite --mode $mode, $n cases)" >&2
  build/default/benchmarks/bench_suite --mode "$mode" --device "$device" --filter "$part_filter" \
    --out "$tmp/recur-$i.json"
  recur_parts+=(--recur "$tmp/recur-$i.json")
  for threads in "${thread_settings[@]}"; do
    echo "== ${parts[$i]}: PyTorch, $([[ $threads == 0 ]] && echo "its default thread count" \
      "($torch_default)" || echo "$threads threads (one per core)")" >&2
    /usr/bin/python3 benchmarks/bench_peers.py --cases "$tmp/recur-$i.json" --threads "$threads" \
      --out "$tmp/peer-$i-$threads.json"
    peer_parts+=(--peer "$tmp/peer-$i-$threads.json")
  done
done

# CharLM training: steady-state tokens/s between step 10 and the last step.
charlm=()
charlm_settings=""
if [[ -z "$filter" ]] || [[ "charlm_train" =~ $filter ]]; then
  steps=$([[ "$mode" == full ]] && echo 40 || echo 16)
  common=(--corpus austen --embed 128 --hidden 512 --layers 2 --batch 64 --bptt 128
          --steps "$steps" --lr 2e-3 --eval-every 100000 --val-tokens 1024)
  charlm_settings="E=128 H=512 L=2 V=256 B=64 T=128, LSTM, austen bytes, Adam, $steps steps"
  echo "== CharLM training: recur train ($steps steps)" >&2
  if ! build/default/apps/recur/recur train "${common[@]}" --out "$tmp/charlm-recur" \
      2> "$tmp/charlm-recur.log"; then
    tail -20 "$tmp/charlm-recur.log" >&2
    exit 1
  fi
  charlm+=(--charlm recur 0 "$tmp/charlm-recur/metrics.jsonl")
  for threads in "${thread_settings[@]}"; do
    echo "== CharLM training: python_tools/train_reference.py, threads ${threads/#0/default}" >&2
    /usr/bin/python3 python_tools/train_reference.py "${common[@]}" --threads "$threads" \
      --out "$tmp/charlm-torch-$threads" > /dev/null
    charlm+=(--charlm pytorch "$threads" "$tmp/charlm-torch-$threads/metrics.jsonl")
  done
fi

/usr/bin/python3 python_tools/plot_bench.py merge "${recur_parts[@]}" "${peer_parts[@]}" \
  "${charlm[@]}" --charlm-settings "$charlm_settings" --filter "$filter" --started "$started" \
  --load-start "$load_start" --out "$record"
echo
/usr/bin/python3 python_tools/plot_bench.py table "$record"
echo
/usr/bin/python3 python_tools/plot_bench.py plot "$record"
if [[ -z "$filter" && "$write_docs" == 1 ]]; then
  /usr/bin/python3 python_tools/plot_bench.py docs "$record" --doc docs/PERFORMANCE.md
fi
echo "run.sh: $record written in $(($(date +%s) - started)) s" \
  "(load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null))" >&2
