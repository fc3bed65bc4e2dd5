"""Whole PyTorch reference networks assembled from reference_blocks, driven by a Torchwright architecture spec
(the JSON that Torchwright.Dsl.Emit.ArchSpecJson writes for a checked architecture).

The spec supplies every hyper-parameter and each block's input map size; nothing about shapes is re-derived
here.  The macro structure, forward pass and state-dict names follow the reference code bases, independently of
the C# emitter: torchvision ResNet (conv1/bn1/layer1..4/fc; timm's deep and tiered stems as conv1.0..6), the official VAN
(patch_embedN/blockN/normN/head, tokens normalised per stage, mean over tokens) and the released ResT
(stem/stageN/patch_embed_N/norm/head).

Spec version 2: every ResNet-family block carries its options (activation, attention = se|eca|none with
attention_channels / attention_kernel, dilation, shortcut) besides its kind's settings (cardinality, heads, radix,
avd, avd_first); the spec carries the stem's stem_widths and stem_activation. Training regularisers, present only when
above 0: a block's drop_path (timm's DropPath on its residual branches) and the spec's dropout (before the classifier).
The spec's norm (present only when not batch): frozen_batch (torchvision's FrozenBatchNorm2d) or group (GroupNorm with
norm_groups groups) in place of every BatchNorm2d of a ResNet-family network, stems and shortcuts included.

    python3 reference_nets.py SPEC.json --count    prints the parameter count (exit 1 if it differs from the spec's)

Imports only the standard library, torch, reference_blocks, reference_cotnext and reference_attention (deploy it next to them).
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import reference_attention as RA
import reference_blocks as R
import reference_cotnext as RC

SPEC_VERSION = 2


class SpecError(ValueError):
    """A spec this builder cannot assemble; the message names the spec field."""


def _field(b, key, where):
    """A member the spec must have: v2 writes every block's settings and options, so a missing one is an old spec."""
    if key not in b:
        raise SpecError(f"{where} lacks {key!r} (spec_version {SPEC_VERSION} writes it)")
    return b[key]


def _word(b, key, words, where):
    word = _field(b, key, where)
    if word not in words:
        raise SpecError(f"{where}: {key} must be one of {sorted(words)}, got {word!r}")
    return words[word]


_SHORTCUTS = {"conv": R.CONV, "avgdown": R.AVGDOWN}
# Spec (.arch) words -> the names reference_attention.BlockOpts takes (the C# enum members).
_ACTIVATIONS = {"relu": "ReLU", "silu": "SiLU", "gelu": "GELU", "hardswish": "HardSwish"}
_ATTENTIONS = {"se": "SqueezeExcite", "eca": "Eca", "none": "None"}


def _shortcut(b, where):
    word = _field(b, "shortcut", where)
    if word not in _SHORTCUTS:
        raise SpecError(f"{where}: block shortcut must be 'conv' or 'avgdown', got {word!r}")
    return _SHORTCUTS[word]


_POSITIONS = {"out": "AfterLastNorm", "spatial": "AfterSpatialConv"}


def _options(b, where):
    """The block's options (C# BlockOptions): activation, channel attention (after bn3, or after the 3x3 conv with
    attention_at = spatial), its channels/kernel, dilation."""
    return RA.BlockOpts(_word(b, "activation", _ACTIVATIONS, where), _word(b, "attention", _ATTENTIONS, where),
                        _field(b, "attention_channels", where), _field(b, "attention_kernel", where),
                        _field(b, "dilation", where), _word(b, "attention_at", _POSITIONS, where))


def _regularised(block, b):
    """The block with its stochastic depth, when the spec gives it a rate."""
    rate = b.get("drop_path", 0.0)
    if rate > 0:
        block.drop_path = R.DropPath(rate)
    return block


def _head_dropout(module, spec, x):
    """timm's drop_rate: dropout on the pooled features before the classifier, while training."""
    p = spec.get("dropout", 0.0)
    return F.dropout(x, p=p, training=module.training) if p > 0 else x


def _resnet_block(b, where):
    return _regularised(_resnet_block_of_kind(b, where), b)


def _resnet_block_of_kind(b, where):
    kind = b["kind"]
    if kind not in ("Bottleneck", "BasicBlock", "BotBottleneck", "SplitAttnBottleneck", "CotBottleneck"):
        raise SpecError(f"{where}: block kind {kind!r} does not belong in a ResNet-family network")
    cin, width, cout, stride = b["in_channels"], b["width"], b["out_channels"], b["stride"]
    sc, opts = _shortcut(b, where), _options(b, where)
    if kind == "Bottleneck":
        return R.Bottleneck(cin, width, cout, stride, _field(b, "cardinality", where), sc, opts)
    if kind == "BasicBlock":
        if cout != width:
            raise SpecError(f"{where}: a BasicBlock outputs its width {width}, got out_channels {cout}")
        return R.BasicBlock(cin, width, stride, sc, opts)
    if kind == "BotBottleneck":
        # MHSA runs on the block's input map (before the stride), whose size the checker computed.
        _, h, w = b["input"]
        return R.BotBottleneck(cin, width, cout, stride, _field(b, "heads", where), h, w, sc, opts,
                               qk_head_dim=_field(b, "qk_head_dim", where))
    if kind == "SplitAttnBottleneck":
        radix, card, avd = (_field(b, k, where) for k in ("radix", "cardinality", "avd"))
        if _field(b, "avd_first", where) and avd and stride > 1:
            return RC.ResNestAvdFirstBottleneck(cin, width, cout, stride, radix, card, sc, opts)
        return R.SplitAttnBottleneck(cin, width, cout, stride, radix, card, avd, sc, opts)
    # CotBottleneck: cardinality > 1 is CoTNeXt's grouped layer (CoXt).
    return RC.CoXtBottleneck(cin, width, cout, stride, _field(b, "cardinality", where), sc, opts)


class FrozenBatchNorm2d(nn.Module):
    """torchvision.ops.FrozenBatchNorm2d: BatchNorm2d with its statistics and affine terms as buffers (eps 1e-5)."""

    def __init__(self, c, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(c))
        self.register_buffer("bias", torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))

    def forward(self, x):
        scale = self.weight * (self.running_var + self.eps).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)


_NORMS = {
    "frozen_batch": lambda c, groups: FrozenBatchNorm2d(c),
    "group": lambda c, groups: nn.GroupNorm(groups, c),
}


def _replace_norms(module, make):
    """Every BatchNorm2d below `module` replaced in place (same child name) by make(num_features)."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            setattr(module, name, make(child.num_features))
        else:
            _replace_norms(child, make)


def _stem_activation(spec):
    return RA.make_act(_word(spec, "stem_activation", _ACTIVATIONS, "the spec"))


class ResNetFamily(nn.Module):
    """torchvision's ResNet layout; the stem is torchvision's 7x7 conv, timm's deep stem (ResNeSt, resnet*d,
    the tiered resnet*t: three 3x3 convs of stem_widths as conv1.0..6; with stem_pool "none" no max pool and the last
    conv strided, timm's stem_pool '') or none; timm's num_features: final_conv (1x1 conv, BN, final_conv_activation)
    after the last stage."""

    def __init__(self, spec):
        super().__init__()
        cin, w = spec["input"][0], spec["stem_width"]
        stem = spec["stem"]
        self.has_stem = stem != "none"
        pool = spec.get("stem_pool", "max")
        if pool not in ("max", "none") or (pool == "none" and stem != "deep"):
            raise SpecError(f"stem_pool {pool!r}: only the deep stem may drop its max pool ('none')")
        if stem == "resnet":
            self.conv1 = nn.Conv2d(cin, w, 7, stride=2, padding=3, bias=False)
        elif stem == "deep":
            widths = _field(spec, "stem_widths", "the spec")
            if len(widths) != 3 or widths[2] != w:
                raise SpecError(f"stem_widths {widths}: the deep stem takes 3 widths, the last = stem_width {w}")
            a, b, c = widths
            self.conv1 = nn.Sequential(
                nn.Conv2d(cin, a, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(a), _stem_activation(spec),
                nn.Conv2d(a, b, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(b), _stem_activation(spec),
                nn.Conv2d(b, c, 3, stride=1 if pool == "max" else 2, padding=1, bias=False))
        elif stem != "none":
            raise SpecError(f"stem {stem!r} does not belong in a ResNet-family network")
        if self.has_stem:
            self.bn1 = nn.BatchNorm2d(w)
            # torchvision's child name for ReLU, timm's for other activations (no parameters either way).
            self.act_name = "relu" if spec["stem_activation"] == "relu" else "act1"
            setattr(self, self.act_name, _stem_activation(spec))
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if pool == "max" else nn.Identity()
        self.stage_names = []
        for i, st in enumerate(spec["stages"]):
            name = f"layer{i + 1}"
            setattr(self, name, nn.Sequential(*[_resnet_block(b, f"stage {st['name']} block {j}")
                                                for j, b in enumerate(st["blocks"])]))
            self.stage_names.append(name)
        last = spec["stages"][-1]["out_channels"]
        self.final_conv = None
        if spec.get("num_features", 0):
            n = spec["num_features"]
            act = RA.make_act(_word(spec, "final_conv_activation", _ACTIVATIONS, "the spec"))
            self.final_conv = nn.Sequential(nn.Conv2d(last, n, 1, bias=False), nn.BatchNorm2d(n), act)
            last = n
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last, spec["classes"]) if spec["classes"] > 0 else None
        norm = spec.get("norm", "batch")
        if norm != "batch":
            if norm not in _NORMS:
                raise SpecError(f"norm must be one of {sorted(_NORMS)} or batch, got {norm!r}")
            groups = _field(spec, "norm_groups", "the spec")
            _replace_norms(self, lambda c: _NORMS[norm](c, groups))
        self.spec = spec

    def forward(self, x):
        if self.has_stem:
            x = self.maxpool(getattr(self, self.act_name)(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        if self.final_conv is not None:
            x = self.final_conv(x)
        x = torch.flatten(self.avgpool(x), 1)
        return x if self.fc is None else self.fc(_head_dropout(self, self.spec, x))


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
                _regularised(R.VanBlock(b["width"], b["mlp_ratio"], b["lka_kernel"], b["lka_dilation"], b["layer_scale"]), b)
                for b in st["blocks"]))
            setattr(self, f"norm{i + 1}", nn.LayerNorm(st["out_channels"], eps=1e-6))
        self.head = nn.Linear(spec["stages"][-1]["out_channels"], spec["classes"]) if spec["classes"] > 0 else None
        self.spec = spec

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
        return x if self.head is None else self.head(_head_dropout(self, self.spec, x))


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
                _regularised(R.RestBlock(b["width"], b["heads"], b["mlp_ratio"], b["sr_ratio"], b["qkv_bias"]), b) for b in st["blocks"]))
        last = spec["stages"][-1]["out_channels"]
        self.norm = nn.LayerNorm(last)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(last, spec["classes"]) if spec["classes"] > 0 else None
        self.spec = spec

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
        return x if self.head is None else self.head(_head_dropout(self, self.spec, x))


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
