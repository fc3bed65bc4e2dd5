"""Parity server for the C# runtime and zoo tests.

Reads one request per line on stdin: the path of a case file written by the C# test (safetensors).  The case holds
the C# module's state dict under "sd.<key>" and the input "input".  Two kinds of case:

* a block (metadata: kind, args (JSON)), with the backward projection "proj": the server builds the reference
  block, runs an eval forward, backward of sum(out * proj) in eval mode, then a train-mode forward, and writes
  "out.eval", "out.train", "grad.input", "grad.<param>";
* a whole network (metadata: spec, the ArchSpecJson of the architecture), with class labels "labels": the server
  builds reference_nets.build(spec), converts it to float64 (see ZooParityTests for why) and writes the eval
  forward "out.eval"; then one training step: train-mode forward (batch statistics) "step.out", cross-entropy
  against the labels "step.loss", backward: "grad.input", "grad.<param>", and every buffer after the step as
  "state.<buffer>".

Results go next to the case as <case>.ref.safetensors.  The state dict loads strictly: when keys or shapes differ
nothing runs.  Reply, one JSON line: {"ok": true, "paramCount": n, "stateKeys": [...], "missing": [...],
"unexpected": [...], "shapeMismatch": ["key: C# [..] vs reference [..]", ...]} or {"ok": false, "error": "..."}.
"""
import json
import sys
import traceback

import torch
import torch.nn.functional as F

import attention_slot_reference as S
import reference_blocks as R
import reference_nets
import st_io

# One thread: torch 1.13's CPU kernels for float64 and grouped convolutions get far slower with more
# (VAN-B0's float64 eval forward and training step: 4.7 s on 1 thread, 177 s on 2).
torch.set_num_threads(1)


def load_strict(m, tensors):
    """Loads the C# state dict into m; returns the reply, with every difference named, and whether it loaded."""
    ref_sd = m.state_dict()
    sd = {k[3:]: v for k, v in tensors.items() if k.startswith("sd.")}
    missing = sorted(set(ref_sd) - set(sd))
    unexpected = sorted(set(sd) - set(ref_sd))
    mismatch = sorted(f"{k}: C# {list(sd[k].shape)} vs reference {list(ref_sd[k].shape)}"
                      for k in set(sd) & set(ref_sd) if tuple(sd[k].shape) != tuple(ref_sd[k].shape))
    reply = {"ok": True, "paramCount": sum(p.numel() for p in m.parameters()),
             "stateKeys": sorted(ref_sd), "missing": missing, "unexpected": unexpected,
             "shapeMismatch": mismatch}
    if missing or unexpected or mismatch:
        return reply, False
    m.load_state_dict({k: v.to(ref_sd[k].dtype) for k, v in sd.items()}, strict=True)
    return reply, True


def param_grads(m):
    return {"grad." + name: p.grad.detach() if p.grad is not None else torch.zeros_like(p)
            for name, p in m.named_parameters()}


def run_block(path, tensors, meta):
    torch.manual_seed(0)
    build = S.build if meta["kind"] in S.KINDS else R.build
    m = build(meta["kind"], json.loads(meta["args"]))
    reply, loaded = load_strict(m, tensors)
    if not loaded:
        return reply
    x = tensors["input"].clone().requires_grad_(True)
    m.eval()
    out = m(x)
    (out * tensors["proj"]).sum().backward()
    res = {"out.eval": out.detach(), "grad.input": x.grad.detach(), **param_grads(m)}
    m.train()
    with torch.no_grad():
        res["out.train"] = m(tensors["input"])
    st_io.save(path + ".ref.safetensors", res)
    return reply


def run_net(path, tensors, meta):
    m = reference_nets.build(json.loads(meta["spec"]))
    reply, loaded = load_strict(m, tensors)
    if not loaded:
        return reply
    m.double()
    x = tensors["input"].double().requires_grad_(True)
    m.eval()
    with torch.no_grad():
        out_eval = m(x)
    m.train()
    logits = m(x)
    loss = F.cross_entropy(logits, tensors["labels"])
    loss.backward()
    res = {"out.eval": out_eval, "step.out": logits.detach(), "step.loss": loss.detach(), "grad.input": x.grad.detach(),
           **param_grads(m)}
    res.update({"state." + name: b.detach() for name, b in m.named_buffers()})
    st_io.save(path + ".ref.safetensors", res)
    return reply


def run_case(path):
    tensors, meta = st_io.load(path)
    return run_net(path, tensors, meta) if "spec" in meta else run_block(path, tensors, meta)


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
