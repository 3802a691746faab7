"""Tests of python_tools/gpu_targets.py: the GPU issues' targets read from benchmark records.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)

_spec = importlib.util.spec_from_file_location("recur_gpu_targets",
                                               os.path.join(TOOLS, "gpu_targets.py"))
gt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gt)


def row(engine, ms, B, algo="", cell="lstm", mode="inference", dtype="f32", L=1):
    return {"side": "recur", "section": "layer", "engine": engine, "algo": algo, "cell": cell,
            "mode": mode, "dtype": dtype, "B": B, "H": 1024, "T": 256, "L": L, "D": 1,
            "seconds": {"median": ms / 1e3}, "us_per_step": ms * 1e3 / 256}


def line(table, start):
    return next(x for x in table.splitlines() if x.startswith(start))


class GpuTargetsTest(unittest.TestCase):
    def test_fused_against_cudnn_standard_within_one_record(self):
        first = {"results": [row("fused", 9.0, 8), row("cudnn", 10.0, 8, "standard"),
                             row("fused", 30.0, 64), row("cudnn", 20.0, 64, "standard"),
                             row("fused", 1.0, 64, L=2)]}
        # A later record measured B = 8 again: that shape comes from it alone.
        second = {"results": [row("fused", 12.0, 8), row("cudnn", 6.0, 8, "standard")]}
        table = gt.fused_vs_cudnn_standard(gt.layer_rows([first, second]))
        self.assertEqual(line(table, "| lstm | inference | f32 | 8 |"),
                         "| lstm | inference | f32 | 8 | 12 | 6 | 2.00x | **no** |")
        self.assertEqual(line(table, "| lstm | inference | f32 | 64 |"),
                         "| lstm | inference | f32 | 64 | 30 | 20 | 1.50x | **no** |")
        self.assertIn("| lstm | inference | f32 | 256 | - | - | - | not measured |", table)
        ok = gt.fused_vs_cudnn_standard(gt.layer_rows([first]))
        self.assertEqual(line(ok, "| lstm | inference | f32 | 8 |"),
                         "| lstm | inference | f32 | 8 | 9 | 10 | 0.90x | yes |")

    def test_persistent_against_its_target_and_cudnns_best(self):
        rec = {"results": [row("persistent", 0.256, 1), row("persistent", 0.2, 1, "counter"),
                           row("cudnn", 2.0, 1, "standard"), row("cudnn", 0.5, 1, "persist_dynamic"),
                           row("fused", 1.0, 1), row("persistent", 10.0, 8, mode="training")]}
        table = gt.persistent_vs_cudnn_best(gt.layer_rows([rec]))
        # 0.2 ms over 256 steps: 0.781 us per step, under the 1.2 us target.
        self.assertEqual(line(table, "| lstm | inference | f32 | 1 |"),
                         "| lstm | inference | f32 | 1 | µs/step | 0.781 (counter) | "
                         "1.95 (persist_dynamic) | 0.781 (persistent-counter) | 1.2 | yes |")
        self.assertEqual(line(table, "| lstm | training | f32 | 8 |"),
                         "| lstm | training | f32 | 8 | ms/call | 10 (grid_sync) | - | "
                         "10 (persistent) | 2.5 | **no** |")
        self.assertIn("| lstm | inference | f32 | 8 | µs/step | - | - | - | 3 | not measured |",
                      table)


if __name__ == "__main__":
    unittest.main()
