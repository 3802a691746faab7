#!/usr/bin/env bash
# benchmarks/classify_windows.sh — does reading every byte of a mail help? `recur classify` on
# `spam` (SpamAssassin, 6046 messages, median 1069 bytes; 94% are longer than 256 bytes) three
# ways, in one run:
#   start      the first 256 bytes of each message, EPOCHS epochs
#   windows    every byte, in windows of 256 (--window 256), EPOCHS epochs; a message's
#              prediction is the mean of its windows' probabilities (and, from the same
#              probabilities, their normalised geometric mean: --window-vote log_mean)
#   start-long the first 256 bytes, as many steps as `windows` took (the same compute: a window
#              costs what a message's first 256 bytes do)
#
#   bash benchmarks/classify_windows.sh                # EPOCHS=3, LSTM E=32 H=64, B=32
#   EPOCHS=1 bash benchmarks/classify_windows.sh
#
# Each is scored per message on the same validation tenth (every 10th message of each label; a
# held-out message's windows are all held out), after every epoch; the table shows the last
# epoch's and the best epoch's accuracy, beside the majority class ('ham').
# Results: benchmarks/results/classify-windows-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EPOCHS="${EPOCHS:-3}"
source benchmarks/peer_run.sh
out="benchmarks/results/classify-windows-$stamp.json"

common=(--data spam --cell lstm --embed 32 --hidden 64 --batch 32 --lr 3e-3 --clip 1.0 --seed 1)
run() {  # run NAME OPTIONS...
  local name="$1"
  shift
  echo "recur classify $name: $*..." >&2
  "$RECUR" classify "${common[@]}" "$@" --out "$tmp/$name" > "$tmp/$name.out" 2> "$tmp/$name.log" ||
    { tail -5 "$tmp/$name.log" >&2; exit 1; }
}
run start --max-len 256 --epochs "$EPOCHS"
run windows --window 256 --epochs "$EPOCHS"
steps="$(/usr/bin/python3 -c 'import json, sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["step"])' \
  "$tmp/windows/metrics.jsonl")"
run start-long --max-len 256 --epochs 1000 --steps "$steps"

/usr/bin/python3 - "$tmp" "$out" "$stamp" <<'PY'
import json, os, platform, sys
tmp, out, stamp = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), platform.processor())
record = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "data": "spam", "runs": {}}
rows = []
for name in ("start", "windows", "start-long"):
    epochs = [json.loads(l) for l in open(os.path.join(tmp, name, "metrics.jsonl"))]
    # per message: the windows' mean ("sequences") when cut, else the items themselves
    per_message = [e.get("sequences", e) for e in epochs]
    entry = {"epochs": len(epochs), "steps": epochs[-1]["step"],
             "train_seconds": epochs[-1]["train_seconds"],
             "baseline_accuracy": epochs[-1]["baseline_accuracy"],
             "messages": per_message[-1]["documents"],
             "accuracy_last": per_message[-1]["accuracy"],
             "accuracy_best": max(m["accuracy"] for m in per_message),
             "per_label_last": per_message[-1]["per_label"],
             "per_epoch": [m["accuracy"] for m in per_message]}
    if "sequences" in epochs[-1]:
        entry["window_accuracy_last"] = epochs[-1]["accuracy"]
        entry["windows"] = epochs[-1]["documents"]
        entry["vote"] = epochs[-1]["sequences"].get("vote", "mean")
    if "sequences_other_vote" in epochs[-1]:  # the same windows' probabilities, the other vote
        other = [e["sequences_other_vote"] for e in epochs]
        entry["other_vote"] = {"vote": other[-1]["vote"],
                               "accuracy_last": other[-1]["accuracy"],
                               "accuracy_best": max(m["accuracy"] for m in other),
                               "per_label_last": other[-1]["per_label"],
                               "per_epoch": [m["accuracy"] for m in other]}
    record["runs"][name] = entry
    rows.append((name, entry))
with open(out, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")
print(f"recur classify on spam, LSTM E=32 H=64, per-message validation accuracy; {cpu}, "
      f"{os.cpu_count()} cores, {stamp}\n")
print("| run | epochs | steps | last epoch | best epoch | spam recall (last) | training s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, e in rows:
    print(f"| {name}{' (' + e['vote'] + ')' if 'vote' in e else ''} | {e['epochs']} | "
          f"{e['steps']} | {e['accuracy_last']:.4f} | "
          f"{e['accuracy_best']:.4f} | {e['per_label_last']['spam']['recall']:.4f} | "
          f"{e['train_seconds']:.0f} |")
    if "other_vote" in e:
        o = e["other_vote"]
        print(f"| {name} ({o['vote']}, same model) | {e['epochs']} | {e['steps']} | "
              f"{o['accuracy_last']:.4f} | {o['accuracy_best']:.4f} | "
              f"{o['per_label_last']['spam']['recall']:.4f} | |")
print(f"\nmajority class ('ham'): {rows[0][1]['baseline_accuracy']:.4f} of "
      f"{rows[0][1]['messages']} validation messages")
print(f"\nrecord: {out}")
PY
