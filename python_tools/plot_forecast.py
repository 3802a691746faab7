#!/usr/bin/python3
"""Plot held-out forecasts of a series (`recur forecast`, arima_reference.py) against the truth.

    plot_forecast.py --data FILE.csv [--column NAME] --test N --forecast A.json [--label A]
        [--forecast B.json [--label B] ...] --out FILE.png [--context K]

Draws the last K training points (default 3N) and the N test points of the series, and for each
forecast file its "ahead" forecast (solid line) and "one_step" forecast (dashed, when present) in
one colour, labelled by its --label (in order; the file's "tool" field for the rest) with the
RMSE against the CSV's values. The x axis is the first column when it holds years (YYYY),
months (YYYY-MM) or quarters (YYYY-Qn), else the point's index.

Each forecast file must hold "actual": the CSV's last N values (to 1e-9 relative), and forecasts
of N values; a file of several columns' forecasts (recur forecast --column a,b, var_reference.py)
those of --column under "forecasts". Exit status: 0 ok, 2 bad input (the message names the file).
"""
import argparse
import json
import math
import os
import re
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arima_reference import InputError, metrics, read_series  # noqa: E402

PROG = "plot_forecast.py"


def load_forecast(path, actual, column):
    """The parsed forecast file, checked against the CSV's test values `actual`. A forecast of
    several columns (recur forecast --column a,b; var_reference.py) gives that of `column`, with
    the file's "tool"."""
    try:
        with open(path, encoding="utf-8") as f:
            fc = json.load(f)
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    except ValueError as e:
        raise InputError(f"{path}: not JSON ({e})")
    if isinstance(fc, dict) and isinstance(fc.get("forecasts"), dict):
        if not isinstance(fc["forecasts"].get(column), dict):
            raise InputError(f"{path}: no forecast of column '{column}' (it has "
                             f"{', '.join(fc['forecasts'])})")
        fc = dict(fc["forecasts"][column], tool=fc.get("tool"))
    if not isinstance(fc, dict) or not isinstance(fc.get("actual"), list):
        raise InputError(f"{path}: no \"actual\" list")
    theirs = fc["actual"]
    if len(theirs) != len(actual) or not all(
            isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
            for a, b in zip(theirs, actual)):
        raise InputError(f"{path}: \"actual\" ({len(theirs)} values) is not the last "
                         f"{len(actual)} values of the data")
    for kind in ("ahead", "one_step"):
        values = (fc.get(kind) or {}).get("forecast")
        if values is None and kind == "one_step":
            continue
        if (not isinstance(values, list) or len(values) != len(actual)
                or not all(isinstance(v, (int, float)) for v in values)):
            raise InputError(f"{path}: \"{kind}\" has no forecast of {len(actual)} numbers")
    return fc


def x_axis(dates):
    """x values of the points: fractional years for YYYY-MM and YYYY-Qn dates, years for YYYY,
    else the index."""
    if all(re.fullmatch(r"\d{4}-\d{2}", d) for d in dates):
        return [int(d[:4]) + (int(d[5:]) - 1) / 12 for d in dates]
    if all(re.fullmatch(r"\d{4}-Q[1-4]", d) for d in dates):
        return [int(d[:4]) + (int(d[6]) - 1) / 4 for d in dates]
    if all(re.fullmatch(r"\d{1,4}", d) for d in dates):
        return [int(d) for d in dates]
    return list(range(len(dates)))


def plot(title, column, x, values, n_train, context, forecasts, out_path):
    """Draws the series' tail and the forecasts [(label, parsed file)] into a PNG at out_path
    (written atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = max(0, n_train - context)
    actual = values[n_train:]
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.plot(x[start:n_train + 1], values[start:n_train + 1], color="0.35", linewidth=1.2,
            label="training data")
    ax.plot(x[n_train:], actual, color="black", linewidth=1.8, marker="o", markersize=2.5,
            label="held-out data")
    ax.axvline(x[n_train], color="0.6", linewidth=0.8, linestyle=":")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, fc) in enumerate(forecasts):
        colour = colours[i % len(colours)]
        for kind, style, name in (("ahead", "-", "ahead"), ("one_step", "--", "one-step")):
            if fc.get(kind) is None:
                continue
            pred = fc[kind]["forecast"]
            rmse = metrics(actual, pred)["rmse"]
            ax.plot(x[n_train:], pred, color=colour, linestyle=style, linewidth=1.5,
                    label=f"{label} {name} (RMSE {rmse:.4g})")
    ax.set_ylabel(column)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()

    directory = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".forecast.", suffix=".png.tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, metavar="FILE.csv")
    p.add_argument("--column", default=None, help="the series' column (default: the last)")
    p.add_argument("--test", type=int, required=True, metavar="N",
                   help="the last N points are the held-out ones")
    p.add_argument("--forecast", action="append", required=True, metavar="FILE.json")
    p.add_argument("--label", action="append", default=[],
                   help="legend name of the forecast files, in order (default: their \"tool\")")
    p.add_argument("--out", required=True, metavar="FILE.png")
    p.add_argument("--context", type=int, default=None, metavar="K",
                   help="training points drawn before the test part (default: 3N)")
    a = p.parse_args(argv)

    try:
        if len(a.label) > len(a.forecast):
            raise InputError(f"{len(a.label)} --label for {len(a.forecast)} --forecast")
        column, dates, values = read_series(a.data, a.column)
        if not 1 <= a.test < len(values):
            raise InputError(f"--test {a.test}: expected 1 to {len(values) - 1}")
        n_train = len(values) - a.test
        forecasts = []
        for i, path in enumerate(a.forecast):
            fc = load_forecast(path, values[n_train:], column)
            label = a.label[i] if i < len(a.label) else str(fc.get("tool") or
                                                             os.path.basename(path))
            forecasts.append((label, fc))
    except InputError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    context = 3 * a.test if a.context is None else max(0, a.context)
    plot(f"{os.path.basename(a.data)} [{column}]: last {a.test} points held out", column,
         x_axis(dates), values, n_train, context, forecasts, a.out)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
