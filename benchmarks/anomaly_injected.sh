#!/usr/bin/env bash
# benchmarks/anomaly_injected.sh — `recur anomaly` (an LSTM autoencoder) on real series with
# known anomalies injected (python_tools/inject_anomalies.py: spikes, level shifts, a stuck
# sensor, noise bursts, after the first 60% of the series), beside the jump baseline.
#
#   bash benchmarks/anomaly_injected.sh              # co2, sunspots, elec_equip; seeds 1-3
#   SERIES=co2 SEEDS="1 2 3 4 5" EVENTS=10 bash benchmarks/anomaly_injected.sh
#
# The autoencoder trains on the clean first 60% (its last fifth, not trained on, sets the
# threshold: the largest score seen there) with recur anomaly's defaults (LSTM, H=32, window 32,
# 1000 steps), first differences for co2 (its trend); it then judges the rest. Nothing is tuned on
# the judged part. Reported per value (precision, recall, F1) and per anomaly (found or not),
# mean [min, max] over SEEDS, the same injected anomalies for every seed.
# Results: benchmarks/results/anomaly-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SERIES="${SERIES:-co2 sunspots elec_equip}"
SEEDS="${SEEDS:-1 2 3}"
EVENTS="${EVENTS:-8}"
source benchmarks/peer_run.sh
out="benchmarks/results/anomaly-$stamp.json"
declare -A OPTIONS=([co2]=--difference [sunspots]= [elec_equip]= [nile]=)

for name in $SERIES; do
  [[ -n "${OPTIONS[$name]+set}" ]] || { echo "unknown series '$name'" >&2; exit 2; }
  /usr/bin/python3 python_tools/inject_anomalies.py --data "$name" --from 0.6 --count "$EVENTS" \
    --seed 1 --out "$tmp/$name.csv" > "$tmp/$name-events.txt"
  clean_until="$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["clean_until"])' "$tmp/$name.csv.json")"
  column="$(head -1 "$tmp/$name.csv" | cut -d, -f2)"
  for seed in $SEEDS; do
    echo "recur anomaly $name, seed $seed..." >&2
    # shellcheck disable=SC2086  # OPTIONS holds zero or more words
    "$RECUR" anomaly --data "$tmp/$name.csv" --column "$column" --labels anomaly \
      --train "$clean_until" ${OPTIONS[$name]} --seed "$seed" --out "$tmp/$name-$seed" \
      > "$tmp/$name-$seed.out" 2> "$tmp/$name-$seed.log" ||
      { tail -5 "$tmp/$name-$seed.log" >&2; exit 1; }
  done
done

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$SEEDS" $SERIES <<'PY'
import json, os, platform, statistics, sys
tmp, out, stamp, seeds, *names = sys.argv[1:]
seeds = seeds.split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
record = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "seeds": seeds, "series": {}}
print(f"recur anomaly (LSTM autoencoder, mean [min, max] over seeds {', '.join(seeds)}) vs the "
      f"jump baseline on injected anomalies; {cpu}, {os.cpu_count()} cores, {stamp}\n")
print("| series | judged values | anomalies (values) | recur precision | recall | F1 | "
      "anomalies found | jump precision / recall / F1 / found | seconds |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in names:
    injected = json.load(open(os.path.join(tmp, f"{name}.csv.json")))
    runs = [json.load(open(os.path.join(tmp, f"{name}-{s}", "anomalies.json"))) for s in seeds]
    ae = [r["autoencoder"]["scores"] for r in runs]
    jump = runs[0]["jump_baseline"]["scores"]
    spread = lambda key: {"mean": statistics.mean(a[key] for a in ae),
                          "min": min(a[key] for a in ae), "max": max(a[key] for a in ae)}
    entry = {"points": runs[0]["points"], "judged_from": runs[0]["judged_from"],
             "model": runs[0]["model"], "injected": injected,
             "recur": {k: spread(k) for k in ("precision", "recall", "f1", "event_recall",
                                              "flagged")},
             "recur_runs": [{"seed": s, **a} for s, a in zip(seeds, ae)],
             "recur_seconds": statistics.mean(r["seconds"] for r in runs),
             "jump_baseline": jump}
    record["series"][name] = entry
    f = lambda s, d=3: f"{s['mean']:.{d}f} [{s['min']:.{d}f}, {s['max']:.{d}f}]"
    r = entry["recur"]
    print(f"| {name} | {entry['points'] - entry['judged_from']} of {entry['points']} | "
          f"{jump['events']} ({jump['anomalous']}) | {f(r['precision'])} | {f(r['recall'])} | "
          f"{f(r['f1'])} | {r['event_recall']['mean'] * jump['events']:.1f} of {jump['events']} | "
          f"{jump['precision']:.3f} / {jump['recall']:.3f} / {jump['f1']:.3f} / "
          f"{jump['events_detected']} | {entry['recur_seconds']:.1f} |")
with open(out, "w") as fh:
    json.dump(record, fh, indent=2)
    fh.write("\n")
print(f"\nrecord: {out}")
PY
