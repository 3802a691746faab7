#!/usr/bin/env python3
"""Fixtures for `recur score`: a PyTorch CharLM (nn.Embedding -> nn.LSTM/nn.GRU, 2 layers,
batch_first -> nn.Linear), saved in recur's checkpoint format, and the bits per character it
gives a text, as a PyTorch user computes it (float32, the whole text as one sequence from a zero
state).

Run with Debian's interpreter:  /usr/bin/python3 python_tools/make_score_fixture.py
Writes tests/data/char_lm/{lstm,gru}_2layer.safetensors, score_text.txt and expected.json.
"""
import json
import math
import os

import torch

import safetensors_io

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "char_lm")
TEXT = ("Hi all,\n\nThe meeting moved to Thursday at 10am in room 4.\n"
        "Please bring the quarterly numbers and your questions.\n\nThanks,\nAnn\n")


class CharLM(torch.nn.Module):
    def __init__(self, cell, vocab, embed, hidden, layers):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, embed)
        rnn = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = rnn(embed, hidden, layers, batch_first=True)
        self.head = torch.nn.Linear(hidden, vocab)

    def forward(self, tokens):
        y, _ = self.rnn(self.embed(tokens))
        return self.head(y)


def bpc(model, ids):
    with torch.no_grad():
        logits = model(torch.tensor([ids[:-1]]))
        loss = torch.nn.functional.cross_entropy(logits[0], torch.tensor(ids[1:]))
    return loss.item() / math.log(2)


def main():
    os.makedirs(OUT, exist_ok=True)
    ids = list(TEXT.encode("utf-8"))
    with open(os.path.join(OUT, "score_text.txt"), "wb") as f:
        f.write(TEXT.encode("utf-8"))
    expected = {}
    for cell in ("lstm", "gru"):
        torch.manual_seed(7)
        config = {"cell": cell, "vocab": 256, "embed": 12, "hidden": 24, "layers": 2,
                  "dropout": 0.0}
        model = CharLM(cell, 256, 12, 24, 2)
        # Trained a little, so the probabilities are far from uniform.
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        x = torch.tensor([ids[:-1]])
        y = torch.tensor(ids[1:])
        for _ in range(40):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x)[0], y).backward()
            opt.step()
        state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
        name = f"{cell}_2layer.safetensors"
        meta = {"format": "recur-checkpoint-1", "checkpoint_id": f"torch-fixture-{cell}",
                "config": json.dumps({"kind": "char_lm", "model": config,
                                      "vocab": {"kind": "bytes"}})}
        safetensors_io.write(os.path.join(OUT, name), state, meta)
        f32 = bpc(model, ids)
        f64 = bpc(model.double(), ids)
        expected[cell] = {"checkpoint": name, "bpc_f32": f32, "bpc_f64": f64}
        print(f"{name}: bpc {f32:.9f} (f64 {f64:.9f})")
    expected["text"] = "score_text.txt"
    expected["torch"] = torch.__version__
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
