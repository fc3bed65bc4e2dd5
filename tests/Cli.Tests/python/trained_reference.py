"""Loads a checkpoint written by `torchwright train` into the PyTorch reference network of its architecture
(tests/Runtime.Tests/python/reference_nets.py, built from the architecture's spec JSON) with
load_state_dict(strict=True), runs the tensor "input" in eval mode and writes the logits as "output".
Usage: trained_reference.py SPEC.json WEIGHTS.safetensors INPUT.safetensors OUTPUT.safetensors"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Runtime.Tests", "python"))
import reference_nets  # noqa: E402
import st_io  # noqa: E402

spec_path, weights, inp, out = sys.argv[1:5]
with open(spec_path, encoding="utf-8") as f:
    model = reference_nets.build(json.load(f)).float()
state, _ = st_io.load(weights)
model.load_state_dict(state, strict=True)  # raises on any missing, unexpected or reshaped key
model.eval()
x, _ = st_io.load(inp)
with torch.no_grad():
    y = model(x["input"])
st_io.save(out, {"output": y})
print(f"strict load: {len(state)} tensors")
