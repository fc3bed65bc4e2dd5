"""PyTorch references for two grouped/reordered variants of the zoo blocks, written for this project:

* CoXtLayer / CoXtBottleneck: the grouped Contextual Transformer layer of JDAI-CV CoTNeXt (``CoXtLayer`` in
  models/cotnet.py, used by the bottleneck whenever cardinality > 1).  State-dict names are the official ones,
  which are the CoT layer's names (key_embed.0/1, embed.0/1/3/4, conv1x1.0/1, bn, se.0/1/3).
* ResNestAvdFirstBottleneck: timm's ResNestBottleneck with ``avd_first=True`` (the 3x3 average pool runs before the
  split-attention conv, the module is named ``avd_first``).

The official CoXtLayer hard-codes key_embed groups = 8 and embed/conv1x1 groups = 2, i.e. the values for
cardinality 2 (the only published CoTNeXt); here they are 4 x cardinality and cardinality.

Both take the block options (reference_attention.BlockOpts) as the other bottlenecks do: the activation replaces
every ReLU (the CoXt layer's three too, not its SiLU on K2), the channel attention `se` follows bn3, and the dilation
reaches the split-attention conv (CoXt has no dilated form).

Imports reference_blocks; reference_blocks.build imports this module lazily.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

import reference_blocks as R

SHARE = 8  # channels sharing one aggregation kernel (per group)


class CoXtLayer(nn.Module):
    def __init__(self, dim, k=3, cardinality=2, act="ReLU"):
        super().__init__()
        make_act = R.BlockOpts(activation=act).act
        assert dim % (SHARE * cardinality) == 0, "dim must be divisible by 8 x cardinality"
        self.dim, self.k, self.groups = dim, k, cardinality
        kk = k * k
        self.key_embed = nn.Sequential(
            nn.Conv2d(dim, dim, k, padding=k // 2, groups=4 * cardinality, bias=False),
            nn.BatchNorm2d(dim), make_act())
        self.embed = nn.Sequential(
            nn.Conv2d(2 * dim, dim // 2, 1, groups=cardinality, bias=False),
            nn.BatchNorm2d(dim // 2), make_act(),
            nn.Conv2d(dim // 2, kk * dim // SHARE, 1, groups=cardinality),
            nn.GroupNorm(dim // SHARE, kk * dim // SHARE))
        self.conv1x1 = nn.Sequential(nn.Conv2d(dim, dim, 1, groups=cardinality, bias=False), nn.BatchNorm2d(dim))
        self.bn = nn.BatchNorm2d(dim)
        attn = max(dim * 2 // 4, 32)
        self.se = nn.Sequential(nn.Conv2d(dim, attn, 1), nn.BatchNorm2d(attn), make_act(),
                                nn.Conv2d(attn, 2 * dim, 1))

    def aggregate(self, v, w):
        """Grouped local aggregation: group g's channel c uses weight channel c mod (C / (8 g)) of group g's weights
        (the CUDA kernel run on a (B·g, C/g, H, W) view with (B·g, 1, C/(8g), k², H, W) weights)."""
        b, c, h, wd = v.shape
        g, kk = self.groups, self.k * self.k
        cw = c // (SHARE * g)
        cols = F.unfold(v, self.k, padding=(self.k - 1) // 2)         # B, C·k², HW; channel-major c·k² + j
        cols = cols.view(b, g, SHARE, cw, kk, h, wd)
        return (cols * w.view(b, g, 1, cw, kk, h, wd)).sum(dim=4).reshape(b, c, h, wd)

    def forward(self, x):
        b, c, h, wd = x.shape
        k1 = self.key_embed(x)
        # CoXt interleaves query and key channels (x0, k0, x1, k1, ...) so that each embed group sees its own
        # channels of both; the ungrouped CoT layer concatenates instead.
        qk = torch.stack([x, k1], dim=2).reshape(b, 2 * c, h, wd)
        w = self.embed(qk)
        k2 = self.aggregate(self.conv1x1(x), w)
        k2 = F.silu(self.bn(k2))
        xs = torch.stack([k2, k1], dim=2)                       # B, C, 2, H, W
        gap = xs.sum(dim=2).mean((2, 3), keepdim=True)
        a = F.softmax(self.se(gap).view(b, c, 2), dim=2).reshape(b, c, 2, 1, 1)
        return (xs * a).sum(dim=2)


class CoXtBottleneck(R.CotBottleneck):
    """The CoTNet bottleneck with conv2 = CoXtLayer (official: CotLayer if cardinality == 1 else CoXtLayer)."""

    def __init__(self, cin, width, cout, stride, cardinality, shortcut=R.CONV, opts=R.DEFAULT_OPTS):
        super().__init__(cin, width, cout, stride, shortcut, opts)
        if cardinality != 1:
            # Reassigning keeps conv2's place in the module order (and so in the state dict).
            self.conv2 = CoXtLayer(width, 3, cardinality, opts.activation)


class ResNestAvdFirstBottleneck(nn.Module):
    """timm ResNestBottleneck(avd=True, avd_first=True): conv1, bn1, ReLU, avd_first AvgPool 3x3/s pad 1 (stride > 1
    only), split attention at stride 1 (dilation d, padding d), conv3, bn3, [se], + shortcut, ReLU."""

    def __init__(self, cin, width, cout, stride, radix, cardinality, shortcut=R.AVGDOWN, opts=R.DEFAULT_OPTS):
        super().__init__()
        self.conv1 = R.conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.avd_first = nn.AvgPool2d(3, stride, padding=1) if stride > 1 else None
        self.conv2 = R.SplitAttn(width, 1, radix, cardinality, opts.dilation, opts.activation)
        self.conv3 = R.conv1x1(width, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = opts.attention_module(cout)
        self.act = opts.act()
        self.downsample = R.make_downsample(cin, cout, stride, shortcut)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        if self.avd_first is not None:
            out = self.avd_first(out)
        out = self.bn3(self.conv3(self.conv2(out)))
        if self.se is not None:
            out = self.se(out)
        return self.act(R.dropped(self, out) + identity)
