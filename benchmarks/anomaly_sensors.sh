#!/usr/bin/env bash
# benchmarks/anomaly_sensors.sh — `recur anomaly` (an LSTM autoencoder) on real labelled sensor
# data, beside the jump baseline: the single-hop wireless sensor network of Suthaharan et al.
# 2010 (python_tools/sensor_network.py: humidity and temperature of 4 motes every 5 s for six
# hours; a hot-water kettle's steam, introduced once near mote 1 and once near mote 4, is
# labelled anomalous; motes 2 and 3 saw no event, so every value flagged there is a false alarm).
#
#   bash benchmarks/anomaly_sensors.sh                     # 4 motes x 3 column sets, seeds 1-3
#   WATCH="humidity,temperature" SEEDS="1 2 3 4 5" bash benchmarks/anomaly_sensors.sh
#   OPTIONS="" bash benchmarks/anomaly_sensors.sh          # the levels, not first differences
#
# Each run trains on the first TRAIN readings (default 1800: two and a half hours, before either
# event), the last fifth of them, not trained on, setting the threshold; it then judges the rest.
# recur anomaly's defaults otherwise (LSTM, H=32, window 32, 1000 steps), with first differences
# (OPTIONS, default --difference: the outdoor motes' levels drift out of the training range).
# Nothing is tuned on the judged part. Reported per value (precision, recall, F1), per event
# (found or not) and, on the motes without events, false alarms per hour; mean [min, max] over
# SEEDS. The same rule flags the jump baseline (one column: the jump; several: the length of the
# jump with each feature divided by the standard deviation of its jumps).
# Results: benchmarks/results/anomaly-sensors-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MOTES="${MOTES:-1 2 3 4}"
WATCH="${WATCH:-humidity temperature humidity,temperature}"
SEEDS="${SEEDS:-1 2 3}"
TRAIN="${TRAIN:-1800}"
OPTIONS="${OPTIONS---difference}"
source benchmarks/peer_run.sh
out="benchmarks/results/anomaly-sensors-$stamp.json"

/usr/bin/python3 python_tools/sensor_network.py --out-dir "$tmp/data" > "$tmp/motes.txt"
cat "$tmp/motes.txt" >&2
for mote in $MOTES; do
  for columns in $WATCH; do
    for seed in $SEEDS; do
      run="$tmp/run-$mote-$columns-$seed"
      echo "recur anomaly mote $mote, $columns, seed $seed..." >&2
      # shellcheck disable=SC2086  # OPTIONS holds zero or more words
      "$RECUR" anomaly --data "$tmp/data/mote$mote.csv" --column "$columns" --labels anomaly \
        --train "$TRAIN" $OPTIONS --seed "$seed" --out "$run" > "$run.out" 2> "$run.log" ||
        { tail -5 "$run.log" >&2; exit 1; }
    done
  done
done

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$SEEDS" "$MOTES" "$WATCH" "$OPTIONS" <<'PY'
import json, os, platform, statistics, sys
tmp, out, stamp, seeds, motes, watch, options = sys.argv[1:]
seeds, motes, watch = seeds.split(), motes.split(), watch.split()
meta = json.load(open(os.path.join(tmp, "data", "motes.json")))
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
record = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "seeds": seeds, "options": options,
          "data": meta, "runs": {}}
print(f"recur anomaly (LSTM autoencoder{', ' + options if options else ''}; mean [min, max] over "
      f"seeds {', '.join(seeds)}) vs the jump baseline on the Suthaharan single-hop sensor "
      f"network; {cpu}, {os.cpu_count()} cores, {stamp}\n")
print("| mote | columns | judged | events (values) | recur precision | recall | F1 | events found "
      "| false alarms per hour | jump precision / recall / F1 / found | jump false alarms per hour "
      "| seconds |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
per_hour = lambda flagged, judged: flagged / (judged * meta["interval_seconds"] / 3600)
for mote in motes:
    for columns in watch:
        runs = [json.load(open(os.path.join(tmp, f"run-{mote}-{columns}-{s}", "anomalies.json")))
                for s in seeds]
        judged = runs[0]["points"] - runs[0]["judged_from"]
        ae = [r["autoencoder"]["scores"] for r in runs]
        for a in ae:
            a["false_alarms_per_hour"] = per_hour(a["flagged"] - a["true_positives"], judged)
        jump = runs[0]["jump_baseline"]["scores"]
        jump["false_alarms_per_hour"] = per_hour(jump["flagged"] - jump["true_positives"], judged)
        spread = lambda key: {"mean": statistics.mean(a[key] for a in ae),
                              "min": min(a[key] for a in ae), "max": max(a[key] for a in ae)}
        entry = {"mote": int(mote), "columns": runs[0]["columns"], "points": runs[0]["points"],
                 "judged_from": runs[0]["judged_from"], "model": runs[0]["model"],
                 "recur": {k: spread(k) for k in ("precision", "recall", "f1", "event_recall",
                                                  "flagged", "false_alarms_per_hour")},
                 "recur_runs": [{"seed": s, **a} for s, a in zip(seeds, ae)],
                 "recur_seconds": statistics.mean(r["seconds"] for r in runs),
                 "jump_baseline": jump}
        record["runs"][f"mote{mote}-{columns}"] = entry
        f = lambda s, d=3: f"{s['mean']:.{d}f} [{s['min']:.{d}f}, {s['max']:.{d}f}]"
        r, events = entry["recur"], jump["events"]
        found = f"{r['event_recall']['mean'] * events:.1f} of {events}" if events else "-"
        scored = lambda text: text if events else "-"
        print(f"| {mote} | {columns.replace(',', ' + ')} | {judged} | {events} ({jump['anomalous']}) "
              f"| {scored(f(r['precision']))} | {scored(f(r['recall']))} | {scored(f(r['f1']))} "
              f"| {found} | {f(r['false_alarms_per_hour'], 1)} | "
              + (f"{jump['precision']:.3f} / {jump['recall']:.3f} / {jump['f1']:.3f} / "
                 f"{jump['events_detected']}" if events else "-")
              + f" | {jump['false_alarms_per_hour']:.1f} | {entry['recur_seconds']:.1f} |")
with open(out, "w") as fh:
    json.dump(record, fh, indent=2)
    fh.write("\n")
print(f"\nrecord: {out}")
PY
