"""Assembles CoTNeXt-50/101 (2x48d, JDAI-CV cotnext50_2x48d / cotnext101_2x48d) and timm's avd_first ResNeSt
variants (resnest50d_1s4x24d, resnest50d_4s2x40d) from the reference blocks, in the published layouts written down
here, and checks their exact parameter counts and MACs at 224x224.

MAC convention (docs/cli.md, summary): multiply-accumulates of conv and linear layers, plus the CoT local
aggregation (C·k² per output position); BatchNorm, GroupNorm, activations, pooling and the elementwise attention
products are not counted.  1 MAC = 2 FLOPs.  The published "FLOPs" of CoTNet's README and timm's "GMACs" are MACs
in this sense (CoTNet-50: README 3.3, this count 3.24 G).

Exit 1 when a parameter count differs from the pinned exact value or a MAC count by more than 0.1 %.
"""
import sys

import torch
import torch.nn as nn

import reference_blocks as R
import reference_cotnext as RC
import reference_nets

STRIDES = [1, 2, 2, 2]
# What a plain ResNet-family block carries in a version-2 spec besides its kind's settings.
OPTIONS = {"activation": "relu", "attention": "none", "attention_channels": 0, "attention_kernel": 0, "attention_at": "out", "dilation": 1}
PLANES = [64, 128, 256, 512]


def resnet(stem, depths, block, cardinality, base_width, shortcut):
    """timm ResNet layout: width = floor(planes·base_width/64)·cardinality, out = 4·planes; stride on the first
    block of c3..c5."""
    stages, cin = [], 64
    for i, (depth, planes, stride) in enumerate(zip(depths, PLANES, STRIDES)):
        width = planes * base_width // 64 * cardinality
        blocks = []
        for j in range(depth):
            s = stride if j == 0 else 1
            blocks.append({"in_channels": cin, "width": width, "out_channels": 4 * planes, "stride": s,
                           "shortcut": shortcut, "cardinality": cardinality, **OPTIONS, **block})
            cin = 4 * planes
        stages.append({"name": f"c{i + 2}", "in_channels": blocks[0]["in_channels"], "out_channels": 4 * planes,
                       "stride": stride, "patch_kernel": 0, "blocks": blocks})
    return {"spec_version": 2, "name": "published", "family": "resnet", "input": [3, 224, 224], "stem": stem,
            "stem_width": 64, "stem_widths": [32, 32, 64] if stem == "deep" else [64], "stem_activation": "relu",
            "classes": 1000, "stages": stages}


def count_macs(model, size=224):
    macs = [0]

    def conv(m, inp, out):
        macs[0] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear(m, inp, out):
        macs[0] += m.in_features * m.out_features

    def cot(m, inp, out):
        _, c, h, w = out.shape
        macs[0] += c * m.k * m.k * h * w

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear))
        elif isinstance(m, (R.CotLayer, RC.CoXtLayer)):
            handles.append(m.register_forward_hook(cot))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return macs[0]


COT = {"kind": "CotBottleneck"}
# timm: block_args=dict(radix=..., avd=True, avd_first=True); stem_type='deep', stem_width=32 (inner; out 64),
# avg_down=True.
AVD_FIRST = {"kind": "SplitAttnBottleneck", "avd": True, "avd_first": True}

# name: (spec, exact params, MACs (both counted here and pinned), published params, published MACs).
# Published: CoTNet README (22.2M/3.3, 30.1M/4.3, 53.4M/8.2 "FLOPs" = MACs); timm results/*.csv param_count and
# benchmark infer_gmacs (25.68M/4.43, 30.42M/4.40).  CoTNeXt as released (7x7 stem) counts 30,046,276 and 53,346,068,
# which round to 30.0M/53.3M; with a deep 3x3 stem (32, 32, 64) they would be 30,065,508 / 53,365,300 (= README).
NETS = {
    "CoTNet-50 (MAC convention check)":
        (resnet("resnet", [3, 4, 6, 3], COT, 1, 64, "conv"), 22222416, 3242870272, 22.2e6, 3.3e9),
    "CoTNeXt-50 2x48d":
        (resnet("resnet", [3, 4, 6, 3], COT, 2, 48, "conv"), 30046276, 4254957312, 30.1e6, 4.3e9),
    "CoTNeXt-101 2x48d":
        (resnet("resnet", [3, 4, 23, 3], COT, 2, 48, "conv"), 53346068, 8072871168, 53.4e6, 8.2e9),
    "resnest50d_1s4x24d":
        (resnet("deep", [3, 4, 6, 3], {**AVD_FIRST, "radix": 1}, 4, 24, "avgdown"), 25677000, 4399827456, 25.68e6, 4.43e9),
    "resnest50d_4s2x40d":
        (resnet("deep", [3, 4, 6, 3], {**AVD_FIRST, "radix": 4}, 2, 40, "avgdown"), 30417592, 4369060736, 30.42e6, 4.40e9),
}


def main():
    torch.set_num_threads(1)
    bad = 0
    for name, (spec, exact, exact_macs, pub_params, pub_macs) in NETS.items():
        model = reference_nets.build(spec)
        params = reference_nets.count(model)
        macs = count_macs(model)
        ok = exact is None or params == exact
        ok &= exact_macs is None or abs(macs - exact_macs) <= 1e-3 * exact_macs
        bad += not ok
        print(f"{'OK ' if ok else 'BAD'} {name}: params {params:,} (published {pub_params / 1e6:.2f}M, "
              f"{params / pub_params - 1:+.2%}); MACs {macs:,} = {macs / 1e9:.3f} G "
              f"(published {pub_macs / 1e9:.2f}, {macs / pub_macs - 1:+.2%})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
