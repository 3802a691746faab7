#!/usr/bin/env bash
# benchmarks/classify_sequences.sh — `recur classify` on numeric feature sequences, trained to the
# end beside the same model in PyTorch (python_tools/train_classifier_reference.py): Fashion-MNIST
# read row by row (28 steps of 28 pixel features per picture, 10 kinds of garment; Debian's
# dataset-fashion-mnist, converted by python_tools/fashion_sequences.py), the classic
# "RNN on image rows" task.
#
#   bash benchmarks/classify_sequences.sh                # 10 epochs each, LSTM H=128
#   EPOCHS=2 TORCH_EPOCHS=1 bash benchmarks/classify_sequences.sh
#
# Both train on the same 54,000 training pictures (every 10th of each label held out for
# validation, the same split in both), standardise the features with the training rows'
# statistics, and keep the epoch with the best validation accuracy; recur's kept model then
# classifies the 10,000 pictures of the official test set (`recur predict`). The initial weights
# and the order of batches differ (each framework's own), so accuracies agree in distribution,
# not digit for digit. PyTorch runs on TORCH_THREADS threads (1: the fastest on the 2-core
# development VM, where 2 threads ran at a quarter of the speed) over the padded batch
# (TORCH_PACK=no-pack): every picture has 28 rows, so there is no padding and the padded run
# computes the numbers of the packed one, on PyTorch 1.13's faster path
# (benchmarks/classify_vs_pytorch.sh measures both); TORCH_PACK=pack for data of mixed lengths.
# Results: benchmarks/results/classify-sequences-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EPOCHS="${EPOCHS:-10}"
TORCH_EPOCHS="${TORCH_EPOCHS:-$EPOCHS}"
TORCH_THREADS="${TORCH_THREADS:-1}"
TORCH_PACK="${TORCH_PACK:-no-pack}"
DATA_DIR="${DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recur/corpora/fashion-rows}"
source benchmarks/peer_run.sh
out="benchmarks/results/classify-sequences-$stamp.json"

mkdir -p "$DATA_DIR"
for split in train test; do
  [[ -s "$DATA_DIR/$split.csv" ]] ||
    /usr/bin/python3 python_tools/fashion_sequences.py --split "$split" --out "$DATA_DIR/$split.csv"
done

common=(--cell lstm --hidden 128 --layers 1 --max-len 28 --batch 64 --lr 3e-3 --clip 1.0 --seed 1)
echo "recur classify, $EPOCHS epochs..." >&2
"$RECUR" classify --data "$DATA_DIR/train.csv" "${common[@]}" --epochs "$EPOCHS" --out "$tmp/recur" \
  > /dev/null 2> "$tmp/recur.log" || { tail -5 "$tmp/recur.log"; exit 1; }
"$RECUR" predict --model "$tmp/recur/best.safetensors" --data "$DATA_DIR/test.csv" --json \
  > "$tmp/recur-test.json"
echo "PyTorch, $TORCH_EPOCHS epochs on $TORCH_THREADS thread(s)..." >&2
/usr/bin/python3 python_tools/train_classifier_reference.py --data "$DATA_DIR/train.csv" \
  "${common[@]}" --epochs "$TORCH_EPOCHS" --threads "$TORCH_THREADS" --out "$tmp/torch" \
  $([[ $TORCH_PACK == no-pack ]] && echo --no-pack) \
  2> "$tmp/torch.log" || { tail -5 "$tmp/torch.log"; exit 1; }

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$DATA_DIR" "${common[*]}" <<'PY'
import json, os, platform, sys, torch
tmp, out, stamp, data_dir, args = sys.argv[1:]
records = lambda run: [json.loads(l) for l in open(os.path.join(tmp, run, "metrics.jsonl"))]
recur, peer = records("recur"), records("torch")
test = json.load(open(os.path.join(tmp, "recur-test.json")))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
# train_seconds and train_docs_per_s of a record count every training step of the run so far.
summary = lambda rs: {"epochs": len(rs), "best_validation_accuracy": max(r["accuracy"] for r in rs),
                      "train_seconds": rs[-1]["train_seconds"],
                      "train_sequences_per_s": rs[-1]["train_docs_per_s"],
                      "validation_accuracy_per_epoch": [r["accuracy"] for r in rs]}
result = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
          "data": data_dir, "args": args, "baseline_accuracy": recur[0]["baseline_accuracy"],
          "recur": dict(summary(recur), test_accuracy=test["accuracy"],
                        test_sequences=test["documents"]),
          "pytorch": dict(summary(peer), threads=peer[0]["threads"], packed=peer[0]["packed"])}
result["speedup"] = result["recur"]["train_sequences_per_s"] / result["pytorch"]["train_sequences_per_s"]
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
r, p = result["recur"], result["pytorch"]
print(f"| Fashion-MNIST rows, LSTM H=128 ({cpu}, {os.cpu_count()} cores) | epochs | "
      "best validation accuracy | training s | sequences/s |")
print("|---|---:|---:|---:|---:|")
print(f"| recur | {r['epochs']} | {r['best_validation_accuracy']:.4f} | {r['train_seconds']:.1f} | "
      f"{r['train_sequences_per_s']:.0f} |")
print(f"| PyTorch {torch.__version__}, {p['threads']} thread(s), "
      f"{'packed' if p['packed'] else 'padded'} | {p['epochs']} | "
      f"{p['best_validation_accuracy']:.4f} | {p['train_seconds']:.1f} | "
      f"{p['train_sequences_per_s']:.0f} |")
print(f"\nrecur's kept model on the test set: accuracy {r['test_accuracy']:.4f} of "
      f"{r['test_sequences']} (always one label: {result['baseline_accuracy']:.4f}); recur trains "
      f"{result['speedup']:.2f}x PyTorch's sequences/s; {out}")
PY
