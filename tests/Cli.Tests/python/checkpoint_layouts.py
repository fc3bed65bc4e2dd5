"""Writes a state dict and an input batch (both from safetensors files written by C#) in the layouts that training
scripts and users save with torch.save. Usage: checkpoint_layouts.py WEIGHTS.safetensors INPUT.safetensors OUT_DIR"""
import collections
import os
import sys

# st_io (safetensors in and out) is the product's own, beside bench's PyTorch reference.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "src", "Cli", "python"))
import st_io  # noqa: E402

import torch  # noqa: E402

weights, batch, out = sys.argv[1], sys.argv[2], sys.argv[3]
sd, _ = st_io.load(weights)
sd = collections.OrderedDict(sorted(sd.items()))
x = st_io.load(batch)[0]["input"]

# The EMA copy made with dict(sd): both entries pickle the same tensor objects.
torch.save({"state_dict": sd, "state_dict_ema": collections.OrderedDict(sd), "epoch": 90}, os.path.join(out, "shared_ema.pth"))
torch.save(x, os.path.join(out, "bare.pt"))                                      # a bare tensor
torch.save({"input": x.double()}, os.path.join(out, "f64.pt"))                   # the same values in float64
torch.save({"input": x.half()}, os.path.join(out, "f16.pt"))
torch.save({"input": x[:, :1].contiguous()}, os.path.join(out, "one_channel.pt"))  # the wrong size
