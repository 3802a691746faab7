"""Writes tests/data/optim_golden.json: PyTorch's optimizers, gradient clipping and LR schedules on
fixed inputs, in float64, for tests/train/*_test.cpp to match without PyTorch.

Run with Debian's python3-torch (CPU), from the repository root:

    /usr/bin/python3 python_tools/make_optim_golden.py

Contents:
  params      two parameters, "weight" [3,4] and "bias" [5], with fixed values (name -> {shape, values})
  grads       a fixed sequence of 5 gradients (list of name -> flat values), applied one per step
  optimizers  one entry per configuration: {name, config, lrs?, trajectory}; config is recur's
              optimizer JSON config (make_optimizer), lrs (optional) the lr set before each step,
              trajectory[k] the parameter values after step k+1 (name -> flat values)
  clip        clip_grad_norm_ cases: {max_norm, grads, total_norm, clipped}
  schedules   {config, lrs}: recur's LR schedule JSON config and the lr at steps 0..len-1

Every number is written with repr(), so the JSON round-trips float64 values exactly.
"""
import json
import math
import os
import sys

import torch

SEED = 20240601
STEPS = 5
SHAPES = {"weight": [3, 4], "bias": [5]}

# recur config (as make_optimizer reads it) -> the torch.optim constructor.
OPTIMIZERS = [
    ("sgd_plain", {"name": "sgd", "lr": 0.1}),
    ("sgd_momentum_dampening_weight_decay",
     {"name": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd_nesterov",
     {"name": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.001}),
    ("adam", {"name": "adam", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8}),
    ("adam_weight_decay",
     {"name": "adam", "lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1}),
    ("adamw", {"name": "adamw", "lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8,
               "weight_decay": 0.1}),
]
# An AdamW run whose lr changes before every step (as a schedule drives it).
SCHEDULED_ADAMW = ("adamw_changing_lr",
                   {"name": "adamw", "lr": 0.01, "betas": [0.9, 0.95], "eps": 1e-8,
                    "weight_decay": 0.05},
                   [0.002, 0.004, 0.006, 0.005, 0.001])

# recur schedule configs; their values are produced with torch.optim.lr_scheduler below.
SCHEDULES = [
    {"name": "constant", "lr": 0.1},
    {"name": "constant", "lr": 0.1, "warmup_steps": 4},
    {"name": "constant", "lr": 0.1, "warmup_steps": 4, "warmup_start_factor": 0.25},
    {"name": "cosine", "lr": 0.1, "total_steps": 10, "min_lr": 0.001},
    {"name": "cosine", "lr": 0.05, "warmup_steps": 3, "total_steps": 13, "min_lr": 0.0},
    {"name": "cosine", "lr": 0.05, "warmup_steps": 5, "warmup_start_factor": 0.1,
     "total_steps": 12, "min_lr": 0.005},
]
SCHEDULE_STEPS = 16  # past total_steps: lr_at() stays at min_lr there (see lr_schedule.h)


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def make_inputs():
    g = torch.Generator().manual_seed(SEED)
    params = {n: torch.randn(s, generator=g, dtype=torch.float64) for n, s in SHAPES.items()}
    grads = [{n: torch.randn(s, generator=g, dtype=torch.float64) for n, s in SHAPES.items()}
             for _ in range(STEPS)]
    return params, grads


def torch_optimizer(config, tensors):
    kw = {k: v for k, v in config.items() if k != "name"}
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    # foreach=False: the per-tensor loop, the reference formulation in torch.optim.
    return cls[config["name"]](tensors, foreach=False, **kw)


def run_optimizer(config, params, grads, lrs=None):
    tensors = [params[n].clone().requires_grad_(True) for n in SHAPES]
    opt = torch_optimizer(config, tensors)
    trajectory = []
    for k, step_grads in enumerate(grads):
        for t, n in zip(tensors, SHAPES):
            t.grad = step_grads[n].clone()
        if lrs is not None:
            for group in opt.param_groups:
                group["lr"] = lrs[k]
        opt.step()
        trajectory.append({n: flat(t) for t, n in zip(tensors, SHAPES)})
    return trajectory


def clip_case(grads, max_norm):
    tensors = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES.values()]
    for t, n in zip(tensors, SHAPES):
        t.grad = grads[n].clone()
    total = torch.nn.utils.clip_grad_norm_(tensors, max_norm, error_if_nonfinite=True)
    return {"max_norm": max_norm, "grads": {n: flat(grads[n]) for n in SHAPES},
            "total_norm": float(total), "clipped": {n: flat(t.grad) for t, n in zip(tensors, SHAPES)}}


def stepped_lrs(make_scheduler, base_lr, count):
    """The lr a torch scheduler gives at last_epoch = 0..count-1 (stepping it, as training does)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(count):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def warmup_lrs(cfg, count):
    """LinearLR from start_factor to 1 over warmup_steps (constant base lr afterwards)."""
    lr, warmup = cfg["lr"], cfg.get("warmup_steps", 0)
    start = cfg.get("warmup_start_factor", 0.0)
    if warmup == 0:
        return [lr] * count
    make = lambda opt: torch.optim.lr_scheduler.LinearLR(opt, start_factor=start, total_iters=warmup)
    if start > 0:
        return stepped_lrs(make, lr, count)
    # LinearLR's recursive form divides by start_factor * total_iters: from 0 use its closed form.
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    lrs = []
    for step in range(count):
        sched.last_epoch = step
        lrs.append(sched._get_closed_form_lr()[0])
    return lrs


def schedule_lrs(cfg):
    lr, warmup = cfg["lr"], cfg.get("warmup_steps", 0)
    if cfg["name"] == "constant":
        return warmup_lrs(cfg, SCHEDULE_STEPS)
    total, min_lr = cfg["total_steps"], cfg.get("min_lr", 0.0)
    decay = total - warmup
    cosine = stepped_lrs(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=decay, eta_min=min_lr),
        lr, decay + 1)
    lrs = warmup_lrs(cfg, warmup) + cosine
    lrs += [min_lr] * (SCHEDULE_STEPS - len(lrs))  # recur holds min_lr after total_steps
    # Cross-check against CosineAnnealingLR's closed form (what lr_schedule.cpp computes).
    for t in range(decay + 1):
        closed = min_lr + (lr - min_lr) * (1 + math.cos(math.pi * t / decay)) / 2
        assert abs(lrs[warmup + t] - closed) <= 1e-14 * lr, (cfg, t)
    return lrs


def main():
    torch.set_default_dtype(torch.float64)
    params, grads = make_inputs()
    out = {
        "torch_version": torch.__version__,
        "seed": SEED,
        "params": {n: {"shape": SHAPES[n], "values": flat(params[n])} for n in SHAPES},
        "grads": [{n: flat(g[n]) for n in SHAPES} for g in grads],
        "optimizers": [],
    }
    for name, config in OPTIMIZERS:
        out["optimizers"].append(
            {"name": name, "config": config, "trajectory": run_optimizer(config, params, grads)})
    name, config, lrs = SCHEDULED_ADAMW
    out["optimizers"].append({"name": name, "config": config, "lrs": lrs,
                              "trajectory": run_optimizer(config, params, grads, lrs)})

    first = grads[0]
    norm = math.sqrt(sum(float((first[n] ** 2).sum()) for n in SHAPES))
    out["clip"] = [clip_case(first, 0.5 * norm),  # clips: every grad scaled by ~0.5
                   clip_case(first, 0.3),  # clips hard
                   clip_case(first, 2.0 * norm)]  # below max_norm: grads unchanged
    assert out["clip"][0]["clipped"] != out["clip"][0]["grads"]
    assert out["clip"][2]["clipped"] == out["clip"][2]["grads"]

    out["schedules"] = [{"config": cfg, "lrs": schedule_lrs(cfg)} for cfg in SCHEDULES]

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "data", "optim_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
