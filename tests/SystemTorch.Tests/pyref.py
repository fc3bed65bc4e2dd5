"""PyTorch side of the SystemTorch reference tests.

Reads a JSON manifest of cases; each case names a safetensors input file, Python code and an output
file. The code runs with `torch`, `nn`, `F`, the inputs `I` (dict of tensors) and fills `out`
(dict of tensors) and `meta` (JSON-able dict). Tensors cross as safetensors files (written here by hand:
8-byte little-endian header length, JSON header, raw little-endian data)."""
import json
import struct
import sys
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

DT = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "BOOL": torch.bool, "U8": torch.uint8}
RDT = {v: k for k, v in DT.items()}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    res = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = DT[info["dtype"]]
        if e > b:
            t = torch.frombuffer(bytearray(body[b:e]), dtype=dt).clone()
        else:
            t = torch.empty(0, dtype=dt)
        res[name] = t.reshape(info["shape"])
    return res


def save(path, tensors):
    header = {}
    chunks = []
    off = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = bytes(t.reshape(-1).view(torch.uint8).tolist()) if t.numel() > 0 else b""
        header[name] = {"dtype": RDT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


def main():
    manifest = json.load(open(sys.argv[1]))
    torch.set_num_threads(int(manifest.get("threads", 1)))
    metas = {}
    for case in manifest["cases"]:
        ins = load(case["input"])
        ns = {"torch": torch, "nn": nn, "F": F, "I": ins, "out": {}, "meta": {},
              "SD": (lambda ins=ins: {k[3:]: v for k, v in ins.items() if k.startswith("sd.")})}
        try:
            exec(case["code"], ns)
        except Exception:
            ns["meta"]["error"] = traceback.format_exc()
        save(case["output"], ns["out"])
        metas[case["name"]] = ns["meta"]
    with open(manifest["meta"], "w") as f:
        json.dump(metas, f)


if __name__ == "__main__":
    main()
