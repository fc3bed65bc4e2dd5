"""Parity server for the C# runtime tests.

Reads one request per line on stdin: the path of a case file written by the C# test (safetensors,
metadata: kind, args (JSON), seed).  The case holds the C# block's state dict under "sd.<key>",
the input "input" and the backward projection "proj".  The server builds the reference block,
loads the state dict strictly, runs: eval forward, backward of sum(out * proj) (eval mode), then a
train-mode forward, and writes the results next to the case as <case>.ref.safetensors:
"out.eval", "out.train", "grad.input", "grad.<param>".  It replies with one JSON line:
{"ok": true, "paramCount": n, "stateKeys": [...], "missing": [...], "unexpected": [...],
 "shapeMismatch": [...]} or {"ok": false, "error": "..."}.
"""
import json
import sys
import traceback

import torch

import reference_blocks as R
import st_io

torch.set_num_threads(1)


def run_case(path):
    tensors, meta = st_io.load(path)
    kind = meta["kind"]
    args = json.loads(meta["args"])
    torch.manual_seed(0)
    m = R.build(kind, args)
    ref_sd = m.state_dict()
    sd = {k[3:]: v for k, v in tensors.items() if k.startswith("sd.")}
    missing = sorted(set(ref_sd) - set(sd))
    unexpected = sorted(set(sd) - set(ref_sd))
    mismatch = sorted(k for k in set(sd) & set(ref_sd) if tuple(sd[k].shape) != tuple(ref_sd[k].shape))
    reply = {"ok": True, "paramCount": sum(p.numel() for p in m.parameters()),
             "stateKeys": sorted(ref_sd), "missing": missing, "unexpected": unexpected,
             "shapeMismatch": mismatch}
    if missing or unexpected or mismatch:
        return reply
    m.load_state_dict({k: v.to(ref_sd[k].dtype) for k, v in sd.items()}, strict=True)
    x = tensors["input"].clone().requires_grad_(True)
    proj = tensors["proj"]
    m.eval()
    out = m(x)
    (out * proj).sum().backward()
    res = {"out.eval": out.detach(), "grad.input": x.grad.detach()}
    for name, p in m.named_parameters():
        res["grad." + name] = p.grad.detach() if p.grad is not None else torch.zeros_like(p)
    m.train()
    with torch.no_grad():
        res["out.train"] = m(tensors["input"])
    st_io.save(path + ".ref.safetensors", res)
    return reply


def main():
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        if path == "quit":
            break
        try:
            reply = run_case(path)
        except Exception as e:  # report to the C# side instead of dying
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
