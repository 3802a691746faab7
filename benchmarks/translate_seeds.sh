#!/usr/bin/env bash
# benchmarks/translate_seeds.sh — how much the first epoch of translate_vs_pytorch.sh's model
# depends on the seed, in recur and in PyTorch: for each seed, one epoch of each (recur with
# --epochs 12 --steps <one epoch>, so that its lr follows the 12-epoch cosine as in the full run;
# PyTorch at a constant lr), and their training and validation losses. A seed draws the initial
# weights and the batch order; the two programs draw them with different generators, so only the
# spread over seeds can be compared, not one seed with the same seed.
#
#   bash benchmarks/translate_seeds.sh                 # seeds 1 2 3
#   SEEDS="1 2 3 4 5" bash benchmarks/translate_seeds.sh
#
# Results: benchmarks/results/translate-seeds-<host>-<date>-<commit>.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SEEDS="${SEEDS:-1 2 3}"
source benchmarks/peer_run.sh
out="benchmarks/results/translate-seeds-$stamp.json"
corpus="$(dirname "$(/usr/bin/python3 python_tools/datasets.py path translations)")"
MODEL=(--cell lstm --embed 64 --hidden 256 --layers 1 --batch 64 --lr 2e-3 --clip 1.0 --max-len 80)
pairs="$(wc -l < "$corpus/train.tsv")"
steps=$(((pairs + 63) / 64))

for seed in $SEEDS; do
  echo "seed $seed: recur..." >&2
  "$RECUR" translate --data "$corpus" --out "$tmp/recur-$seed" "${MODEL[@]}" --seed "$seed" \
    --epochs 12 --steps "$steps" --test-pairs 1 > /dev/null 2> "$tmp/recur-$seed.log" ||
    { tail -5 "$tmp/recur-$seed.log" >&2; exit 1; }
  echo "seed $seed: PyTorch..." >&2
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 python_tools/train_translator_reference.py \
    --corpus "$corpus" --out "$tmp/peer-$seed.json" "${MODEL[@]}" --seed "$seed" --epochs 1 \
    --threads "$(nproc)" --decode-limit 1 > "$tmp/peer-$seed.log" 2>&1 ||
    { tail -5 "$tmp/peer-$seed.log" >&2; exit 1; }
done

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$steps" $SEEDS <<'PY'
import json, os, statistics, sys
tmp, out, stamp, steps, seeds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
rows = []
for seed in seeds:
    r = json.loads(open(os.path.join(tmp, f"recur-{seed}", "metrics.jsonl")).readline())
    p = json.load(open(os.path.join(tmp, f"peer-{seed}.json")))
    torch_version = p["torch"]
    p = p["epochs"][0]
    assert r["step"] == steps == p["steps"], (r["step"], steps, p["steps"])
    rows.append({"seed": int(seed),
                 "recur": {k: r[k] for k in ("train_loss", "validation_loss", "train_seconds")},
                 "pytorch": {"train_loss": p["train_loss"], "validation_loss": p["valid_loss"],
                             "train_seconds": p["seconds"]}})
record = {"stamp": stamp, "cores": os.cpu_count(), "steps": steps, "torch": torch_version,
          "model": "lstm, embed 64, hidden 256, 1 layer; batch 64, Adam lr 2e-3, clip 1, max-len 80",
          "seeds": rows}
with open(out, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
print(f"First epoch ({steps} steps) of translate_vs_pytorch.sh's model, by seed; {stamp}\n")
print("| seed | recur train loss | recur validation loss | PyTorch train loss | "
      "PyTorch validation loss |")
print("|---:|---:|---:|---:|---:|")
for row in rows:
    r, p = row["recur"], row["pytorch"]
    print(f"| {row['seed']} | {r['train_loss']:.4f} | {r['validation_loss']:.4f} | "
          f"{p['train_loss']:.4f} | {p['validation_loss']:.4f} |")
for who in ("recur", "pytorch"):
    v = [row[who]["validation_loss"] for row in rows]
    print(f"\n{who}: validation loss mean {statistics.mean(v):.4f}, "
          f"min {min(v):.4f}, max {max(v):.4f}", end="")
print(f"\n\nrecord: {out}")
PY
