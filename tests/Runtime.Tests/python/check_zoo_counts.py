"""Builds the seed networks out of the reference blocks and checks their parameter counts against
the acceptance numbers in shared/reference.md.  This validates the reference blocks themselves
(structure, widths, which layers have biases) independently of the C# runtime."""
import sys

import torch.nn as nn

import reference_blocks as R


def count(m):
    return sum(p.numel() for p in m.parameters())


def resnet_like(block, stem, extra=None):
    layers = [stem]
    cin = 64
    for i, (depth, width) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512])):
        for j in range(depth):
            s = (1 if i == 0 else 2) if j == 0 else 1
            layers.append(block(i, j, cin, width, width * 4, s))
            cin = width * 4
    layers.append(nn.Linear(2048, 1000))
    return nn.Sequential(*layers)


def tv_stem():
    return nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64))


def deep_stem():
    return nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32),
                         nn.Conv2d(32, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32),
                         nn.Conv2d(32, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64))


def bot(i, j, cin, w, cout, s):
    if i == 3:
        size = 14 if j == 0 else 7
        return R.BotBottleneck(cin, w, cout, s, 4, size, size, R.CONV)
    return R.Bottleneck(cin, w, cout, s, 1, R.CONV)


def van(dims, depths, ratios):
    layers = []
    cin = 3
    for i in range(4):
        layers.append(R.OverlapPatchEmbed(cin, dims[i], 7 if i == 0 else 3, 4 if i == 0 else 2))
        layers += [R.VanBlock(dims[i], ratios[i], 21, 3, 1e-2) for _ in range(depths[i])]
        layers.append(nn.LayerNorm(dims[i], eps=1e-6))
        cin = dims[i]
    layers.append(nn.Linear(dims[3], 1000))
    return nn.Sequential(*layers)


def rest(depths, paper_stem):
    dims, heads, srs = [64, 128, 256, 512], [1, 2, 4, 8], [8, 4, 2, 1]
    layers = [R.RestPaperStem(3, 64) if paper_stem else R.RestStem(3, 64)]
    for i in range(4):
        if i > 0:
            layers.append(R.RestPatchEmbed(dims[i - 1], dims[i]))
        layers += [R.RestBlock(dims[i], heads[i], 4, srs[i], True) for _ in range(depths[i])]
    layers += [nn.LayerNorm(512), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def main():
    nets = {
        "ResNet-50": (resnet_like(lambda i, j, a, w, b, s: R.Bottleneck(a, w, b, s, 1, R.CONV), tv_stem()), 25557032),
        "BoT50": (resnet_like(bot, tv_stem()), 20852008),
        "ResNeSt-50": (resnet_like(lambda i, j, a, w, b, s: R.SplitAttnBottleneck(a, w, b, s, 2, 1, True, R.AVGDOWN), deep_stem()), 27483240),
        "CoTNet-50": (resnet_like(lambda i, j, a, w, b, s: R.CotBottleneck(a, w, b, s, R.CONV), tv_stem()), 22222416),
        "VAN-B0": (van([32, 64, 160, 256], [3, 3, 5, 2], [8, 8, 4, 4]), 4105800),
        "VAN-B1": (van([64, 128, 320, 512], [2, 2, 4, 2], [8, 8, 4, 4]), 13861800),
        "ResT-Lite (paper stem)": (rest([2, 2, 2, 2], True), 10489196),
        "ResT-Lite (released stem)": (rest([2, 2, 2, 2], False), 10508300),
        "ResT-Small (paper stem)": (rest([2, 2, 6, 2], True), 13660604),
        "ResT-Small (released stem)": (rest([2, 2, 6, 2], False), 13679708),
    }
    bad = 0
    for name, (net, expected) in nets.items():
        got = count(net)
        ok = got == expected
        bad += not ok
        print(f"{'OK ' if ok else 'BAD'} {name}: {got:,} (reference {expected:,})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
