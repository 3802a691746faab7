#!/usr/bin/python3
"""Labelled anomalies for `recur anomaly`: known anomalies injected into a real time series.

    inject_anomalies.py --data NAME|FILE.csv [--column C] [--from F] [--count N] [--seed S]
        --out FILE.csv

--data is a series of series.py (co2, sunspots, elec_equip, nile: its cached CSV file, built when
missing) or a CSV file with a header line; the series is the column C (default: the last one),
the dates the first column (the row number when the series is the first column). Every value must
be a plain decimal number; a bad one stops the script, naming its file and line.

The first floor(F * n) values (F default 0.6) stay untouched: that part is what a detector trains
and validates on. After it, N events (default 8) are injected, at least 6 untouched values apart
and never touching the last value, their kinds going round the four below in an order shuffled
once, their lengths, places and sizes drawn from numpy.random.default_rng(S) (S default 1):

    spike        1 value         + or - k sigma, k uniform in [4, 6]
    level_shift  4..8 values     + or - c sigma, c uniform in [3, 5], the same for all of them
    stuck        6..10 values    all equal to the value just before (a frozen sensor)
    noise        4..8 values     + gaussian noise of standard deviation 3 sigma

sigma is the (population) standard deviation of the first differences of the untouched part.

Output, each written to a temporary file beside it and renamed into place, the .csv first:

    FILE.csv       header date,COLUMN,anomaly, then one line per value: the date, the value and
                   1 inside an event (every value of a stuck one too), else 0. Untouched values
                   keep the source's text; injected ones are written with 10 significant digits
                   (a stuck value copies the text of the value it repeats)
    FILE.csv.json  {"source", "column", "points", "clean_until", "sigma", "seed",
                    "events": [{"kind", "start", "length"}, ...] (by start; 0-based indices)}

One line per event goes to stdout. Exit status: 0 ok, 1 failure (building a named series,
writing the output), 2 bad input (a bad value, an unknown column, too many events for the values
after F).
"""

import argparse
import csv
import importlib.util
import io
import json
import math
import os
import re
import sys

import numpy as np

PROG = "inject_anomalies.py"
HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ("spike", "level_shift", "stuck", "noise")
LENGTHS = {"spike": (1, 1), "level_shift": (4, 8), "stuck": (6, 10), "noise": (4, 8)}
GAP = 6  # untouched values at least between two events
# ASCII digits only: float() would also take '1_000', ' nan' or non-ASCII digits.
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _load_series():
    # Loaded by path, as series.py loads datasets.py: `import series` needs python_tools on the
    # path, which running the script from the repository root does not give.
    spec = importlib.util.spec_from_file_location("recur_inject_series",
                                                  os.path.join(HERE, "series.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_se = _load_series()


class InputError(Exception):
    """Bad input data or arguments (exit status 2)."""


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- reading

def parse_number(text):
    """The float of a plain decimal number like -1.5e3, else None (also when not finite)."""
    if not NUMBER_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _csv_rows(path):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text")
    except csv.Error as e:
        raise InputError(f"{path}: {e}")
    if not rows or not "".join(rows[0]).strip():
        raise InputError(f"{path}: no header line")
    return [name.strip() for name in rows[0]], rows[1:]


def read_series(path, column=None):
    """(column name, dates, texts, values) of a CSV file with a header line: `texts` the stripped
    fields of column `column` (default: the last one), `values` their floats, `dates` the first
    column (the 1-based row number when the series is the first column). Blank lines are
    skipped. Raises InputError naming the line of a missing or non-numeric value."""
    header, rows = _csv_rows(path)
    if column is None:
        k = len(header) - 1
    elif column in header:
        k = header.index(column)
    else:
        raise InputError(f"{path}: no column '{column}' (columns: {', '.join(header)})")
    dates, texts, values = [], [], []
    for line, row in enumerate(rows, start=2):
        if not "".join(row).strip():
            continue
        text = row[k].strip() if k < len(row) else ""
        value = parse_number(text)
        if value is None:
            raise InputError(f"{path}:{line}: column '{header[k]}': "
                             f"{repr(text) if text else 'no value'} is not a number")
        dates.append(row[0].strip() if k > 0 else str(len(dates) + 1))
        texts.append(text)
        values.append(value)
    if not values:
        raise InputError(f"{path}: no data lines")
    return header[k], dates, texts, values


def read_labelled(path):
    """(dates, values, labels) of a file this script wrote: the first, the second and the last
    column ('anomaly', each 0 or 1). Raises InputError naming the line of a bad field."""
    header, rows = _csv_rows(path)
    if len(header) != 3 or header[0] != "date" or header[2] != "anomaly":
        raise InputError(f"{path}: header {','.join(header)}: expected date,COLUMN,anomaly")
    dates, values, labels = [], [], []
    for line, row in enumerate(rows, start=2):
        if not "".join(row).strip():
            continue
        if len(row) != 3:
            raise InputError(f"{path}:{line}: {len(row)} fields, expected 3")
        value = parse_number(row[1].strip())
        if value is None:
            raise InputError(f"{path}:{line}: {row[1]!r} is not a number")
        if row[2].strip() not in ("0", "1"):
            raise InputError(f"{path}:{line}: label {row[2]!r}: expected 0 or 1")
        dates.append(row[0].strip())
        values.append(value)
        labels.append(int(row[2]))
    return dates, values, labels


def resolve(data):
    """The CSV path of --data: a series.py name's cached file (built when missing), else data."""
    if data not in _se.SERIES:
        return data
    cache = os.path.abspath(_se.default_cache_dir())
    if _se.cached_meta(cache, data) is None:
        log(f"{data}: not in {cache}; building it")
        _se.fetch(data, cache)
    return os.path.join(cache, data + ".csv")


# ------------------------------------------------------------------------------- events

def clean_sigma(values, clean_until):
    """The standard deviation of the first differences of values[:clean_until]."""
    if clean_until < 2:
        raise InputError(f"{clean_until} untouched values: at least 2 are needed to measure "
                         "sigma")
    sigma = float(np.std(np.diff(np.asarray(values[:clean_until], dtype=np.float64))))
    if not sigma > 0:
        raise InputError(f"the first {clean_until} values are constant: sigma is 0, nothing to "
                         "scale the anomalies by")
    return sigma


def draw_events(rng, points, clean_until, count):
    """[{"kind", "start", "length"}] by start: `count` events in [clean_until, points - 1), at
    least GAP apart, kinds round a shuffled KINDS, places uniform over the arrangements (the
    spare values split among the count + 1 gaps by stars and bars)."""
    order = [KINDS[i] for i in rng.permutation(len(KINDS))]
    kinds = [order[i % len(order)] for i in range(count)]
    lengths = [int(rng.integers(LENGTHS[k][0], LENGTHS[k][1] + 1)) for k in kinds]
    room = points - 1 - clean_until
    need = sum(lengths) + GAP * (count - 1)
    if need > room:
        raise InputError(f"--count {count}: these events need {need} values ({sum(lengths)} in "
                         f"events, {GAP} between each two) but the values from index "
                         f"{clean_until} to the last but one are {max(room, 0)}")
    spare = room - need
    bars = np.sort(rng.choice(spare + count, size=count, replace=False))
    extra = [int(bars[0])] + [int(b - a - 1) for a, b in zip(bars, bars[1:])]
    events, start = [], clean_until
    for kind, length, more in zip(kinds, lengths, extra):
        start += more
        events.append({"kind": kind, "start": start, "length": length})
        start += length + GAP
    return events


def apply_event(rng, values, texts, event, sigma):
    """Writes one event into `values` and `texts` (lists); returns a few words on its size."""
    kind, start, length = event["kind"], event["start"], event["length"]
    span = range(start, start + length)
    if kind == "stuck":
        for i in span:
            values[i], texts[i] = values[start - 1], texts[start - 1]
        return f"held at {texts[start - 1]}"
    if kind == "noise":
        deltas = rng.normal(0.0, 3.0 * sigma, size=length)
        what = "gaussian noise, std 3 sigma"
    else:
        low, high = (4.0, 6.0) if kind == "spike" else (3.0, 5.0)
        size = float(rng.choice((-1.0, 1.0)) * rng.uniform(low, high))
        deltas = [size * sigma] * length
        what = f"{size:+.2f} sigma"
    for i, d in zip(span, deltas):
        values[i] = values[i] + float(d)
        texts[i] = format(values[i], ".10g")
    return what


def inject(texts, values, clean_until, count, seed, sigma):
    """(events, texts, labels, notes): the series with `count` events after clean_until, notes
    a few words per event."""
    rng = np.random.default_rng(seed)
    events = draw_events(rng, len(values), clean_until, count)
    texts, values, labels = list(texts), list(values), [0] * len(values)
    notes = []
    for e in events:
        notes.append(apply_event(rng, values, texts, e, sigma))
        for i in range(e["start"], e["start"] + e["length"]):
            labels[i] = 1
    return events, texts, labels, notes


def labelled_csv(column, dates, texts, labels):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["date", column, "anomaly"])
    w.writerows(zip(dates, texts, labels))
    return out.getvalue()


# ------------------------------------------------------------------------------- main

def _check_args(a):
    if not 0.0 < a.clean_from < 1.0:
        raise InputError(f"--from {a.clean_from}: expected a fraction between 0 and 1")
    if a.count < 1:
        raise InputError(f"--count {a.count}: expected at least 1")
    if a.seed < 0:
        raise InputError(f"--seed {a.seed}: expected 0 or more")


def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, metavar="NAME|FILE.csv",
                   help=f"a series of series.py ({', '.join(_se.SERIES)}) or a CSV file")
    p.add_argument("--column", default=None, help="the series' column (default: the last)")
    p.add_argument("--from", dest="clean_from", type=float, default=0.6, metavar="F",
                   help="leave the first floor(F * n) values untouched (default 0.6)")
    p.add_argument("--count", type=int, default=8, metavar="N", help="events (default 8)")
    p.add_argument("--seed", type=int, default=1, metavar="S", help="random seed (default 1)")
    p.add_argument("--out", required=True, metavar="FILE.csv")
    a = p.parse_args(argv)

    try:
        _check_args(a)
        source = os.path.abspath(resolve(a.data))
        if os.path.abspath(a.out) == source:
            raise InputError(f"--out {a.out} would overwrite the series it reads")
        column, dates, texts, values = read_series(source, a.column)
        clean_until = math.floor(a.clean_from * len(values))
        sigma = clean_sigma(values, clean_until)
        events, new_texts, labels, notes = inject(texts, values, clean_until, a.count, a.seed,
                                                  sigma)
    except InputError as e:
        log(f"error: {e}")
        return 2
    except (_se.SeriesError, _se._ds.CorpusError) as e:
        log(f"error: {e}")
        return 1

    meta = {"source": source, "column": column, "points": len(values),
            "clean_until": clean_until, "sigma": sigma, "seed": a.seed, "events": events}
    try:
        _se.atomic_write_bytes(a.out, labelled_csv(column, dates, new_texts, labels)
                               .encode("utf-8"))
        _se.atomic_write_bytes(a.out + ".json",
                               (json.dumps(meta, indent=1) + "\n").encode("utf-8"))
    except OSError as e:
        log(f"error: {a.out}: {e.strerror or e}")
        return 1

    log(f"{source} [{column}]: {len(values)} values, the first {clean_until} untouched, sigma "
        f"{sigma:.6g}; {len(events)} events -> {a.out}")
    for e, note in zip(events, notes):
        span = range(e["start"], e["start"] + e["length"])
        changed = sum(float(new_texts[i]) != values[i] for i in span)
        print(f"{e['kind']:11s} start {e['start']:4d} ({dates[e['start']]}) length "
              f"{e['length']:2d}: {note}; {changed} of {e['length']} values changed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
