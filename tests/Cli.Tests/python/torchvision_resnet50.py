"""Writes torchvision's resnet50 (its own code; seeded random weights, since nothing can be downloaded here) as
safetensors, an input batch, and torchvision's eval-mode logits, for the `torchwright infer` parity test.
Usage: torchvision_resnet50.py OUT_DIR"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "Runtime.Tests", "python"))
import st_io  # noqa: E402

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
