#!/usr/bin/env bash
# benchmarks/charlm_vs_pytorch.sh — recur's CharLM training beside PyTorch's, same model, same
# data order (python_tools/train_reference.py), in one run:
#
#   bash benchmarks/charlm_vs_pytorch.sh speed     # tokens/s: E=128 H=512 L=2 V=256 B=64 T=128
#   bash benchmarks/charlm_vs_pytorch.sh quality   # validation bpc on austen, LSTM and GRU
#
# speed: 24 steps each; steady-state tokens/s between steps 10 and 20 (from metrics.jsonl);
# PyTorch with its own default thread count and with one thread per core.
# quality: STEPS (default 400) steps of a 2x256 model on austen, same hyperparameters, final
# validation bpc over the whole held-out split; recur runs twice, from its own initial weights
# and from PyTorch's (--init), the second isolating everything but the initialisation.
# Results: benchmarks/results/charlm-<what>-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-speed}"
source benchmarks/peer_run.sh
out="benchmarks/results/charlm-$what-$stamp.json"

# steady_rate METRICS.jsonl: tokens/s between the train records of steps 10 and 20.
steady_rate() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
rec = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j.get("kind") == "train":
        rec[j["step"]] = j
a, b = rec[10], rec[20]
tokens = lambda r: r["tokens_per_s"] * r["time_s"]
print((tokens(b) - tokens(a)) / (b["time_s"] - a["time_s"]))
PY
}

final_val() {
  /usr/bin/python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if '\"val\"' in l][-1]['bpc'])" "$1"
}

if [[ "$what" == speed ]]; then
  common=(--corpus austen --embed 128 --hidden 512 --layers 2 --batch 64 --bptt 128 --steps 24
          --lr 2e-3 --eval-every 1000 --val-tokens 8192)
  echo "recur..." >&2
  "$RECUR" train "${common[@]}" --out "$tmp/recur" 2> "$tmp/recur.log"
  echo "PyTorch, default threads..." >&2
  /usr/bin/python3 python_tools/train_reference.py "${common[@]}" --threads 0 --out "$tmp/torch1" > /dev/null
  echo "PyTorch, $(nproc) threads..." >&2
  /usr/bin/python3 python_tools/train_reference.py "${common[@]}" --threads "$(nproc)" --out "$tmp/torch2" > /dev/null
  r=$(steady_rate "$tmp/recur/metrics.jsonl")
  t1=$(steady_rate "$tmp/torch1/metrics.jsonl")
  t2=$(steady_rate "$tmp/torch2/metrics.jsonl")
  /usr/bin/python3 - "$r" "$t1" "$t2" "$out" "$stamp" <<'PY'
import json, sys, torch
r, t1, t2 = map(float, sys.argv[1:4])
record = {"what": "CharLM training tokens/s, E=128 H=512 L=2 V=256 B=64 T=128 (austen, bytes)",
          "run": sys.argv[5], "torch": torch.__version__, "recur_tokens_per_s": r,
          "torch_default_threads_tokens_per_s": t1, "torch_all_cores_tokens_per_s": t2,
          "recur_vs_best_torch": r / max(t1, t2), "recur_vs_torch_all_cores": r / t2}
json.dump(record, open(sys.argv[4], "w"), indent=1)
print(f"| recur | PyTorch default threads | PyTorch all cores | recur / faster PyTorch |")
print(f"|---:|---:|---:|---:|")
print(f"| {r:,.0f} tok/s | {t1:,.0f} tok/s | {t2:,.0f} tok/s | {r / max(t1, t2):.2f}x |")
print(f"written: {sys.argv[4]}")
PY
else
  steps="${STEPS:-400}"
  rows=()
  for cell in lstm gru; do
    common=(--corpus austen --cell "$cell" --embed 64 --hidden 256 --layers 2 --batch 32 --bptt 128
            --steps "$steps" --lr 3e-3 --schedule cosine --min-lr 3e-4 --eval-every "$steps"
            --val-tokens 0 --seed 1)
    # PyTorch first: it writes the initial weights that the second recur run also starts from.
    echo "PyTorch $cell..." >&2
    /usr/bin/python3 python_tools/train_reference.py "${common[@]}" --out "$tmp/torch-$cell" \
      --save-init "$tmp/init-$cell.safetensors" > /dev/null
    echo "recur $cell, its own initial weights..." >&2
    "$RECUR" train "${common[@]}" --out "$tmp/recur-$cell" 2> "$tmp/recur-$cell.log"
    echo "recur $cell, PyTorch's initial weights..." >&2
    "$RECUR" train "${common[@]}" --init "$tmp/init-$cell.safetensors" --out "$tmp/recur-init-$cell" \
      2> "$tmp/recur-init-$cell.log"
    rows+=("$cell" "$(final_val "$tmp/recur-$cell/metrics.jsonl")" "$(final_val "$tmp/torch-$cell/metrics.jsonl")"
           "$(final_val "$tmp/recur-init-$cell/metrics.jsonl")")
  done
  /usr/bin/python3 - "$out" "$stamp" "$steps" "${rows[@]}" <<'PY'
import json, sys, torch
out, stamp, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
vals = sys.argv[4:]
rows = [{"cell": vals[i], "recur_val_bpc": float(vals[i + 1]), "torch_val_bpc": float(vals[i + 2]),
         "recur_same_init_val_bpc": float(vals[i + 3])} for i in range(0, len(vals), 4)]
for r in rows:
    r["relative_difference"] = (r["recur_val_bpc"] - r["torch_val_bpc"]) / r["torch_val_bpc"]
    r["same_init_relative_difference"] = (
        (r["recur_same_init_val_bpc"] - r["torch_val_bpc"]) / r["torch_val_bpc"])
json.dump({"what": f"validation bpc on austen after {steps} steps, E=64 H=256 L=2 B=32 T=128, "
           "same data order and hyperparameters", "run": stamp, "torch": torch.__version__,
           "rows": rows}, open(out, "w"), indent=1)
print("| cell | PyTorch val bpc | recur, own init | difference | recur, PyTorch's init | difference |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['cell']} | {r['torch_val_bpc']:.4f} | {r['recur_val_bpc']:.4f} | "
          f"{100 * r['relative_difference']:+.2f}% | {r['recur_same_init_val_bpc']:.4f} | "
          f"{100 * r['same_init_relative_difference']:+.2f}% |")
print(f"written: {out}")
PY
fi
