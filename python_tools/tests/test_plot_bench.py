"""Tests of python_tools/plot_bench.py (merge, table, docs, plot) on synthetic GPU records, and
of benchmarks/bench_peers.py's per-shape pairing (where PyTorch is installed).

Run from the repository root:
    /usr/bin/python3 -B -m unittest discover -s python_tools/tests -v
"""

import contextlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
REPO = os.path.dirname(TOOLS)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pb = _load("recur_plot_bench", os.path.join(TOOLS, "plot_bench.py"))

try:
    import matplotlib  # noqa: F401  (only the plotting test needs it)
    HAVE_MATPLOTLIB = True
except ImportError:
    HAVE_MATPLOTLIB = False

try:
    import torch  # noqa: F401  (only bench_peers.py's tests need it)
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GPU = ("NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.2 GiB, L2 50 MiB), driver CUDA 13.0, "
       "runtime 13.0")
BUDGET = {"min_time_s": 0.2, "min_reps": 5, "max_reps": 20}


def _stats(seconds):
    return {"median": seconds, "min": seconds * 0.95, "p25": seconds * 0.98,
            "p75": seconds * 1.02, "reps": 7}


def gemm_row(name, impl, dtype, ms):
    flops = 2.0 * 8192 ** 3
    return {"section": "gemm", "name": name, "impl": impl, "dtype": dtype, "N": 8192,
            "seconds": _stats(ms * 1e-3), "ms": ms, "gflop": flops * 1e-9,
            "gflops": flops / (ms * 1e-3) * 1e-9}


def layer_row(cell, mode, B, H, ms, engine=None, algo=None, T=256):
    name = f"layer/{cell}/{mode}/B{B}/H{H}/T{T}/L1/D1" + (f"/{engine}" if engine else "")
    gates = {"lstm": 4, "gru": 3}.get(cell, 1)
    gflop = 2.0 * B * T * (H + H) * gates * H * (3 if mode == "training" else 1) * 1e-9
    row = {"section": "layer", "name": name, "cell": cell, "mode": mode, "B": B, "H": H, "I": H,
           "T": T, "L": 1, "D": 1, "seconds": _stats(ms * 1e-3), "ms": ms,
           "us_per_step": ms * 1e3 / T, "gflop": gflop, "gflops": gflop / (ms * 1e-3)}
    if engine:
        row.update(impl="recur", engine=engine, mem_estimate_bytes=1e6)
        if algo:
            row["algo"] = algo
    return row


def stream_row(cell, H, us, engine=None):
    row = {"section": "stream", "name": f"stream/{cell}/B1/H{H}", "cell": cell, "B": 1, "H": H,
           "I": H, "steps": 256, "seconds": _stats(us * 256e-6), "us_per_step": us}
    if engine:
        row.update(impl="recur", engine=engine)
    return row


def generate_row(chars_per_s, engine=None):
    row = {"section": "generate", "name": "generate/lstm/E128/H512/L2/V256/prime16/len256",
           "cell": "lstm", "E": 128, "H": 512, "L": 2, "V": 256, "prime": 16, "length": 256,
           "produced": 256, "seconds": _stats(256 / chars_per_s), "chars_per_s": chars_per_s}
    if engine:
        row.update(impl="recur", engine=engine)
    return row


def recur_doc(results):
    return {"program": "bench_suite", "device": "cuda", "mode": "quick", "filter": "",
            "env": {"compiler": "GCC 13.3.0", "gpu": GPU, "openblas": "OpenBLAS 0.3.26",
                    "openblas_threads": 16, "recur_threads": 16},
            "budget": BUDGET, "flops_formula": "GEMM work only", "results": results,
            "skipped": []}


def peer_doc(results):
    return {"program": "bench_peers", "device": "cuda", "torch": "2.11.0+cu130", "blas": [],
            "threads": 16, "threads_default": 16, "threads_requested": 0, "budget": BUDGET,
            "tf32": {"api": "fp32_precision", "cuda.matmul": "ieee", "cudnn.rnn": "ieee"},
            "gpu": "NVIDIA H100 80GB HBM3", "torch_cuda": "13.0", "cudnn": 91300,
            "l2_flush_bytes": 100 * 2 ** 20, "results": results, "skipped": []}


def metrics(path, rate, steps=(10, 20, 30, 40, 50)):
    with open(path, "w") as f:
        for s in steps:
            time_s = s * 64 * 128 / rate
            f.write(json.dumps({"step": s, "kind": "train", "loss": 2.0, "bpc": 2.9, "lr": 1e-3,
                                "tokens_per_s": rate, "time_s": time_s}) + "\n")
        f.write(json.dumps({"step": steps[-1], "kind": "val", "bpc": 3.0}) + "\n")


def run_main(argv):
    err = io.StringIO()
    out = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        pb.main(argv)
    return out.getvalue()


class GpuRecordTest(unittest.TestCase):
    """A GPU run in two parts (the GEMM ceilings; the layers, streaming and generation), two
    recur engines (fused everywhere; cudnn with an algorithm, not for leaky), PyTorch once per
    shape, CharLM training on both sides."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        d = self.dir

        def dump(name, doc):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                json.dump(doc, f)
            return path

        self.recur = [
            dump("recur-0.json", recur_doc([
                gemm_row("gemm/cublas_sgemm/N8192", "cuBLAS sgemm (no TF32)", "f32", 22.0),
                gemm_row("gemm/cublas_bf16/N8192", "cuBLAS GemmEx bf16, f32 accumulation",
                         "bf16", 1.5)])),
            dump("recur-1.json", recur_doc([
                layer_row("lstm", "inference", 8, 512, 2.0, "fused"),
                layer_row("lstm", "training", 8, 512, 6.0, "fused"),
                layer_row("leaky", "inference", 8, 512, 1.0, "fused"),
                layer_row("lstm", "inference", 8, 512, 1.0, "cudnn", algo="standard"),
                layer_row("lstm", "training", 8, 512, 8.0, "cudnn", algo="standard"),
                stream_row("lstm", 512, 40.0, "auto"),
                generate_row(4000.0, "auto")])),
        ]
        self.peer = [
            dump("peer-0.json", peer_doc([
                dict(gemm_row("gemm/cublas_sgemm/N8192", "PyTorch torch.matmul (f32, TF32 off)",
                              "f32", 20.0), data="zeros"),
                dict(gemm_row("gemm/cublas_bf16/N8192",
                              "PyTorch torch.matmul (bf16, f32 accumulation)", "bf16", 1.6),
                     data="zeros")])),
            dump("peer-1.json", peer_doc([
                dict(layer_row("lstm", "inference", 8, 512, 4.0), impl="PyTorch nn.LSTM (cuDNN)"),
                dict(layer_row("lstm", "training", 8, 512, 12.0), impl="PyTorch nn.LSTM (cuDNN)"),
                dict(layer_row("leaky", "inference", 8, 512, 10.0),
                     impl="PyTorch loop (leaky has no module)"),
                dict(stream_row("lstm", 512, 80.0), impl="PyTorch nn.LSTM (cuDNN), one step"),
                dict(generate_row(2000.0), impl="PyTorch loop")])),
        ]
        metrics(os.path.join(d, "recur.jsonl"), 200000.0)
        metrics(os.path.join(d, "torch.jsonl"), 100000.0)
        self.record = os.path.join(d, "h100-20261201-0000-abc1234.json")
        argv = ["merge"]
        for p in self.recur:
            argv += ["--recur", p]
        for p in self.peer:
            argv += ["--peer", p]
        argv += ["--charlm", "recur", "0", os.path.join(d, "recur.jsonl"),
                 "--charlm", "pytorch", "0", os.path.join(d, "torch.jsonl"),
                 "--charlm-settings", "E=128 H=512", "--filter", "", "--started", "0",
                 "--load-start", "0.1 0.2 0.3", "--out", self.record]
        run_main(argv)
        with open(self.record) as f:
            self.rec = json.load(f)

    def tearDown(self):
        self._tmp.cleanup()

    def rows(self, **match):
        return [r for r in self.rec["results"] if all(r.get(k) == v for k, v in match.items())]

    def test_merge_labels_shapes_and_gpu_fields(self):
        rec = self.rec
        self.assertEqual(rec["device"], "cuda")
        self.assertEqual(rec["gpu"], GPU)
        self.assertEqual(rec["gpu_name"], "NVIDIA H100 80GB HBM3")
        self.assertEqual(rec["torch_cuda"], "13.0")
        self.assertEqual(rec["cudnn"], 91300)
        self.assertEqual(rec["torch_tf32"]["cuda.matmul"], "ieee")
        shape = "layer/lstm/inference/B8/H512/T256/L1/D1"
        labels = sorted(r["label"] for r in self.rows(shape=shape))
        self.assertEqual(labels, ["PyTorch", "recur cudnn (standard)", "recur fused"])
        self.assertEqual(self.rows(name=shape + "/fused")[0]["shape"], shape)
        self.assertEqual(self.rows(section="stream", side="recur")[0]["label"], "recur auto")
        charlm = {r["label"]: r for r in self.rows(section="charlm_train")}
        self.assertEqual(sorted(charlm), ["PyTorch", "recur auto"])
        self.assertAlmostEqual(charlm["recur auto"]["tokens_per_s"], 200000.0, places=3)
        self.assertEqual(charlm["recur auto"]["steps_measured"], [10, 50])

    def test_percent_of_peak_against_the_same_dtype(self):
        rec = self.rec
        f32 = self.rows(name="gemm/cublas_sgemm/N8192", side="peer")[0]  # 20 ms beats 22 ms
        bf16 = self.rows(name="gemm/cublas_bf16/N8192", side="recur")[0]  # 1.5 ms beats 1.6 ms
        self.assertAlmostEqual(rec["gemm_peak_gflops"], f32["gflops"])
        self.assertEqual(rec["gemm_peak_source"], f32["label"])
        self.assertAlmostEqual(rec["gemm_peaks"]["bf16"]["gflops"], bf16["gflops"])
        self.assertAlmostEqual(bf16["pct_peak"], 100.0)
        slower_bf16 = self.rows(name="gemm/cublas_bf16/N8192", side="peer")[0]
        self.assertAlmostEqual(slower_bf16["pct_peak"], 100.0 * 1.5 / 1.6)
        layer = self.rows(name="layer/lstm/training/B8/H512/T256/L1/D1/fused")[0]
        self.assertAlmostEqual(layer["pct_peak"], 100.0 * layer["gflops"] / f32["gflops"])
        self.assertIn("torch.matmul (f32, TF32 off), PyTorch", f32["label"])

    def test_table_has_a_column_per_engine_and_the_best(self):
        text = run_main(["table", self.record])
        self.assertIn("on **" + GPU + "**", text)
        self.assertIn("PyTorch 2.11.0+cu130 (CUDA 13.0, cuDNN 91300)", text)
        self.assertIn("| implementation | dtype | M×K×N | ms | GFLOP/s | % of dtype's fastest |",
                      text)
        self.assertIn("| 8192×8192×8192 |", text)
        header = next(line for line in text.splitlines() if line.startswith("| cell |"))
        self.assertEqual(
            header, "| cell | mode | B | H | T | L×D | recur fused ms | recur cudnn (standard) ms "
                    "| PyTorch ms | fused/PyTorch | cudnn (standard)/PyTorch | best | µs/step | "
                    "GFLOP/s | % peak | best/PyTorch |")
        lines = text.splitlines()
        sep = lines[lines.index(header) + 1]
        self.assertEqual(sep.count("|") - 1, header.count("|") - 1)
        row = next(line for line in lines if line.startswith("| lstm | inference | 8 | 512 |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        # fused 2 ms, cudnn 1 ms, PyTorch 4 ms: 2x and 4x; cudnn is the best (4x)
        self.assertEqual(cells[6:11], ["2.00", "1.00", "4.00", "2.00x", "4.00x"])
        self.assertEqual(cells[11], "cudnn (standard)")
        self.assertEqual(cells[12], "3.91")  # 1 ms over 256 steps, in µs
        self.assertEqual(cells[-1], "4.00x")
        row = next(line for line in lines if line.startswith("| lstm | training | 8 | 512 |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        self.assertEqual(cells[11], "fused")
        self.assertEqual(cells[-1], "2.00x")  # 12 ms over 6 ms
        row = next(line for line in lines if line.startswith("| leaky |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        self.assertEqual(cells[6:11], ["1.00", "-", "10.0†", "10.0x", "-"])
        self.assertIn("† leaky has no PyTorch module", text)
        self.assertIn("| lstm H=512 (256 steps) | 40.0 | 80.0 | 2.00x |", text)
        self.assertIn("| recur auto chars/s | PyTorch chars/s |", text)
        self.assertIn("| steps 10-50 | 200,000 | 100,000 | 2.00x |", text)

    def test_persistent_limits_pass_through_and_tabulate(self):
        limits = [{"cell": "lstm", "precision": p, "direction": d, "barrier": b, "max_hidden": h}
                  for p, d, b, h in (("f32", "forward", "grid_sync", 1320),
                                     ("bf16", "forward", "grid_sync", 1584),
                                     ("f32", "backward", "grid_sync", 1300),
                                     ("bf16", "backward", "grid_sync", 1848),
                                     ("f32", "forward", "cluster", 430))]
        d = self._tmp.name
        doc = recur_doc([gemm_row("gemm/cublas_sgemm/N8192", "cuBLAS sgemm", "f32", 20.0)])
        doc["persistent_limits"] = limits
        part = os.path.join(d, "limits.json")
        with open(part, "w") as f:
            json.dump(doc, f)
        out = os.path.join(d, "limits-record.json")
        run_main(["merge", "--recur", part, "--out", out])
        with open(out) as f:
            rec = json.load(f)
        self.assertEqual(rec["persistent_limits"], limits)
        text = pb.markdown(rec)
        self.assertIn("| cell | direction | barrier | f32 | bf16 |", text)
        self.assertIn("| lstm | forward | grid_sync | 1320 | 1584 |", text)
        self.assertIn("| lstm | backward | grid_sync | 1300 | 1848 |", text)
        self.assertIn("| lstm | forward | cluster | 430 | - |", text)
        self.assertIsNone(self.rec["persistent_limits"])  # a record without them
        self.assertNotIn("Persistent engine: largest H", pb.markdown(self.rec))

    def test_failed_and_skipped_cases_pass_through_and_are_shown(self):
        d = self._tmp.name
        parts = []
        for i, (failed, skipped) in enumerate(
                (([{"name": "layer/lstm/inference/B8/H1024/T256/L1/D1/persistent",
                    "reason": "CUDA error: an illegal memory access"}], []),
                 ([], [{"name": "layer/gru/training/B256/H1024/T256/L1/D1/cudnn-persist_static",
                        "reason": "not supported by cuDNN"}]))):
            doc = recur_doc([gemm_row("gemm/cublas_sgemm/N8192", "cuBLAS sgemm", "f32", 20.0)])
            doc.update(failed=failed, skipped=skipped)
            parts += ["--recur", os.path.join(d, f"part{i}.json")]
            with open(parts[-1], "w") as f:
                json.dump(doc, f)
        out = os.path.join(d, "failed-record.json")
        run_main(["merge", *parts, "--out", out])
        with open(out) as f:
            rec = json.load(f)
        self.assertEqual([f["name"] for f in rec["failed"]],
                         ["layer/lstm/inference/B8/H1024/T256/L1/D1/persistent"])
        self.assertEqual(len(rec["skipped"]), 1)
        text = pb.markdown(rec)
        self.assertIn("**FAILED (1)**: `layer/lstm/inference/B8/H1024/T256/L1/D1/persistent`: "
                      "CUDA error: an illegal memory access", text)
        self.assertIn("Not run (1: refused by the engine", text)
        self.assertNotIn("FAILED", pb.markdown(self.rec))  # a record without failures

    def test_sixteen_bit_rows_get_a_dtype_column(self):
        sixteen = []
        for r in self.rec["results"]:
            if r["section"] == "layer" and (r["cell"], r["mode"], r["B"]) == ("lstm", "inference", 8):
                name = r["name"].replace("/D1", "/D1/bf16")
                sixteen.append(dict(r, name=name, shape=pb.shape_name(name), dtype="bf16",
                                    ms=r["ms"] / 2))
        self.assertTrue(sixteen)
        text = pb.markdown(dict(self.rec, results=self.rec["results"] + sixteen))
        header = next(line for line in text.splitlines() if line.startswith("| cell |"))
        self.assertTrue(header.startswith("| cell | mode | B | H | T | L×D | dtype | recur fused ms"))
        lines = text.splitlines()
        self.assertEqual(lines[lines.index(header) + 1].count("|"), header.count("|"))
        self.assertIn("| lstm | inference | 8 | 512 | 256 | 1×1 | f32 | 2.00 | 1.00 | 4.00 |", text)
        self.assertIn("| lstm | inference | 8 | 512 | 256 | 1×1 | bf16 | 1.00 | 0.500 | 2.00 |",
                      text)
        self.assertNotIn("| L×D | dtype |", pb.markdown(self.rec))  # f32 only: no column

    def test_table_with_one_gpu_engine_names_it(self):
        rec = dict(self.rec, results=[r for r in self.rec["results"]
                                      if r["label"] != "recur cudnn (standard)"])
        text = pb.markdown(rec)
        header = next(line for line in text.splitlines() if line.startswith("| cell |"))
        self.assertEqual(header, "| cell | mode | B | H | T | L×D | recur fused ms | PyTorch ms | "
                                 "µs/step | GFLOP/s | % peak | fused/PyTorch |")
        self.assertIn("| lstm | inference | 8 | 512 | 256 | 1×1 | 2.00 | 4.00 | 7.81 |", text)

    def test_docs_section_per_gpu_keeps_the_cpu_section(self):
        doc = os.path.join(self.dir, "PERFORMANCE.md")
        with open(doc, "w") as f:
            f.write("# perf\n\n### CPU, `--quick`\n\n<!-- bench:cpu-quick begin -->\nCPU TABLE\n"
                    "<!-- bench:cpu-quick end -->\n\n### GPU\n\n<!-- bench:cuda-none begin -->\n"
                    "No GPU record yet.\n<!-- bench:cuda-none end -->\n")
        open(self.record[:-5] + "-peak.png", "wb").close()  # one picture exists, the others not
        with contextlib.redirect_stderr(io.StringIO()):
            pb.main(["docs", self.record, "--doc", doc])
        with open(doc) as f:
            text = f.read()
        self.assertIn("<!-- bench:cpu-quick begin -->\nCPU TABLE\n<!-- bench:cpu-quick end -->",
                      text)
        self.assertNotIn("cuda-none", text)
        self.assertNotIn("No GPU record yet", text)
        key = "cuda-quick-nvidia-h100-80gb-hbm3"
        self.assertIn(f"<!-- bench:{key} begin -->\n### GPU: NVIDIA H100 80GB HBM3, `--quick`",
                      text)
        self.assertIn("| recur fused ms | recur cudnn (standard) ms | PyTorch ms |", text)
        self.assertIn("-peak.png)", text)
        self.assertNotIn("-time-inference-T256.png)", text)
        # Written again: the section is replaced, not added twice.
        with contextlib.redirect_stderr(io.StringIO()):
            pb.main(["docs", self.record, "--doc", doc])
        with open(doc) as f:
            again = f.read()
        self.assertEqual(again.count(f"<!-- bench:{key} begin -->"), 1)
        self.assertEqual(again, text)
        # A record that is another part of the same GPU's results gets its own section beside it.
        with contextlib.redirect_stderr(io.StringIO()):
            pb.main(["docs", self.record, "--doc", doc, "--part", "16-bit math"])
        with open(doc) as f:
            parts = f.read()
        self.assertIn(text.rstrip("\n"), parts)
        self.assertIn(f"<!-- bench:{key}-16-bit-math begin -->\n### GPU: NVIDIA H100 80GB HBM3, "
                      "`--quick`, 16-bit math", parts)

    @unittest.skipUnless(HAVE_MATPLOTLIB, "matplotlib is not installed")
    def test_plot_draws_every_engine_and_the_peer(self):
        with contextlib.redirect_stderr(io.StringIO()):
            pb.main(["plot", self.record])
        prefix = self.record[:-5]
        for suffix in ("-time-inference-T256.png", "-time-training-T256.png", "-peak.png"):
            with open(prefix + suffix, "rb") as f:
                self.assertEqual(f.read(8), PNG_MAGIC, suffix)


class CpuRecordTest(unittest.TestCase):
    """A CPU record keeps the CPU layout: one recur column, recur/PyTorch."""

    def test_cpu_layout(self):
        rec = {"device": "cpu", "commit": "abc", "machine": "vm", "cpu": "EPYC", "cores": 2,
               "os": "Debian", "compiler": "GCC", "openblas": "OpenBLAS", "date": "2026",
               "mode": "quick", "torch": "1.13", "flops_formula": "GEMM work", "budget": BUDGET,
               "gemm_peak_gflops": 200.0, "gemm_peak_source": "OpenBLAS", "results": []}
        for label, ms in (("recur reference", 1.0), ("PyTorch 1 thread (default)", 3.0),
                          ("PyTorch 2 threads", 2.0)):
            r = layer_row("gru", "inference", 1, 256, ms, T=64)
            r.update(label=label, pct_peak=10.0)
            rec["results"].append(r)
        text = pb.markdown(rec)
        self.assertIn("| cell | mode | B | H | T | L×D | recur ms | µs/step | GFLOP/s | % peak | "
                      "PyTorch 1 thread (default) ms | PyTorch 2 threads ms | recur/PyTorch |",
                      text)
        self.assertIn("| 1.00 | 15.6 |", text)
        self.assertTrue(text.rstrip().splitlines()[-1].endswith("| 2.00x |"))
        self.assertIn("this machine is shared and noisy", text)

    def test_the_fastest_cpu_gemm_is_the_peak_whatever_its_shape(self):
        """OpenBLAS's square sgemm and recur's per-step GEMM (M x K x N) with PyTorch beside each:
        the fastest row is the ceiling of every layer row and the table names each row's size."""
        def cpu_gemm(name, impl, M, K, N, ms):
            flops = 2.0 * M * K * N
            row = {"section": "gemm", "name": name, "impl": impl, "N": N,
                   "seconds": _stats(ms * 1e-3), "ms": ms, "gflop": flops * 1e-9,
                   "gflops": flops / (ms * 1e-3) * 1e-9}
            if (M, K) != (N, N):
                row.update(M=M, K=K)
            return row

        with tempfile.TemporaryDirectory() as d:
            sgemm = cpu_gemm("gemm/sgemm/N4096", "OpenBLAS cblas_sgemm", 4096, 4096, 4096, 700.0)
            packed = cpu_gemm("gemm/packed/M256/K1024/N4096",
                              "recur per-step GEMM (AVX-512, W packed)", 256, 1024, 4096, 5.5)
            layer = layer_row("lstm", "inference", 8, 512, 2.0, T=64)
            recur = dict(recur_doc([sgemm, packed, layer]), device="cpu")
            peer = dict(peer_doc([dict(sgemm, impl="PyTorch torch.matmul", ms=720.0),
                                  dict(packed, impl="PyTorch torch.matmul", ms=11.0)]),
                        device="cpu")
            paths = []
            for name, doc in (("recur.json", recur), ("peer.json", peer)):
                paths.append(os.path.join(d, name))
                with open(paths[-1], "w") as f:
                    json.dump(doc, f)
            out = os.path.join(d, "cpu-record.json")
            run_main(["merge", "--recur", paths[0], "--peer", paths[1], "--out", out])
            with open(out) as f:
                rec = json.load(f)
        self.assertAlmostEqual(rec["gemm_peak_gflops"], packed["gflops"])
        self.assertEqual(rec["gemm_peak_source"], "recur per-step GEMM (AVX-512, W packed)")
        rows = {(r["name"], r["side"]): r for r in rec["results"]}
        self.assertAlmostEqual(rows[(layer["name"], "recur")]["pct_peak"],
                               100.0 * layer["gflops"] / packed["gflops"])
        self.assertAlmostEqual(rows[(sgemm["name"], "recur")]["pct_peak"],
                               100.0 * sgemm["gflops"] / packed["gflops"])
        text = pb.markdown(rec)
        self.assertIn("| implementation | M×K×N | ms | GFLOP/s | % of the fastest |", text)
        self.assertIn("| recur per-step GEMM (AVX-512, W packed) | 256×1024×4096 | 5.50 |", text)
        self.assertIn("| OpenBLAS cblas_sgemm | 4096×4096×4096 | 700 |", text)

    def test_shape_name(self):
        self.assertEqual(pb.shape_name("layer/lstm/training/B8/H1024/T256/L1/D1/fused"),
                         "layer/lstm/training/B8/H1024/T256/L1/D1")
        self.assertEqual(pb.shape_name("layer/lstm/training/B8/H1024/T256/L1/D1"),
                         "layer/lstm/training/B8/H1024/T256/L1/D1")
        self.assertEqual(pb.shape_name("stream/gru/B1/H256"), "stream/gru/B1/H256")
        # A mixed precision is part of the shape: its peer is PyTorch in that dtype.
        self.assertEqual(pb.shape_name("layer/gru/inference/B64/H1024/T256/L1/D1/bf16/fused"),
                         "layer/gru/inference/B64/H1024/T256/L1/D1/bf16")
        self.assertEqual(pb.shape_name("layer/gru/inference/B64/H1024/T256/L1/D1/bf16"),
                         "layer/gru/inference/B64/H1024/T256/L1/D1/bf16")
        self.assertEqual(pb.doc_key({"device": "cpu", "mode": "quick"}), "cpu-quick")
        self.assertEqual(pb.doc_key({"device": "cpu", "mode": "quick"}, "Part 2"),
                         "cpu-quick-part-2")


@unittest.skipUnless(HAVE_TORCH, "PyTorch is not installed")
class BenchPeersTest(unittest.TestCase):
    """bench_peers.py on the CPU with tiny cases: one PyTorch row per shape however many recur
    engines share it, and the GPU branches' Python on the CPU (GPU timing left out)."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_one_row_per_shape(self):
        rows = [dict(layer_row(cell, "training", 2, 8, 1.0, engine, T=4), gflop=1e-6)
                for cell in ("lstm", "leaky") for engine in ("fused", "cudnn")]
        cases = os.path.join(self.dir, "cases.json")
        with open(cases, "w") as f:
            json.dump({"budget": {"min_time_s": 0.0, "min_reps": 1, "max_reps": 1},
                       "results": rows}, f)
        out = os.path.join(self.dir, "peer.json")
        subprocess.run([sys.executable, "-B", os.path.join(REPO, "benchmarks", "bench_peers.py"),
                        "--cases", cases, "--out", out], check=True, capture_output=True)
        with open(out) as f:
            doc = json.load(f)
        self.assertEqual(doc["device"], "cpu")
        self.assertEqual([r["name"] for r in doc["results"]],
                         ["layer/lstm/training/B2/H8/T4/L1/D1",
                          "layer/leaky/training/B2/H8/T4/L1/D1"])

    def test_gpu_branches_run_on_the_cpu(self):
        bp = _load("recur_bench_peers", os.path.join(REPO, "benchmarks", "bench_peers.py"))
        budget = {"min_time_s": 0.0, "min_reps": 1, "max_reps": 1}
        g = bp.run_gemm({"M": 4, "K": 8, "N": 16}, budget)  # the CPU's M x K x N row
        self.assertAlmostEqual(g["gflop"], 2.0 * 4 * 8 * 16 * 1e-9)
        bp.ON_GPU = True  # DEV stays the CPU; the GPU timer is replaced by the wall clock
        bp.gpu_timer = bp.wall_seconds
        g = bp.run_gemm({"N": 16, "dtype": "bf16"}, budget)
        self.assertEqual((g["dtype"], g["data"]), ("bf16", "zeros"))
        g = bp.run_gemm({"N": 16, "dtype": "f32", "data": "uniform"}, budget)
        self.assertIn("TF32 off", g["impl"])
        row = layer_row("gru", "training", 2, 8, 1.0, "fused", T=4)
        r = bp.run_layer(row, budget)
        self.assertIn("(cuDNN)", r["impl"])
        r = bp.run_generate({"E": 8, "H": 8, "L": 2, "V": 256, "prime": 16, "length": 3}, budget)
        self.assertEqual(r["produced"], 3)


if __name__ == "__main__":
    unittest.main()
