#!/usr/bin/env bash
# benchmarks/translate_beam.sh — greedy decoding against beam search for a trained `recur
# translate` model: test chrF, exact translations and decoding time for each beam width and
# length exponent, on the test pairs of its corpus.
#
#   bash benchmarks/translate_beam.sh RUN_FOLDER [CORPUS]     # CORPUS: translations
#   WIDTHS="1 2 4 8" ALPHAS="0 0.6 1" bash benchmarks/translate_beam.sh runs/de
#
# RUN_FOLDER is a finished `recur translate --data ... --out RUN_FOLDER` run: its
# best.safetensors is scored, and its report.json (training options, validation loss) is copied
# into the record. Results: benchmarks/results/translate-beam-<host>-<date>-<commit>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ $# -ge 1 && -s "$1/best.safetensors" && -s "$1/report.json" ]] ||
  { echo "usage: $0 RUN_FOLDER [CORPUS] (a finished recur translate run)" >&2; exit 2; }
run="$1"
corpus="${2:-translations}"
WIDTHS="${WIDTHS:-1 2 4 8}"
ALPHAS="${ALPHAS:-0 0.6 1}"
source benchmarks/peer_run.sh
out="benchmarks/results/translate-beam-$stamp.json"

for width in $WIDTHS; do
  for alpha in $ALPHAS; do
    [[ $width == 1 && $alpha != "${ALPHAS%% *}" ]] && continue  # greedy ignores alpha
    echo "beam $width, length exponent $alpha..." >&2
    line="$("$RECUR" translate --model "$run/best.safetensors" --data "$corpus" --beam "$width" \
      --length-alpha "$alpha")"
    echo "$width $alpha $line" >> "$tmp/lines"
  done
done

/usr/bin/python3 - "$tmp/lines" "$run/report.json" "$out" "$stamp" <<'PY'
import json, os, re, sys
lines, report_path, out, stamp = sys.argv[1:]
pattern = re.compile(r"test chrF ([\d.]+) on (\d+) pairs \((.*?)\); exact ([\d.]+)%; ([\d.]+) s decoding")
rows = []
for line in open(lines):
    width, alpha, text = line.split(" ", 2)
    m = pattern.search(text)
    assert m, text
    rows.append({"beam": int(width), "length_alpha": float(alpha), "chrf": float(m[1]),
                 "pairs": int(m[2]), "exact_percent": float(m[4]), "decode_seconds": float(m[5])})
report = json.load(open(report_path))
record = {"stamp": stamp, "cores": os.cpu_count(), "model": report["model"],
          "training": report["training"], "decodings": rows}
with open(out, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
greedy = next(r for r in rows if r["beam"] == 1)
print(f"Decoding {rows[0]['pairs']} test pairs, {stamp}\n")
print("| decoding | chrF | exact | seconds | time / greedy |")
print("|---|---:|---:|---:|---:|")
for r in rows:
    name = "greedy" if r["beam"] == 1 else f"beam {r['beam']}, alpha {r['length_alpha']:g}"
    print(f"| {name} | {r['chrf']:.2f} | {r['exact_percent']:.1f}% | {r['decode_seconds']:.2f} | "
          f"{r['decode_seconds'] / max(greedy['decode_seconds'], 1e-3):.1f}x |")
print(f"\nrecord: {out}")
PY
