#!/usr/bin/env bash
# benchmarks/translate_vs_pytorch.sh — `recur translate` beside the same model in PyTorch
# (python_tools/train_translator_reference.py) on the `translations` corpus (English -> German
# messages of Debian's programs), in one run: training speed, quality after the same number of
# epochs, and recur's test chrF after the full run against copying the source and a translation
# memory of the training pairs. recur decodes greedily (as PyTorch's script does) and by beam
# search (--beam 4, the default of recur translate).
#
#   bash benchmarks/translate_vs_pytorch.sh                 # recur 12 epochs, PyTorch 1
#   EPOCHS=4 PEER_EPOCHS=2 bash benchmarks/translate_vs_pytorch.sh
#   MODEL_OPTIONS="--bidirectional --dropout 0.2" bash benchmarks/translate_vs_pytorch.sh
#
# Both train the byte-level encoder-decoder with Luong attention of models/translator.h (an LSTM,
# embed 64, H=256, one layer; Adam lr 2e-3, clipping 1, batches of 64 pairs of similar target
# length, pairs up to 80 bytes) on the same pairs; recur decays the lr along a cosine over its
# EPOCHS, which barely moves it in the first epoch. They differ in initial weights and batch
# order (each its own generator), so losses agree in distribution, not digit for digit. PyTorch
# 1.13 (Debian's) runs on as many threads as recur, its decoder unpacked (faster there; the same
# loss), with OMP_WAIT_POLICY=PASSIVE (its OpenMP threads otherwise spin against each other: ten
# times slower per step on a busy 2-core machine).
# Results: benchmarks/results/translate-<host>-<date>-<commit>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EPOCHS="${EPOCHS:-12}"
PEER_EPOCHS="${PEER_EPOCHS:-1}"
source benchmarks/peer_run.sh
out="benchmarks/results/translate-$stamp.json"
corpus="$(dirname "$(/usr/bin/python3 python_tools/datasets.py path translations)")"
MODEL=(--cell lstm --embed 64 --hidden 256 --layers 1 --batch 64 --lr 2e-3 --clip 1.0 --seed 1 --max-len 80)
read -r -a extra <<< "${MODEL_OPTIONS:-}"  # options both take: --bidirectional, --dropout P
MODEL+=("${extra[@]}")

echo "recur translate, $EPOCHS epochs..." >&2
"$RECUR" translate --data "$corpus" --out "$tmp/recur" "${MODEL[@]}" --epochs "$EPOCHS" \
  > "$tmp/recur.out" 2> "$tmp/recur.log" || { tail -5 "$tmp/recur.log" >&2; exit 1; }
echo "PyTorch, $PEER_EPOCHS epoch(s)..." >&2
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 python_tools/train_translator_reference.py --corpus "$corpus" --out "$tmp/peer.json" \
  "${MODEL[@]}" --epochs "$PEER_EPOCHS" --threads "$(nproc)" > "$tmp/peer.log" 2>&1 ||
  { tail -5 "$tmp/peer.log" >&2; exit 1; }

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$corpus" <<'PY'
import json, os, platform, sys
tmp, out, stamp, corpus = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
epochs = [json.loads(l) for l in open(os.path.join(tmp, "recur", "metrics.jsonl"))]
report = json.load(open(os.path.join(tmp, "recur", "report.json")))
peer = json.load(open(os.path.join(tmp, "peer.json")))
meta = json.load(open(os.path.join(corpus, "meta.json")))
record = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "corpus": corpus,
          "corpus_meta": {k: meta[k] for k in meta if k in ("name", "pairs", "splits", "rules")},
          "recur": {"epochs": epochs, "report": report}, "pytorch": peer}
with open(out, "w") as f:
    json.dump(record, f, indent=2, ensure_ascii=False)
    f.write("\n")

r1, p1 = epochs[0], peer["epochs"][0]
rs = r1["train_seconds"]
print(f"recur translate vs PyTorch {peer['torch']} (same model and data); {cpu}, "
      f"{os.cpu_count()} cores, {stamp}\n")
print("| first epoch | recur | PyTorch | recur / PyTorch |")
print("|---|---:|---:|---:|")
print(f"| training seconds | {rs:.1f} | {p1['seconds']:.1f} | {rs / p1['seconds']:.2f}x |")
print(f"| target tokens/s | {r1['target_tokens_per_s']:.0f} | {p1['target_tokens_per_s']:.0f} | "
      f"{r1['target_tokens_per_s'] / p1['target_tokens_per_s']:.2f}x |")
print(f"| validation loss (nats/byte) | {r1['validation_loss']:.4f} | {p1['valid_loss']:.4f} | |")
pe = peer["epochs"][-1]
print(f"\nAfter {len(epochs)} epochs recur's best validation loss is "
      f"{min(e['validation_loss'] for e in epochs):.4f}; PyTorch's after {len(peer['epochs'])}: "
      f"{pe['valid_loss']:.4f}.\n")
b = report["baselines"]
print("| test chrF (" + str(report["test_pairs"]) + " pairs) | chrF | exact |")
print("|---|---:|---:|")
g = report["greedy"]
print(f"| recur, {len(epochs)} epochs, greedy | {g['chrf']:.2f} | {100 * g['exact']:.1f}% |")
print(f"| recur, {len(epochs)} epochs, {report['decoding']} | {report['chrf']:.2f} | "
      f"{100 * report['exact']:.1f}% |")
print(f"| PyTorch, {len(peer['epochs'])} epoch(s), greedy | {peer['test']['chrf']:.2f} | |")
print(f"| copying the source | {b['copy_source_chrf']:.2f} | |")
print(f"| translation memory (most shared trigrams) | {b['translation_memory_chrf']:.2f} | |")
print(f"\nrecord: {out}")
PY
