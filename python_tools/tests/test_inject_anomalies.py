"""Tests of python_tools/inject_anomalies.py. The named-series tests read the CSV files of
Debian's python3-statsmodels and skip when they are not installed.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ia = _load("recur_inject_anomalies", "inject_anomalies.py")

SOURCES = ia._se.statsmodels_datasets_dir()


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = ia.main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def wave(n=240):
    """A seasonal wave on a trend with a little deterministic wobble, 3 decimals."""
    return [round(10 + 0.02 * t + 3 * math.sin(2 * math.pi * t / 12) + 0.3 * math.sin(7.1 * t), 3)
            for t in range(n)]


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write_csv(self, lines, name="s.csv"):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        return path

    def wave_csv(self, n=240):
        return self.write_csv(["t,x"] + [f"{2000 + t},{v}" for t, v in enumerate(wave(n))])

    def inject(self, data, *args):
        out = os.path.join(self.dir, "out.csv")
        rc, stdout, err = run_main(["--data", data, "--out", out, *args])
        self.assertEqual(rc, 0, err)
        with open(out + ".json", encoding="utf-8") as f:
            meta = json.load(f)
        return out, meta, stdout

    def check_output(self, source, out, meta, count):
        """The invariants of any output: the untouched prefix byte for byte, changes and labels
        exactly on the events, events apart and in range, each kind's size as specified."""
        src, got = read_lines(source), read_lines(out)
        n, clean = meta["points"], meta["clean_until"]
        self.assertEqual(len(got), n + 1)
        self.assertEqual(got[0], f"date,{meta['column']},anomaly")
        self.assertEqual(got[1:clean + 1], [line + ",0" for line in src[1:clean + 1]])
        events = meta["events"]
        self.assertEqual(len(events), count)
        self.assertEqual(events, sorted(events, key=lambda e: e["start"]))
        self.assertGreaterEqual(events[0]["start"], clean)
        self.assertLessEqual(events[-1]["start"] + events[-1]["length"], n - 1)
        for a, b in zip(events, events[1:]):
            self.assertGreaterEqual(b["start"] - (a["start"] + a["length"]), ia.GAP)
        dates, values, labels = ia.read_labelled(out)
        before = [float(line.split(",")[1]) for line in src[1:]]
        self.assertEqual(dates, [line.split(",")[0] for line in src[1:]])
        inside = set()
        for e in events:
            span = range(e["start"], e["start"] + e["length"])
            inside.update(span)
            low, high = ia.LENGTHS[e["kind"]]
            self.assertTrue(low <= e["length"] <= high, e)
            deltas = [(values[i] - before[i]) / meta["sigma"] for i in span]
            if e["kind"] == "stuck":
                self.assertEqual([values[i] for i in span], [before[e["start"] - 1]] * len(span))
            elif e["kind"] == "noise":
                self.assertTrue(all(d != 0 for d in deltas), deltas)
            else:
                low, high = (4, 6) if e["kind"] == "spike" else (3, 5)
                self.assertTrue(all(abs(d - deltas[0]) < 1e-6 for d in deltas), deltas)
                self.assertTrue(low - 1e-6 <= abs(deltas[0]) <= high + 1e-6, deltas)
        self.assertEqual(labels, [int(i in inside) for i in range(n)])
        stuck = {i for e in events if e["kind"] == "stuck"
                 for i in range(e["start"], e["start"] + e["length"])}
        changed = {i for i in range(n) if got[i + 1].split(",")[1] != src[i + 1].split(",")[1]}
        self.assertTrue(changed <= inside, sorted(changed - inside))
        self.assertEqual(inside - changed - stuck, set())


class InjectTest(TempDirTest):
    def test_synthetic_series(self):
        source = self.wave_csv()
        out, meta, stdout = self.inject(source)
        self.assertEqual((meta["source"], meta["column"], meta["points"], meta["clean_until"],
                          meta["seed"]), (source, "x", 240, 144, 1))
        x = wave()[:144]
        diffs = [b - a for a, b in zip(x, x[1:])]
        mean = sum(diffs) / len(diffs)
        self.assertAlmostEqual(meta["sigma"],
                               math.sqrt(sum((d - mean) ** 2 for d in diffs) / len(diffs)))
        self.check_output(source, out, meta, 8)
        self.assertEqual([line.split()[0] for line in stdout.splitlines()],
                         [e["kind"] for e in meta["events"]])
        self.assertEqual(sorted(os.listdir(self.dir)), ["out.csv", "out.csv.json", "s.csv"])

    def test_options(self):
        path = self.write_csv(["when,x,y"] + [f"d{t},{-v},{v:.4f}" for t, v in enumerate(wave())])
        out, meta, _ = self.inject(path, "--column", "x", "--from", "0.5", "--count", "3",
                                   "--seed", "9")
        self.assertEqual((meta["column"], meta["clean_until"], meta["seed"], len(meta["events"])),
                         ("x", 120, 9, 3))
        dates, values, _ = ia.read_labelled(out)
        self.assertEqual((dates[0], values[:2]), ("d0", [-wave()[0], -wave()[1]]))
        _, meta, _ = self.inject(path)
        self.assertEqual(meta["column"], "y")  # the last column by default

    def test_seeds(self):
        source = self.wave_csv()
        out = os.path.join(self.dir, "out.csv")
        outputs = []
        for seed in ("5", "5", "6"):
            rc, _, err = run_main(["--data", source, "--out", out, "--seed", seed])
            self.assertEqual(rc, 0, err)
            with open(out, "rb") as f, open(out + ".json", "rb") as g:
                outputs.append((f.read(), g.read()))
        self.assertEqual(outputs[0], outputs[1])
        self.assertNotEqual(json.loads(outputs[0][1])["events"],
                            json.loads(outputs[2][1])["events"])

    def test_every_kind_in_turn(self):
        source = self.wave_csv(400)
        for count in (4, 5, 11):
            for seed in ("1", "2", "3"):
                with self.subTest(count=count, seed=seed):
                    out, meta, _ = self.inject(source, "--count", str(count), "--seed", seed)
                    kinds = [e["kind"] for e in meta["events"]]
                    self.assertEqual(sorted(set(kinds[:4])), sorted(ia.KINDS))
                    self.assertEqual(kinds, [kinds[i % 4] for i in range(count)])
                    self.check_output(source, out, meta, count)

    def test_stuck_value_keeps_the_source_text(self):
        source = self.write_csv(["t,x"] + [f"{t},{v:.4f}" for t, v in enumerate(wave())])
        out, meta, _ = self.inject(source, "--count", "4")
        e = next(e for e in meta["events"] if e["kind"] == "stuck")
        src, got = read_lines(source), read_lines(out)
        held = src[e["start"]].split(",")[1]  # src[0] is the header: the value before the event
        self.assertRegex(held, r"\.\d{4}$")
        self.assertEqual({got[i + 1].split(",")[1] for i in range(e["start"], e["start"] +
                                                                     e["length"])}, {held})


class BadInputTest(TempDirTest):
    def assert_exit_2(self, argv, message):
        out = os.path.join(self.dir, "out.csv")
        rc, stdout, err = run_main(argv + ["--out", out])
        self.assertEqual((rc, stdout), (2, ""), err)
        self.assertIn(message, err)
        self.assertTrue(err.startswith("inject_anomalies.py: error: "), err)
        self.assertFalse(os.path.exists(out))

    def test_bad_values(self):
        for bad, shown in (("abc", "'abc'"), ("nan", "'nan'"), ("1_0", "'1_0'"),
                           ("1e999", "'1e999'"), ("", "no value")):
            with self.subTest(bad=bad):
                path = self.write_csv(["t,x", "0,1.5", f"1,{bad}", "2,3"])
                self.assert_exit_2(["--data", path],
                                   f"{path}:3: column 'x': {shown} is not a number")

    def test_too_many_events(self):
        self.assert_exit_2(["--data", self.wave_csv(100)], "--count 8: these events need")
        self.assert_exit_2(["--data", self.wave_csv(), "--count", "12"], "--count 12:")

    def test_bad_arguments(self):
        source = self.wave_csv()
        for args, message in ((["--column", "z"], "no column 'z' (columns: t, x)"),
                              (["--from", "1"], "--from 1.0: expected a fraction"),
                              (["--count", "0"], "--count 0: expected at least 1"),
                              (["--seed", "-1"], "--seed -1: expected 0 or more")):
            with self.subTest(args=args):
                self.assert_exit_2(["--data", source] + args, message)
        self.assert_exit_2(["--data", os.path.join(self.dir, "none.csv")], "none.csv: ")
        flat = self.write_csv(["t,x"] + [f"{t},{5 if t < 150 else t}" for t in range(200)])
        self.assert_exit_2(["--data", flat], "sigma is 0")

    def test_read_labelled_errors(self):
        for lines, message in ((["date,x,anomaly", "a,1,2"], ":2: label '2'"),
                               (["date,x,anomaly", "a,1,0", "b,z,0"], ":3: 'z' is not a number"),
                               (["date,x"], "expected date,COLUMN,anomaly")):
            with self.subTest(lines=lines):
                with self.assertRaisesRegex(ia.InputError, message):
                    ia.read_labelled(self.write_csv(lines))


@unittest.skipUnless(SOURCES, "python3-statsmodels (its data files) is not installed")
class NamedSeriesTest(TempDirTest):
    def test_named_series(self):
        for name, column, points in (("sunspots", "sunactivity", 309),
                                     ("elec_equip", "orders", 257)):
            with self.subTest(name=name), mock.patch.dict(os.environ, {"RECUR_DATA": self.dir}):
                out, meta, _ = self.inject(name)
                source = os.path.join(self.dir, name + ".csv")
                self.assertEqual((meta["source"], meta["column"], meta["points"]),
                                 (source, column, points))
                self.check_output(source, out, meta, 8)

    def test_command_line(self):
        # As a user runs it: exit status, one stdout line per event, the log on stderr.
        out = os.path.join(self.dir, "nile.csv")
        r = subprocess.run([sys.executable, "-B", os.path.join(TOOLS, "inject_anomalies.py"),
                            "--data", "nile", "--count", "3", "--out", out],
                           env=dict(os.environ, RECUR_DATA=os.path.join(self.dir, "cache")),
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 3)
        self.assertIn("100 values, the first 60 untouched", r.stderr)


if __name__ == "__main__":
    unittest.main()
