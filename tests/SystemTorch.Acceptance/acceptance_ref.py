"""PyTorch replica of SystemTorch.Acceptance: trains the same net from the same initial state and data,
then compares losses, final parameters/buffers, eval logits (to 1e-4) and state_dict keys."""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DT = {"F32": torch.float32, "I64": torch.int64}


def load(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    res = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[b:e]), dtype=DT[info["dtype"]]).clone() if e > b else torch.empty(0, dtype=DT[info["dtype"]])
        res[name] = t.reshape(info["shape"])
    return res


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.norm = nn.LayerNorm(16)
        self.qkv = nn.Linear(16, 48)
        self.proj = nn.Linear(16, 16)
        self.head = nn.Linear(16, 5)

    def forward(self, x):
        n = x.shape[0]
        y = F.relu(self.bn(self.stem(x)))
        t = y.flatten(2).transpose(1, 2)
        l = t.shape[1]
        h = self.norm(t)
        qkv = self.qkv(h).view(n, l, 3, 2, 8).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (torch.einsum("bhqd,bhkd->bhqk", q, k) * 8 ** -0.5).softmax(-1)
        o = torch.einsum("bhqk,bhkd->bhqd", att, v).transpose(1, 2).reshape(n, l, 16)
        t = t + self.proj(o)
        return self.head(t.mean(1))


def main(d):
    torch.set_num_threads(1)
    init = load(f"{d}/init.safetensors")
    final = load(f"{d}/final.safetensors")
    cs_keys = json.load(open(f"{d}/keys.json"))
    net = Net()
    net.load_state_dict({k[3:]: v for k, v in init.items() if k.startswith("sd.")}, strict=True)
    opt = torch.optim.SGD(net.parameters(), 0.05, momentum=0.9, weight_decay=1e-4)
    losses = []
    net.train()
    for _ in range(4):
        opt.zero_grad()
        loss = F.cross_entropy(net(init["x"]), init["target"], label_smoothing=0.1)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        logits = net(init["x"])
    failures = []
    keys = list(net.state_dict().keys())
    if keys != cs_keys:
        failures.append(f"state_dict keys differ:\n  pytorch: {keys}\n  systemtorch: {cs_keys}")

    def close(name, a, b, tol=1e-4):
        a = a.double(); b = b.double()
        err = ((a - b).abs() / b.abs().clamp(min=1.0)).max().item() if a.numel() else 0.0
        if a.shape != b.shape or err > tol:
            failures.append(f"{name}: max error {err:.3g} (shape {tuple(a.shape)} vs {tuple(b.shape)})")
        return err

    worst = 0.0
    worst = max(worst, close("losses", final["__losses"], torch.tensor(losses)))
    worst = max(worst, close("eval_logits", final["__eval_logits"], logits))
    for k, v in net.state_dict().items():
        worst = max(worst, close(k, final[k], v))
    print(f"pytorch losses: {', '.join(f'{x:.5f}' for x in losses)}")
    print(f"max relative error vs PyTorch: {worst:.3g}; keys equal: {keys == cs_keys}")
    if failures:
        print("ACCEPTANCE FAILED\n" + "\n".join(failures))
        sys.exit(1)
    print("ACCEPTANCE PASSED")


if __name__ == "__main__":
    main(sys.argv[1])
