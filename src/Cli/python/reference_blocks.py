"""PyTorch reference implementations of the Torchwright runtime blocks.

Written for this project from the papers and the structure of the reference code bases
(torchvision ResNet v1.5, timm BoTNet/ResNeSt, JDAI-CV CoTNet, Visual-Attention-Network VAN,
wofmanaf ResT).  State-dict names are the reference repositories' names, so that a checkpoint of
the C# blocks loads here without a key map and vice versa.

Only torch 1.13 is required (no timm).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from reference_attention import DEFAULT as DEFAULT_OPTS, BlockOpts, EfficientChannelAttention, SqueezeExcite

CONV = "conv"
AVGDOWN = "avgdown"


def conv1x1(cin, cout, stride=1, bias=False, groups=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=bias, groups=groups)


def drop_path(x, drop_prob: float = 0., training: bool = False, scale_by_keep: bool = True):
    """timm.layers.drop.drop_path: each sample's branch kept with probability 1 - drop_prob and scaled by 1/keep."""
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    """timm's DropPath module. A block gets one as `drop_path` (reference_nets sets it from the spec's per-block
    rate); the blocks apply it to their residual branch(es) through `dropped`."""

    def __init__(self, drop_prob):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)


def dropped(block, branch):
    """The branch through the block's drop_path, if it has one."""
    dp = getattr(block, "drop_path", None)
    return branch if dp is None else dp(branch)


def make_downsample(cin, cout, stride, kind):
    """torchvision/timm shortcut: None when the shape is unchanged."""
    if stride == 1 and cin == cout:
        return None
    if kind == CONV:
        return nn.Sequential(conv1x1(cin, cout, stride), nn.BatchNorm2d(cout))
    pool = (nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
            if stride > 1 else nn.Identity())
    return nn.Sequential(pool, conv1x1(cin, cout), nn.BatchNorm2d(cout))


# --------------------------------------------------------------------------------------------
# ResNet v1.5 bottleneck (torchvision naming)
# --------------------------------------------------------------------------------------------
class Bottleneck(nn.Module):
    def __init__(self, cin, width, cout, stride=1, groups=1, shortcut=CONV, opts=DEFAULT_OPTS):
        super().__init__()
        d = opts.dilation
        self.conv1 = conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=d, dilation=d, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.at_spatial = opts.at_spatial
        self.se = opts.attention_module(width if self.at_spatial else cout)
        self.relu = opts.act()
        self.downsample = make_downsample(cin, cout, stride, shortcut)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        if self.se is not None and self.at_spatial:
            out = self.se(out)                              # timm ByobNet BottleneckBlock.attn
        out = self.bn3(self.conv3(out))
        if self.se is not None and not self.at_spatial:
            out = self.se(out)
        return self.relu(dropped(self, out) + identity)


def make_norm(kind, channels, groups=32):
    """The C# Norms.Create: BatchNorm2d, torchvision's FrozenBatchNorm2d or GroupNorm(groups)."""
    if kind == "Batch":
        return nn.BatchNorm2d(channels)
    if kind == "FrozenBatch":
        from torchvision.ops.misc import FrozenBatchNorm2d
        return FrozenBatchNorm2d(channels)
    if kind == "Group":
        return nn.GroupNorm(groups, channels)
    raise ValueError(f"unknown norm {kind!r}")


# --------------------------------------------------------------------------------------------
# ResNet-18/34 basic block (torchvision naming; timm's BasicBlock options: SE after bn2, dilation)
# --------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride=1, shortcut=CONV, opts=DEFAULT_OPTS, norm="Batch", groups=32,
                 first_dilation=None):
        super().__init__()
        d = opts.dilation
        d1 = first_dilation or d
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=d1, dilation=d1, bias=False)
        self.bn1 = make_norm(norm, planes, groups)
        self.relu = opts.act()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=d, dilation=d, bias=False)
        self.bn2 = make_norm(norm, planes, groups)
        self.se = opts.attention_module(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            pool = [] if shortcut == CONV else [nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                                                if stride > 1 else nn.Identity()]
            self.downsample = nn.Sequential(*pool, conv1x1(cin, planes, stride if shortcut == CONV else 1),
                                            make_norm(norm, planes, groups))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.se is not None:
            out = self.se(out)
        return self.relu(dropped(self, out) + identity)


# --------------------------------------------------------------------------------------------
# BoTNet: MHSA with 2D relative position logits
# --------------------------------------------------------------------------------------------
def rel_to_abs_1d(q, rel):
    """q: (N, A, L, d) queries laid out along an axis of length L (A = the other axis);
    rel: (2L-1, d).  Returns (N, A, L, L): logit[n, a, i, j] = q[n, a, i] . rel[j - i + L - 1].
    Implemented with the pad/reshape trick (relative -> absolute) of the BoTNet paper."""
    n, a, length, _ = q.shape
    r = 2 * length - 1
    x = q @ rel.t()                                   # N, A, L, 2L-1
    x = x.reshape(-1, length, r)
    x = F.pad(x, [0, 1]).flatten(1)                   # N*A, L*2L
    x = F.pad(x, [0, r - length])                     # N*A, L*2L + L-1
    x = x.reshape(-1, length + 1, r)
    x = x[:, :length, length - 1:]                    # N*A, L, L
    return x.reshape(n, a, length, length)


class RelPosEmb(nn.Module):
    def __init__(self, height, width, dim_head):
        super().__init__()
        self.height, self.width = height, width
        scale = dim_head ** -0.5
        self.height_rel = nn.Parameter(torch.randn(2 * height - 1, dim_head) * scale)
        self.width_rel = nn.Parameter(torch.randn(2 * width - 1, dim_head) * scale)

    def forward(self, q):
        # q: (N, H*W, d) -> (N, HW, HW) logits over key positions
        n, hw, d = q.shape
        h, w = self.height, self.width
        q = q.reshape(n, h, w, d)
        lw = rel_to_abs_1d(q, self.width_rel)                       # N, H, W(q), W(k)
        lh = rel_to_abs_1d(q.transpose(1, 2), self.height_rel)      # N, W, H(q), H(k)
        lw = lw.reshape(n, h, w, 1, w)                              # [n, hq, wq, ., wk]
        lh = lh.permute(0, 2, 1, 3).reshape(n, h, w, h, 1)          # [n, hq, wq, hk, .]
        return (lw + lh).reshape(n, hw, hw)


class MHSA(nn.Module):
    """qk_head_dim (timm BottleneckAttn dim_head): channels per q/k head, 0 = dim // heads; v heads keep dim // heads."""

    def __init__(self, dim, heads, height, width, qk_head_dim=0):
        super().__init__()
        assert dim % heads == 0
        self.heads = heads
        self.dim_head = dim // heads
        self.dim_qk = qk_head_dim or self.dim_head
        self.height, self.width = height, width
        self.qkv = conv1x1(dim, 2 * heads * self.dim_qk + dim)
        self.rel_pos = RelPosEmb(height, width, self.dim_qk)

    def forward(self, x):
        b, c, h, w = x.shape
        assert (h, w) == (self.height, self.width), f"MHSA built for {self.height}x{self.width}, got {h}x{w}"
        nh, d, dqk = self.heads, self.dim_head, self.dim_qk
        q, k, v = torch.split(self.qkv(x), [nh * dqk, nh * dqk, c], dim=1)
        q = q.reshape(b * nh, dqk, h * w).transpose(1, 2)    # N, HW, dqk
        k = k.reshape(b * nh, dqk, h * w)                    # N, dqk, HW
        v = v.reshape(b * nh, d, h * w).transpose(1, 2)      # N, HW, d
        logits = (q @ k) * dqk ** -0.5 + self.rel_pos(q)
        attn = logits.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, c, h, w)
        return out


class BotBottleneck(nn.Module):
    def __init__(self, cin, width, cout, stride, heads, height, width_px, shortcut=CONV, opts=DEFAULT_OPTS, qk_head_dim=0):
        super().__init__()
        assert opts.dilation == 1, "MHSA has no dilated form"
        assert not opts.at_spatial, "timm's SelfAttnBlock has no attn after the attention"
        self.conv1 = conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.mhsa = MHSA(width, heads, height, width_px, qk_head_dim)
        self.pool = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = opts.attention_module(cout)
        self.relu = opts.act()
        self.downsample = make_downsample(cin, cout, stride, shortcut)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.pool(self.mhsa(out))
        out = self.relu(self.bn2(out))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        return self.relu(dropped(self, out) + identity)


# --------------------------------------------------------------------------------------------
# ResNeSt split attention (timm naming)
# --------------------------------------------------------------------------------------------
class SplitAttn(nn.Module):
    def __init__(self, width, stride, radix, cardinality, dilation=1, act="ReLU"):
        super().__init__()
        self.radix, self.cardinality = radix, cardinality
        inter = max(width * radix // 4, 32)
        self.conv = nn.Conv2d(width, width * radix, 3, stride=stride, padding=dilation, dilation=dilation,
                              groups=cardinality * radix, bias=False)
        self.bn0 = nn.BatchNorm2d(width * radix)
        self.fc1 = nn.Conv2d(width, inter, 1, groups=cardinality)
        self.bn1 = nn.BatchNorm2d(inter)
        self.fc2 = nn.Conv2d(inter, width * radix, 1, groups=cardinality)
        self.act = BlockOpts(activation=act).act()

    def forward(self, x):
        x = self.act(self.bn0(self.conv(x)))
        b, rc, h, w = x.shape
        r = self.radix
        if r > 1:
            x = x.reshape(b, r, rc // r, h, w)
            gap = x.sum(dim=1)
        else:
            gap = x
        gap = gap.mean((2, 3), keepdim=True)
        gap = self.act(self.bn1(self.fc1(gap)))
        a = self.fc2(gap)
        if r > 1:
            a = a.view(b, self.cardinality, r, -1).transpose(1, 2)
            a = F.softmax(a, dim=1).reshape(b, r, rc // r, 1, 1)
            return (x * a).sum(dim=1)
        return x * torch.sigmoid(a)


class SplitAttnBottleneck(nn.Module):
    def __init__(self, cin, width, cout, stride, radix, cardinality, avd, shortcut=AVGDOWN, opts=DEFAULT_OPTS):
        super().__init__()
        use_avd = avd and stride > 1
        self.conv1 = conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = SplitAttn(width, 1 if use_avd else stride, radix, cardinality, opts.dilation, opts.activation)
        self.avd_last = nn.AvgPool2d(3, stride, padding=1) if use_avd else None
        self.conv3 = conv1x1(width, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = opts.attention_module(cout)
        self.act = opts.act()
        self.downsample = make_downsample(cin, cout, stride, shortcut)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.conv2(out)
        if self.avd_last is not None:
            out = self.avd_last(out)
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        return self.act(dropped(self, out) + identity)


# --------------------------------------------------------------------------------------------
# CoTNet (JDAI-CV naming); local aggregation with unfold instead of the CUDA kernel
# --------------------------------------------------------------------------------------------
class CotLayer(nn.Module):
    def __init__(self, dim, k=3, act="ReLU"):
        super().__init__()
        self.dim, self.k = dim, k
        share = 8
        make_act = BlockOpts(activation=act).act
        self.key_embed = nn.Sequential(
            nn.Conv2d(dim, dim, k, padding=k // 2, groups=4, bias=False),
            nn.BatchNorm2d(dim), make_act())
        self.embed = nn.Sequential(
            nn.Conv2d(2 * dim, dim // 2, 1, bias=False),
            nn.BatchNorm2d(dim // 2), make_act(),
            nn.Conv2d(dim // 2, k * k * dim // share, 1),
            nn.GroupNorm(dim // share, k * k * dim // share))
        self.conv1x1 = nn.Sequential(nn.Conv2d(dim, dim, 1, bias=False), nn.BatchNorm2d(dim))
        self.bn = nn.BatchNorm2d(dim)
        attn = max(dim * 2 // 4, 32)
        self.se = nn.Sequential(nn.Conv2d(dim, attn, 1), nn.BatchNorm2d(attn), make_act(),
                                nn.Conv2d(attn, 2 * dim, 1))

    @staticmethod
    def local_aggregation(v, w, k):
        """Reference semantics of the CUDA aggregation_zeropad kernel:
        out[b, c, p] = sum_j unfold(v)[b, c, j, p] * w[b, c mod Cw, j, p]."""
        b, c, h, wd = v.shape
        cw = w.shape[1]
        cols = F.unfold(v, k, padding=(k - 1) // 2).view(b, c // cw, cw, k * k, h, wd)
        return (cols * w.view(b, 1, cw, k * k, h, wd)).sum(dim=3).reshape(b, c, h, wd)

    def forward(self, x):
        k1 = self.key_embed(x)
        w = self.embed(torch.cat([x, k1], dim=1))
        b, c, h, wd = x.shape
        w = w.view(b, c // 8, self.k * self.k, h, wd)
        v = self.conv1x1(x)
        k2 = self.local_aggregation(v, w, self.k)
        k2 = F.silu(self.bn(k2))
        xs = torch.stack([k2, k1], dim=2)                       # B, C, 2, H, W
        gap = xs.sum(dim=2).mean((2, 3), keepdim=True)
        a = self.se(gap).view(b, c, 2)
        a = F.softmax(a, dim=2).reshape(b, c, 2, 1, 1)
        return (xs * a).sum(dim=2)


class CotBottleneck(nn.Module):
    def __init__(self, cin, width, cout, stride, shortcut=CONV, opts=DEFAULT_OPTS):
        super().__init__()
        assert opts.dilation == 1, "the CoT layer has no dilated form"
        self.conv1 = conv1x1(cin, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.avd = nn.AvgPool2d(3, 2, padding=1) if stride > 1 else None
        self.conv2 = CotLayer(width, 3, opts.activation)
        self.conv3 = conv1x1(width, cout)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = opts.attention_module(cout)
        self.act = opts.act()
        self.downsample = make_downsample(cin, cout, stride, shortcut)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.bn1(self.conv1(x)))
        if self.avd is not None:
            out = self.avd(out)
        out = self.conv2(out)
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        return self.act(dropped(self, out) + identity)


# --------------------------------------------------------------------------------------------
# VAN (official naming)
# --------------------------------------------------------------------------------------------
class LKA(nn.Module):
    def __init__(self, dim, kernel=21, dilation=3):
        super().__init__()
        k0 = 2 * dilation - 1
        ks = -(-kernel // dilation)
        self.conv0 = nn.Conv2d(dim, dim, k0, padding=(k0 - 1) // 2, groups=dim)
        self.conv_spatial = nn.Conv2d(dim, dim, ks, padding=((ks - 1) * dilation) // 2,
                                      groups=dim, dilation=dilation)
        self.conv1 = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        return x * self.conv1(self.conv_spatial(self.conv0(x)))


class VanAttention(nn.Module):
    def __init__(self, dim, kernel, dilation):
        super().__init__()
        self.proj_1 = nn.Conv2d(dim, dim, 1)
        self.activation = nn.GELU()
        self.spatial_gating_unit = LKA(dim, kernel, dilation)
        self.proj_2 = nn.Conv2d(dim, dim, 1)

    def forward(self, x):
        return self.proj_2(self.spatial_gating_unit(self.activation(self.proj_1(x)))) + x


class DWConv(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, bias=True, groups=dim)

    def forward(self, x):
        return self.dwconv(x)


class VanMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.dwconv = DWConv(hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(self.act(self.dwconv(self.fc1(x))))


class VanBlock(nn.Module):
    def __init__(self, dim, mlp_ratio=4, kernel=21, dilation=3, layer_scale=1e-2):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(dim)
        self.attn = VanAttention(dim, kernel, dilation)
        self.norm2 = nn.BatchNorm2d(dim)
        self.mlp = VanMlp(dim, dim * mlp_ratio)
        self.layer_scale_1 = nn.Parameter(layer_scale * torch.ones(dim))
        self.layer_scale_2 = nn.Parameter(layer_scale * torch.ones(dim))

    def forward(self, x):
        x = x + dropped(self, self.layer_scale_1.view(-1, 1, 1) * self.attn(self.norm1(x)))
        x = x + dropped(self, self.layer_scale_2.view(-1, 1, 1) * self.mlp(self.norm2(x)))
        return x


class OverlapPatchEmbed(nn.Module):
    def __init__(self, cin, cout, kernel=7, stride=4):
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)
        self.norm = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.norm(self.proj(x))


# --------------------------------------------------------------------------------------------
# ResT (wofmanaf naming); blocks take and return (B, C, H, W)
# --------------------------------------------------------------------------------------------
class EMSA(nn.Module):
    def __init__(self, dim, heads, sr, qkv_bias):
        super().__init__()
        self.heads, self.sr_ratio = heads, sr
        self.scale = (dim // heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr = nn.Conv2d(dim, dim, sr + 1, stride=sr, padding=sr // 2, groups=dim)
            self.sr_norm = nn.LayerNorm(dim)
        self.apply_transform = heads > 1
        if self.apply_transform:
            self.transform_conv = nn.Conv2d(heads, heads, 1)
            self.transform_norm = nn.InstanceNorm2d(heads)

    def forward(self, x, h, w):
        b, n, c = x.shape
        nh = self.heads
        q = self.q(x).reshape(b, n, nh, c // nh).permute(0, 2, 1, 3)
        if self.sr_ratio > 1:
            x_ = x.permute(0, 2, 1).reshape(b, c, h, w)
            x_ = self.sr(x_).reshape(b, c, -1).permute(0, 2, 1)
            x_ = self.sr_norm(x_)
        else:
            x_ = x
        kv = self.kv(x_).reshape(b, -1, 2, nh, c // nh).permute(2, 0, 3, 1, 4)
        k, v = kv[0], kv[1]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        if self.apply_transform:
            attn = self.transform_norm(self.transform_conv(attn).softmax(dim=-1))
        else:
            attn = attn.softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class RestMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class RestBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4, sr=1, qkv_bias=True):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = EMSA(dim, heads, sr, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = RestMlp(dim, dim * mlp_ratio)

    def forward(self, x):
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)
        t = t + dropped(self, self.attn(self.norm1(t), h, w))
        t = t + dropped(self, self.mlp(self.norm2(t)))
        return t.transpose(1, 2).reshape(b, c, h, w)


class PA(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.pa_conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x):
        return x * torch.sigmoid(self.pa_conv(x))


class RestStem(nn.Module):
    """Released code's stem (BasicStem with_pos=True)."""
    def __init__(self, cin, cout):
        super().__init__()
        hid = cout // 2
        self.conv1 = nn.Conv2d(cin, hid, 3, stride=2, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(hid)
        self.conv2 = nn.Conv2d(hid, hid, 3, stride=1, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(hid)
        self.conv3 = nn.Conv2d(hid, cout, 3, stride=2, padding=1, bias=False)
        self.act = nn.ReLU()
        self.pos = PA(cout)

    def forward(self, x):
        x = self.act(self.norm1(self.conv1(x)))
        x = self.act(self.norm2(self.conv2(x)))
        return self.pos(self.conv3(x))


class RestPaperStem(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 7, stride=2, padding=3, bias=False)
        self.norm = nn.BatchNorm2d(cout)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.pos = PA(cout)

    def forward(self, x):
        return self.pos(self.pool(self.act(self.norm(self.conv(x)))))


class RestPatchEmbed(nn.Module):
    """Released ResT PatchEmbed: a (patch + 1) conv with stride patch (3x3/2 in every published model)."""
    def __init__(self, cin, cout, patch=2):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, patch + 1, stride=patch, padding=patch // 2)
        self.norm = nn.BatchNorm2d(cout)
        self.pos = PA(cout)

    def forward(self, x):
        return self.pos(self.norm(self.conv(x)))


# --------------------------------------------------------------------------------------------
# Factory used by the parity server: kind + JSON args (same order/meaning as the C# ctors)
# --------------------------------------------------------------------------------------------
def _sc(s):
    return CONV if str(s).lower() == "conv" else AVGDOWN


def build(kind, a):
    if kind == "Bottleneck":
        return Bottleneck(a["inChannels"], a["width"], a["outChannels"], a["stride"], a["groups"], _sc(a["shortcut"]), BlockOpts.from_args(a))
    if kind == "TorchvisionBottleneck":
        import torchvision.models.resnet as tvr
        ds = None
        if a["stride"] != 1 or a["inChannels"] != a["planes"] * 4:
            ds = nn.Sequential(conv1x1(a["inChannels"], a["planes"] * 4, a["stride"]), nn.BatchNorm2d(a["planes"] * 4))
        return tvr.Bottleneck(a["inChannels"], a["planes"], a["stride"], ds)
    if kind == "TorchvisionLayer":
        import torchvision.models.resnet as tvr
        blocks = []
        cin = a["inChannels"]
        planes = a["planes"]
        for i in range(a["blocks"]):
            s = a["stride"] if i == 0 else 1
            ds = None
            if s != 1 or cin != planes * 4:
                ds = nn.Sequential(conv1x1(cin, planes * 4, s), nn.BatchNorm2d(planes * 4))
            blocks.append(tvr.Bottleneck(cin, planes, s, ds))
            cin = planes * 4
        return nn.Sequential(*blocks)
    if kind == "BotBottleneck":
        return BotBottleneck(a["inChannels"], a["width"], a["outChannels"], a["stride"], a["heads"], a["height"], a["widthPx"], _sc(a["shortcut"]), BlockOpts.from_args(a), a.get("qkHeadDim", 0))
    if kind == "SplitAttnBottleneck":
        opts = BlockOpts.from_args(a)
        if a.get("avdFirst", False) and a["avd"] and a["stride"] > 1:
            import reference_cotnext
            return reference_cotnext.ResNestAvdFirstBottleneck(a["inChannels"], a["width"], a["outChannels"], a["stride"], a["radix"], a["cardinality"], _sc(a["shortcut"]), opts)
        return SplitAttnBottleneck(a["inChannels"], a["width"], a["outChannels"], a["stride"], a["radix"], a["cardinality"], a["avd"], _sc(a["shortcut"]), opts)
    if kind == "CotBottleneck":
        opts = BlockOpts.from_args(a)
        if a.get("cardinality", 1) != 1:
            import reference_cotnext
            return reference_cotnext.CoXtBottleneck(a["inChannels"], a["width"], a["outChannels"], a["stride"], a["cardinality"], _sc(a["shortcut"]), opts)
        return CotBottleneck(a["inChannels"], a["width"], a["outChannels"], a["stride"], _sc(a["shortcut"]), opts)
    if kind == "SqueezeExcite":
        return SqueezeExcite(a["channels"], a["reducedChannels"], a.get("activation", "ReLU"))
    if kind == "EfficientChannelAttention":
        return EfficientChannelAttention(a["kernel"])
    if kind == "VanBlock":
        return VanBlock(a["dim"], a["mlpRatio"], a["lkaKernel"], a["lkaDilation"], a["layerScale"])
    if kind == "OverlapPatchEmbed":
        return OverlapPatchEmbed(a["inChannels"], a["outChannels"], a["kernel"], a["stride"])
    if kind == "RestBlock":
        return RestBlock(a["dim"], a["heads"], a["mlpRatio"], a["srRatio"], a["qkvBias"])
    if kind == "PositionAttention":
        return PA(a["dim"])
    if kind == "RestStem":
        return RestStem(a["inChannels"], a["outChannels"])
    if kind == "RestPaperStem":
        return RestPaperStem(a["inChannels"], a["outChannels"])
    if kind == "RestPatchEmbed":
        return RestPatchEmbed(a["inChannels"], a["outChannels"], a["patch"])
    raise ValueError(f"unknown block kind {kind}")
