"""Stochastic-depth references (torch 1.13), for DropPathTests (Runtime.Tests) and DropPathNetworkTests (Zoo.Tests).

  reference_drop_path.py apply IN.safetensors OUT.safetensors
      IN holds x, mask (N, 1, ...) and rate (a 0-dim float64). Runs timm's drop_path (timm/layers/drop.py, written out
      in reference_blocks.py as timm has it: timm is not installed here) in training mode with bernoulli_ made to draw `mask`, so the
      arithmetic is timm's on the given draws; also runs it in eval. Writes train and eval.
  reference_drop_path.py network SPEC.json
      Builds reference_nets' network for the spec and prints {"drop_path": {module: rate}, "dropout": p} as one JSON
      line: the regularisers the PyTorch side of `bench` trains with.
  reference_drop_path.py linspace RATE,RATE,... FIRST LAST
      Prints one JSON line per rate and count FIRST..LAST (counts fastest):
      [x.item() for x in torch.linspace(0, RATE, COUNT)], timm's per-block rates.
"""
import json
import sys

import torch

import st_io
from reference_blocks import drop_path


def apply(src, dst):
    tensors, _ = st_io.load(src)
    x, mask, rate = tensors["x"], tensors["mask"], float(tensors["rate"].item())
    draws = []
    original = torch.Tensor.bernoulli_

    def given_draws(self, p, *args, **kwargs):
        draws.append(p)
        return self.copy_(mask)

    torch.Tensor.bernoulli_ = given_draws
    try:
        train = drop_path(x, rate, training=True)
    finally:
        torch.Tensor.bernoulli_ = original
    if draws != [1 - rate]:
        raise SystemExit(f"expected one bernoulli_({1 - rate}) draw, got {draws}")
    evaluated = drop_path(x, rate, training=False)
    st_io.save(dst, {"train": train, "eval": evaluated})


def network(spec_path):
    import reference_nets
    from reference_blocks import DropPath
    with open(spec_path) as f:
        spec = json.load(f)
    model = reference_nets.build(spec)
    rates = {name: m.drop_prob for name, m in model.named_modules() if isinstance(m, DropPath)}
    print(json.dumps({"drop_path": rates, "dropout": spec.get("dropout", 0.0)}))


def linspace(rates, counts):
    for rate in rates:
        for n in counts:
            print(json.dumps([v.item() for v in torch.linspace(0, rate, n)]))


if __name__ == "__main__":
    if sys.argv[1] == "apply":
        apply(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "network":
        network(sys.argv[2])
    elif sys.argv[1] == "linspace":
        linspace([float(r) for r in sys.argv[2].split(",")], range(int(sys.argv[3]), int(sys.argv[4]) + 1))
    else:
        raise SystemExit("usage: reference_drop_path.py apply IN OUT | network SPEC | linspace RATE,... FIRST LAST")
