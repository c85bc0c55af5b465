"""Loads a GPT checkpoint written by `neural train --data shakespeare` into the reference GPT class
(Scripts/gpt_reference.py, the layout of ../shared/peers/train_gpt_shakespeare.py) with strict=True,
and writes what the Swift test compares (Tests/NeuralTests/CLI/TextCLITests.swift):

  OUT/torch_logits.safetensors   ids [2, context] (int64) and torch's logits [2, context, vocab]
  stdout                          strict=ok, then greedy=<JSON string of 100 characters after the prompt>

  python Scripts/gpt_interop.py CHECKPOINT OUT_DIR [PROMPT]
"""
import json
import pathlib
import re
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from gpt_reference import GPT, greedy  # noqa: E402

ckpt, out = sys.argv[1], pathlib.Path(sys.argv[2])
prompt = sys.argv[3] if len(sys.argv) > 3 else "ROMEO:"
with safe_open(ckpt, "pt") as f:
    meta = f.metadata()
vocab = json.loads(meta["neural.tokenizer"])["vocabulary"]
sizes = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", meta["neural.model"]))
ctx = sizes["context"]
model = GPT(len(vocab), ctx, sizes["layers"], sizes["heads"], sizes["dim"])
model.load_state_dict(load_file(ckpt), strict=True)
model.eval()
print("strict=ok")
gen = torch.Generator().manual_seed(0)
ids = torch.randint(0, len(vocab), (2, ctx), generator=gen)
with torch.no_grad():
    logits = model(ids)
save_file({"ids": ids, "logits": logits.contiguous()}, str(out / "torch_logits.safetensors"))
stoi = {c: i for i, c in enumerate(vocab)}
text = "".join(vocab[i] for i in greedy(model, [stoi[c] for c in prompt], 100, ctx))
print("greedy=" + json.dumps(text))
