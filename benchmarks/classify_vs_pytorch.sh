#!/usr/bin/env bash
# benchmarks/classify_vs_pytorch.sh — `recur classify` beside the same classifier in PyTorch
# (python_tools/train_classifier_reference.py): same model, corpus, split, batching scheme and
# hyperparameters, in one run.
#
#   bash benchmarks/classify_vs_pytorch.sh            # spam vs ham, 100 training steps each
#   STEPS=200 PACKED_STEPS=20 DATA=path/to/labelled.txt bash benchmarks/classify_vs_pytorch.sh
#   DATA=rows.csv bash benchmarks/classify_vs_pytorch.sh   # feature sequences (--embed unused)
#
# The model: bidirectional LSTM, E=32, H=128, the first 256 bytes of each message, B=32, Adam
# 3e-3, clipping 1.0. Speed is documents per second over the training steps only (validation and
# checkpoints excluded). PyTorch runs four ways: with its default thread count and with one
# thread per core, each over pack_padded_sequence (the same numbers as recur: each document's
# final state at its own end) and over the padded batch (--no-pack: faster in PyTorch 1.13, whose
# packed backward fills and adds a tensor the size of the whole packed input at every step, but
# the final states of shorter documents then read their padding). The ratio is against the
# fastest of the four. PyTorch's packed runs take PACKED_STEPS (10) steps: each takes seconds.
# Accuracy after so few steps is recorded, not compared.
# Results: benchmarks/results/classify-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STEPS="${STEPS:-100}"
PACKED_STEPS="${PACKED_STEPS:-10}"
DATA="${DATA:-spam}"
source benchmarks/peer_run.sh
out="benchmarks/results/classify-$stamp.json"

common=(--cell lstm --embed 32 --hidden 128 --layers 1 --bidirectional --max-len 256 --batch 32
        --epochs 1 --lr 3e-3 --clip 1.0 --seed 1)
echo "recur classify..." >&2
"$RECUR" classify --data "$DATA" "${common[@]}" --steps "$STEPS" --out "$tmp/recur" > /dev/null 2> "$tmp/recur.log" ||
  { tail -5 "$tmp/recur.log"; exit 1; }
# The file recur read (a corpus name resolves to the cached file).
path="$(sed -n 's/^recur classify: \(.*\), [0-9]* \(documents\|sequences\) .*/\1/p' "$tmp/recur.log")"
peers=()
for threads in 0 "$(nproc)"; do
  for pack in pack no-pack; do
    run="torch-$threads-$pack"
    echo "PyTorch, threads $threads (0: default), $pack..." >&2
    steps=$([[ $pack == pack ]] && echo "$PACKED_STEPS" || echo "$STEPS")
    /usr/bin/python3 python_tools/train_classifier_reference.py --data "$path" "${common[@]}" \
      --steps "$steps" --threads "$threads" $([[ $pack == no-pack ]] && echo --no-pack) \
      --out "$tmp/$run" \
      2> "$tmp/$run.log" || { tail -5 "$tmp/$run.log"; exit 1; }
    peers+=("$run")
  done
done

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$path" "${common[*]}" "${peers[@]}" <<'PY'
import json, os, platform, sys, torch
tmp, out, stamp, path, args, *peers = sys.argv[1:]
last = lambda run: [json.loads(l) for l in open(os.path.join(tmp, run, "metrics.jsonl"))][-1]
STEPS, PACKED = (max(last(p)["step"] for p in peers if p.endswith("-no-pack") == padded)
                 for padded in (True, False))
recur, torch_runs = last("recur"), [last(p) for p in peers]
fastest = max(torch_runs, key=lambda r: r["train_docs_per_s"])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
result = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
          "data": path, "args": args,
          "recur": {"train_docs_per_s": recur["train_docs_per_s"], "steps": recur["step"],
                    "accuracy": recur["accuracy"]},
          "pytorch": [{"threads": r["threads"], "packed": r["packed"], "steps": r["step"],
                       "train_docs_per_s": r["train_docs_per_s"], "accuracy": r["accuracy"]}
                      for r in torch_runs],
          "speedup_vs_fastest_pytorch": recur["train_docs_per_s"] / fastest["train_docs_per_s"],
          "speedup_vs_fastest_packed_pytorch": recur["train_docs_per_s"] / max(
              r["train_docs_per_s"] for r in torch_runs if r["packed"])}
with open(out, "w") as f:
    json.dump(result, f, indent=2)
    f.write("\n")
print(f"| {cpu}, {os.cpu_count()} cores | training docs/s | recur's speed over it |")
print("|---|---:|---:|")
print(f"| recur | {recur['train_docs_per_s']:.1f} | |")
for r in torch_runs:
    how = "packed" if r["packed"] else "padded (reads the padding)"
    print(f"| PyTorch {r['torch']}, {r['threads']} thread(s), {how} | {r['train_docs_per_s']:.1f} | "
          f"{recur['train_docs_per_s'] / r['train_docs_per_s']:.2f}x |")
print(f"\nrecur {recur['step']} steps, PyTorch padded {STEPS} and packed {PACKED}; "
      f"recur / fastest PyTorch "
      f"{result['speedup_vs_fastest_pytorch']:.2f}x, / fastest packed PyTorch "
      f"{result['speedup_vs_fastest_packed_pytorch']:.1f}x; {out}")
PY
