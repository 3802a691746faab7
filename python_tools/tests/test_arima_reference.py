"""Tests of python_tools/arima_reference.py and python_tools/plot_forecast.py. The model tests
skip without statsmodels, the plotting tests without matplotlib.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
import math
import os
import random
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ar = _load("recur_arima_reference", "arima_reference.py")
pf = _load("recur_plot_forecast", "plot_forecast.py")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

try:
    import numpy as np
    import statsmodels  # noqa: F401
    HAVE_STATSMODELS = True
except ImportError:
    HAVE_STATSMODELS = False

try:
    import matplotlib  # noqa: F401
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def ar1(n=120, c=2.0, phi=0.6, seed=5):
    """x[t] = c + phi x[t-1] + N(0, 1), started at its mean."""
    rng = random.Random(seed)
    x = [c / (1 - phi)]
    while len(x) < n:
        x.append(c + phi * x[-1] + rng.gauss(0.0, 1.0))
    return x


def run(main, argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write_csv(self, values, name="s.csv", header="t,x"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(header + "\n" + "".join(f"{i},{v!r}\n" for i, v in enumerate(values)))
        return path


class DataTest(TempDirTest):
    def test_read_series(self):
        path = os.path.join(self.dir, "a.csv")
        with open(path, "w") as f:
            f.write("month,a,b\n2000-01,1,2.5\n\n2000-02, 3 ,-4e1\n")
        self.assertEqual(ar.read_series(path), ("b", ["2000-01", "2000-02"], [2.5, -40.0]))
        self.assertEqual(ar.read_series(path, "a")[2], [1.0, 3.0])

    def test_read_errors(self):
        path = os.path.join(self.dir, "a.csv")
        with open(path, "w") as f:
            f.write("month,a,b\n2000-01,1,2\n2000-02,x,3\n2000-03,,4\n")
        with self.assertRaisesRegex(ar.InputError, r"no column 'c' \(columns: month, a, b\)"):
            ar.read_series(path, "c")
        with self.assertRaisesRegex(ar.InputError, r"a\.csv:3: column 'a': 'x' is not a number"):
            ar.read_series(path, "a")
        with open(path, "w") as f:
            f.write("month,a\n2000-01,1\n2000-02\n")
        with self.assertRaisesRegex(ar.InputError, r"a\.csv:3: column 'a': no value"):
            ar.read_series(path)
        with self.assertRaisesRegex(ar.InputError, "No such file"):
            ar.read_series(os.path.join(self.dir, "missing.csv"))

    def test_check_split(self):
        ar.check_split(100, 20, 12)
        for test, season, pattern in ((0, 0, "at least 1"), (91, 0, "leaves 9 of 100"),
                                      (76, 12, "at least 25"), (10, 1, "--season 1")):
            with self.assertRaisesRegex(ar.InputError, pattern):
                ar.check_split(100, test, season)

    def test_metrics(self):
        m = ar.metrics([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 1.0, 4.0])
        self.assertAlmostEqual(m["rmse"], math.sqrt(5 / 4))
        self.assertAlmostEqual(m["mae"], 3 / 4)

    def test_baselines_by_hand(self):
        x = [1.0, 5.0, 2.0, 6.0, 3.0, 7.0, 4.0, 9.0]  # train 5, test 3, season 2
        fc = ar.baseline_forecasts(x, 5, 2)
        self.assertEqual(fc["naive"], {"ahead": [3.0, 3.0, 3.0], "one_step": [3.0, 7.0, 4.0]})
        self.assertEqual(fc["seasonal_naive"], {"ahead": [6.0, 3.0, 6.0],
                                                "one_step": [6.0, 3.0, 7.0]})
        self.assertNotIn("seasonal_naive", ar.baseline_forecasts(x, 5, 0))
        b = ar.baselines(x, 5, 2)
        self.assertAlmostEqual(b["naive"]["ahead"]["mae"], (4 + 1 + 6) / 3)
        self.assertAlmostEqual(b["seasonal_naive"]["one_step"]["rmse"], math.sqrt((1 + 1 + 4) / 3))

    def test_bad_input_exits_2(self):
        path = self.write_csv([1.0] * 30)
        out = os.path.join(self.dir, "o.json")
        for extra in (["--column", "y", "--test", "5"], ["--test", "25"], ["--test", "0"],
                      ["--test", "5", "--season", "13"]):
            rc, _, err = run(ar.main, ["--data", path, "--out", out] + extra)
            self.assertEqual(rc, 2, extra)
            self.assertTrue(err.startswith("arima_reference.py: error: "), err)
        bad = os.path.join(self.dir, "bad.csv")
        with open(bad, "w") as f:
            f.write("t,x\n" + "".join(f"{i},{i}\n" for i in range(20)) + "20,n/a\n")
        rc, _, err = run(ar.main, ["--data", bad, "--test", "3", "--out", out])
        self.assertEqual(rc, 2)
        self.assertIn("bad.csv:22: column 'x': 'n/a' is not a number", err)
        self.assertFalse(os.path.exists(out))


@unittest.skipUnless(HAVE_STATSMODELS, "statsmodels is not installed")
class ModelTest(TempDirTest):
    def test_ar1_run(self):
        x = ar1()
        path, out = self.write_csv(x), os.path.join(self.dir, "o.json")
        rc, stdout, err = run(ar.main, ["--data", path, "--test", "12", "--out", out])
        self.assertEqual(rc, 0, err)
        self.assertIn("SARIMAX(", stdout)
        with open(out) as f:
            res = json.load(f)
        self.assertEqual(res["tool"], "statsmodels SARIMAX")
        self.assertEqual((res["column"], res["points"], res["train"], res["test"], res["season"]),
                         ("x", 120, 108, 12, 0))
        self.assertEqual((res["grid"], res["failed"]), (18, 0))
        self.assertEqual(res["seasonal_order"], [0, 0, 0, 0])
        self.assertEqual(res["actual"], x[108:])
        self.assertNotIn("seasonal_naive", res["baselines"])
        for kind in ("ahead", "one_step"):
            self.assertEqual(len(res[kind]["forecast"]), 12)
            self.assertTrue(all(math.isfinite(v) for v in res[kind]["forecast"]))
            self.assertEqual(ar.metrics(x[108:], res[kind]["forecast"]),
                             {"rmse": res[kind]["rmse"], "mae": res[kind]["mae"]})
        # The naive baseline by hand.
        ahead = [abs(v - x[107]) for v in x[108:]]
        one = [abs(x[t] - x[t - 1]) for t in range(108, 120)]
        naive = res["baselines"]["naive"]
        self.assertAlmostEqual(naive["ahead"]["mae"], sum(ahead) / 12, places=12)
        self.assertAlmostEqual(naive["ahead"]["rmse"],
                               math.sqrt(sum(e * e for e in ahead) / 12), places=12)
        self.assertAlmostEqual(naive["one_step"]["mae"], sum(one) / 12, places=12)
        # One-step forecasts track the data, so they beat the flat multi-step forecast here.
        self.assertLess(res["one_step"]["rmse"], res["ahead"]["rmse"])

    def test_one_step_is_c_plus_phi_times_the_previous_true_value(self):
        x = ar1()
        res, _ = ar.fit(np.array(x[:108]), (1, 0, 0), (0, 0, 0, 0))
        self.assertEqual(list(res.param_names), ["intercept", "ar.L1", "sigma2"])
        c, phi = res.params[0], res.params[1]
        self.assertLess(abs(phi - 0.6), 0.25)
        ahead, one_step = ar.model_forecasts(res, np.array(x[108:]))
        for k, t in enumerate(range(108, 120)):
            self.assertAlmostEqual(one_step[k], c + phi * x[t - 1], places=9)
        expected, prev = [], x[107]
        for _ in range(12):  # the multi-step forecast feeds its own predictions back
            prev = c + phi * prev
            expected.append(prev)
        for got, want in zip(ahead, expected):
            self.assertAlmostEqual(got, want, places=9)
        # Changing a test value changes the predictions after it only.
        changed = list(x[108:])
        changed[5] += 10.0
        _, one_changed = ar.model_forecasts(res, np.array(changed))
        self.assertEqual(one_changed[:6], one_step[:6])
        self.assertAlmostEqual(one_changed[6] - one_step[6], 10.0 * phi, places=9)
        self.assertEqual(one_changed[7:], one_step[7:])

    def test_seasonal_run_has_seasonal_naive(self):
        rng = random.Random(2)
        x = [10 + 3 * math.sin(2 * math.pi * t / 4) + 0.05 * t + rng.gauss(0, 0.3)
             for t in range(40)]
        path, out = self.write_csv(x), os.path.join(self.dir, "o.json")
        rc, _, err = run(ar.main, ["--data", path, "--test", "8", "--season", "4",
                                   "--out", out])
        self.assertEqual(rc, 0, err)
        with open(out) as f:
            res = json.load(f)
        self.assertEqual((res["seasonal_order"][1], res["seasonal_order"][3]), (1, 4))
        self.assertEqual(res["grid"], 72)
        sn = [x[32 - 4 + k % 4] for k in range(8)]
        self.assertAlmostEqual(res["baselines"]["seasonal_naive"]["ahead"]["mae"],
                               sum(abs(a - b) for a, b in zip(x[32:], sn)) / 8, places=12)


@unittest.skipUnless(HAVE_MATPLOTLIB, "matplotlib is not installed")
class PlotForecastTest(TempDirTest):
    def forecast(self, actual, name="f.json", tool="recur forecast"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump({"tool": tool, "actual": actual,
                       "ahead": {"forecast": [actual[0]] * len(actual)},
                       "one_step": {"forecast": [v + 0.1 for v in actual]}}, f)
        return path

    def test_writes_a_png(self):
        x = ar1(60)
        data = os.path.join(self.dir, "s.csv")
        with open(data, "w") as f:
            f.write("month,x\n" + "".join(f"{2000 + i // 12}-{i % 12 + 1:02d},{v!r}\n"
                                          for i, v in enumerate(x)))
        png = os.path.join(self.dir, "out", "f.png")
        rc, out, err = run(pf.main, ["--data", data, "--test", "10", "--forecast",
                                     self.forecast(x[50:]), "--forecast",
                                     self.forecast(x[50:], "g.json", "other"), "--label", "A",
                                     "--out", png])
        self.assertEqual(rc, 0, err)
        with open(png, "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC)
        self.assertEqual(os.listdir(os.path.dirname(png)), ["f.png"])

    def test_mismatched_actual_exits_2(self):
        x = ar1(60)
        data, png = self.write_csv(x), os.path.join(self.dir, "f.png")
        for actual in (x[51:], x[50:59] + [x[59] * (1 + 1e-6)]):
            rc, _, err = run(pf.main, ["--data", data, "--test", "10", "--forecast",
                                       self.forecast(actual), "--out", png])
            self.assertEqual(rc, 2)
            self.assertIn("is not the last 10 values of the data", err)
        self.assertFalse(os.path.exists(png))

    def test_a_forecast_of_several_columns_gives_the_one_drawn(self):
        x, y = ar1(40), ar1(40, seed=6)
        data, png = os.path.join(self.dir, "xy.csv"), os.path.join(self.dir, "f.png")
        with open(data, "w") as f:
            f.write("t,x,y\n" + "".join(f"{i},{a!r},{b!r}\n" for i, (a, b) in enumerate(zip(x, y))))
        both = os.path.join(self.dir, "both.json")
        with open(both, "w") as f:
            json.dump({"tool": "recur", "columns": ["x", "y"], "forecasts": {
                name: {"actual": v[30:], "ahead": {"forecast": v[30:]}}
                for name, v in (("x", x), ("y", y))}}, f)
        self.assertEqual(pf.load_forecast(both, y[30:], "y")["tool"], "recur")
        for column, code, message in (("y", 0, ""), ("t", 2, "no forecast of column 't' "
                                                               "(it has x, y)")):
            rc, _, err = run(pf.main, ["--data", data, "--column", column, "--test", "10",
                                       "--forecast", both, "--out", png])
            self.assertEqual(rc, code, err)
            self.assertIn(message, err)

    def test_x_axis(self):
        self.assertEqual(pf.x_axis(["1959-Q1", "1959-Q4"]), [1959.0, 1959.75])
        self.assertEqual(pf.x_axis(["1999-12", "2000-01"]), [1999 + 11 / 12, 2000.0])
        self.assertEqual(pf.x_axis(["1700", "1701"]), [1700, 1701])
        self.assertEqual(pf.x_axis(["a", "b"]), [0, 1])


if __name__ == "__main__":
    unittest.main()
