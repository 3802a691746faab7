#!/usr/bin/python3
"""Real time series for `recur forecast`, exported from the CSV files that Debian's
python3-statsmodels ships (statsmodels/datasets/NAME/NAME.csv). The files are read with the csv
module; neither statsmodels nor pandas is imported.

    series.py list
    series.py fetch NAME [NAME ...] [--cache DIR]   (re)build the series files
    series.py path NAME [--cache DIR]               print DIR/NAME.csv, building it when missing

Output per series, in DIR ($RECUR_DATA if set, else ~/.cache/recur/corpora):

    NAME.csv       a header line DATE,VALUE (DATE,VALUE,VALUE,... for several series observed
                   together), then one such line per point, oldest first, equally spaced with no
                   gap; dates YYYY-MM (monthly), YYYY-Qn (quarterly) or YYYY (yearly), values
                   with 10 significant digits: the source's values exactly, co2's means rounded
    NAME.csv.json  {"name", "source", "source_sha256", "package", "points", "first", "last",
                    "bytes", "sha256", "season", "description"}; co2 adds "filled" (the months
                   interpolated); season is the seasonal period in points, or null

Both files are written to a temporary file in DIR and renamed into place, the .csv first, so an
interrupted fetch never leaves a partial file under either name.

Series:
    co2         Mauna Loa CO2 (ppmv), monthly means of the weekly readings, 1958-03 to 2001-12
    sunspots    yearly sunspot activity, 1700-2008
    elec_equip  monthly euro-area turnover index of electrical equipment makers, 1995-01 to
                2016-05 (statsmodels' elec_equip; the column is called orders here)
    nile        yearly Nile flow at Aswan, 1871-1970
    macro       US real GDP, consumption and investment (realgdp, realcons, realinv), quarterly,
                1959-Q1 to 2009-Q3: three series observed together (statsmodels' macrodata)

As root the script installs a missing python3-statsmodels with apt-get, otherwise it prints the
apt-get line and exits 1. Exit status: 0 ok, 1 failure, 2 usage error (including an unknown
series name).
"""

import argparse
import csv
import hashlib
import importlib.util
import io
import json
import math
import os
import subprocess
import sys

PROG = "series.py"
HERE = os.path.dirname(os.path.abspath(__file__))
DEB_STATSMODELS = "python3-statsmodels"
DEBIAN_DATASETS = "/usr/lib/python3/dist-packages/statsmodels/datasets"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _load_datasets():
    # datasets.py loaded by path as a private copy: `import datasets` from the repository root
    # would find the C++ datasets/ folder. Its messages then carry this script's name.
    spec = importlib.util.spec_from_file_location("recur_series_datasets",
                                                  os.path.join(HERE, "datasets.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PROG = PROG
    return module


_ds = _load_datasets()
default_cache_dir = _ds.default_cache_dir
atomic_write_bytes = _ds.atomic_write_bytes
log = _ds.log


class SeriesError(Exception):
    """A failure worth one clear line (exit status 1)."""


# ------------------------------------------------------------------------------- source files

def statsmodels_datasets_dir():
    """The statsmodels/datasets folder holding the CSV files (that of the statsmodels this
    Python would import, else Debian's), or None when there is none."""
    spec = importlib.util.find_spec("statsmodels")  # finds it without importing it
    candidates = [os.path.join(p, "datasets") for p in
                  (spec.submodule_search_locations or [])] if spec else []
    for d in candidates + [DEBIAN_DATASETS]:
        if os.path.isfile(os.path.join(d, "co2", "co2.csv")):
            return d
    return None


def ensure_statsmodels_datasets():
    d = statsmodels_datasets_dir()
    if d is None:
        _ds._need_debian_packages([DEB_STATSMODELS], f"{DEB_STATSMODELS} is not installed "
                                  "(its data files are the source of the series)")
        d = statsmodels_datasets_dir()
        if d is None:
            raise SeriesError(f"no statsmodels/datasets/co2/co2.csv even after installing "
                              f"{DEB_STATSMODELS}")
    return d


def _package_version():
    q = subprocess.run(["dpkg-query", "-W", "-f=${Version}", DEB_STATSMODELS],
                       capture_output=True, text=True)
    return f"{DEB_STATSMODELS} {q.stdout.strip()}" if q.returncode == 0 else None


def read_rows(path):
    """The data rows of a CSV file as [(line number, [fields])], after the header line."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return [(i + 2, row) for i, row in enumerate(rows[1:]) if row]


def _field(path, line, row, k):
    if len(row) <= k:
        raise SeriesError(f"{path}:{line}: expected {k + 1} fields, found {len(row)}")
    return row[k].strip()


def _number(path, line, text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SeriesError(f"{path}:{line}: '{text}' is not a number")
    return value


def yearly(path):
    """[(year, value)] of a YEAR,VALUE file (the year may be quoted)."""
    out = []
    for line, row in read_rows(path):
        year = _field(path, line, row, 0)
        if not year.isdigit():
            raise SeriesError(f"{path}:{line}: '{year}' is not a year")
        out.append((int(year), _number(path, line, _field(path, line, row, 1))))
    return out


def monthly_first_day(path):
    """[((year, month), value)] of a file dated like Jan-1-1995 (first day of each month)."""
    out = []
    for line, row in read_rows(path):
        date = _field(path, line, row, 0)
        parts = date.split("-")
        if (len(parts) != 3 or parts[0] not in MONTHS or parts[1] != "1"
                or not parts[2].isdigit()):
            raise SeriesError(f"{path}:{line}: '{date}' is not a date like Jan-1-1995")
        month = (int(parts[2]), MONTHS.index(parts[0]) + 1)
        out.append((month, _number(path, line, _field(path, line, row, 1))))
    return out


class Quarter(tuple):
    """A quarter's date, (year, quarter 1..4)."""


def quarterly_columns(path, columns):
    """[(Quarter, (values of `columns`))] of a file with "year" and "quarter" columns."""
    with open(path, newline="", encoding="utf-8") as f:
        header = [name.strip() for name in next(csv.reader(f), [])]
    missing = [c for c in ("year", "quarter", *columns) if c not in header]
    if missing:
        raise SeriesError(f"{path}: no column {', '.join(repr(c) for c in missing)}")
    year_at, quarter_at = header.index("year"), header.index("quarter")
    out = []
    for line, row in read_rows(path):
        year = _number(path, line, _field(path, line, row, year_at))
        quarter = _number(path, line, _field(path, line, row, quarter_at))
        if year != int(year) or quarter not in (1, 2, 3, 4):
            raise SeriesError(f"{path}:{line}: year {year}, quarter {quarter} is not a quarter")
        values = tuple(_number(path, line, _field(path, line, row, header.index(c)))
                       for c in columns)
        out.append((Quarter((int(year), int(quarter))), values))
    return out


def _quarter_index(quarter):
    return quarter[0] * 4 + quarter[1] - 1


def _month_index(month):
    return month[0] * 12 + month[1] - 1


def _month_of(index):
    return (index // 12, index % 12 + 1)


def weekly_to_monthly(path):
    """Monthly means of a YYYYMMDD,VALUE file of weekly readings, where a value may be empty.
    Each reading counts for the calendar month of its date. A month with no reading between the
    first and the last month gets the linear interpolation between the means of the nearest
    months on either side that have one. Returns ([((year, month), value)], [filled months])."""
    sums = {}
    for line, row in read_rows(path):
        date = _field(path, line, row, 0)
        if len(date) != 8 or not date.isdigit() or not 1 <= int(date[4:6]) <= 12:
            raise SeriesError(f"{path}:{line}: '{date}' is not a date like 19580329")
        index = _month_index((int(date[:4]), int(date[4:6])))
        text = _field(path, line, row, 1)
        total, count = sums.setdefault(index, [0.0, 0])
        if text:  # an empty value is a week without a reading
            sums[index] = [total + _number(path, line, text), count + 1]
    means = {i: total / count for i, (total, count) in sums.items() if count}
    if not means:
        raise SeriesError(f"{path}: no readings")
    known = sorted(means)
    out, filled = [], []
    for i in range(known[0], known[-1] + 1):
        if i not in means:
            before = max(k for k in known if k < i)
            after = min(k for k in known if k > i)
            w = (i - before) / (after - before)
            means[i] = means[before] + w * (means[after] - means[before])
            filled.append(_month_of(i))
        out.append((_month_of(i), means[i]))
    return out, filled


def _check_contiguous(name, points, index_of):
    """Raises SeriesError unless the dates of `points` follow each other with no gap."""
    for (a, _), (b, _) in zip(points, points[1:]):
        if index_of(b) != index_of(a) + 1:
            raise SeriesError(f"{name}: {a} is followed by {b}, not by the next date")


# ------------------------------------------------------------------------------- the series

def _co2(d):
    points, filled = weekly_to_monthly(os.path.join(d, "co2", "co2.csv"))
    return points, {"filled": [f"{y:04d}-{m:02d}" for y, m in filled]}


MACRO_COLUMNS = ("realgdp", "realcons", "realinv")

# name: (source file, output header, reader -> (points, extra metadata), season, description)
SERIES = {
    "co2": ("co2/co2.csv", ("month", "co2"), _co2, 12,
            "Mauna Loa atmospheric CO2 (ppmv), monthly means of the weekly readings "
            "(each counts for the month of its date); months with no reading are filled by "
            "linear interpolation between the neighbouring months' means (see \"filled\")"),
    "sunspots": ("sunspots/sunspots.csv", ("year", "sunactivity"),
                 lambda d: (yearly(os.path.join(d, "sunspots", "sunspots.csv")), {}), 11,
                 "yearly sunspot activity, 1700-2008 (National Geophysical Data Center)"),
    "elec_equip": ("elec_equip/elec_equip.csv", ("month", "orders"),
                   lambda d: (monthly_first_day(os.path.join(d, "elec_equip",
                                                             "elec_equip.csv")), {}), 12,
                   "euro area (18) turnover index of the manufacture of electrical equipment "
                   "(Eurostat STS.M.I7.W.TOVT.NS0016.4.000), monthly, working-day adjusted, not "
                   "seasonally adjusted"),
    "nile": ("nile/nile.csv", ("year", "volume"),
             lambda d: (yearly(os.path.join(d, "nile", "nile.csv")), {}), None,
             "yearly flow of the Nile at Aswan, 1871-1970 (a changepoint near 1898)"),
    "macro": ("macrodata/macrodata.csv", ("quarter", *MACRO_COLUMNS),
              lambda d: (quarterly_columns(os.path.join(d, "macrodata", "macrodata.csv"),
                                           MACRO_COLUMNS), {}), None,
              "US real gross domestic product, personal consumption expenditures and gross "
              "private domestic investment (billions of chained 2005 dollars, seasonally "
              "adjusted annual rates), quarterly, observed together (statsmodels' macrodata)"),
}


def _date_text(date):
    if isinstance(date, Quarter):
        return f"{date[0]:04d}-Q{date[1]}"
    return f"{date[0]:04d}-{date[1]:02d}" if isinstance(date, tuple) else f"{date:04d}"


def _date_index(date):
    """The function numbering dates of `date`'s kind consecutively."""
    if isinstance(date, Quarter):
        return _quarter_index
    return _month_index if isinstance(date, tuple) else (lambda year: year)


def series_csv(header, points):
    """The CSV text: the header line, then DATE,VALUE lines (a tuple of values: DATE,V1,V2,...).
    10 significant digits keep every source value as written (they have at most 5) and spare
    the means' float noise."""
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    for date, value in points:
        values = value if isinstance(value, tuple) else (value,)
        out.write(_date_text(date) + "".join(f",{v:.10g}" for v in values) + "\n")
    return out.getvalue()


def fetch(name, cache_dir):
    """Builds one series into cache_dir; returns its metadata plus 'path'."""
    source_rel, header, reader, season, description = SERIES[name]
    d = ensure_statsmodels_datasets()
    source = os.path.join(d, source_rel)
    with open(source, "rb") as f:
        source_sha = hashlib.sha256(f.read()).hexdigest()
    points, extra = reader(d)
    if not points:
        raise SeriesError(f"{source}: no data")
    _check_contiguous(name, points, _date_index(points[0][0]))
    data = series_csv(header, points).encode("utf-8")
    meta = {"name": name, "source": source, "source_sha256": source_sha,
            "package": _package_version(), "points": len(points),
            "first": _date_text(points[0][0]), "last": _date_text(points[-1][0]),
            "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "season": season,
            "description": description}
    meta.update(extra)
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, name + ".csv")
    atomic_write_bytes(path, data)
    atomic_write_bytes(path + ".json", (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    return dict(meta, path=path)


def cached_meta(cache_dir, name):
    """The metadata of a complete cached series, or None when it is missing or incomplete."""
    path = os.path.join(cache_dir, name + ".csv")
    try:
        with open(path + ".json", encoding="utf-8") as f:
            meta = json.load(f)
        if os.path.getsize(path) != meta["bytes"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return meta


def _unknown(name):
    print(f"{PROG}: unknown series '{name}' (known: {', '.join(sorted(SERIES))})",
          file=sys.stderr)
    return 2


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description="Export time series for "
                                     "`recur forecast` (run `series.py list` for the names).")
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="(re)build series into the cache")
    p_fetch.add_argument("names", nargs="+", metavar="NAME")
    p_path = sub.add_parser("path", help="print the series file's path, building it when missing")
    p_path.add_argument("name", metavar="NAME")
    for p in (p_fetch, p_path):
        p.add_argument("--cache", metavar="DIR", default=None,
                       help="cache folder (default: $RECUR_DATA, else ~/.cache/recur/corpora)")
    sub.add_parser("list", help="list the series")
    args = parser.parse_args(argv)

    if args.command == "list":
        cache = default_cache_dir()
        for name, (*_, season, desc) in SERIES.items():
            meta = cached_meta(cache, name)
            state = (f"cached, {meta['points']} points {meta['first']}..{meta['last']}" if meta
                     else "not cached")
            print(f"{name:10s} season {season or '-'}: {desc} [{state}]")
        return 0

    cache = os.path.abspath(args.cache or default_cache_dir())
    names = args.names if args.command == "fetch" else [args.name]
    for name in names:
        if name not in SERIES:
            return _unknown(name)
    try:
        if args.command == "path":
            name = names[0]
            if cached_meta(cache, name) is None:
                log(f"{name}: not in {cache}; building it")
                fetch(name, cache)
            print(os.path.join(cache, name + ".csv"))
            return 0
        for name in names:
            m = fetch(name, cache)
            print(f"{name}: {m['points']} points {m['first']}..{m['last']}, season "
                  f"{m['season'] or '-'} -> {m['path']}", flush=True)
        return 0
    except (SeriesError, _ds.CorpusError) as e:  # CorpusError: apt-get failed
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
