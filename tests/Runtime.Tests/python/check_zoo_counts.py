"""Builds the seed networks with reference_nets from the papers' published configurations (written down here,
independently of architectures/*.arch) and checks their parameter counts against the published models' (the
README's zoo table).  This pins the reference blocks and the reference network layouts to the published models
independently of the C# runtime and of the DSL; ZooParityTests then compares the C# modules with these networks."""
import sys

import reference_nets

DEPTHS, WIDTHS, STRIDES = [3, 4, 6, 3], [64, 128, 256, 512], [1, 2, 2, 2]


# What a plain ResNet-family block carries in a version-2 spec besides its kind's settings.
OPTIONS = {"activation": "relu", "attention": "none", "attention_channels": 0, "attention_kernel": 0, "attention_at": "out", "dilation": 1}


def net(family, stem, stages, stem_width=64):
    widths = [32, 32, stem_width] if stem == "deep" else [stem_width]
    return {"spec_version": 2, "name": "published", "family": family, "input": [3, 224, 224], "stem": stem,
            "stem_width": stem_width, "stem_widths": widths, "stem_activation": "relu", "classes": 1000,
            "stages": stages}


def resnet(stem, block):
    """A ResNet-50 layout; block(stage, index, in_channels, width, stride) gives a block's kind-specific fields."""
    stages, cin = [], 64
    for i, (depth, width, stride) in enumerate(zip(DEPTHS, WIDTHS, STRIDES)):
        blocks = []
        for j in range(depth):
            s = stride if j == 0 else 1
            blocks.append({"in_channels": cin, "width": width, "out_channels": 4 * width, "stride": s,
                           **OPTIONS, **block(i, j, cin, width, s)})
            cin = 4 * width
        stages.append({"name": f"c{i + 2}", "in_channels": blocks[0]["in_channels"], "out_channels": 4 * width,
                       "stride": stride, "patch_kernel": 0, "blocks": blocks})
    return net("resnet", stem, stages)


def bottleneck(i, j, cin, width, s):
    return {"kind": "Bottleneck", "cardinality": 1, "shortcut": "conv"}


def bot(i, j, cin, width, s):
    if i < 3:
        return bottleneck(i, j, cin, width, s)
    size = 14 if j == 0 else 7  # c5 attends over the 14x14 map in its strided first block, 7x7 after
    return {"kind": "BotBottleneck", "heads": 4, "qk_head_dim": 0, "shortcut": "conv", "input": [cin, size, size]}


def splat(i, j, cin, width, s):
    return {"kind": "SplitAttnBottleneck", "radix": 2, "cardinality": 1, "avd": True, "avd_first": False,
            "shortcut": "avgdown"}


def cot(i, j, cin, width, s):
    return {"kind": "CotBottleneck", "cardinality": 1, "shortcut": "conv"}


def van(dims, depths):
    stages, cin = [], 3
    for i, (dim, depth, ratio) in enumerate(zip(dims, depths, [8, 8, 4, 4])):
        blocks = [{"kind": "VanBlock", "width": dim, "mlp_ratio": ratio, "lka_kernel": 21, "lka_dilation": 3,
                   "layer_scale": 1e-2} for _ in range(depth)]
        stages.append({"name": f"c{i + 2}", "in_channels": cin, "out_channels": dim, "stride": 4 if i == 0 else 2,
                       "patch_kernel": 7 if i == 0 else 3, "blocks": blocks})
        cin = dim
    return net("van", "none", stages, stem_width=0)


def rest(depths, stem):
    stages, cin = [], 64
    for i, (dim, depth, heads, sr) in enumerate(zip(WIDTHS, depths, [1, 2, 4, 8], [8, 4, 2, 1])):
        blocks = [{"kind": "RestBlock", "width": dim, "heads": heads, "mlp_ratio": 4, "sr_ratio": sr,
                   "qkv_bias": True} for _ in range(depth)]
        stages.append({"name": f"c{i + 2}", "in_channels": cin, "out_channels": dim, "stride": 1 if i == 0 else 2,
                       "patch_kernel": 0, "blocks": blocks})
        cin = dim
    return net("rest", stem, stages)


def main():
    nets = {
        "ResNet-50": (resnet("resnet", bottleneck), 25557032),
        "BoT50": (resnet("resnet", bot), 20852008),
        "ResNeSt-50": (resnet("deep", splat), 27483240),
        "CoTNet-50": (resnet("resnet", cot), 22222416),
        "VAN-B0": (van([32, 64, 160, 256], [3, 3, 5, 2]), 4105800),
        "VAN-B1": (van([64, 128, 320, 512], [2, 2, 4, 2]), 13861800),
        "ResT-Lite (paper stem)": (rest([2, 2, 2, 2], "rest_paper"), 10489196),
        "ResT-Lite (released stem)": (rest([2, 2, 2, 2], "rest"), 10508300),
        "ResT-Small (paper stem)": (rest([2, 2, 6, 2], "rest_paper"), 13660604),
        "ResT-Small (released stem)": (rest([2, 2, 6, 2], "rest"), 13679708),
    }
    bad = 0
    for name, (spec, expected) in nets.items():
        got = reference_nets.count(reference_nets.build(spec))
        ok = got == expected
        bad += not ok
        print(f"{'OK ' if ok else 'BAD'} {name}: {got:,} (reference {expected:,})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
