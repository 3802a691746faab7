"""Tests of python_tools/series.py. The series tests read the CSV files of Debian's
python3-statsmodels and skip when they are not installed.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import csv
import hashlib
import importlib.util
import io
import json
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


se = _load("recur_series", "series.py")

SOURCES = se.statsmodels_datasets_dir()


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = se.main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


class WeeklyToMonthlyTest(unittest.TestCase):
    def test_means_and_filled_months(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "w.csv")
            with open(path, "w") as f:
                # 2000-01: 1, 2 (and an empty week); 2000-02, 2000-03: nothing; 2000-04: 7.
                f.write("date,v\n20000101,1\n20000108,\n20000115,2\n20000205,\n20000401,7.5\n")
            points, filled = se.weekly_to_monthly(path)
        self.assertEqual(points, [((2000, 1), 1.5), ((2000, 2), 3.5), ((2000, 3), 5.5),
                                  ((2000, 4), 7.5)])
        self.assertEqual(filled, [(2000, 2), (2000, 3)])

    def test_bad_value_names_the_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "w.csv")
            with open(path, "w") as f:
                f.write("date,v\n20000101,1\n20000108,x\n")
            with self.assertRaisesRegex(se.SeriesError, r"w\.csv:3: 'x' is not a number"):
                se.weekly_to_monthly(path)

    def test_csv_text(self):
        self.assertEqual(se.series_csv(("month", "v"), [((1999, 12), 317.20000000000005),
                                                         ((2000, 1), 5.0)]),
                         "month,v\n1999-12,317.2\n2000-01,5\n")
        self.assertEqual(se.series_csv(("year", "v"), [(1700, 0.1 + 0.2)]), "year,v\n1700,0.3\n")
        self.assertEqual(
            se.series_csv(("quarter", "a", "b"), [(se.Quarter((1959, 4)), (1.5, 2.0))]),
            "quarter,a,b\n1959-Q4,1.5,2\n")


class QuarterlyColumnsTest(unittest.TestCase):
    def read(self, text):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "q.csv")
            with open(path, "w") as f:
                f.write(text)
            return se.quarterly_columns(path, ("b", "a"))

    def test_columns_in_the_order_asked(self):
        self.assertEqual(self.read('"year","quarter","a","b"\n1959,4,1.5,2\n1960,1,3,4\n'),
                         [((1959, 4), (2.0, 1.5)), ((1960, 1), (4.0, 3.0))])

    def test_bad_input_names_what_and_where(self):
        with self.assertRaisesRegex(se.SeriesError, r"no column 'b'"):
            self.read("year,quarter,a\n1959,1,2\n")
        with self.assertRaisesRegex(se.SeriesError, r"q\.csv:3: year 1960.0, quarter 5.0"):
            self.read("year,quarter,a,b\n1959,4,1,2\n1960,5,1,2\n")
        with self.assertRaisesRegex(se.SeriesError, r"q\.csv:2: 'NA' is not a number"):
            self.read("year,quarter,a,b\n1959,4,1,NA\n")

    def test_a_missing_quarter_is_a_gap(self):
        points = self.read("year,quarter,a,b\n1959,3,1,2\n1960,1,1,2\n")
        with self.assertRaisesRegex(se.SeriesError, r"is followed by"):
            se._check_contiguous("q", points, se._date_index(points[0][0]))


@unittest.skipUnless(SOURCES, "python3-statsmodels (its data files) is not installed")
class SeriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.dir = cls._tmp.name
        cls.meta = {}
        with contextlib.redirect_stderr(io.StringIO()):
            for name in se.SERIES:
                cls.meta[name] = se.fetch(name, cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_points_and_metadata(self):
        expected = {"co2": (("month", "co2"), 526, "1958-03", "2001-12", 12),
                    "sunspots": (("year", "sunactivity"), 309, "1700", "2008", 11),
                    "elec_equip": (("month", "orders"), 257, "1995-01", "2016-05", 12),
                    "nile": (("year", "volume"), 100, "1871", "1970", None),
                    "macro": (("quarter", "realgdp", "realcons", "realinv"), 203, "1959-Q1",
                              "2009-Q3", None)}
        for name, (header, points, first, last, season) in expected.items():
            with self.subTest(name=name):
                path = os.path.join(self.dir, name + ".csv")
                got_header, rows = read_csv(path)
                self.assertEqual(tuple(got_header), header)
                self.assertEqual(len(rows), points)
                self.assertEqual((rows[0][0], rows[-1][0]), (first, last))
                for row in rows:
                    self.assertEqual(len(row), len(header))
                    for value in row[1:]:
                        float(value)  # every value is a number
                with open(path + ".json", encoding="utf-8") as f:
                    meta = json.load(f)
                with open(path, "rb") as f:
                    data = f.read()
                source = os.path.join(SOURCES, se.SERIES[name][0])
                with open(source, "rb") as f:
                    source_sha = hashlib.sha256(f.read()).hexdigest()
                self.assertEqual((meta["points"], meta["first"], meta["last"], meta["season"]),
                                 (points, first, last, season))
                self.assertEqual((meta["source"], meta["source_sha256"]), (source, source_sha))
                self.assertEqual((meta["bytes"], meta["sha256"]),
                                 (len(data), hashlib.sha256(data).hexdigest()))
                self.assertTrue(meta["description"])
                self.assertEqual(se.cached_meta(self.dir, name), meta)
        self.assertEqual(sorted(os.listdir(self.dir)),  # no temporary file left
                         sorted(n + ext for n in se.SERIES for ext in (".csv", ".csv.json")))

    def test_copied_series_keep_the_source_values(self):
        for name in ("sunspots", "elec_equip", "nile"):
            with self.subTest(name=name):
                _, source = read_csv(os.path.join(SOURCES, name, name + ".csv"))
                _, rows = read_csv(os.path.join(self.dir, name + ".csv"))
                self.assertEqual([float(r[1]) for r in rows], [float(r[1]) for r in source])
        _, rows = read_csv(os.path.join(self.dir, "elec_equip.csv"))
        self.assertEqual(rows[:2], [["1995-01", "66.19"], ["1995-02", "65.15"]])
        header, source = read_csv(os.path.join(SOURCES, "macrodata", "macrodata.csv"))
        _, rows = read_csv(os.path.join(self.dir, "macro.csv"))
        at = [header.index(c) for c in ("realgdp", "realcons", "realinv")]
        self.assertEqual([[float(v) for v in r[1:]] for r in rows],
                         [[float(r[k]) for k in at] for r in source])
        self.assertEqual(rows[-1][0], "2009-Q3")

    def test_co2_monthly_means(self):
        _, weekly = read_csv(os.path.join(SOURCES, "co2", "co2.csv"))
        _, rows = read_csv(os.path.join(self.dir, "co2.csv"))
        monthly = dict((r[0], float(r[1])) for r in rows)

        def by_hand(month):
            values = [float(v) for d, v in weekly if d.startswith(month) and v]
            return sum(values) / len(values)

        for month in ("1958-04", "1975-07", "2001-12"):
            self.assertAlmostEqual(monthly[month], by_hand(month.replace("-", "")), delta=1e-6)
        # 1964-02..04 have no reading: a straight line from 1964-01 to 1964-05.
        jan, may = by_hand("196401"), by_hand("196405")
        self.assertAlmostEqual(monthly["1964-03"], jan + (may - jan) * 2 / 4, delta=1e-6)
        self.assertEqual(self.meta["co2"]["filled"],
                         ["1958-06", "1958-10", "1964-02", "1964-03", "1964-04"])

    def test_path_prints_the_absolute_path(self):
        # How `recur forecast` finds a series: it runs the script and reads stdout.
        env = dict(os.environ, RECUR_DATA=self.dir)
        r = subprocess.run([sys.executable, "-B", os.path.join(TOOLS, "series.py"), "path",
                            "nile"], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, os.path.join(self.dir, "nile.csv") + "\n")


class CommandLineTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_unknown_name_exits_2(self):
        for argv in (["path", "nope", "--cache", self.dir],
                     ["fetch", "nile", "nope", "--cache", self.dir]):
            rc, out, err = run_main(argv)
            self.assertEqual(rc, 2)
            self.assertEqual(out, "")
            self.assertIn("unknown series 'nope' (known: co2, elec_equip, macro, nile, "
                          "sunspots)", err)
        self.assertEqual(os.listdir(self.dir), [])

    def test_path_builds_only_when_missing(self):
        calls = []
        with mock.patch.object(se, "fetch", side_effect=lambda n, c: calls.append((n, c))):
            rc, out, _ = run_main(["path", "co2", "--cache", self.dir])
        self.assertEqual((rc, out), (0, os.path.join(self.dir, "co2.csv") + "\n"))
        self.assertEqual(calls, [("co2", self.dir)])
        with open(os.path.join(self.dir, "co2.csv"), "w") as f:
            f.write("month,co2\n")
        with open(os.path.join(self.dir, "co2.csv.json"), "w") as f:
            json.dump({"bytes": 10}, f)
        with mock.patch.object(se, "fetch", side_effect=AssertionError("rebuilt")):
            rc, out, _ = run_main(["path", "co2", "--cache", self.dir])
        self.assertEqual(rc, 0)

    def test_missing_package_as_non_root_prints_apt_line(self):
        with mock.patch.object(se, "statsmodels_datasets_dir", return_value=None), \
                mock.patch.object(se._ds.os, "geteuid", return_value=1000), \
                mock.patch.object(se._ds.subprocess, "run",
                                  side_effect=AssertionError("must not run anything")):
            rc, out, err = run_main(["fetch", "nile", "--cache", self.dir])
        self.assertEqual(rc, 1)
        self.assertIn("sudo apt-get install -y python3-statsmodels\n", err)
        self.assertTrue(err.startswith("series.py: "), err)

    def test_list(self):
        with mock.patch.dict(os.environ, {"RECUR_DATA": self.dir}):
            rc, out, _ = run_main(["list"])
        self.assertEqual(rc, 0)
        self.assertEqual([line.split()[0] for line in out.splitlines()],
                         ["co2", "sunspots", "elec_equip", "nile", "macro"])


if __name__ == "__main__":
    unittest.main()
