"""Whole PyTorch reference networks assembled from reference_blocks, driven by a Torchwright architecture spec
(the JSON that Torchwright.Dsl.Emit.ArchSpecJson writes for a checked architecture).

The spec supplies every hyper-parameter and each block's input map size; nothing about shapes is re-derived
here.  The macro structure, forward pass and state-dict names follow the reference code bases, independently of
the C# emitter: torchvision ResNet (conv1/bn1/layer1..4/fc; timm's deep stem as conv1.0..6), the official VAN
(patch_embedN/blockN/normN/head, tokens normalised per stage, mean over tokens) and the released ResT
(stem/stageN/patch_embed_N/norm/head).

    python3 reference_nets.py SPEC.json --count    prints the parameter count (exit 1 if it differs from the spec's)

Imports only the standard library, torch, reference_blocks, reference_cotnext and reference_attention (deploy it next to them).
"""
import json
import sys

import torch
import torch.nn as nn

import reference_blocks as R
import reference_cotnext as RC

SPEC_VERSION = 2


class SpecError(ValueError):
    """A spec this builder cannot assemble; the message names the spec field."""


def _shortcut(word):
    if word == "conv":
        return R.CONV
    if word == "avgdown":
        return R.AVGDOWN
    raise SpecError(f"block shortcut must be 'conv' or 'avgdown', got {word!r}")


def _resnet_block(b):
    kind = b["kind"]
    cin, width, cout, stride, sc = b["in_channels"], b["width"], b["out_channels"], b["stride"], _shortcut(b["shortcut"])
    if kind == "Bottleneck":
        return R.Bottleneck(cin, width, cout, stride, b["cardinality"], sc)
    if kind == "BotBottleneck":
        # MHSA runs on the block's input map (before the stride), whose size the checker computed.
        _, h, w = b["input"]
        return R.BotBottleneck(cin, width, cout, stride, b["heads"], h, w, sc)
    if kind == "SplitAttnBottleneck":
        if b.get("avd_first", False) and b["avd"] and stride > 1:
            return RC.ResNestAvdFirstBottleneck(cin, width, cout, stride, b["radix"], b["cardinality"], sc)
        return R.SplitAttnBottleneck(cin, width, cout, stride, b["radix"], b["cardinality"], b["avd"], sc)
    if kind == "CotBottleneck":
        return RC.CoXtBottleneck(cin, width, cout, stride, b.get("cardinality", 1), sc)
    raise SpecError(f"block kind {kind!r} does not belong in a ResNet-family network")


class ResNetFamily(nn.Module):
    """torchvision's ResNet layout; the stem is torchvision's 7x7 conv, timm's deep stem (ResNeSt) or none."""

    def __init__(self, spec):
        super().__init__()
        cin, w = spec["input"][0], spec["stem_width"]
        stem = spec["stem"]
        self.has_stem = stem != "none"
        if stem == "resnet":
            self.conv1 = nn.Conv2d(cin, w, 7, stride=2, padding=3, bias=False)
        elif stem == "deep":
            self.conv1 = nn.Sequential(
                nn.Conv2d(cin, w // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(),
                nn.Conv2d(w // 2, w // 2, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(),
                nn.Conv2d(w // 2, w, 3, stride=1, padding=1, bias=False))
        elif stem != "none":
            raise SpecError(f"stem {stem!r} does not belong in a ResNet-family network")
        if self.has_stem:
            self.bn1 = nn.BatchNorm2d(w)
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.stage_names = []
        for i, st in enumerate(spec["stages"]):
            name = f"layer{i + 1}"
            setattr(self, name, nn.Sequential(*[_resnet_block(b) for b in st["blocks"]]))
            self.stage_names.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(spec["stages"][-1]["out_channels"], spec["classes"]) if spec["classes"] > 0 else None

    def forward(self, x):
        if self.has_stem:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        x = torch.flatten(self.avgpool(x), 1)
        return x if self.fc is None else self.fc(x)


class Van(nn.Module):
    """The official VAN: per stage an overlapping patch embedding, the blocks, a LayerNorm over tokens."""

    def __init__(self, spec):
        super().__init__()
        if spec["stem"] != "none":
            raise SpecError(f"VAN embeds patches in every stage and has no stem, got stem {spec['stem']!r}")
        self.num_stages = len(spec["stages"])
        for i, st in enumerate(spec["stages"]):
            for b in st["blocks"]:
                if b["kind"] != "VanBlock":
                    raise SpecError(f"stage {st['name']}: block kind {b['kind']!r} in a VAN network")
            setattr(self, f"patch_embed{i + 1}",
                    R.OverlapPatchEmbed(st["in_channels"], st["out_channels"], st["patch_kernel"], st["stride"]))
            setattr(self, f"block{i + 1}", nn.ModuleList(
                R.VanBlock(b["width"], b["mlp_ratio"], b["lka_kernel"], b["lka_dilation"], b["layer_scale"])
                for b in st["blocks"]))
            setattr(self, f"norm{i + 1}", nn.LayerNorm(st["out_channels"], eps=1e-6))
        self.head = nn.Linear(spec["stages"][-1]["out_channels"], spec["classes"]) if spec["classes"] > 0 else None

    def forward(self, x):
        for i in range(self.num_stages):
            x = getattr(self, f"patch_embed{i + 1}")(x)
            b, _, h, w = x.shape
            for blk in getattr(self, f"block{i + 1}"):
                x = blk(x)
            x = getattr(self, f"norm{i + 1}")(x.flatten(2).transpose(1, 2))
            if i != self.num_stages - 1:
                x = x.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous()
        x = x.mean(dim=1)
        return x if self.head is None else self.head(x)


class ResT(nn.Module):
    """The released ResT: stem, stage1, then patch_embed_N + stageN; LayerNorm over tokens, average pool, head."""

    def __init__(self, spec):
        super().__init__()
        cin, w = spec["input"][0], spec["stem_width"]
        if spec["stem"] == "rest":
            self.stem = R.RestStem(cin, w)
        elif spec["stem"] == "rest_paper":
            self.stem = R.RestPaperStem(cin, w)
        else:
            raise SpecError(f"stem {spec['stem']!r} does not belong in a ResT network (rest or rest_paper)")
        self.num_stages = len(spec["stages"])
        for i, st in enumerate(spec["stages"]):
            for b in st["blocks"]:
                if b["kind"] != "RestBlock":
                    raise SpecError(f"stage {st['name']}: block kind {b['kind']!r} in a ResT network")
            if i > 0:
                setattr(self, f"patch_embed_{i + 1}", R.RestPatchEmbed(st["in_channels"], st["out_channels"], st["stride"]))
            setattr(self, f"stage{i + 1}", nn.ModuleList(
                R.RestBlock(b["width"], b["heads"], b["mlp_ratio"], b["sr_ratio"], b["qkv_bias"]) for b in st["blocks"]))
        last = spec["stages"][-1]["out_channels"]
        self.norm = nn.LayerNorm(last)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(last, spec["classes"]) if spec["classes"] > 0 else None

    def forward(self, x):
        x = self.stem(x)
        for i in range(self.num_stages):
            if i > 0:
                x = getattr(self, f"patch_embed_{i + 1}")(x)
            for blk in getattr(self, f"stage{i + 1}"):
                x = blk(x)
        b, c, h, w = x.shape
        x = self.norm(x.flatten(2).transpose(1, 2))
        x = self.avg_pool(x.transpose(1, 2).reshape(b, c, h, w)).flatten(1)
        return x if self.head is None else self.head(x)


_FAMILIES = {"resnet": ResNetFamily, "van": Van, "rest": ResT}


def build(spec, seed=0):
    """The reference network for a spec dict, initialised from `seed` without touching the caller's RNG state."""
    version = spec.get("spec_version")
    if version != SPEC_VERSION:
        raise SpecError(f"spec_version {version!r}: this builder reads version {SPEC_VERSION}")
    family = spec.get("family")
    if family not in _FAMILIES:
        raise SpecError(f"family {family!r}: expected one of {sorted(_FAMILIES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _FAMILIES[family](spec)


def count(module):
    return sum(p.numel() for p in module.parameters())


def main(argv):
    if len(argv) != 3 or argv[2] != "--count":
        print("usage: python3 reference_nets.py SPEC.json --count", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    n = count(build(spec))
    print(n)
    if "params" in spec and spec["params"] != n:
        print(f"{spec.get('name')}: the reference network has {n:,} parameters but the spec says {spec['params']:,}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
