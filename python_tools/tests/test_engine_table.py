"""Tests of python_tools/engine_table.py: the measured ranking Engine::auto_ reads, from
synthetic GPU records and from bench_suite's own JSON, and the committed table's shape.

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
import os
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
REPO = os.path.dirname(TOOLS)

_spec = importlib.util.spec_from_file_location("recur_engine_table",
                                               os.path.join(TOOLS, "engine_table.py"))
et = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(et)


def run_main(argv):
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(out):
        et.main(argv)
    return out.getvalue()


class EngineTableTest(unittest.TestCase):
    """engine_table.py: the ranking Engine::auto_ reads (kernels/engine_table.h)."""

    @staticmethod
    def row(engine, ms, B, algo="", cell="lstm", mode="inference", L=1):
        shape = f"layer/{cell}/{mode}/B{B}/H1024/T256/L{L}/D1"
        return {"side": "recur", "section": "layer", "name": shape + f"/{engine}",
                "shape": shape, "engine": engine, "algo": algo, "cell": cell, "mode": mode,
                "B": B, "H": 1024, "T": 256, "L": L, "D": 1, "seconds": {"median": ms / 1e3}}

    def record(self, rows):
        return {"device": "cuda", "gpu_name": "NVIDIA H100 80GB HBM3", "results": rows}

    def test_ranks_engines_per_shape_with_cudnn_at_its_best_algorithm(self):
        rows = [self.row("fused", 9.0, 8), self.row("cudnn", 12.0, 8, "standard"),
                self.row("cudnn", 2.0, 8, "persist_dynamic"), self.row("fused", 40.0, 64),
                self.row("cudnn", 30.0, 64, "standard"),
                {"side": "peer", "section": "layer", "shape": "x", "seconds": {"median": 1}},
                self.row("fused", 1.0, 8, L=2)]  # two layers: not a per-layer choice
        table = et.engine_table_of(self.record(rows), "rec.json")
        self.assertEqual(table["source"], "rec.json")
        self.assertEqual(len(table["entries"]), 2)
        b8, b64 = sorted(table["entries"], key=lambda e: e["B"])
        self.assertEqual(b8["ranking"], ["cudnn", "fused"])
        self.assertEqual(b8["cudnn_algo"], "persist_dynamic")
        self.assertAlmostEqual(b8["ms"]["cudnn"], 2.0)
        self.assertEqual(b64["ranking"], ["cudnn", "fused"])
        self.assertEqual(b64["cudnn_algo"], "standard")
        self.assertEqual((b8["cell"], b8["mode"], b8["dtype"], b8["H"], b8["T"]),
                         ("lstm", "inference", "f32", 1024, 256))
        self.assertEqual(b8["gpu"], "NVIDIA H100 80GB HBM3")
        self.assertNotIn("persistent_barrier", b8)

    def test_ranks_calls_with_different_lengths_without_cudnns_full_length_algorithms(self):
        """persist_static/persist_dynamic take no sequences of different lengths: such calls
        rank cuDNN at its best other algorithm."""
        rows = [self.row("fused", 9.0, 8), self.row("cudnn", 12.0, 8, "standard"),
                self.row("cudnn", 2.0, 8, "persist_dynamic"),
                self.row("cudnn", 3.0, 8, "persist_static"), self.row("persistent", 4.0, 8),
                self.row("fused", 9.0, 16), self.row("cudnn", 2.0, 16, "persist_static"),
                self.row("fused", 9.0, 64), self.row("cudnn", 2.0, 64, "standard")]
        b8, b16, b64 = sorted(et.engine_table_of(self.record(rows), "r")["entries"],
                              key=lambda e: e["B"])
        self.assertEqual(b8["ranking"], ["cudnn", "persistent", "fused"])
        self.assertEqual(b8["ranking_varying_lengths"], ["persistent", "fused", "cudnn"])
        self.assertEqual(b8["cudnn_algo_varying_lengths"], "standard")
        self.assertAlmostEqual(b8["cudnn_ms_varying_lengths"], 12.0)
        # No algorithm that takes different lengths was measured: cuDNN is left out.
        self.assertEqual(b16["ranking_varying_lengths"], ["fused"])
        self.assertNotIn("cudnn_algo_varying_lengths", b16)
        # Where cuDNN's best takes them, one ranking serves every call.
        self.assertNotIn("ranking_varying_lengths", b64)

    def test_names_the_persistent_engines_fastest_barrier(self):
        rows = [self.row("persistent", 3.0, 8, "grid_sync"),
                self.row("persistent", 2.5, 8, "counter"),
                self.row("persistent", 2.9, 8, "cluster"), self.row("fused", 9.0, 8)]
        (entry,) = et.engine_table_of(self.record(rows), "rec.json")["entries"]
        self.assertEqual(entry["ranking"], ["persistent", "fused"])
        self.assertEqual(entry["persistent_barrier"], "counter")
        self.assertAlmostEqual(entry["ms"]["persistent"], 2.5)
        self.assertNotIn("cudnn_algo", entry)

    def test_reads_bench_suites_own_json_too(self):
        """benchmarks/gpu_check.sh keeps bench_suite's JSON as it is (bench_lstm.json)."""
        rows = [self.row("fused", 9.0, 8), self.row("cudnn", 2.0, 8, "persist_dynamic")]
        for r in rows:
            for key in ("side", "shape"):
                del r[key]
        doc = {"program": "bench_suite", "device": "cuda", "results": rows,
               "env": {"gpu": "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs), driver 580"}}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bench_lstm.json")
            with open(path, "w") as f:
                json.dump(doc, f)
            table = json.loads(run_main([path]))
        (entry,) = table["entries"]
        self.assertEqual(entry["ranking"], ["cudnn", "fused"])
        self.assertEqual(entry["cudnn_algo"], "persist_dynamic")
        self.assertEqual(entry["gpu"], "NVIDIA H100 80GB HBM3")

    def write_records(self, d, *records):
        paths = []
        for i, rec in enumerate(records):
            paths.append(os.path.join(d, f"rec{i}.json"))
            with open(paths[-1], "w") as f:
                json.dump(rec, f)
        return paths

    def test_several_records_rank_each_shape_from_the_last_that_measured_it(self):
        first = self.record([self.row("fused", 9.0, 8), self.row("cudnn", 2.0, 8, "persist_dynamic"),
                             self.row("fused", 40.0, 64), self.row("cudnn", 30.0, 64, "standard")])
        # The later run measured B = 8 again, fused only: its shape comes from that run alone
        # (engines are compared within one run), B = 64 still from the first.
        second = self.record([self.row("fused", 3.0, 8)])
        with tempfile.TemporaryDirectory() as d:
            table = json.loads(run_main(self.write_records(d, first, second)))
        b8, b64 = sorted(table["entries"], key=lambda e: e["B"])
        self.assertEqual(b8["ranking"], ["fused"])
        self.assertAlmostEqual(b8["ms"]["fused"], 3.0)
        self.assertNotIn("cudnn_algo", b8)
        self.assertEqual(b64["ranking"], ["cudnn", "fused"])
        self.assertIn("rec0.json", table["source"])
        self.assertIn("rec1.json", table["source"])

    def test_several_records_must_come_from_one_kind_of_gpu(self):
        other = dict(self.record([self.row("fused", 3.0, 8)]), gpu_name="NVIDIA H200")
        with tempfile.TemporaryDirectory() as d:
            paths = self.write_records(d, self.record([self.row("fused", 9.0, 8)]), other)
            with self.assertRaises(SystemExit) as cm:
                run_main(paths)
        self.assertIn("different GPUs", str(cm.exception))

    def test_refuses_a_cpu_record(self):
        with self.assertRaises(SystemExit):
            et.engine_table_of({"device": "cpu", "results": []}, "cpu.json")

    def test_the_committed_table_parses_as_the_library_expects(self):
        with open(os.path.join(REPO, "benchmarks", "engine_table.json")) as f:
            table = json.load(f)
        self.assertIn("source", table)
        self.assertIsInstance(table["entries"], list)
        for e in table["entries"]:
            for key in ("cell", "mode", "dtype", "B", "H", "T", "ranking"):
                self.assertIn(key, e)


if __name__ == "__main__":
    unittest.main()
