"""Tests of python_tools/plot_metrics.py.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
import math
import os
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)


def _load(name, filename):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pm = _load("recur_plot_metrics", "plot_metrics.py")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

try:
    import matplotlib  # noqa: F401  (only the plotting tests need it)
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False


def synthetic_lines(steps=200, eval_every=50):
    lines = []
    for step in range(10, steps + 1, 10):
        loss = 3.0 * math.exp(-step / 80) + 1.2
        lines.append(json.dumps({"step": step, "kind": "train", "loss": loss,
                                 "bpc": loss / math.log(2), "tokens_per_s": 8000.0 + step,
                                 "lr": 0.002, "time_s": step * 0.1, "grad_norm": 0.5}))
        if step % eval_every == 0:
            lines.append(json.dumps({"step": step, "kind": "val",
                                     "bpc": (loss + 0.1) / math.log(2)}))
    return lines


class ReadMetricsTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        self.path = os.path.join(self.dir, "metrics.jsonl")

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, text):
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(text)

    def test_reads_train_and_val_with_extra_keys(self):
        self.write("\n".join(synthetic_lines()) + "\n")
        m = pm.read_metrics(self.path)
        self.assertEqual([r["step"] for r in m["train"]], list(range(10, 201, 10)))
        self.assertEqual([r["step"] for r in m["val"]], [50, 100, 150, 200])
        self.assertEqual(m["train"][0]["grad_norm"], 0.5)  # unknown keys are kept, not fatal
        steps, bpc = pm.series(m["val"], "bpc")
        self.assertEqual(steps, [50, 100, 150, 200])
        self.assertAlmostEqual(bpc[0], (3.0 * math.exp(-50 / 80) + 1.3) / math.log(2))
        self.assertEqual(pm.series(m["val"], "loss"), ([], []))  # val has no loss: no series

    def test_truncated_last_line_is_ignored(self):
        lines = synthetic_lines(steps=30)
        self.write("\n".join(lines) + "\n" + '{"step": 40, "kind": "train", "lo')
        warnings = []
        m = pm.read_metrics(self.path, warnings.append)
        self.assertEqual([r["step"] for r in m["train"]], [10, 20, 30])
        self.assertEqual(len(warnings), 1)
        self.assertIn("truncated last line", warnings[0])

    def test_unknown_kinds_nulls_bad_lines_and_repeated_steps(self):
        self.write("\n".join([
            '{"step": 10, "kind": "train", "loss": 2.0, "bpc": 2.9}',
            'garbage in the middle',
            '{"step": 20, "kind": "train", "loss": null, "bpc": NaN}',
            '{"step": 20, "kind": "test", "loss": 9.0}',
            '{"kind": "train", "loss": 9.0}',
            '[1, 2, 3]',
            '{"step": 30, "kind": "train", "loss": 1.5, "bpc": 2.2}',
            '{"step": 30, "kind": "train", "loss": 1.4, "bpc": 2.0}',
            '',
            '{"step": 30, "kind": "val", "bpc": 2.5, "loss": 1.7}',
        ]) + "\n")
        warnings = []
        m = pm.read_metrics(self.path, warnings.append)
        self.assertEqual(pm.series(m["train"], "loss"), ([10, 30], [2.0, 1.4]))
        self.assertEqual(pm.series(m["train"], "bpc"), ([10, 30], [2.9, 2.0]))
        self.assertEqual(pm.series(m["val"], "loss"), ([30], [1.7]))
        self.assertEqual(sorted(m), ["train", "val"])
        self.assertEqual(len(warnings), 1)
        self.assertIn(":2:", warnings[0])

    def test_empty_missing_and_useless_files(self):
        with self.assertRaisesRegex(pm.MetricsError, "no such file"):
            pm.read_metrics(self.path)
        self.write("")
        with self.assertRaisesRegex(pm.MetricsError, "empty"):
            pm.read_metrics(self.path)
        self.write("\n  \n")
        with self.assertRaisesRegex(pm.MetricsError, "empty"):
            pm.read_metrics(self.path)
        self.write('{"step": 1, "kind": "tr')
        with self.assertRaisesRegex(pm.MetricsError, "no train or val record"):
            pm.read_metrics(self.path)


@unittest.skipUnless(HAVE_MATPLOTLIB, "python3-matplotlib is not installed")
class PlotTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self._tmp.name, "run1")
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "metrics.jsonl")
        with open(self.path, "w", encoding="utf-8") as f:
            f.write("\n".join(synthetic_lines()) + "\n" + '{"step": 210, "ki')

    def tearDown(self):
        self._tmp.cleanup()

    def run_main(self, argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = pm.main(argv)
            except SystemExit as e:
                rc = e.code
        return rc, out.getvalue(), err.getvalue()

    def assert_png(self, path):
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(PNG_MAGIC))
        self.assertGreater(len(data), 5000)
        import matplotlib.image
        image = matplotlib.image.imread(path)
        self.assertEqual(image.shape[:2], (round(4.5 * 110), 12 * 110))
        self.assertGreater(float(image[..., :3].std()), 0.01)  # not a blank canvas

    def test_run_dir_gives_default_output(self):
        rc, out, err = self.run_main([self.dir])
        self.assertEqual(rc, 0, err)
        png = os.path.join(self.dir, "metrics.png")
        self.assert_png(png)
        self.assertIn("20 train and 4 val records", out)
        self.assertIn("truncated last line", err)
        self.assertEqual(sorted(os.listdir(self.dir)), ["metrics.jsonl", "metrics.png"])

    def test_metrics_file_and_output_option(self):
        out_png = os.path.join(self._tmp.name, "plots", "x.png")
        rc, _, err = self.run_main([self.path, "-o", out_png])
        self.assertEqual(rc, 0, err)
        self.assert_png(out_png)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "metrics.png")))

    def test_bad_inputs_exit_2(self):
        empty_dir = os.path.join(self._tmp.name, "empty_run")
        os.makedirs(empty_dir)
        rc, _, err = self.run_main([empty_dir])
        self.assertEqual(rc, 2)
        self.assertIn("no such file", err)
        open(os.path.join(empty_dir, "metrics.jsonl"), "w").close()
        rc, _, err = self.run_main([empty_dir])
        self.assertEqual(rc, 2)
        self.assertIn("empty", err)
        self.assertEqual(len(err.strip().splitlines()), 1)
        self.assertFalse(os.path.exists(os.path.join(empty_dir, "metrics.png")))
        rc, _, _ = self.run_main([os.path.join(self._tmp.name, "nope.jsonl")])
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
