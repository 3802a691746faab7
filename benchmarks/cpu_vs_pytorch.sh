#!/usr/bin/env bash
# benchmarks/cpu_vs_pytorch.sh — the Recurrent layer on the CPU beside Debian's PyTorch, in one run:
#
#   bash benchmarks/cpu_vs_pytorch.sh [--quick]     (--quick: only B=64, I=H=512)
#
# Builds bench_recurrent_cpu (preset default), runs it, runs benchmarks/peer_cpu.py with PyTorch's
# default thread count and with one thread per core, and prints a Markdown table with the ratio
# against the faster PyTorch. The merged record goes to benchmarks/results/cpu-<host>-<date>-<commit>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

filter=""
[[ "${1:-}" == "--quick" ]] && filter="64/512"

{
  recur_deps
  if ! recur_bench_deps; then
    echo "cpu_vs_pytorch.sh: needs Debian's python3-torch for the peer (see above)"
    exit 1
  fi
  cmake --preset default
  cmake --build --preset default -j"$(nproc)" --target bench_recurrent_cpu
} >&2

out_dir=benchmarks/results
mkdir -p "$out_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "running recur (bench_recurrent_cpu)..." >&2
build/default/benchmarks/bench_recurrent_cpu --benchmark_filter="${filter:-.}" \
  --benchmark_out="$tmp/recur.json" --benchmark_out_format=json >&2
echo "running PyTorch, default threads..." >&2
/usr/bin/python3 benchmarks/peer_cpu.py --filter "$filter" --min-time 2 > "$tmp/peer_default.json"
echo "running PyTorch, $(nproc) threads..." >&2
/usr/bin/python3 benchmarks/peer_cpu.py --filter "$filter" --min-time 2 --threads "$(nproc)" \
  > "$tmp/peer_all.json"
stamp="$(hostname)-$(date -u +%Y%m%d-%H%M)-$(git rev-parse --short HEAD)"
/usr/bin/python3 benchmarks/compare_cpu.py "$tmp/recur.json" "$tmp/peer_default.json" \
  "$tmp/peer_all.json" "$out_dir/cpu-$stamp.json"
