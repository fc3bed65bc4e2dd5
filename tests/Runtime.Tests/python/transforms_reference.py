"""torchvision 0.14 (PIL back end) outputs for the input pipeline's deterministic transforms.

Usage: transforms_reference.py DIR
DIR/cases.json lists cases; each names a raw RGB input (DIR/<input>.rgb, width x height, interleaved uint8) or an image
file loaded with torchvision's ImageFolder loader (PIL convert("RGB")), and a transform; the result goes to
DIR/<name>.out: uint8 interleaved RGB for PIL results (with DIR/<name>.size holding "W H"), float32 planar for tensors.
"""
import json
import math
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.datasets.folder import default_loader
from torchvision.transforms import functional as F
from torchvision.transforms.autoaugment import _apply_op

torch.set_num_threads(1)
MODES = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}


def load(d, case):
    if "file" in case:
        return default_loader(case["file"])
    w, h = case["width"], case["height"]
    raw = open(os.path.join(d, case["input"] + ".rgb"), "rb").read()
    return Image.frombytes("RGB", (w, h), raw)


def run(d, case):
    img = load(d, case)
    op = case["op"]
    mode = MODES[case.get("interpolation", "bilinear")]
    if op == "resize":
        out = T.Resize([case["h"], case["w"]], interpolation=mode)(img)
    elif op == "resize_shorter":
        out = T.Resize(case["size"], interpolation=mode)(img)
    elif op == "center_crop":
        out = T.CenterCrop([case["h"], case["w"]])(img)
    elif op == "resized_crop":
        out = F.resized_crop(img, case["top"], case["left"], case["h"], case["w"], [case["size"], case["size"]], interpolation=mode)
    elif op == "hflip":
        out = F.hflip(img)
    elif op == "auto_augment_op":
        out = _apply_op(img, case["aug"], case["magnitude"], T.InterpolationMode.NEAREST, None)
    elif op == "rgb":
        out = img
    elif op == "normalize":
        out = T.Compose([T.ToTensor(), T.Normalize(case["mean"], case["std"])])(img)
    elif op == "eval":
        size = case["size"]
        out = T.Compose([
            T.Resize(math.floor(size / case["crop_pct"]), interpolation=mode),
            T.CenterCrop(size),
            T.ToTensor(),
            T.Normalize(case["mean"], case["std"]),
        ])(img)
    else:
        raise ValueError(op)
    path = os.path.join(d, case["name"])
    if isinstance(out, torch.Tensor):
        out.numpy().astype(np.float32).tofile(path + ".out")
    else:
        assert out.mode == "RGB", out.mode
        open(path + ".out", "wb").write(out.tobytes())
        open(path + ".size", "w").write(f"{out.size[0]} {out.size[1]}")


def main():
    d = sys.argv[1]
    for case in json.load(open(os.path.join(d, "cases.json"))):
        run(d, case)
    print("ok")


if __name__ == "__main__":
    main()
