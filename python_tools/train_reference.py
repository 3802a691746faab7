#!/usr/bin/python3
"""The PyTorch twin of `recur train`: the same CharLM, data order and hyperparameters, for side-by-
side speed (tokens/s) and quality (validation bits per character) comparisons.

    /usr/bin/python3 python_tools/train_reference.py --corpus austen --hidden 128 --batch 16 \\
        --bptt 64 --steps 300 --eval-every 100 --out runs/austen-torch [--json]

What is the same as recur (apps/recur/train_command.cpp, models/char_lm_trainer.cpp):
  - the options and their defaults;
  - the data: TextCorpus.split(val_fraction), then TbpttBatcher(train, batch, bptt) batch for
    batch, through tbptt_reference.py (a port checked against the C++ batcher by
    python_tools/tests/test_tbptt_reference.py);
  - the model: nn.Embedding(V,E) -> nn.LSTM/GRU/RNN(E,H,L,dropout,batch_first=True) ->
    nn.Linear(H,V), recur's CharLM with its state_dict names;
  - each step: the carried state rows whose reset flag is 1 zeroed, the forward, cross-entropy
    averaged over the real tokens (targets -1 ignored), backward, clip_grad_norm_(clip), Adam
    (AdamW when weight_decay > 0; betas 0.9/0.999, eps 1e-8) at the lr of train/lr_schedule.cpp,
    the final state detached and carried. Padded steps neither count in the loss nor reach the
    state that is used next: with --packed through pack_padded_sequence(lengths,
    enforce_sorted=False), by default as a plain [B,T] run, which is the same training (a row is
    padded only where its document ends, and the batcher resets such a row in the next batch;
    see Trainer) and 3-4x faster on the CPU;
  - validation as CharLMTrainer::evaluate: eval mode, clamp(val_bytes / (4*bptt), 1, batch)
    streams over the held-out split, each stream's first pass only, up to val_tokens tokens,
    state carried and reset at document starts;
  - metrics.jsonl in recur's format: {"step","kind":"train","loss","bpc","lr","tokens_per_s",
    "time_s"} every 10 steps and at the last, {"step","kind":"val","bpc"} every eval_every steps
    and at the last, with tokens_per_s and time_s counted from the start of the loop (validation
    time included) as recur counts them.
What differs: the initial weights (PyTorch's default init from torch.manual_seed(seed), not
recur's Philox draws) and the dropout masks. recur's --time, --checkpoint-every, --resume and
the --engine/--precision options have no counterpart; no checkpoint is written.

--device cuda runs the model, the batches and the state on GPU 0 in float32 with TF32 off for
cuBLAS and cuDNN (as recur computes f32); nn.LSTM/GRU/RNN run cuDNN there. --device cpu (the
default) is the CPU run as before.

The final line on stderr gives the steady-state training throughput (tokens of steps 4..N over
their step time, validation excluded) and the final validation bpc; --json prints the same as a
JSON object on stdout.

--eval-checkpoint FILE instead loads a recur checkpoint (last.safetensors / best.safetensors of a
`recur train` run) into the PyTorch model and prints its validation bpc under the run's own
settings: the same number recur logged for it when the two implementations agree.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

from torch_tf32 import tf32_off

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name, filename):
    # Loaded by path under a private name: `import datasets` from the repo root would find the
    # C++ datasets/ folder as a namespace package.
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tbptt = _load("recur_tbptt_reference", "tbptt_reference.py")

LN2 = 0.69314718055994530942
KNOWN_CORPORA = ("emails", "austen", "sotu", "moby-dick")
CELLS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


class UsageError(Exception):
    pass


# ---------------------------------------------------------------------------- options


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="train_reference.py",
        description="Train recur's CharLM in PyTorch with recur train's data order and settings.")
    p.add_argument("--corpus", help="a text file, or emails, austen, sotu, moby-dick")
    p.add_argument("--tokens", default="bytes", choices=("bytes", "chars"),
                   help="bytes (256 symbols) or chars (the corpus's)")
    p.add_argument("--cell", default="lstm", choices=CELLS)
    p.add_argument("--layers", type=int, default=2, help="recurrent layers")
    p.add_argument("--hidden", type=int, default=512, help="hidden units per layer")
    p.add_argument("--embed", type=int, default=128, help="embedding size")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout between recurrent layers")
    p.add_argument("--batch", type=int, default=64, help="parallel streams")
    p.add_argument("--bptt", type=int, default=128, help="steps per chunk")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps in all")
    p.add_argument("--lr", type=float, default=2e-3, help="learning rate")
    p.add_argument("--schedule", default="cosine", choices=("constant", "cosine"))
    p.add_argument("--warmup", type=int, default=0, help="linear warm-up steps")
    p.add_argument("--min-lr", type=float, default=1e-4, help="cosine floor")
    p.add_argument("--clip", type=float, default=1.0, help="gradient clipping by global norm")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW weight decay (0: Adam)")
    p.add_argument("--val-fraction", type=float, default=0.05, help="held-out share of the corpus")
    p.add_argument("--eval-every", type=int, default=200, help="validate every N steps")
    p.add_argument("--val-tokens", type=int, default=1 << 18,
                   help="tokens per validation (0: all)")
    p.add_argument("--seed", type=int, default=1, help="torch.manual_seed (weights, dropout)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch.set_num_threads (0: PyTorch's default)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="cpu, or cuda: GPU 0, float32 with TF32 off")
    p.add_argument("--out", help="run folder for metrics.jsonl (default runs/<corpus>-torch)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--packed", action="store_true",
                   help="run every batch through pack_padded_sequence (the same training, "
                        "3-4x slower on the CPU; see Trainer)")
    p.add_argument("--init", metavar="FILE",
                   help="start from these weights (safetensors: a recur checkpoint or a state_dict)")
    p.add_argument("--save-init", metavar="FILE",
                   help="write the initial weights (safetensors) for `recur train --init`")
    p.add_argument("--eval-checkpoint", metavar="FILE",
                   help="evaluate a recur checkpoint under its run's settings and exit")
    args = p.parse_args(argv)
    if args.eval_checkpoint is None and not args.corpus:
        p.error("--corpus is required")
    return args


def validate(a):
    """CharLMTrainConfig::validate and CharLMConfig::validate, with recur's wording."""
    def check(ok, message):
        if not ok:
            raise UsageError(message)
    check(0 < a.val_fraction < 0.5, f"training: val_fraction must be in (0, 0.5), got {a.val_fraction}")
    check(a.batch >= 1 and a.bptt >= 1,
          f"training: batch and bptt must be >= 1, got {a.batch} and {a.bptt}")
    check(a.steps >= 1, f"training: steps must be >= 1, got {a.steps}")
    check(a.lr > 0 and math.isfinite(a.lr), f"training: lr must be positive, got {a.lr}")
    check(a.clip > 0, f"training: clip must be positive, got {a.clip}")
    check(a.eval_every >= 1, "training: eval_every must be >= 1")
    check(a.val_tokens >= 0, f"training: val_tokens must be >= 0, got {a.val_tokens}")
    check(a.warmup >= 0, f"training: warmup must be >= 0, got {a.warmup}")
    check(a.weight_decay >= 0, f"training: weight_decay must be >= 0, got {a.weight_decay}")
    check(a.embed >= 1, f"char LM: embed must be at least 1, got {a.embed}")
    check(a.hidden >= 1, f"char LM: hidden must be at least 1, got {a.hidden}")
    check(a.layers >= 1, f"char LM: layers must be at least 1, got {a.layers}")
    check(0 <= a.dropout < 1, f"char LM: dropout must be in [0, 1), got {a.dropout}")
    check(a.threads >= 0, f"--threads must be >= 0, got {a.threads}")


def resolve_corpus(corpus):
    """apps/recur/corpus.cpp resolve_corpus: a path as is, a known name through datasets.py."""
    if os.path.exists(corpus):
        return corpus
    if corpus not in KNOWN_CORPORA:
        raise UsageError(f"--corpus {corpus}: no such file, and not a known corpus (emails, "
                         "austen, sotu, moby-dick)")
    script = os.path.join(HERE, "datasets.py")
    proc = subprocess.run(["/usr/bin/python3", script, "path", corpus], stdout=subprocess.PIPE)
    if proc.returncode != 0:
        raise UsageError(f"fetching corpus '{corpus}' failed ({script} exited with status "
                         f"{proc.returncode})")
    path = proc.stdout.decode().rstrip("\r\n")
    if not os.path.exists(path):
        raise UsageError(f"corpus '{corpus}': the fetcher named a missing file '{path}'")
    return path


# ---------------------------------------------------------------------------- schedule


def lr_at(step, lr, schedule, warmup, steps, min_lr):
    """train/lr_schedule.cpp LrSchedule::lr_at with the config CharLMTrainer::build_optimizer
    makes: warmup_start_factor 0; cosine: total_steps = max(steps, warmup + 1) and
    min_lr = min(min_lr, lr)."""
    start_factor = 0.0
    if step < warmup:
        factor = start_factor + (1.0 - start_factor) * float(step) / float(warmup)
        return lr * factor
    if schedule == "constant":
        return lr
    total = max(steps, warmup + 1)
    floor = min(min_lr, lr)
    t = step - warmup
    decay_steps = total - warmup
    if t >= decay_steps:
        return floor
    return floor + (lr - floor) * (1 + math.cos(math.pi * float(t) / float(decay_steps))) / 2


# ---------------------------------------------------------------------------- model


def build_model(torch, cell, vocab, embed, hidden, layers, dropout):
    nn = torch.nn

    class CharLM(nn.Module):
        """models/char_lm.h: Embedding -> LSTM/GRU/RNN -> Linear, PyTorch's names."""

        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            kwargs = dict(num_layers=layers, dropout=dropout, batch_first=True)
            if cell == "lstm":
                self.rnn = nn.LSTM(embed, hidden, **kwargs)
            elif cell == "gru":
                self.rnn = nn.GRU(embed, hidden, **kwargs)
            else:
                self.rnn = nn.RNN(embed, hidden, nonlinearity=cell[len("rnn_"):], **kwargs)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, tokens, state, packing=None):
            """tokens [B,T]; state h [L,B,H] (and c). With a Packing (pack_padded_sequence's order
            of this batch's lengths): logits [sum(lengths), V] in packed order and each row's
            state at its own end. Without: all T steps run, logits [B*T, V] in row order, and
            the state after step T (see Trainer for why that is the same training)."""
            x = self.embed(tokens)
            if packing is None:
                y, state = self.rnn(x, state)
                return self.head(y).reshape(-1, vocab), state
            y, state = self.rnn(packing.pack(x), state)
            return self.head(y.data), state

    return CharLM()


class Packing:
    """The packed order of a batch's lengths (pack_padded_sequence with enforce_sorted=False),
    applied to the inputs and the targets alike."""

    def __init__(self, torch, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence
        self._pack = lambda t: pack_padded_sequence(t, lengths, batch_first=True,
                                                    enforce_sorted=False)

    def pack(self, t):
        return self._pack(t)

    def targets(self, targets):
        return self._pack(targets).data


class Trainer:
    """CharLMTrainer in PyTorch: one optimizer step per step(), validation bpc from evaluate().

    How a batch runs (`packed`):
      True   every batch through pack_padded_sequence(lengths, enforce_sorted=False): padded
             steps neither update the state nor produce logits; the state handed on is each
             row's state at its own end.
      False  (the default) every batch as a plain [B,T] run, which is the same training: a row
             stops short of T only where its document (or shard) ends, and then the batcher
             resets it in the next batch, so its state after the padded steps is zeroed before it
             is ever used; the outputs at its real steps do not depend on the padded steps that
             follow them, and the padded steps have target -1, so they add nothing to the loss
             or to any gradient (the carried state is detached). PyTorch's packed path is 3-4x
             slower on the CPU (no fused kernels), which would make a speed comparison unfair.
             The invariant is checked at every batch (a short row must be reset next).
    """

    def __init__(self, torch, args, corpus_path, packed=False):
        self.torch = torch
        self.args = args
        self.packed = packed
        self.corpus = tbptt.TextCorpus(corpus_path, args.tokens)
        self.train_range, self.val_range = self.corpus.split(args.val_fraction)
        self.batcher = tbptt.TbpttBatcher(self.corpus, self.train_range, args.batch, args.bptt)
        self.vocab = self.corpus.vocabulary.size
        self.device = torch.device("cuda", 0) if getattr(args, "device", "cpu") == "cuda" \
            else torch.device("cpu")
        torch.manual_seed(args.seed)
        self.model = build_model(torch, args.cell, self.vocab, args.embed, args.hidden,
                                 args.layers, args.dropout).to(self.device)
        params = list(self.model.parameters())
        if args.weight_decay > 0:
            self.opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                                         weight_decay=args.weight_decay)
        else:
            self.opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                                        weight_decay=0.0)
        self.carry = self.zero_state(args.batch)
        self.short = np.zeros(args.batch, bool)  # rows of the last batch that stopped short of T
        self.step_count = 0
        self._val_batches = None

    def zero_state(self, rows):
        shape = (self.args.layers, rows, self.args.hidden)
        h = self.torch.zeros(shape, device=self.device)
        return (h, self.torch.zeros(shape, device=self.device)) if self.args.cell == "lstm" else h

    def reset_rows(self, state, reset, short):
        """reset_state_row for every row whose flag is 1 (in place: state is detached). `short`:
        the rows that stopped short of T in the batch before, which must all be reset here."""
        if not self.packed and np.any(short & (reset == 0)):
            raise RuntimeError("a row that stopped short of T was not reset in the next batch; "
                               "the unpacked run would carry its state past the padding (use "
                               "--packed)")
        if reset.any():
            mask = self.torch.from_numpy(reset.astype(bool)).to(self.device)
            for t in (state if isinstance(state, tuple) else (state,)):
                t[:, mask] = 0
        return state

    def forward(self, inputs, lengths, targets, state):
        """(logits, targets) in matching order, and the state to carry."""
        torch = self.torch
        inputs = torch.from_numpy(inputs).to(self.device)
        targets = torch.from_numpy(targets).to(self.device)
        if self.packed:
            packing = Packing(torch, torch.from_numpy(lengths))
            logits, state = self.model(inputs, state, packing)
            return logits, packing.targets(targets), state
        logits, state = self.model(inputs, state)
        return logits, targets.reshape(-1), state

    def step(self):
        torch, a = self.torch, self.args
        start = time.perf_counter()
        batch = self.batcher.next()
        state = self.reset_rows(self.carry, batch.reset, self.short)
        self.short = batch.lengths < a.bptt
        lr = lr_at(self.step_count, a.lr, a.schedule, a.warmup, a.steps, a.min_lr)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad(set_to_none=True)
        logits, targets, state = self.forward(batch.inputs, batch.lengths, batch.targets, state)
        # The mean over the real tokens (targets -1 are ignored), as SoftmaxCrossEntropy(-1).
        loss = torch.nn.functional.cross_entropy(logits, targets, ignore_index=-1)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), a.clip)
        if not math.isfinite(float(norm)):
            raise RuntimeError(f"training diverged at step {self.step_count + 1}: clip_grad_norm: "
                               f"gradient norm is nan/inf (got {float(norm)})")
        self.opt.step()
        self.carry = tuple(t.detach() for t in state) if isinstance(state, tuple) else state.detach()
        if self.device.type == "cuda":
            torch.cuda.synchronize()  # the step's time includes its GPU work
        self.step_count += 1
        value = float(loss)
        return {"step": self.step_count, "loss": value, "bpc": value / LN2, "lr": lr,
                "tokens": batch.tokens, "seconds": time.perf_counter() - start}

    def val_batches(self):
        """The validation batches (they do not depend on the model), made once."""
        if self._val_batches is None:
            a = self.args
            self._val_batches = list(tbptt.validation_batches(
                self.corpus, self.val_range, a.batch, a.bptt, a.val_tokens))
        return self._val_batches

    def evaluate(self):
        """CharLMTrainer::evaluate: validation bits per character."""
        torch = self.torch
        rows = tbptt.validation_rows(self.val_range, self.args.batch, self.args.bptt)
        self.model.eval()
        state = self.zero_state(rows)
        short = np.zeros(rows, bool)
        nats, tokens = 0.0, 0
        with torch.no_grad():
            for b in self.val_batches():
                state = self.reset_rows(state, b.reset, short)
                short = b.lengths < self.args.bptt
                logits, targets, state = self.forward(b.inputs, b.lengths, b.targets, state)
                nats += float(torch.nn.functional.cross_entropy(
                    logits, targets, ignore_index=-1, reduction="sum"))
                tokens += b.tokens
        self.model.train()
        if tokens <= 0:
            raise RuntimeError(f"validation split of {self.corpus.path} has no tokens")
        return nats / tokens / LN2


# ---------------------------------------------------------------------------- commands


def write_line(path, record):
    # nlohmann::json's dump(): keys sorted, no spaces; doubles in their shortest form.
    with open(path, "a") as f:
        f.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")


def train(torch, args):
    corpus_path = resolve_corpus(args.corpus)
    out = args.out or os.path.join(
        "runs", os.path.splitext(os.path.basename(corpus_path))[0] + "-torch")
    os.makedirs(out, exist_ok=True)
    metrics = os.path.join(out, "metrics.jsonl")
    open(metrics, "w").close()
    trainer = Trainer(torch, args, corpus_path, packed=args.packed)
    st = _load("recur_safetensors_io", "safetensors_io.py")
    if args.init:
        tensors, _ = st.read(args.init)
        trainer.model.load_state_dict(
            {k: torch.from_numpy(np.ascontiguousarray(v)).float() for k, v in tensors.items()},
            strict=True)
    if args.save_init:
        st.write(args.save_init,
                 {k: v.detach().cpu().numpy() for k, v in trainer.model.state_dict().items()})
    a = args
    config = dict(vars(a), corpus=corpus_path, vocab=trainer.vocab, torch=torch.__version__,
                  threads=torch.get_num_threads())
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1, sort_keys=True)
    print(f"train_reference: {a.tokens}, {a.cell} {a.layers} x {a.hidden} (embed {a.embed}, vocab "
          f"{trainer.vocab}), batch {a.batch} x bptt {a.bptt}, torch {torch.__version__} "
          f"{gpu_name(torch) if a.device == 'cuda' else 'cpu'}, "
          f"{torch.get_num_threads()} threads\n  corpus {corpus_path}, train bytes "
          f"{list(trainer.train_range)}, val bytes {list(trainer.val_range)}, run folder {out}",
          file=sys.stderr, flush=True)

    start = time.perf_counter()
    tokens = 0
    steady_tokens, steady_seconds = 0, 0.0
    first_loss = None
    last_val = None
    best_val = float("inf")
    eval_seconds = 0.0
    while trainer.step_count < a.steps:
        r = trainer.step()
        if first_loss is None:
            first_loss = r["loss"]
        tokens += r["tokens"]
        if r["step"] > 3:
            steady_tokens += r["tokens"]
            steady_seconds += r["seconds"]
        elapsed = time.perf_counter() - start
        tokens_per_s = tokens / max(elapsed, 1e-9)
        last = r["step"] == a.steps
        if r["step"] % 10 == 0 or last:
            write_line(metrics, {"step": r["step"], "kind": "train", "loss": r["loss"],
                                 "bpc": r["bpc"], "lr": r["lr"], "tokens_per_s": tokens_per_s,
                                 "time_s": elapsed})
        if r["step"] % a.eval_every == 0 or last or r["step"] % 10 == 0:
            print(f"step {r['step']}/{a.steps} {tokens_per_s:.0f} tok/s  loss {r['loss']:.4f}  "
                  f"bpc {r['bpc']:.3f}  lr {r['lr']:.2e}", file=sys.stderr, flush=True)
        if r["step"] % a.eval_every == 0 or last:
            t0 = time.perf_counter()
            last_val = trainer.evaluate()
            eval_seconds += time.perf_counter() - t0
            best = last_val < best_val
            best_val = min(best_val, last_val)
            write_line(metrics, {"step": r["step"], "kind": "val", "bpc": last_val})
            print(f"step {r['step']}: validation bpc {last_val:.6f}{' (best)' if best else ''}",
                  file=sys.stderr, flush=True)
    total = time.perf_counter() - start
    steady = steady_tokens / steady_seconds if steady_seconds > 0 else float("nan")
    summary = {"steps": trainer.step_count, "tokens_per_s": steady,
               "tokens_per_s_overall": tokens / max(total, 1e-9), "tokens": tokens,
               "time_s": total, "eval_time_s": eval_seconds, "first_loss": first_loss,
               "final_train_loss": r["loss"], "final_val_bpc": last_val, "best_val_bpc": best_val,
               "threads": torch.get_num_threads(), "torch": torch.__version__, "packed": a.packed,
               "device": a.device, "metrics": metrics}
    print(f"done: {trainer.step_count} steps, {steady:.0f} tokens/s (steady: steps 4..{a.steps}, "
          f"training only), final validation bpc {last_val:.4f}, first-step loss "
          f"{first_loss:.4f}", file=sys.stderr, flush=True)
    if a.json:
        print(json.dumps(summary, sort_keys=True))
    return 0


def eval_checkpoint(torch, args):
    """Loads a recur checkpoint into the PyTorch model and evaluates it under the run's settings
    (corpus, tokens, val_fraction, batch, bptt, val_tokens from the checkpoint's config)."""
    st = _load("recur_safetensors_io", "safetensors_io.py")
    tensors, metadata = st.read(args.eval_checkpoint)
    config = json.loads(metadata.get("config", "{}"))
    if config.get("kind") != "char_lm":
        raise UsageError(f"{args.eval_checkpoint} is not a recur char LM checkpoint")
    m, t = config["model"], config["train"]
    run = argparse.Namespace(**vars(args))
    for key in ("tokens", "val_fraction", "batch", "bptt", "val_tokens", "seed"):
        setattr(run, key, t[key])
    run.cell, run.embed, run.hidden, run.layers, run.dropout = (
        m["cell"], m["embed"], m["hidden"], m["layers"], m.get("dropout", 0.0))
    run.steps, run.lr, run.schedule, run.warmup, run.min_lr = 1, 1e-3, "constant", 0, 0.0
    run.weight_decay, run.clip = 0.0, 1.0
    if run.cell not in CELLS:
        raise UsageError(f"cell '{run.cell}' has no PyTorch module here")
    trainer = Trainer(torch, run, t["corpus"], packed=args.packed)
    if trainer.corpus.vocabulary.to_json() != config["vocab"]:
        raise UsageError("the corpus's vocabulary differs from the checkpoint's")
    state = {k: torch.from_numpy(np.ascontiguousarray(v)).float() for k, v in tensors.items()}
    trainer.model.load_state_dict(state, strict=True)
    bpc = trainer.evaluate()
    step = json.loads(metadata.get("extra", "{}")).get("step")
    print(f"{args.eval_checkpoint} (step {step}): validation bpc {bpc:.6f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"checkpoint": args.eval_checkpoint, "step": step, "val_bpc": bpc}))
    return 0


def gpu_name(torch):
    return f"on {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda})"


def use_gpu(torch):
    """GPU 0 in float32 with TF32 off for cuBLAS and cuDNN (python_tools/torch_tf32.py)."""
    if not torch.cuda.is_available():
        raise UsageError(f"--device cuda: PyTorch {torch.__version__} (CUDA {torch.version.cuda}) "
                         "sees no GPU; use --device cpu")
    torch.cuda.set_device(0)
    tf32_off(torch)


def main(argv=None):
    args = parse_args(argv)
    try:
        validate(args)
        import torch
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        if args.device == "cuda":
            use_gpu(torch)
        if args.eval_checkpoint:
            return eval_checkpoint(torch, args)
        return train(torch, args)
    except (UsageError, tbptt.CorpusError, RuntimeError, OSError) as e:
        print(f"train_reference.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
