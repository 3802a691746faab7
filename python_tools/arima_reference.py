#!/usr/bin/python3
"""`recur forecast`'s peer: a seasonal ARIMA fitted with statsmodels SARIMAX, order chosen by AIC.

    /usr/bin/python3 python_tools/arima_reference.py --data FILE.csv --test N [--season S]
        [--column NAME] --out FILE.json

FILE.csv has a header line; the series is the column NAME (default: the last one). The last N
points are held out; the models are fitted on the points before them only. The order is the one
of lowest AIC over the grid p, q in 0..2, d in 0..1 and, with a season S > 0, P, Q in 0..1 with
D = 1 (seasonal differencing always: with D in 0..1 too, the co2 grid takes twice as long). The
chosen model then forecasts the test points with the parameters fitted on the training points:

    ahead     the N-step forecast from the end of the training part
    one_step  for each test point, the one-step prediction from all the true values before it

next to two baselines: naive (ahead: the last training value repeated; one_step: the previous
true value) and, with a season, seasonal_naive (ahead: the last training season repeated;
one_step: the true value S points before).

The JSON output (recur forecast writes the same "actual", "ahead", "one_step" and "baselines"):
    {"tool", "statsmodels", "data", "column", "points", "train", "test", "season", "order",
     "seasonal_order", "trend", "aic", "converged", "search", "grid", "failed",
     "convergence_warnings", "seconds", "actual": [...],
     "ahead": {"forecast": [...], "rmse", "mae"}, "one_step": {"forecast": [...], "rmse", "mae"},
     "baselines": {"naive": {"ahead": {"rmse", "mae"}, "one_step": {...}},
                   "seasonal_naive": {...} (with a season only)}}

Exit status: 0 ok, 1 statsmodels missing or no model could be fitted, 2 bad input.
"""
import argparse
import csv
import itertools
import json
import math
import sys
import time
import warnings

PROG = "arima_reference.py"


class InputError(Exception):
    """Bad input data or arguments (exit status 2)."""


# ------------------------------------------------------------------------------- data

def read_series(path, column=None):
    """(column name, dates, values) of a CSV file with a header line: `values` the floats of
    column `column` (default: the last one), `dates` the first column's text. Blank lines are
    skipped. Raises InputError naming the line of a missing or non-numeric value."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text")
    if not rows or not rows[0]:
        raise InputError(f"{path}: no header line")
    header = [name.strip() for name in rows[0]]
    if column is None:
        k = len(header) - 1
    elif column in header:
        k = header.index(column)
    else:
        raise InputError(f"{path}: no column '{column}' (columns: {', '.join(header)})")
    dates, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        text = row[k].strip() if k < len(row) else ""
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{path}:{line}: column '{header[k]}': "
                             f"{repr(text) if text else 'no value'} is not a number")
        dates.append(row[0].strip())
        values.append(value)
    if not values:
        raise InputError(f"{path}: no data lines")
    return header[k], dates, values


def check_split(points, test, season):
    """Raises InputError unless `test` held-out points leave enough to fit on."""
    if season < 0 or season == 1:
        raise InputError(f"--season {season}: expected 0 (none) or a period of 2 or more")
    if test < 1:
        raise InputError(f"--test {test}: expected at least 1")
    need = max(10, 2 * season + 1)
    if points - test < need:
        raise InputError(f"--test {test} leaves {points - test} of {points} points to fit on; "
                         f"at least {need} are needed")


def metrics(actual, forecast):
    """{"rmse", "mae"} of `forecast` against `actual`."""
    errors = [f - a for a, f in zip(actual, forecast, strict=True)]
    return {"rmse": math.sqrt(sum(e * e for e in errors) / len(errors)),
            "mae": sum(abs(e) for e in errors) / len(errors)}


def baseline_forecasts(values, n_train, season=0):
    """{"naive": {"ahead": [...], "one_step": [...]}, "seasonal_naive": {...} (season > 0)} for
    the test points values[n_train:]."""
    n = len(values)
    out = {"naive": {"ahead": [values[n_train - 1]] * (n - n_train),
                     "one_step": values[n_train - 1:n - 1]}}
    if season > 0:
        out["seasonal_naive"] = {
            "ahead": [values[n_train - season + k % season] for k in range(n - n_train)],
            "one_step": values[n_train - season:n - season]}
    return out


def baselines(values, n_train, season=0):
    """The baselines' {"ahead": metrics, "one_step": metrics} by name."""
    actual = values[n_train:]
    return {name: {kind: metrics(actual, fc) for kind, fc in kinds.items()}
            for name, kinds in baseline_forecasts(values, n_train, season).items()}


# ------------------------------------------------------------------------------- models

def search_space(season):
    """The grid as {name: [values]}: p, q in 0..2, d in 0..1; with a season P, Q in 0..1, D = 1."""
    space = {"p": [0, 1, 2], "d": [0, 1], "q": [0, 1, 2]}
    if season > 0:
        space.update({"P": [0, 1], "D": [1], "Q": [0, 1]})
    return space


def trend_for(d, D):
    # A constant when the model differences at most once (the mean of a stationary series, or
    # the drift of a once-differenced one); none after two differencings, where it would be a
    # quadratic trend. SARIMAX's trend applies to the differenced series.
    return "c" if d + D <= 1 else "n"


def fit(train, order, seasonal_order):
    """SARIMAX fitted to `train` by maximum likelihood. Returns (results, number of
    ConvergenceWarnings raised); warnings are recorded, not printed."""
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SARIMAX(train, order=order, seasonal_order=seasonal_order,
                        trend=trend_for(order[1], seasonal_order[1]))
        res = model.fit(disp=False)
    return res, sum(issubclass(w.category, ConvergenceWarning) for w in caught)


def choose(train, season, log=None):
    """Fits every model of the grid; returns (results of the lowest AIC, models tried, failed
    fits, fits with a ConvergenceWarning). A fit fails when it raises or its AIC is not finite.
    AIC also decides d, an approximation: SARIMAX's likelihood leaves out the first d + D*S
    points, so models with different d are scored on slightly different data (auto.arima
    picks d by a unit-root test instead)."""
    import numpy as np

    space = search_space(season)
    best, tried, failed, warned = None, 0, 0, 0
    grid = itertools.product(*space.values())
    for p, d, q, *seasonal in grid:
        P, D, Q = seasonal if season > 0 else (0, 0, 0)
        order, seasonal_order = (p, d, q), (P, D, Q, season if season > 0 else 0)
        tried += 1
        try:
            res, n_warnings = fit(train, order, seasonal_order)
        except (ValueError, np.linalg.LinAlgError) as e:
            failed += 1
            if log:
                log(f"SARIMAX{order}{seasonal_order} failed: {e}")
            continue
        warned += n_warnings > 0
        if not math.isfinite(res.aic):
            failed += 1
        elif best is None or res.aic < best.aic:
            best = res
    return best, tried, failed, warned


def model_forecasts(res, test):
    """(ahead, one_step) forecasts of the test values from fitted results `res`, both with the
    fitted parameters. one_step appends the test values to the data without refitting and takes
    the filter's predictions for them: each uses the true values before it only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ahead = res.forecast(len(test))
        n_train = res.nobs
        extended = res.append(test, refit=False)
        one_step = extended.get_prediction(start=n_train, end=n_train + len(test) - 1)
    return [float(v) for v in ahead], [float(v) for v in one_step.predicted_mean]


# ------------------------------------------------------------------------------- main

def require_statsmodels(prog):
    """The statsmodels module (numpy with it), or None after printing how to install it."""
    try:
        import numpy  # noqa: F401
        import statsmodels
    except ImportError as e:
        print(f"{prog}: error: {e}; install it with: apt-get install -y python3-statsmodels",
              file=sys.stderr)
        return None
    return statsmodels


def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, metavar="FILE.csv")
    p.add_argument("--column", default=None, help="the series' column (default: the last)")
    p.add_argument("--test", type=int, required=True, metavar="N",
                   help="hold out the last N points")
    p.add_argument("--season", type=int, default=0, metavar="S",
                   help="seasonal period in points (0: non-seasonal)")
    p.add_argument("--out", required=True, metavar="FILE.json")
    a = p.parse_args(argv)

    try:
        column, _, values = read_series(a.data, a.column)
        check_split(len(values), a.test, a.season)
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    statsmodels = require_statsmodels(PROG)
    if statsmodels is None:
        return 1
    import numpy as np

    start = time.monotonic()
    n_train = len(values) - a.test
    train, actual = np.array(values[:n_train]), values[n_train:]
    res, tried, failed, warned = choose(train, a.season,
                                        lambda msg: print(f"{PROG}: {msg}", file=sys.stderr))
    if res is None:
        print(f"{PROG}: error: none of the {tried} models could be fitted", file=sys.stderr)
        return 1
    ahead, one_step = model_forecasts(res, np.array(actual))
    seconds = time.monotonic() - start
    if not all(math.isfinite(v) for v in ahead + one_step):
        print(f"{PROG}: error: the chosen model's forecast is not finite", file=sys.stderr)
        return 1

    spec = res.model
    order, seasonal_order = list(spec.order), list(spec.seasonal_order)
    out = {"tool": "statsmodels SARIMAX", "statsmodels": statsmodels.__version__,
           "data": a.data, "column": column, "points": len(values), "train": n_train,
           "test": a.test, "season": a.season, "order": order, "seasonal_order": seasonal_order,
           "trend": spec.trend, "aic": float(res.aic),
           "converged": bool(res.mle_retvals.get("converged", True)),
           "search": search_space(a.season), "grid": tried, "failed": failed,
           "convergence_warnings": warned, "seconds": seconds, "actual": actual,
           "ahead": dict(forecast=ahead, **metrics(actual, ahead)),
           "one_step": dict(forecast=one_step, **metrics(actual, one_step)),
           "baselines": baselines(values, n_train, a.season)}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    print(f"{a.data} [{column}]: {len(values)} points, train {n_train}, test {a.test}, "
          f"season {a.season or '-'}")
    print(f"SARIMAX{tuple(order)}{tuple(seasonal_order)} trend {spec.trend}, AIC {res.aic:.2f}: "
          f"best of {tried} models ({failed} failed, {warned} with convergence warnings), "
          f"{seconds:.1f} s")
    rows = [("sarimax", out["ahead"], out["one_step"])]
    rows += [(name, m["ahead"], m["one_step"]) for name, m in out["baselines"].items()]
    print(f"{'':15s} {'ahead RMSE':>11s} {'MAE':>9s} {'one-step RMSE':>14s} {'MAE':>9s}")
    for name, ah, one in rows:
        print(f"{name:15s} {ah['rmse']:11.4g} {ah['mae']:9.4g} {one['rmse']:14.4g} "
              f"{one['mae']:9.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
