"""PyTorch 1.13 reference of Torchwright's training recipe, for RecipeParityTests: the same small model from the same
initial weights, trained on the same full-dataset batches with torch.optim (SGD with Nesterov momentum, or AdamW),
weight decay on parameters of rank >= 2 only (timm's param_groups_weight_decay), CrossEntropyLoss with label
smoothing, torch.nn.utils.clip_grad_norm_ and a weight EMA as timm's ModelEmaV2 (decay*ema + (1-decay)*model for
floating-point entries; integer buffers copied).

    python3 reference_recipe.py DIR     reads DIR/case.json, DIR/init.safetensors, DIR/data.safetensors;
                                        writes DIR/expected.safetensors (model/NAME and ema/NAME after the last step)
"""
import json
import os
import sys

import torch
import torch.nn as nn

import st_io


class Net(nn.Module):
    """Flatten, Linear(12, 6) without bias (a bias before BatchNorm gets a zero gradient, whose rounding noise AdamW
    would amplify), BatchNorm1d(6), ReLU, Linear(6, 3): the C# side's nn.Sequential, same state-dict names."""

    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(nn.Flatten(), nn.Linear(12, 6, bias=False), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))

    def forward(self, x):
        return self.seq(x)


def main(d):
    case = json.load(open(os.path.join(d, "case.json")))
    init, _ = st_io.load(os.path.join(d, "init.safetensors"))
    data, _ = st_io.load(os.path.join(d, "data.safetensors"))
    model = Net()
    # The C# names are the Sequential's indices ("1.weight"); ours sit under "seq.".
    model.load_state_dict({"seq." + k: v for k, v in init.items()}, strict=True)
    model.train()
    named = [(n, p) for n, p in model.named_parameters()]
    decay = [p for n, p in named if p.ndim >= 2]
    no_decay = [p for n, p in named if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": case["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    if case["opt"] == "adamw":
        opt = torch.optim.AdamW(groups, lr=case["lrs"][0], betas=tuple(case["betas"]), eps=case["eps"])
    else:
        opt = torch.optim.SGD(groups, lr=case["lrs"][0], momentum=case["momentum"], nesterov=case["nesterov"])
    loss_fn = nn.CrossEntropyLoss(label_smoothing=case["label_smoothing"])
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x, y = data["images"], data["labels"]
    for lr in case["lrs"]:
        for g in opt.param_groups:
            g["lr"] = lr
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        if case["clip_grad"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), case["clip_grad"])
        opt.step()
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if v.is_floating_point():
                    ema[k] = case["ema"] * ema[k] + (1 - case["ema"]) * v
                else:
                    ema[k] = v.clone()
    out = {"model/" + k[len("seq."):]: v for k, v in model.state_dict().items()}
    out.update({"ema/" + k[len("seq."):]: v for k, v in ema.items()})
    st_io.save(os.path.join(d, "expected.safetensors"), out)


if __name__ == "__main__":
    main(sys.argv[1])
