#!/usr/bin/python3
"""`recur forecast --column A,B,...`'s peer: a vector autoregression (statsmodels VAR) of several
series observed together, its lag order chosen by AIC.

    /usr/bin/python3 python_tools/var_reference.py --data FILE.csv --column A,B[,...] --test N
        [--difference] [--max-lags P] [--season S] --out FILE.json

FILE.csv has a header line; the series are the named columns (two or more). The last N points are
held out; the model is fitted on the points before them only, on what recur's model sees: the
values, or with --difference their first differences. The lag order p is the one of lowest AIC
over 1..P (default 8; fewer when the training part is short), all orders scored on the same
points (statsmodels' select_order); the VAR(p) with a constant is then fitted by least squares
and forecasts every column's test points with those parameters:

    ahead     the N-step forecast from the end of the training part, each forecast fed back
    one_step  for each test point, the one-step prediction from all the true values before it

next to two baselines per column: naive and, with a season, seasonal_naive (as
arima_reference.py).

The JSON output has the layout of `recur forecast --column A,B` (one entry per column under
"forecasts"):
    {"tool", "statsmodels", "data", "columns", "points", "train", "test", "season", "difference",
     "lag_order", "max_lags", "aic", "seconds",
     "forecasts": {A: {"actual": [...], "ahead": {"forecast": [...], "rmse", "mae"},
                       "one_step": {...}, "baselines": {...}}, B: {...}}}

Exit status: 0 ok, 1 statsmodels missing or the fit failed, 2 bad input.
"""
import argparse
import json
import math
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arima_reference import (InputError, baselines, metrics, read_series,  # noqa: E402
                             require_statsmodels)

PROG = "var_reference.py"


def read_columns(path, names):
    """{name: values} of the named columns, which must be two or more distinct ones."""
    if len(names) < 2 or len(set(names)) != len(names):
        raise InputError(f"--column {','.join(names)}: expected two or more distinct columns "
                         "(arima_reference.py forecasts one)")
    return {name: read_series(path, name)[2] for name in names}


def check_split(points, test, features, max_lags):
    """Raises InputError unless `test` held-out points leave enough to fit a VAR(1) on."""
    if test < 1:
        raise InputError(f"--test {test}: expected at least 1")
    if max_lags < 1:
        raise InputError(f"--max-lags {max_lags}: expected at least 1")
    need = 2 * (features + 2)
    if points - test < need:
        raise InputError(f"--test {test} leaves {points - test} of {points} points to fit on; "
                         f"at least {need} are needed")


def model_space(values, difference):
    """rows [n][F] of the values -> what the VAR models: the values, or their differences."""
    if not difference:
        return [list(r) for r in values]
    return [[b - a for a, b in zip(prev, row)] for prev, row in zip(values, values[1:])]


def usable_lags(rows, features, max_lags):
    """The largest order the training rows can fit: each order's regression needs more rows
    than its 1 + p*F coefficients per equation."""
    return max(1, min(max_lags, (len(rows) - 1) // (features + 1) - 1))


def fit(rows, max_lags):
    """(fitted VAR results, the order's AIC): order by AIC over 1..max_lags."""
    import numpy as np
    from statsmodels.tsa.api import VAR

    model = VAR(np.array(rows))
    aic = model.select_order(max_lags, trend="c").ics["aic"]  # index: the order, from 0
    order = min(range(1, len(aic)), key=lambda p: aic[p])
    return model.fit(order, trend="c"), float(aic[order])


def forecasts(res, values, n_train, difference):
    """(ahead, one_step): [F][N] forecasts of the test rows values[n_train:], in the values'
    units, from the fitted VAR `res`."""
    import numpy as np

    p = res.k_ar
    rows = np.array(model_space(values, difference))
    first = n_train - 1 if difference else n_train  # rows[first] is the first test row's
    ahead = res.forecast(rows[first - p:first], len(values) - n_train)
    one_step = np.array([res.forecast(rows[i - p:i], 1)[0] for i in range(first, len(rows))])
    if difference:  # back to values: add each step to the value before it
        ahead = values[n_train - 1] + np.cumsum(ahead, axis=0)
        one_step = np.array(values[n_train - 1:-1]) + one_step
    return ahead.T.tolist(), one_step.T.tolist()


def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, metavar="FILE.csv")
    p.add_argument("--column", required=True, help="the series' columns, comma-separated")
    p.add_argument("--test", type=int, required=True, metavar="N",
                   help="hold out the last N points")
    p.add_argument("--difference", action="store_true", help="model first differences")
    p.add_argument("--max-lags", type=int, default=8, metavar="P")
    p.add_argument("--season", type=int, default=0, metavar="S",
                   help="seasonal period for the seasonal naive baseline (0: none)")
    p.add_argument("--out", required=True, metavar="FILE.json")
    a = p.parse_args(argv)

    names = [n.strip() for n in a.column.split(",")]
    try:
        columns = read_columns(a.data, names)
        points = len(columns[names[0]])
        check_split(points, a.test, len(names), a.max_lags)
        if a.season < 0 or a.season >= points - a.test:
            raise InputError(f"--season {a.season}: expected 0 or fewer than the "
                             f"{points - a.test} training points")
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    statsmodels = require_statsmodels(PROG)
    if statsmodels is None:
        return 1
    import numpy

    start = time.monotonic()
    values = [list(r) for r in zip(*(columns[n] for n in names))]  # [n][F]
    n_train = points - a.test
    train_rows = model_space(values[:n_train], a.difference)
    max_lags = usable_lags(train_rows, len(names), a.max_lags)
    try:
        res, aic = fit(train_rows, max_lags)
        ahead, one_step = forecasts(res, values, n_train, a.difference)
    except (ValueError, numpy.linalg.LinAlgError) as e:
        print(f"{PROG}: error: the VAR could not be fitted: {e}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - start
    if not all(math.isfinite(v) for fc in ahead + one_step for v in fc):
        print(f"{PROG}: error: the VAR's forecast is not finite", file=sys.stderr)
        return 1

    out = {"tool": "statsmodels VAR", "statsmodels": statsmodels.__version__, "data": a.data,
           "columns": names, "points": points, "train": n_train, "test": a.test,
           "season": a.season, "difference": a.difference, "lag_order": int(res.k_ar),
           "max_lags": max_lags, "aic": aic, "seconds": seconds, "forecasts": {}}
    print(f"{a.data} [{', '.join(names)}]: {points} points, train {n_train}, test {a.test}; "
          f"VAR({res.k_ar}) of the {'first differences' if a.difference else 'values'}, "
          f"AIC {aic:.3f}, best of orders 1..{max_lags}, {seconds:.2f} s")
    for f, name in enumerate(names):
        series = columns[name]
        actual = series[n_train:]
        entry = {"actual": actual,
                 "ahead": dict(forecast=ahead[f], **metrics(actual, ahead[f])),
                 "one_step": dict(forecast=one_step[f], **metrics(actual, one_step[f])),
                 "baselines": baselines(series, n_train, a.season)}
        out["forecasts"][name] = entry
        naive = entry["baselines"]["naive"]
        print(f"{name}: ahead RMSE {entry['ahead']['rmse']:.4g}, one-step RMSE "
              f"{entry['one_step']['rmse']:.4g} (naive {naive['ahead']['rmse']:.4g} / "
              f"{naive['one_step']['rmse']:.4g})")
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
