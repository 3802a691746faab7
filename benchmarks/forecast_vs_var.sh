#!/usr/bin/env bash
# benchmarks/forecast_vs_var.sh — `recur forecast --column a,b,...` (one LSTM forecasting several
# series observed together) beside its peer for that job, a vector autoregression
# (python_tools/var_reference.py: statsmodels VAR, lag order by AIC on the training part), and
# beside recur forecasting each column alone, on real data, the same held-out ends, in one run.
#
#   bash benchmarks/forecast_vs_var.sh                    # macro, mote2, mote3; seeds 1-3
#   SETS="macro" SEEDS="1 2 3 4 5" bash benchmarks/forecast_vs_var.sh
#   RECUR_OPTIONS="--feed-back 0.5" bash benchmarks/forecast_vs_var.sh   # more options for recur
#
# Sets:
#   macro  US real GDP, consumption and investment, quarterly 1959-2009 (statsmodels' macrodata,
#          python_tools/series.py): the last 20 quarters (2004-Q4..2009-Q3, the 2008 recession
#          inside) held out; first differences; window 16 (the training part is 163 quarters)
#   moteN  humidity and temperature of sensor mote N every 5 s (python_tools/sensor_network.py;
#          motes 2 and 3 saw no anomaly event): the last 360 readings (30 minutes) held out;
#          first differences
# Each column is forecast all at once from the end of the training part ("ahead") and one step
# ahead as each true value arrives ("1-step"), scored by RMSE in its own units beside the naive
# baseline. recur runs with its defaults otherwise (LSTM, H=64, 1000 steps, early stopping on
# the values before the held-out ones); the VAR fits on every value before the held-out ones.
# Nothing is tuned on the held-out values. recur: mean [min, max] over SEEDS.
# Results: benchmarks/results/forecast-var-<host>-<date>-<commit>.json
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SETS="${SETS:-macro mote2 mote3}"
SEEDS="${SEEDS:-1 2 3}"
source benchmarks/peer_run.sh
out="benchmarks/results/forecast-var-$stamp.json"

# set -> data, columns, held-out values, recur's options (VAR gets --difference when they have it)
declare -A DATA=([macro]=macro [mote2]="$tmp/data/mote2.csv" [mote3]="$tmp/data/mote3.csv")
declare -A COLUMNS=([macro]="realgdp,realcons,realinv" [mote2]="humidity,temperature"
  [mote3]="humidity,temperature")
declare -A TEST=([macro]=20 [mote2]=360 [mote3]=360)
declare -A OPTIONS=([macro]="--difference --window 16" [mote2]=--difference [mote3]=--difference)
for set in "${!OPTIONS[@]}"; do OPTIONS[$set]+="${RECUR_OPTIONS:+ $RECUR_OPTIONS}"; done

if [[ " $SETS " == *" mote"* ]]; then
  /usr/bin/python3 python_tools/sensor_network.py --out-dir "$tmp/data" >&2
fi
for set in $SETS; do
  [[ -n "${TEST[$set]:-}" ]] || { echo "unknown set '$set'" >&2; exit 2; }
  IFS=, read -r -a columns <<< "${COLUMNS[$set]}"
  for seed in $SEEDS; do
    for watch in "${COLUMNS[$set]}" "${columns[@]}"; do
      run="$tmp/$set-$watch-$seed"
      echo "recur forecast $set --column $watch, seed $seed..." >&2
      # shellcheck disable=SC2086  # OPTIONS holds several words
      "$RECUR" forecast --data "${DATA[$set]}" --column "$watch" --test "${TEST[$set]}" \
        ${OPTIONS[$set]} --seed "$seed" --out "$run" > "$run.out" 2> "$run.log" ||
        { tail -5 "$run.log" >&2; exit 1; }
    done
  done
  csv="$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"])' \
    "$tmp/$set-${COLUMNS[$set]}-${SEEDS%% *}/forecast.json")"
  difference=()
  [[ "${OPTIONS[$set]}" == *--difference* ]] && difference=(--difference)
  echo "VAR $set..." >&2
  /usr/bin/python3 python_tools/var_reference.py --data "$csv" --column "${COLUMNS[$set]}" \
    --test "${TEST[$set]}" "${difference[@]}" --out "$tmp/$set-var.json" > "$tmp/$set-var.out" \
    2> "$tmp/$set-var.log" || { tail -5 "$tmp/$set-var.log" >&2; exit 1; }
  cat "$tmp/$set-var.out" >&2
  printf '{"columns": "%s", "options": "%s"}\n' "${COLUMNS[$set]}" "${OPTIONS[$set]}" \
    > "$tmp/$set.json"
done

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$SEEDS" "$SETS" <<'PY'
import json, os, platform, statistics, sys
tmp, out, stamp, seeds, sets = sys.argv[1:]
seeds, sets = seeds.split(), sets.split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), platform.processor())
load = lambda path: json.load(open(path))
record = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "seeds": seeds, "sets": {}}


def spread(values):
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values)}


def column_of(report, name):
    """One column's results: the top level of a one-column report, else its "forecasts"."""
    return report["forecasts"][name] if "forecasts" in report else report


rows = []
for s in sets:
    spec = load(os.path.join(tmp, f"{s}.json"))  # the set's columns and recur's options
    names = spec["columns"].split(",")
    report = lambda watch, seed: load(os.path.join(tmp, f"{s}-{watch}-{seed}", "forecast.json"))
    joint = [report(",".join(names), seed) for seed in seeds]
    alone = {n: [report(n, seed) for seed in seeds] for n in names}
    var = load(os.path.join(tmp, f"{s}-var.json"))
    entry = {"data": joint[0]["data"], "points": joint[0]["points"], "test": joint[0]["test"],
             "recur_options": spec["options"], "recur_model": joint[0]["model"],
             "recur_train_options": joint[0]["train_options"],
             "recur_seconds": {"together": spread([r["seconds"] for r in joint]),
                               "alone": spread([r["seconds"] for n in names for r in alone[n]])},
             "var": {k: var[k] for k in ("tool", "statsmodels", "lag_order", "max_lags", "aic",
                                         "difference", "seconds")},
             "columns": {}}
    for n in names:
        v = var["forecasts"][n]
        assert all(column_of(r, n)["actual"] == v["actual"] for r in joint + alone[n]), n
        c = {"recur_together": {}, "recur_alone": {}, "var": {}, "naive": {}}
        for how in ("ahead", "one_step"):
            c["recur_together"][how] = spread([column_of(r, n)[how]["rmse"] for r in joint])
            c["recur_alone"][how] = spread([column_of(r, n)[how]["rmse"] for r in alone[n]])
            c["var"][how] = v[how]["rmse"]
            c["naive"][how] = v["baselines"]["naive"][how]["rmse"]
        entry["columns"][n] = c
        rows.append((s, n, entry, c))
    record["sets"][s] = entry
with open(out, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")

fmt = lambda x: f"{x['mean']:.4g} [{x['min']:.4g}, {x['max']:.4g}]"
print(f"recur forecast (LSTM; mean [min, max] over seeds {', '.join(seeds)}) of the columns "
      f"together and of each alone, vs a VAR; RMSE on the held-out end; {cpu}, "
      f"{os.cpu_count()} cores, {stamp}\n")
for how, title in (("ahead", "all at once (ahead)"), ("one_step", "one step ahead")):
    print(f"{title}:\n")
    print("| set | column | held out | recur together | recur alone | VAR | naive |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for s, n, e, c in rows:
        print(f"| {s} | {n} | {e['test']} of {e['points']} | {fmt(c['recur_together'][how])} | "
              f"{fmt(c['recur_alone'][how])} | {c['var'][how]:.4g} (p={e['var']['lag_order']}) | "
              f"{c['naive'][how]:.4g} |")
    print()
for s in sets:
    e = record["sets"][s]
    print(f"{s}: recur {e['recur_seconds']['together']['mean']:.1f} s a run (together), "
          f"VAR {e['var']['seconds']:.2f} s")
print(f"\nrecord: {out}")
PY
