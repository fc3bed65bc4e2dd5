"""Writes torchvision's resnet50 (its own code; seeded random weights, since nothing can be downloaded here) as
safetensors, an input batch, and torchvision's eval-mode logits, for the `torchwright infer` parity test; and, when
named, the state dict as torch.save writes it (pth: weights.pth), a timm-style training checkpoint of it without
num_batches_tracked buffers (checkpoint: checkpoint.pth.tar) and a state dict with a missing, an unexpected and a
reshaped key (mismatch: mismatch.pt).
Usage: torchvision_resnet50.py OUT_DIR [pth] [checkpoint] [mismatch]"""
import os
import sys

import torch
import torchvision

import st_io  # src/Cli/python, on PYTHONPATH (InferTests.RunPython)

out = sys.argv[1]
torch.manual_seed(0)
model = torchvision.models.resnet50()
# Non-trivial BatchNorm statistics, so the test notices if running stats are not loaded.
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.0)
model.eval()
x = torch.randn(2, 3, 224, 224)
with torch.no_grad():
    y = model(x)
st_io.save(os.path.join(out, "weights.safetensors"), model.state_dict())
st_io.save(os.path.join(out, "input.safetensors"), {"input": x})
st_io.save(os.path.join(out, "expected.safetensors"), {"expected": y})
extras = sys.argv[2:]
sd = model.state_dict()
no_counters = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
if "pth" in extras:
    torch.save(sd, os.path.join(out, "weights.pth"))
if "checkpoint" in extras:
    torch.save({"epoch": 90, "arch": "resnet50", "state_dict": no_counters, "optimizer": {"lr": 0.1}},
               os.path.join(out, "checkpoint.pth.tar"))
if "mismatch" in extras:
    bad = dict(no_counters)
    del bad["fc.bias"]
    bad["fc.extra"] = torch.zeros(3)
    bad["conv1.weight"] = bad["conv1.weight"][:, :, 2:5, 2:5].clone()
    torch.save(bad, os.path.join(out, "mismatch.pt"))
