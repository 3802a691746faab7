"""Tests of python_tools/var_reference.py (the VAR peer of `recur forecast --column a,b`). The model
tests skip without statsmodels.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
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


vr = _load("recur_var_reference", "var_reference.py")

try:
    import numpy  # noqa: F401
    import statsmodels  # noqa: F401
    HAVE_STATSMODELS = True
except ImportError:
    HAVE_STATSMODELS = False

# x[t] = C + A x[t-1] + N(0, 1) per component
C = (1.0, -2.0)
A = ((0.5, 0.3), (-0.4, 0.2))


def var1(n=400, seed=3):
    """n rows of the VAR(1) above."""
    rng = random.Random(seed)
    x = [[0.0, 0.0]]
    while len(x) < n + 50:  # the first 50 rows let it forget its start
        prev = x[-1]
        x.append([C[i] + A[i][0] * prev[0] + A[i][1] * prev[1] + rng.gauss(0.0, 1.0)
                  for i in range(2)])
    return x[50:]


def write_csv(path, rows, names=("a", "b")):
    with open(path, "w", encoding="utf-8") as f:
        f.write("t," + ",".join(names) + "\n")
        for t, row in enumerate(rows):
            f.write(f"{t}," + ",".join(f"{v:.10g}" for v in row) + "\n")


def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = vr.main(argv)
    return rc, out.getvalue(), err.getvalue()


class VarTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def fit(self, rows, *options, test=30):
        data, out = os.path.join(self.dir, "d.csv"), os.path.join(self.dir, "out.json")
        write_csv(data, rows)
        rc, _, err = run(["--data", data, "--column", "a,b", "--test", str(test), *options,
                          "--out", out])
        self.assertEqual(rc, 0, err)
        with open(out, encoding="utf-8") as f:
            return json.load(f)


@unittest.skipUnless(HAVE_STATSMODELS, "statsmodels is not installed")
class VarForecastTest(VarTestCase):
    def test_one_step_is_the_processs_prediction_from_the_true_values(self):
        rows = var1()
        r = self.fit(rows)
        self.assertEqual((r["lag_order"], r["columns"], r["train"], r["test"]),
                         (1, ["a", "b"], 370, 30))
        for i, name in enumerate(("a", "b")):
            col = r["forecasts"][name]
            self.assertEqual(col["actual"], [float(f"{row[i]:.10g}") for row in rows[370:]])
            # The fitted VAR(1) is near the true one: its one-step forecasts are near C + A x[t-1].
            truth = [C[i] + A[i][0] * prev[0] + A[i][1] * prev[1] for prev in rows[369:399]]
            worst = max(abs(p - t) for p, t in zip(col["one_step"]["forecast"], truth))
            self.assertLess(worst, 0.35, name)
            naive = col["baselines"]["naive"]["one_step"]["rmse"]
            self.assertLess(col["one_step"]["rmse"], 0.8 * naive)
            self.assertEqual(col["ahead"]["forecast"][0], col["one_step"]["forecast"][0])
            self.assertEqual(len(col["ahead"]["forecast"]), 30)

    def test_difference_models_the_steps_and_adds_them_back(self):
        steps = var1()
        levels, total = [], [100.0, -50.0]
        for row in steps:
            total = [t + s for t, s in zip(total, row)]
            levels.append(total)
        levels = [[float(f"{v:.10g}") for v in row] for row in levels]
        on_levels = self.fit(levels, "--difference")
        differences = [[b - a for a, b in zip(p, q)] for p, q in zip(levels, levels[1:])]
        on_steps = self.fit(differences)
        n_train = on_levels["train"]
        self.assertEqual(on_levels["lag_order"], on_steps["lag_order"])
        for i, name in enumerate(("a", "b")):
            got, steps_fc = on_levels["forecasts"][name], on_steps["forecasts"][name]
            previous = [row[i] for row in levels[n_train - 1:-1]]
            for level, prev, step in zip(got["one_step"]["forecast"], previous,
                                         steps_fc["one_step"]["forecast"]):
                self.assertAlmostEqual(level, prev + step, delta=1e-6)
            running = levels[n_train - 1][i]
            for level, step in zip(got["ahead"]["forecast"], steps_fc["ahead"]["forecast"]):
                running += step
                self.assertAlmostEqual(level, running, delta=1e-6)


class BadInputTest(VarTestCase):
    def expect_error(self, argv, message):
        rc, _, err = run(argv)
        self.assertEqual(rc, 2, err)
        self.assertIn(message, err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out.json")))

    def test_bad_input_exits_2_naming_what_was_expected(self):
        data, out = os.path.join(self.dir, "d.csv"), os.path.join(self.dir, "out.json")
        write_csv(data, var1(40))
        common = ["--data", data, "--out", out]
        self.expect_error(common + ["--column", "a", "--test", "5"], "two or more distinct columns")
        self.expect_error(common + ["--column", "a,a", "--test", "5"], "two or more distinct")
        self.expect_error(common + ["--column", "a,z", "--test", "5"], "no column 'z'")
        self.expect_error(common + ["--column", "a,b", "--test", "35"], "--test 35 leaves 5 of 40")
        self.expect_error(common + ["--column", "a,b", "--test", "0"], "expected at least 1")
        self.expect_error(common + ["--column", "a,b", "--test", "5", "--max-lags", "0"],
                          "--max-lags 0")
        with open(data, "a", encoding="utf-8") as f:
            f.write("40,1,NA\n")
        self.expect_error(common + ["--column", "a,b", "--test", "5"], "d.csv:42: column 'b'")


if __name__ == "__main__":
    unittest.main()
