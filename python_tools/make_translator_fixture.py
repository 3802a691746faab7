#!/usr/bin/python3
"""Writes PyTorch golden fixtures for `recur translate`'s sequence-to-sequence model to
tests/data/translator_<case>.safetensors, for the cases lstm, gru, lstm_bidirectional and
gru_bidirectional.

The model is Translator below (models/translator.h): byte tokens; an encoder RNN over the packed
source; a decoder RNN of the same shape, starting from the encoder's final state, over the packed
target_in (BOS + target bytes); in the bidirectional cases the encoder has hidden/2 units per
direction and the decoder starts from each layer's two final states side by side; Luong dot attention over the encoder outputs (no input feeding):
softmax(queries @ keys^T, source padding masked), context = weights @ keys,
attended = tanh(W [context, queries]); logits = head(attended).

Each file holds, in float64 (B=3, S=5, T=6; V=256; hidden 5, or 6 in the bidirectional cases):
  - the parameters under their state_dict names ("grad.<name>": the gradient of output.loss);
  - "input.source" [B,S] I64: printable bytes (32..126), 0 past each source's length;
    "input.source_lengths" [B] I64 (unsorted, all different);
    "input.target_in" [B,T] I64: BOS (2), then the target bytes, 0 past its length;
    "input.target_lengths" [B] I64: target bytes + 1 (unsorted, all different; one is 1, an empty
    target); "input.target_out" [B,T] I64: the target bytes, then EOS (3), -100 past its length;
  - "output.logits" [B,T,V] and "output.attention" [B,T,S] (the softmax weights, exactly 0 at the
    padded source positions). At padded target steps the decoder's output is 0 (pad_packed), so
    the weights there are uniform over the valid source steps and the logits are head(tanh(W
    [mean key, 0])): PyTorch's values, which the loss ignores;
  - "output.loss" [1]: F.cross_entropy(logits, target_out, ignore_index=-100), the mean over the
    sum(target_lengths) real target tokens;
  - "output.greedy" [B,max_len] I64: the greedy translation of each source (the encoder once;
    the decoder from its final state, fed BOS then its own previous argmax one step at a time;
    a row stops after EOS, which it includes), -1 after the EOS; max_len (8) tokens at most
    (Translator::translate's default is max_len + 1, so a check passes max_tokens = 8);
  - "output.beam" [B,max_len] I64: the same for beam search (beam_search below: the rules of
    models/beam_search.h) with the width and length exponent of "output.beam_options" [2] F64
    (BEAM_WIDTH, BEAM_ALPHA); it differs from the greedy translation of at least one source.
Weights are PyTorch's default float32 init under torch.manual_seed(CRC-32 of "translator_<case>"),
then .double(), except the EOS row of the head (head.weight[3], head.bias[3]), changed to other
float32 values so that greedy decoding ends with EOS mid-way in some rows (at different steps)
and runs the full max_len in another (eos_adjustment).
The metadata "config" is {"cell", "vocab", "embed", "hidden", "layers", "bidirectional",
"dropout", "max_len"} (dropout 0: its masks are random, so recur's own tests check it).

Before writing, it checks itself and stops on any failure: each pair run alone (unpadded, a
batch of 1) gives the logits and attention of its valid steps to 1e-12; other tokens at the
padded positions change nothing there; the attention is exactly 0 at padded source positions;
the greedy tokens computed step by step equal those (and those logits, to 1e-12) of full
teacher-forced forwards over the growing prefix, and no greedy argmax is within 1e-6 of a tie;
beam search (which runs teacher-forced forwards over each hypothesis' prefix) with width 1 gives
the greedy tokens, and no choice it makes is within 1e-6 of a tie.

Run with Debian's interpreter:  /usr/bin/python3 python_tools/make_translator_fixture.py
The output is deterministic: rerunning rewrites identical bytes.
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "data")

BOS, EOS, PAD_TARGET = 2, 3, -100  # datasets/parallel_corpus.h kBos, kEos, kIgnoredTarget
# case -> (cell, bidirectional)
CASES = {"lstm": ("lstm", False), "gru": ("gru", False),
         "lstm_bidirectional": ("lstm", True), "gru_bidirectional": ("gru", True)}
CONFIG = {"vocab": 256, "embed": 4, "hidden": 5, "layers": 2, "max_len": 8}
BIDIRECTIONAL_HIDDEN = 6  # 3 units per direction
SOURCE_LENGTHS = [5, 2, 4]  # unsorted, all different; S = 5
TARGET_LENGTHS = [3, 6, 1]  # target bytes + 1: 2, 5 and 0 bytes; T = 6
TIE_GAP = 1e-6  # every greedy argmax and beam choice leads the runner-up by more
BEAM_WIDTH, BEAM_ALPHA = 3, 1.0
TOL = 1e-12


class Translator(nn.Module):
    """models/translator.h. forward: teacher forcing, (logits [B,T,V], weights [B,T,S])."""

    def __init__(self, cell, vocab, embed, hidden, layers, bidirectional=False, dropout=0.0):
        super().__init__()
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn_tanh": nn.RNN}[cell]
        self.source_embed = nn.Embedding(vocab, embed)
        self.target_embed = nn.Embedding(vocab, embed)
        assert not bidirectional or hidden % 2 == 0
        self.encoder = rnn(embed, hidden // 2 if bidirectional else hidden, layers,
                           batch_first=True, bidirectional=bidirectional, dropout=dropout)
        self.decoder = rnn(embed, hidden, layers, batch_first=True, dropout=dropout)
        self.attention = nn.Linear(2 * hidden, hidden, bias=False)
        self.head = nn.Linear(hidden, vocab)
        self.drop = nn.Dropout(dropout)

    @staticmethod
    def merge_directions(h_n):
        """[L*2,B,H/2] -> [L,B,H]: each layer's forward and backward states side by side
        (layers/merge_directions.h)."""
        return torch.cat([h_n[0::2], h_n[1::2]], dim=2)

    def encode(self, source, source_lengths):
        """keys [B,S,H] (0 at padded steps) and the encoder's final state, taken at each
        source's own end."""
        packed = pack_padded_sequence(self.drop(self.source_embed(source)), source_lengths,
                                      batch_first=True, enforce_sorted=False)
        keys, state = self.encoder(packed)
        if self.encoder.bidirectional:
            state = (tuple(self.merge_directions(s) for s in state) if isinstance(state, tuple)
                     else self.merge_directions(state))
        keys, _ = pad_packed_sequence(keys, batch_first=True, total_length=source.shape[1])
        return keys, state

    def attend(self, queries, keys, source_lengths):
        """attended [B,T,H] (what the head reads) and the attention weights [B,T,S] of decoder
        outputs queries [B,T,H]."""
        S = keys.shape[1]
        scores = queries @ keys.transpose(1, 2)  # [B,T,S]
        mask = torch.arange(S)[None, None, :] >= source_lengths[:, None, None]
        weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        context = weights @ keys  # [B,T,H]
        attended = torch.tanh(self.attention(torch.cat([context, queries], dim=-1)))
        return attended, weights

    # False: the decoder runs over the padded target_in (no pack_padded_sequence). Its valid
    # steps, so the logits there, the loss and every gradient are the same (the decoder is
    # causal and nothing reads its final state); only the ignored padded steps differ. 3-4x
    # faster in PyTorch 1.13 on the CPU (train_translator_reference.py uses it).
    pack_decoder = True

    def forward(self, source, source_lengths, target_in, target_lengths):
        keys, state = self.encode(source, source_lengths)
        if self.pack_decoder:
            packed = pack_padded_sequence(self.drop(self.target_embed(target_in)), target_lengths,
                                          batch_first=True, enforce_sorted=False)
            queries, _ = self.decoder(packed, state)
            queries, _ = pad_packed_sequence(queries, batch_first=True,
                                             total_length=target_in.shape[1])
        else:
            queries, _ = self.decoder(self.drop(self.target_embed(target_in)), state)
        attended, weights = self.attend(queries, keys, source_lengths)
        return self.head(self.drop(attended)), weights

    @torch.no_grad()
    def greedy(self, source, source_lengths, max_len, return_steps=False):
        """Greedy decoding of a batch of sources: tokens [B,max_len] (each row up to and
        including its EOS, then -1); with return_steps also the logits [B,n,V] and the head's
        inputs [B,n,H] of every step (n <= max_len: the loop ends when every row has emitted
        EOS)."""
        B = source.shape[0]
        keys, state = self.encode(source, source_lengths)
        token = torch.full((B, 1), BOS, dtype=torch.int64)
        out = torch.full((B, max_len), -1, dtype=torch.int64)
        done = torch.zeros(B, dtype=torch.bool)
        steps, features = [], []
        for t in range(max_len):
            query, state = self.decoder(self.target_embed(token), state)  # [B,1,H]
            attended, _ = self.attend(query, keys, source_lengths)  # [B,1,H]
            logits = self.head(attended)  # [B,1,V]
            steps.append(logits[:, 0])
            features.append(attended[:, 0])
            token = logits[:, 0].argmax(dim=-1, keepdim=True)  # [B,1]
            out[:, t] = torch.where(done, torch.full_like(token[:, 0], -1), token[:, 0])
            done |= token[:, 0] == EOS
            if bool(done.all()):
                break
        if return_steps:
            return out, torch.stack(steps, dim=1), torch.stack(features, dim=1)
        return out


def seed_of(case):
    return zlib.crc32(f"translator_{case}".encode("utf-8"))


def config_of(case):
    cell, bidirectional = CASES[case]
    hidden = BIDIRECTIONAL_HIDDEN if bidirectional else CONFIG["hidden"]
    return dict(CONFIG, cell=cell, hidden=hidden, bidirectional=bidirectional, dropout=0.0)


def expected_param_names(case):
    names = ["source_embed.weight", "target_embed.weight"]
    for rnn in ("encoder", "decoder"):
        suffixes = ("", "_reverse") if rnn == "encoder" and CASES[case][1] else ("",)
        for k in range(CONFIG["layers"]):
            for suffix in suffixes:
                names += [f"{rnn}.{w}_l{k}{suffix}"
                          for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return names + ["attention.weight", "head.weight", "head.bias"]


def model_of(case):
    c = config_of(case)
    return Translator(*(c[k] for k in ("cell", "vocab", "embed", "hidden", "layers",
                                       "bidirectional", "dropout")))


def make_batch(sources, targets):
    """The padded tensors of datasets/parallel_corpus.h's make_translation_batch."""
    B = len(sources)
    S = max(len(s) for s in sources)
    T = max(len(t) + 1 for t in targets)
    source = torch.zeros(B, S, dtype=torch.int64)
    target_in = torch.zeros(B, T, dtype=torch.int64)
    target_out = torch.full((B, T), PAD_TARGET, dtype=torch.int64)
    for b, (s, t) in enumerate(zip(sources, targets)):
        source[b, :len(s)] = torch.tensor(s, dtype=torch.int64)
        target_in[b, :len(t) + 1] = torch.tensor([BOS] + list(t), dtype=torch.int64)
        target_out[b, :len(t) + 1] = torch.tensor(list(t) + [EOS], dtype=torch.int64)
    source_lengths = torch.tensor([len(s) for s in sources], dtype=torch.int64)
    target_lengths = torch.tensor([len(t) + 1 for t in targets], dtype=torch.int64)
    return source, source_lengths, target_in, target_lengths, target_out


def eos_adjustment(model, source, source_lengths, max_len, seed):
    """(dw [H], db, stops): what to add to head.weight[EOS] and head.bias[EOS] so that greedy
    decoding ends with EOS mid-way in some rows and runs max_len tokens in another; stops[b] is
    the step at which row b will emit EOS (None: never). A tiny random model's logits hardly move
    from step to step, so a bias alone would end rows at their first step only. Changing the EOS
    row changes nothing but the EOS logit, so a row's path is unchanged up to the first step where
    EOS then wins: where gap = best logit - EOS logit - dw . attended drops below db. dw is drawn
    at random (numpy RandomState(seed)) until such a db exists with every gap 0.02 away from it."""
    tokens, logits, features = model.greedy(source, source_lengths, max_len, return_steps=True)
    assert not (tokens == EOS).any(), "the untouched model already emits EOS"
    gaps0 = (logits.max(dim=-1).values - logits[..., EOS]).numpy()  # [B,max_len], > 0
    features = features.numpy()
    rng = np.random.RandomState(seed)
    for scale in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0):
        for _ in range(200):
            dw = (rng.randn(features.shape[-1]) * scale).astype(np.float32).astype(np.float64)
            gaps = gaps0 - features @ dw
            values = np.sort(gaps.ravel())
            for lo, hi in zip(values, values[1:]):
                if hi - lo < 0.04:
                    continue
                db = float(np.float32((lo + hi) / 2))
                stops = [int(np.nonzero(row)[0][0]) if row.any() else None
                         for row in gaps < db]
                ends = [k for k in stops if k is not None]
                if (ends and None in stops and min(ends) >= 1 and max(ends) >= 2
                        and len(set(ends)) == len(ends)):
                    return dw, db, stops
    raise AssertionError("no EOS adjustment gives mid-way and full-length rows")


@torch.no_grad()
def beam_search(model, source, source_length, width, max_len, alpha):
    """models/beam_search.h's rules for one source (source [1,S]), each step's log-probabilities
    from a teacher-forced forward over the hypothesis' prefix: (tokens of the best finished
    hypothesis, EOS included if it ended with one; the smallest score gap at any choice made)."""
    live, finished, gap = [([], 0.0)], [], float("inf")
    for step in range(max_len):
        candidates = []
        for k, (tokens, score) in enumerate(live):
            prefix = torch.tensor([[BOS] + tokens], dtype=torch.int64)
            logits, _ = model(source, source_length, prefix, torch.tensor([len(tokens) + 1]))
            logp = torch.log_softmax(logits[0, -1], dim=-1).tolist()
            candidates += [(score + lp, k, v) for v, lp in enumerate(logp)]
        candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
        last, next_live, taken = step + 1 == max_len, [], 0
        for i, (score, k, v) in enumerate(candidates):
            tokens = live[k][0] + [v]
            if v == EOS or last:
                finished.append((tokens, score / len(tokens) ** alpha))
                taken += 1
                if last and taken == width:
                    break
                continue
            next_live.append((tokens, score))
            if len(next_live) == width:
                break
        gap = min(gap, candidates[i][0] - candidates[i + 1][0])  # the cut
        live = next_live
        if len(finished) >= width or not live:
            break
    ranked = sorted(set(n for _, n in finished), reverse=True)
    if len(ranked) > 1:
        gap = min(gap, ranked[0] - ranked[1])
    best = max(finished, key=lambda f: f[1])  # the first on a tie
    return best[0], gap


def beam_rows(model, source, source_lengths, width, max_len, alpha):
    """beam_search of each source as "output.greedy"'s layout [B,max_len] (-1 after the EOS),
    and the smallest gap."""
    out = torch.full((source.shape[0], max_len), -1, dtype=torch.int64)
    gap = float("inf")
    for b in range(source.shape[0]):
        s = int(source_lengths[b])
        tokens, g = beam_search(model, source[b:b + 1, :s], source_lengths[b:b + 1], width,
                                max_len, alpha)
        out[b, :len(tokens)] = torch.tensor(tokens, dtype=torch.int64)
        gap = min(gap, g)
    return out, gap


def run_case(case):
    """Builds the model under the case's seed, draws the batch, runs forward + backward and the
    greedy decoding, checks them; returns (tensors, metadata)."""
    seed = seed_of(case)
    torch.manual_seed(seed)
    model = model_of(case).double()
    V, max_len = CONFIG["vocab"], CONFIG["max_len"]
    sources = [torch.randint(32, 127, (n,)).tolist() for n in SOURCE_LENGTHS]
    targets = [torch.randint(32, 127, (n - 1,)).tolist() for n in TARGET_LENGTHS]
    source, source_lengths, target_in, target_lengths, target_out = make_batch(sources, targets)
    B, S = source.shape
    T = target_in.shape[1]
    assert (B, S, T) == (3, max(SOURCE_LENGTHS), max(TARGET_LENGTHS))
    assert len(set(SOURCE_LENGTHS)) == B and len(set(TARGET_LENGTHS)) == B
    assert SOURCE_LENGTHS != sorted(SOURCE_LENGTHS, reverse=True) and min(TARGET_LENGTHS) >= 1

    # Make greedy decoding end with EOS mid-way in some rows (see eos_adjustment).
    dw, db, stops = eos_adjustment(model, source, source_lengths, max_len, seed)
    with torch.no_grad():
        w = model.head.weight[EOS].numpy().astype(np.float32) + dw.astype(np.float32)
        model.head.weight[EOS] = torch.from_numpy(w.astype(np.float64))
        model.head.bias[EOS] = float(np.float32(model.head.bias[EOS].item() + db))

    logits, weights = model(source, source_lengths, target_in, target_lengths)
    loss = F.cross_entropy(logits.reshape(-1, V), target_out.reshape(-1), ignore_index=PAD_TARGET)
    loss.backward()
    assert logits.shape == (B, T, V) and weights.shape == (B, T, S)

    # Self-check 1: exactly 0 attention at the padded source positions, rows summing to 1.
    source_pad = torch.arange(S)[None, :] >= source_lengths[:, None]  # [B,S]
    assert (weights.detach().masked_select(source_pad[:, None, :].expand(B, T, S)) == 0).all()
    assert torch.allclose(weights.detach().sum(-1), torch.ones(B, T, dtype=torch.float64),
                          atol=TOL, rtol=0)
    # Self-check 2: each pair alone, unpadded, gives the same valid steps; so does the loss.
    tokens_seen, nats = 0, 0.0
    with torch.no_grad():
        for b in range(B):
            s, t = int(source_lengths[b]), int(target_lengths[b])
            one_logits, one_weights = model(source[b:b + 1, :s], source_lengths[b:b + 1],
                                            target_in[b:b + 1, :t], target_lengths[b:b + 1])
            assert (logits[b, :t] - one_logits[0]).abs().max() < TOL, (case, b)
            assert (weights[b, :t, :s] - one_weights[0]).abs().max() < TOL, (case, b)
            nats += F.cross_entropy(one_logits[0], target_out[b, :t], reduction="sum").item()
            tokens_seen += t
    assert abs(nats / tokens_seen - loss.item()) < TOL, case
    # Self-check 3: other tokens at the padded positions change nothing at the valid steps.
    target_pad = torch.arange(T)[None, :] >= target_lengths[:, None]
    other_source, other_target = source.clone(), target_in.clone()
    other_source[source_pad] = 65
    other_target[target_pad] = 66
    with torch.no_grad():
        other_logits, other_weights = model(other_source, source_lengths, other_target,
                                            target_lengths)
    assert torch.equal(other_logits[~target_pad], logits.detach()[~target_pad]), case
    assert torch.equal(other_weights[~target_pad], weights.detach()[~target_pad]), case

    # Greedy decoding, checked against teacher-forced forwards over its own growing prefix.
    greedy, step_logits, _ = model.greedy(source, source_lengths, max_len, return_steps=True)
    with torch.no_grad():
        for b in range(B):
            row = greedy[b].tolist()
            n = row.index(EOS) + 1 if EOS in row else max_len
            assert all(x == -1 for x in row[n:]) and -1 not in row[:n], (case, b, row)
            assert n == (max_len if stops[b] is None else stops[b] + 1), (case, b, row, stops)
            s = int(source_lengths[b])
            for k in range(n):
                prefix = torch.tensor([[BOS] + row[:k]], dtype=torch.int64)
                full, _ = model(source[b:b + 1, :s], source_lengths[b:b + 1], prefix,
                                torch.tensor([k + 1]))
                assert (full[0, k] - step_logits[b, k]).abs().max() < TOL, (case, b, k)
                top2 = full[0, k].topk(2).values
                assert int(full[0, k].argmax()) == row[k], (case, b, k)
                assert top2[0] - top2[1] > TIE_GAP, (case, b, k, float(top2[0] - top2[1]))
    assert (greedy == EOS).any() and not (greedy == EOS).any(dim=1).all(), (case, greedy)
    one, _ = beam_rows(model, source, source_lengths, 1, max_len, BEAM_ALPHA)
    assert torch.equal(one, greedy), (case, one, greedy)
    beam, gap = beam_rows(model, source, source_lengths, BEAM_WIDTH, max_len, BEAM_ALPHA)
    assert gap > TIE_GAP, (case, gap)
    assert not torch.equal(beam, greedy), (case, beam)

    state = model.state_dict()
    assert list(state) == expected_param_names(case), (case, list(state))
    params = dict(model.named_parameters())
    tensors = {name: value.detach().numpy().astype(np.float64) for name, value in state.items()}
    for name in state:
        grad = params[name].grad
        assert grad is not None and grad.shape == params[name].shape, (case, name)
        tensors["grad." + name] = grad.detach().numpy().astype(np.float64)
    assert all(np.array_equal(v, v.astype(np.float32)) for k, v in tensors.items()
               if not k.startswith("grad.")), f"{case}: a weight is not float32-representable"
    tensors["input.source"] = source.numpy().astype(np.int64)
    tensors["input.source_lengths"] = source_lengths.numpy().astype(np.int64)
    tensors["input.target_in"] = target_in.numpy().astype(np.int64)
    tensors["input.target_lengths"] = target_lengths.numpy().astype(np.int64)
    tensors["input.target_out"] = target_out.numpy().astype(np.int64)
    tensors["output.logits"] = logits.detach().numpy().astype(np.float64)
    tensors["output.attention"] = weights.detach().numpy().astype(np.float64)
    tensors["output.loss"] = loss.detach().numpy().astype(np.float64).reshape(1)
    tensors["output.greedy"] = greedy.numpy().astype(np.int64)
    tensors["output.beam"] = beam.numpy().astype(np.int64)
    tensors["output.beam_options"] = np.array([BEAM_WIDTH, BEAM_ALPHA], dtype=np.float64)
    config = config_of(case)
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "description": f"Translator ({case}, {CONFIG['layers']} layers, E={CONFIG['embed']}, "
                       f"H={config['hidden']}, Luong dot attention) in float64: B={B} S={S} "
                       f"T={T}, source lengths {SOURCE_LENGTHS}, target lengths "
                       f"{TARGET_LENGTHS}; logits, attention weights, mean cross-entropy over "
                       f"the real target tokens and its gradients; greedy decoding of the "
                       f"sources, at most {max_len} tokens (head.weight[{EOS}] and "
                       f"head.bias[{EOS}] changed so that some rows end with EOS mid-way).",
        "generator": f"python_tools/make_translator_fixture.py (torch {torch.__version__}, "
                     "float64)",
        "seed": str(seed),
    }
    return tensors, metadata


def main():
    torch.set_num_threads(1)  # keep float reductions in one fixed order
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        tensors, metadata = run_case(case)
        path = os.path.join(OUT_DIR, f"translator_{case}.safetensors")
        safetensors_io.write_checked(path, tensors, metadata)
        print(f"wrote {os.path.relpath(path, REPO)}  ({len(tensors)} tensors, "
              f"{os.path.getsize(path)} bytes, loss {tensors['output.loss'][0]:.12f}, "
              f"greedy {tensors['output.greedy'].tolist()}, beam {tensors['output.beam'].tolist()})")


if __name__ == "__main__":
    main()
