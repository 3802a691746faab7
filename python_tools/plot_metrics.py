#!/usr/bin/python3
"""Plot the metrics.jsonl of a `recur train` run.

    plot_metrics.py RUN_DIR [-o out.png]
    plot_metrics.py RUN_DIR/metrics.jsonl [-o out.png]

metrics.jsonl holds one JSON object per line:
    {"step": 10, "kind": "train", "loss": 2.1, "bpc": 3.03, "tokens_per_s": 8123.0, "lr": 0.002,
     "time_s": 12.5}
    {"step": 100, "kind": "val", "bpc": 2.74}            (a "loss" key is plotted when present)

Unknown keys and kinds are ignored; so are a truncated (torn) last line, null/NaN values
(nlohmann::json writes NaN as null) and records without a numeric step. When a step occurs
twice for one kind (a resumed run appended again), the later record wins.

Draws two panels with matplotlib's Agg backend: loss vs step and bpc vs step, train and
validation curves in each where present. Default output: RUN_DIR/metrics.png (the folder of the
metrics file). Exit status 0 ok, 2 for a missing or empty file or one with no usable record.
"""

import argparse
import json
import math
import os
import sys
import tempfile

PROG = "plot_metrics.py"
KINDS = ("train", "val")
SERIES = ("loss", "bpc")


class MetricsError(Exception):
    """A missing, empty or unusable metrics file (exit status 2)."""


def _number(value):
    """`value` as a finite float, or None (bools, strings, null, NaN and infinities are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def read_metrics(path, warn=None):
    """Reads a metrics.jsonl file. Returns {"train": [record, ...], "val": [...]}, each list
    sorted by step with one record per step (the last one written wins). Records are the parsed
    dicts, unknown keys included. Raises MetricsError for a missing or empty file, or one
    without a single usable record. `warn(msg)` is called for skipped malformed lines."""
    warn = warn or (lambda msg: None)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise MetricsError(f"{path}: no such file")
    except OSError as e:
        raise MetricsError(f"{path}: {e.strerror}")
    if not data.strip():
        raise MetricsError(f"{path}: file is empty")
    lines = data.decode("utf-8", errors="replace").split("\n")
    # The index of the last non-blank line: a parse failure there is a torn write.
    last = max(i for i, line in enumerate(lines) if line.strip())
    by_kind = {kind: {} for kind in KINDS}
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if i == last:
                warn(f"{path}:{i + 1}: ignoring truncated last line")
            else:
                warn(f"{path}:{i + 1}: ignoring a line that is not JSON")
            continue
        if not isinstance(record, dict):
            continue
        step = _number(record.get("step"))
        kind = record.get("kind")
        if step is None or kind not in by_kind:
            continue
        by_kind[kind][step] = record
    out = {kind: [recs[s] for s in sorted(recs)] for kind, recs in by_kind.items()}
    if not any(_number(r.get(key)) is not None for recs in out.values() for r in recs
               for key in SERIES):
        raise MetricsError(f"{path}: no train or val record with a loss or bpc value")
    return out


def series(records, key):
    """(steps, values) of the records that have a finite number under `key`."""
    steps, values = [], []
    for r in records:
        v = _number(r.get(key))
        if v is not None:
            steps.append(_number(r["step"]))
            values.append(v)
    return steps, values


def plot(metrics, out_path, title=None):
    """Draws the loss and bpc panels into a PNG at out_path (written atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    styles = {"train": dict(color="tab:blue", linewidth=1.0, label="train"),
              "val": dict(color="tab:orange", linewidth=1.8, marker="o", markersize=3,
                          label="val")}
    for ax, key, label in ((axes[0], "loss", "loss (nats/token)"), (axes[1], "bpc", "bpc")):
        drawn = False
        for kind in KINDS:
            steps, values = series(metrics[kind], key)
            if steps:
                ax.plot(steps, values, **styles[kind])
                drawn = True
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        if drawn:
            ax.legend()
        else:
            ax.text(0.5, 0.5, f"no {key} values", ha="center", va="center",
                    transform=ax.transAxes)
    val_steps, val_bpc = series(metrics["val"], "bpc")
    if val_bpc:
        best = min(range(len(val_bpc)), key=val_bpc.__getitem__)
        axes[1].set_title(f"best val bpc {val_bpc[best]:.4f} at step {val_steps[best]:g}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()

    directory = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".metrics.", suffix=".png.tmp")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, out_path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def resolve_paths(target, output=None):
    """(metrics file, output png) for a run folder or a metrics file."""
    if os.path.isdir(target):
        metrics_path = os.path.join(target, "metrics.jsonl")
        run_dir = target
    else:
        metrics_path = target
        run_dir = os.path.dirname(os.path.abspath(target))
    return metrics_path, output or os.path.join(run_dir, "metrics.png")


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description="Plot loss and bpc of a recur "
                                     "training run from its metrics.jsonl.")
    parser.add_argument("run", metavar="RUN_DIR_or_metrics.jsonl")
    parser.add_argument("-o", "--output", metavar="out.png",
                        help="output PNG (default: metrics.png in the run folder)")
    args = parser.parse_args(argv)
    metrics_path, out_path = resolve_paths(args.run, args.output)

    def warn(msg):
        print(f"{PROG}: warning: {msg}", file=sys.stderr)

    try:
        metrics = read_metrics(metrics_path, warn)
    except MetricsError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    title = os.path.basename(os.path.dirname(os.path.abspath(metrics_path)))
    plot(metrics, out_path, title=title)
    n_train, n_val = len(metrics["train"]), len(metrics["val"])
    print(f"{out_path} ({n_train} train and {n_val} val records)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
