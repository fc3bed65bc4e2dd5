"""Writes the checkpoints the C# weights tests read: a state dict (from SRC, a safetensors file written by C#) saved
by torch.save in the forms checkpoints come in, plus one file per dtype, and files PyBridge cannot read.
Usage: torch_save_cases.py SRC.safetensors OUT_DIR     (prints one JSON line: what PyTorch itself says)"""
import argparse
import collections
import json
import os
import sys
import zipfile

import torch

import st_io

src, out = sys.argv[1], sys.argv[2]
sd, _ = st_io.load(src)
sd = collections.OrderedDict(sorted(sd.items()))


def save(name, obj, **kw):
    torch.save(obj, os.path.join(out, name), **kw)


def without_counters(d):
    return collections.OrderedDict((k, v) for k, v in d.items() if not k.endswith("num_batches_tracked"))


save("plain.pth", sd)                                              # the zip format (PyTorch >= 1.6)
save("legacy.pth", sd, _use_new_zipfile_serialization=False)       # the pickle-only format
st_io.save(os.path.join(out, "plain.safetensors"), sd)
save("no_counters.pt", without_counters(sd))
save("dataparallel.pth", collections.OrderedDict(("module." + k, v) for k, v in sd.items()))
save("wrapped_state_dict.pth", {                                   # timm's train.py layout
    "epoch": 90, "arch": "bottleneck", "state_dict": sd,
    "state_dict_ema": collections.OrderedDict((k, torch.zeros_like(v)) for k, v in sd.items()),
    "optimizer": {"state": {0: {"momentum_buffer": torch.ones(3)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
    "args": argparse.Namespace(lr=0.1, model="bottleneck"), "metric": 77.5, "version": 2})
save("wrapped_model.pth", {"model": sd, "optimizer": {"lr": 0.1}, "epoch": 3})  # the official DeiT/ConvNeXt layout
# Many training scripts keep an EMA copy that starts as (or stays) the same tensors: both entries pickle the same objects.
save("shared_ema.pth", {"state_dict": sd, "state_dict_ema": collections.OrderedDict(sd), "epoch": 3})
# A bare tensor (torch.save(x)), as an input batch is often saved; its values are in bare_tensor.safetensors.
bare = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(5))
save("bare_tensor.pt", bare)
st_io.save(os.path.join(out, "bare_tensor.safetensors"), {"x": bare})
save("not_a_state_dict.pth", {"epoch": 3, "weights": [torch.ones(2)], "args": argparse.Namespace(lr=0.1)})
# Lower/higher precision of the same kind loads (converted, as copy_ does); another kind is a dtype problem.
save("half.pth", collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()))
bad = collections.OrderedDict(sd)
bad["bn1.running_mean"] = bad["bn1.running_mean"].long()
bad["bn2.num_batches_tracked"] = bad["bn2.num_batches_tracked"].float()
save("dtype_kinds.pth", bad)
# Missing, unexpected and wrong-shape keys.
bad = without_counters(sd)
del bad["conv1.weight"], bad["bn3.bias"]
bad["fc.weight"] = torch.ones(2, 2)
bad["bn2.weight"] = torch.ones(3)
save("mismatch.pth", bad)
# What PyBridge 1.4.4 cannot read: non-contiguous tensors and views into a larger storage.
cl = collections.OrderedDict(sd)
cl["conv2.weight"] = cl["conv2.weight"].contiguous(memory_format=torch.channels_last)
save("channels_last.pth", cl)
base = torch.arange(20.0)
save("shared_storage.pth", {"a": base, "b": base[5:11].reshape(2, 3)})

dtypes = {
    "f32": torch.randn(3, 4), "f64": torch.randn(4, dtype=torch.float64), "f16": torch.randn(2, 5).half(),
    "bf16": torch.randn(5, 2).bfloat16(), "i64": torch.arange(-3, 9).reshape(3, 4), "i32": torch.arange(6, dtype=torch.int32),
    "u8": torch.arange(250, 256).to(torch.uint8), "bool": torch.randn(7) > 0, "scalar": torch.tensor(3.5),
    "num_batches_tracked": torch.tensor(12345678901), "empty": torch.zeros(0, 3),
}
save("dtypes.pt", dtypes)
# PyTorch 2.x writes the same data.pkl and data/<key> records under "archive/" and adds byteorder (2.1) and
# .data/serialization_id (2.3); only 1.13 is installed here, so dtypes.pt is rewritten into that layout.
with zipfile.ZipFile(os.path.join(out, "dtypes.pt")) as z13, \
        zipfile.ZipFile(os.path.join(out, "dtypes_2x_layout.pt"), "w", zipfile.ZIP_STORED) as z2:
    for info in z13.infolist():
        z2.writestr("archive/" + info.filename.split("/", 1)[1], z13.read(info.filename))
    z2.writestr("archive/byteorder", "little")
    z2.writestr("archive/.data/version", "3\n")
    z2.writestr("archive/.data/serialization_id", "0123456789012345678901234567890123456789")
st_io.save(os.path.join(out, "dtypes.safetensors"), dtypes)        # the reference for dtypes.pt: same values, other reader

# PyTorch's own strict load accepts a BatchNorm state dict without num_batches_tracked (and keeps the counter).
bn = torch.nn.BatchNorm2d(4)
bn.num_batches_tracked.fill_(7)
result = bn.load_state_dict(without_counters(bn.state_dict()), strict=True)
print(json.dumps({"torch": torch.__version__, "strictWithoutCounter": str(result),
                  "counterAfter": int(bn.num_batches_tracked)}))
