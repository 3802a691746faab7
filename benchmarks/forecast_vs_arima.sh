#!/usr/bin/env bash
# benchmarks/forecast_vs_arima.sh — `recur forecast` (an LSTM) beside a seasonal ARIMA
# (python_tools/arima_reference.py: statsmodels SARIMAX, order chosen by AIC on the training part)
# on real series, the same held-out ends, in one run: the talk's "LSTM vs ARIMA".
#
#   bash benchmarks/forecast_vs_arima.sh              # co2, sunspots, elec_equip, nile
#   SERIES="co2 nile" SEEDS="1 2 3 4 5" bash benchmarks/forecast_vs_arima.sh
#
# Both forecast the last TEST values of each series two ways: all at once from the end of the
# training part ("ahead") and one step ahead as each true value arrives ("1-step"); both are
# scored by RMSE beside the naive baselines. Nothing is tuned on the held-out values: the LSTM
# runs with recur forecast's defaults (H=64, window 48, 1000 steps of 32 windows, Adam 3e-3 with
# cosine decay), modelling first differences where the training part has a trend (co2), for
# each of SEEDS (the spread over seeds is reported); ARIMA gets the calendar season (12 for the
# monthly series; the sunspot cycle, about 11 years but not fixed, is left to the AR terms).
# Results: benchmarks/results/forecast-<host>-<date>-<commit>.json and one PNG per series.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SERIES="${SERIES:-co2 sunspots elec_equip nile}"
SEEDS="${SEEDS:-1 2 3}"
source benchmarks/peer_run.sh
out="benchmarks/results/forecast-$stamp.json"

# name -> held-out values, season of the baseline, season given to ARIMA, recur's extra options
declare -A TEST=([co2]=60 [sunspots]=30 [elec_equip]=24 [nile]=20)
declare -A SEASON=([co2]=12 [sunspots]=11 [elec_equip]=12 [nile]=0)
declare -A ARIMA_SEASON=([co2]=12 [sunspots]=0 [elec_equip]=12 [nile]=0)
declare -A OPTIONS=([co2]=--difference [sunspots]= [elec_equip]= [nile]=)

for name in $SERIES; do
  [[ -n "${TEST[$name]:-}" ]] || { echo "unknown series '$name'" >&2; exit 2; }
  for seed in $SEEDS; do
    echo "recur forecast $name, seed $seed..." >&2
    # shellcheck disable=SC2086  # OPTIONS holds zero or more words
    "$RECUR" forecast --data "$name" --test "${TEST[$name]}" --season "${SEASON[$name]}" \
      ${OPTIONS[$name]} --seed "$seed" --out "$tmp/$name-recur-$seed" \
      > "$tmp/$name-recur-$seed.out" 2> "$tmp/$name-recur-$seed.log" ||
      { tail -5 "$tmp/$name-recur-$seed.log" >&2; exit 1; }
  done
  csv="$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"])' \
    "$tmp/$name-recur-${SEEDS%% *}/forecast.json")"
  echo "ARIMA $name..." >&2
  /usr/bin/python3 python_tools/arima_reference.py --data "$csv" --test "${TEST[$name]}" \
    --season "${ARIMA_SEASON[$name]}" --out "$tmp/$name-arima.json" > /dev/null 2> "$tmp/$name-arima.log" ||
    { tail -5 "$tmp/$name-arima.log" >&2; exit 1; }
  /usr/bin/python3 python_tools/plot_forecast.py --data "$csv" --test "${TEST[$name]}" \
    --forecast "$tmp/$name-recur-${SEEDS%% *}/forecast.json" --label "recur LSTM (seed ${SEEDS%% *})" \
    --forecast "$tmp/$name-arima.json" --label "SARIMA" \
    --out "benchmarks/results/forecast-$stamp-$name.png"
done

/usr/bin/python3 - "$tmp" "$out" "$stamp" "$SEEDS" $SERIES <<'PY'
import json, os, platform, statistics, sys
tmp, out, stamp, seeds, *names = sys.argv[1:]
seeds = seeds.split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.processor())
load = lambda path: json.load(open(path))
record = {"stamp": stamp, "cpu": cpu, "cores": os.cpu_count(), "seeds": seeds, "series": {}}
rows = []
for name in names:
    runs = [load(os.path.join(tmp, f"{name}-recur-{s}", "forecast.json")) for s in seeds]
    arima = load(os.path.join(tmp, f"{name}-arima.json"))
    assert all(r["actual"] == arima["actual"] for r in runs), f"{name}: different held-out values"
    spread = lambda how: {"mean": statistics.mean(r[how]["rmse"] for r in runs),
                          "min": min(r[how]["rmse"] for r in runs),
                          "max": max(r[how]["rmse"] for r in runs)}
    entry = {
        "data": runs[0]["data"], "points": runs[0]["points"], "test": runs[0]["test"],
        "season": runs[0]["season"],
        "recur": {"model": runs[0]["model"], "train_options": runs[0]["train_options"],
                  "ahead_rmse": spread("ahead"), "one_step_rmse": spread("one_step"),
                  "seconds": statistics.mean(r["seconds"] for r in runs),
                  "runs": [{"seed": s, "ahead": {k: r["ahead"][k] for k in ("rmse", "mae")},
                            "one_step": {k: r["one_step"][k] for k in ("rmse", "mae")}}
                           for s, r in zip(seeds, runs)]},
        "arima": {k: arima[k] for k in ("tool", "statsmodels", "order", "seasonal_order", "trend",
                                        "aic", "grid", "seconds") if k in arima},
        "baselines": runs[0]["baselines"],
        "plot": f"forecast-{stamp}-{name}.png",
    }
    for how in ("ahead", "one_step"):
        entry["arima"][how] = {k: arima[how][k] for k in ("rmse", "mae")}
    record["series"][name] = entry
    rows.append((name, entry))
with open(out, "w") as f:
    json.dump(record, f, indent=2)
    f.write("\n")

fmt = lambda s: f"{s['mean']:.4g} [{s['min']:.4g}, {s['max']:.4g}]"
print(f"recur forecast (LSTM, mean [min, max] over seeds {', '.join(seeds)}) vs SARIMA, RMSE on "
      f"the held-out end; {cpu}, {os.cpu_count()} cores, {stamp}\n")
print("| series | held out | recur ahead | SARIMA ahead | recur 1-step | SARIMA 1-step | "
      "naive ahead / 1-step | seasonal naive ahead / 1-step | seconds recur / SARIMA |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, e in rows:
    b = e["baselines"]
    seasonal = (f"{b['seasonal_naive']['ahead']['rmse']:.4g} / {b['seasonal_naive']['one_step']['rmse']:.4g}"
                if "seasonal_naive" in b else "-")
    a = e["arima"]
    order = f"({','.join(map(str, a['order']))})"
    if a.get("seasonal_order") and a["seasonal_order"][-1]:
        order += f"({','.join(map(str, a['seasonal_order'][:3]))}){a['seasonal_order'][3]}"
    print(f"| {name} | {e['test']} of {e['points']} | {fmt(e['recur']['ahead_rmse'])} | "
          f"{a['ahead']['rmse']:.4g} {order} | {fmt(e['recur']['one_step_rmse'])} | "
          f"{a['one_step']['rmse']:.4g} | {b['naive']['ahead']['rmse']:.4g} / "
          f"{b['naive']['one_step']['rmse']:.4g} | {seasonal} | "
          f"{e['recur']['seconds']:.1f} / {a['seconds']:.1f} |")
print(f"\nrecord: {out}")
PY
