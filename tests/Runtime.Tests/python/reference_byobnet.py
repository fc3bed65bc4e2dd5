"""PyTorch 1.13 reference of timm's byobnet layout (models/byobnet.py ByobNet, models/byoanet.py configs), for what
the hybrid-attention networks of byoanet need, with timm's state-dict names (stem.conv1.conv, stages.i.j.conv1_1x1.bn,
self_attn.pos_embed.height_rel, post_attn, shortcut.conv, final_conv.conv, head.fc, ...); and torchvision's
resnet18/resnet34 (torchvision.models, identity-named).  Written for this project from a reading of timm
(models/byobnet.py, byoanet.py, layers/bottleneck_attn.py, conv_bn_act.py, norm_act.py, eca.py, squeeze_excite.py);
no timm import, no copied code.  Halo and Lambda attention come from reference_byoa_layers.py (timm's HaloAttn and
LambdaLayer signatures and names).

timm registers no model called "botnext26ts_256": the grouped (gs=16), SiLU BoTNet-26 is "eca_botnext26ts_256"
(ECA channel attention in its bottleneck blocks).  NETS["botnext26ts_256"] is that net without ECA, for the layout
questions only.  NETS["halonet_h1"] (untrained in timm) is here for its one-conv 7x7 stem (key-map tests only).
Checked against timm 1.0.29.dev0 itself (timm.create_model; not a test dependency): the same state-dict keys, order and
shapes for every byobnet here, and bit-identical float64 logits from the same random weights.

    python3 reference_byobnet.py counts            params and MACs of every net (1 MAC = 1 multiply-add)
    python3 reference_byobnet.py cases DIR [NET..] DIR/<net>.keys.safetensors (float32, timm init) of botnet26t_256
                                                   and eca_botnext26ts_256 for the key-map tests, and for every net of
                                                   CASES (or the NETs named) DIR/<net>.state.safetensors (float64, random
                                                   weights and BatchNorm statistics) and DIR/<net>.io.safetensors
                                                   (input, eval-mode logits)
    python3 reference_byobnet.py features DIR [NET..]
                                                   DIR/<net>.features.state.safetensors (float64, random, no head) and
                                                   DIR/<net>.features.io.safetensors (input, feature1..4: every stage's
                                                   output) for every net of FEATURES (or the NETs named)
    python3 reference_byobnet.py train DIR [NET..]  one SGD step in train mode (float64) of every net of TRAIN: the
                                                   state before and after, the input, target and loss
    python3 reference_byobnet.py names DIR         DIR/<net>.names.json for every byobnet of NAMES: each timm state-dict
                                                   key with its shape and its Torchwright name (the ResNet-family
                                                   layout, derived from the module tree, not from the key map)
    python3 reference_byobnet.py selfcheck         gather-based relative logits == timm's pad-and-reshape formulation

Exact counts at each net's default input (MACs = conv + linear + attention; attention = q.k, attn.v and the
relative-position logits of BoT and Halo; Lambda's content lambda k.v, position lambda (its Conv3d with r, the
relative-table product without), and both q.lambda products):

    net                      input  params      MACs           attention MACs   published (params, GMACs)
    botnet26t_256            256    12,488,672  3,297,394,688     118,030,336   12.49 M, 3.32
    eca_botnext26ts_256      256    10,593,301  2,438,343,552      63,234,048   10.59 M, 2.46
    halonet26t               256    12,480,288  3,172,810,752      43,778,048   12.48 M, 3.19
    sehalonet33ts            256    13,691,712  3,530,416,128     116,916,224   13.69 M, 3.55
    halonet50ts              256    22,733,280  5,269,504,000     160,759,808   22.73 M, 5.30
    eca_halonext26ts         256    10,756,885  2,420,099,968      28,213,248   10.76 M, 2.44
    lambda_resnet26t         256    10,958,272  3,003,465,728      82,575,360   10.96 M, 3.02
    lambda_resnet50ts        256    21,536,832  5,036,654,592     129,761,280   21.54 M, 5.07
    lambda_resnet26rpt_256   256    10,988,688  3,138,863,104     217,972,736   10.99 M, 3.16
    halo2botnet50ts_256      256    22,635,360  4,991,369,216     209,780,736   22.64 M, 5.02
    lamhalobotnet50ts_256    256    22,569,824  4,989,796,352     279,511,040   22.57 M, 5.02
    sebotnet33ts_256         256    13,701,984  3,866,812,416     402,980,864   13.70 M, 3.89
    botnet50ts_256           256    22,742,688  5,511,725,056     402,980,864   22.74 M, 5.54
    resnet18 (torchvision)   224    11,689,512  1,814,073,344               0   11,689,512 exactly (torchvision), 1.82 (timm csv)
    resnet34 (torchvision)   224    21,797,672  3,663,761,408               0   21,797,672 exactly (torchvision), 3.67 (timm csv)
    halonet_h1 (keys only)   256    8,100,056   2,988,232,704     862,257,152   8.10 M, 3.00
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import st_io
from reference_byoa_layers import HaloAttn, LambdaLayer


# ---------------------------------------------------------------------------------------------------------------
# Configs, as timm's ByoModelCfg / ByoBlockCfg spell them (byoanet.py), reduced to the fields these nets use.
# A stage is a list of per-block dicts (timm's expand_blocks_cfg): type 'bottle' | 'self_attn', c, s (the stage's
# stride: the first block's), gs, br, and optionally the block's own self_attn_layer / self_attn_kwargs.
# ---------------------------------------------------------------------------------------------------------------
def blocks(type, d, c, s=2, gs=0, br=0.25, **kw):
    """ByoBlockCfg(type, d, c, s, gs, br, ...) expanded to its d blocks."""
    return [dict(type=type, c=c, s=s, gs=gs, br=br, **kw) for _ in range(d)]


def interleave_blocks(types, d, every=1, first=False, **kw):
    """timm's interleave_blocks: types[1] at the indices of `every` (a list), or, for an int, every (every+1)-th
    index starting at `every` (at 0 when first); an int that selects nothing selects the last block."""
    if isinstance(every, int):
        every = list(range(0 if first else every, d, every + 1))
        if not every:
            every = [d - 1]
    out = []
    for i in range(d):
        out += blocks(types[1] if i in every else types[0], 1, **kw)
    return out


def model(stages, stem_type="tiered", stem_pool="maxpool", act="relu", attn=None, self_attn="bottleneck",
          self_attn_kwargs=None, num_features=0, stem_chs=64, img=256):
    return dict(stages=stages, stem_type=stem_type, stem_pool=stem_pool, act=act, attn=attn, self_attn=self_attn,
                self_attn_kwargs=self_attn_kwargs or {}, num_features=num_features, stem_chs=stem_chs, img=img)


SA = ("bottle", "self_attn")


def _r26(gs, c5_type="self_attn"):
    """The 26-layer layout of botnet26t, halonet26t, lambda_resnet26t, eca_*26ts."""
    return [blocks("bottle", 2, 256, s=1, gs=gs), blocks("bottle", 2, 512, gs=gs),
            interleave_blocks(SA, 2, c=1024, gs=gs), blocks(c5_type, 2, 2048, gs=gs)]


def _r33():
    """The 33-layer layout of sebotnet33ts / sehalonet33ts (c5 with br 0.333 on 1536)."""
    return [blocks("bottle", 2, 256, s=1), interleave_blocks(SA, 3, every=[2], c=512),
            interleave_blocks(SA, 3, every=[2], c=1024), blocks("self_attn", 2, 1536, br=0.333)]


def _r50(c3=None, c4=None, c5=None, c3_every=4):
    """The 50-layer layout (*50ts); cN = (self_attn_layer, self_attn_kwargs) of that stage, None = the model's."""
    def sa(x):
        return {} if x is None else dict(self_attn_layer=x[0], self_attn_kwargs=x[1])
    return [blocks("bottle", 3, 256, s=1), interleave_blocks(SA, 4, every=c3_every, c=512, **sa(c3)),
            interleave_blocks(SA, 6, c=1024, **sa(c4)), interleave_blocks(SA, 3, c=2048, **sa(c5))]


NETS = {
    "botnet26t_256": model(_r26(0)),
    "eca_botnext26ts_256": model(_r26(16), act="silu", attn="eca", self_attn_kwargs=dict(dim_head=16)),
    "halonet26t": model(_r26(0), self_attn="halo", self_attn_kwargs=dict(block_size=8, halo_size=2)),
    "sehalonet33ts": model(_r33(), stem_pool="", act="silu", num_features=1280, attn="se", self_attn="halo",
                           self_attn_kwargs=dict(block_size=8, halo_size=3)),
    "halonet50ts": model(_r50(c3=("halo", dict(block_size=8, halo_size=3, num_heads=4))), act="silu",
                         self_attn="halo", self_attn_kwargs=dict(block_size=8, halo_size=3)),
    "eca_halonext26ts": model(_r26(16), act="silu", attn="eca", self_attn="halo",
                              self_attn_kwargs=dict(block_size=8, halo_size=2, dim_head=16)),
    "lambda_resnet26t": model(_r26(0), self_attn="lambda", self_attn_kwargs=dict(r=9)),
    "lambda_resnet50ts": model(_r50(), act="silu", self_attn="lambda", self_attn_kwargs=dict(r=9)),
    "lambda_resnet26rpt_256": model(_r26(0), self_attn="lambda", self_attn_kwargs=dict(r=None)),
    # timm's c3_every for these two is interleave_blocks' default (1): blocks 1 and 3 of c3.
    "halo2botnet50ts_256": model(_r50(c3=("halo", dict(halo_size=3)), c4=("halo", dict(halo_size=3)),
                                      c5=("bottleneck", {}), c3_every=1), stem_pool="", act="silu", self_attn=None),
    "lamhalobotnet50ts_256": model(_r50(c3=("lambda", dict(r=13)), c4=("halo", dict(halo_size=3)),
                                        c5=("bottleneck", {}), c3_every=1), stem_pool="", act="silu", self_attn=None),
    "sebotnet33ts_256": model(_r33(), stem_pool="", act="silu", num_features=1280, attn="se"),
    "botnet50ts_256": model(_r50(), act="silu"),
    "halonet_h1": model([blocks("self_attn", 3, 64, s=1, br=1.0), blocks("self_attn", 3, 128, br=1.0),
                         blocks("self_attn", 10, 256, br=1.0), blocks("self_attn", 3, 512, br=1.0)],
                        stem_type="7x7", self_attn="halo", self_attn_kwargs=dict(block_size=8, halo_size=3)),
}
NETS["botnext26ts_256"] = dict(NETS["eca_botnext26ts_256"], attn=None)
# botnet50ts (c4 and c5 interleave bottleneck and BoT blocks) at output stride 16 and 8, at 128 (quick to run).
NETS["botnet50ts_os16_128"] = dict(NETS["botnet50ts_256"], output_stride=16, img=128)
NETS["botnet50ts_os8_128"] = dict(NETS["botnet50ts_256"], output_stride=8, img=128)
# lamhalobotnet50ts (lambda in c3, halo in c4, BoT in c5) at 128, for the feature-map cases (at 32 and 16).
NETS["lamhalobotnet50ts_128"] = dict(NETS["lamhalobotnet50ts_256"], img=128)
NETS["lamhalobotnet50ts_os16_128"] = dict(NETS["lamhalobotnet50ts_256"], output_stride=16, img=128)
# Small halo and lambda layouts for the training-step cases (train DIR NET..): a 32-wide tiered stem, one bottleneck
# block in c2, then one self-attention block in c3 and c4, both strided (halo: block 4, halo 1; lambda: r = 3), at 64.
_SMALL = [blocks("bottle", 1, 64, s=1), blocks("self_attn", 1, 128), blocks("self_attn", 1, 256)]
NETS["halo_small_64"] = model(_SMALL, stem_chs=32, self_attn="halo", self_attn_kwargs=dict(block_size=4, halo_size=1), img=64)
NETS["lambda_small_64"] = model(_SMALL, stem_chs=32, self_attn="lambda", self_attn_kwargs=dict(r=3), img=64)
# The 7x7 one-conv stem without pool (a ConvNormAct at the stem itself: keys stem.conv, stem.bn), names only.
NETS["halonet_h1_nopool"] = dict(NETS["halonet_h1"], stem_pool="")

# The zoo networks of issue 22 (state and io cases); names: every byobnet whose keys the key-map tests check.
ZOO = ["halonet26t", "sehalonet33ts", "halonet50ts", "eca_halonext26ts", "lambda_resnet26t", "lambda_resnet50ts",
       "lambda_resnet26rpt_256", "halo2botnet50ts_256", "lamhalobotnet50ts_256", "sebotnet33ts_256", "botnet50ts_256"]
TORCHVISION = ["resnet18", "resnet34"]
# torchvision's resnet50(replace_stride_with_dilation=...): output stride 16 and 8.  Their cases run at 64 (quick).
DILATED = {"resnet50_os16": [False, False, True], "resnet50_os8": [False, True, True]}
OUTPUT_STRIDE = ["botnet50ts_os16_128", "botnet50ts_os8_128"] + list(DILATED)
CASES = ["botnet26t_256", "eca_botnext26ts_256"] + ZOO + TORCHVISION + OUTPUT_STRIDE
# Feature-map cases (features DIR NET..): every stage's output, as timm's features_only / torchvision's layers return
# them; torchvision's at 64.
FEATURES = ["resnet50", "resnet50_os16", "lamhalobotnet50ts_128", "lamhalobotnet50ts_os16_128"]
# Training-step cases (train DIR NET..).
TRAIN = ["halo_small_64", "lambda_small_64"]
NAMES = ["botnet26t_256", "eca_botnext26ts_256"] + ZOO + ["halonet_h1", "halonet_h1_nopool"]


from reference_byoa_layers import make_divisible  # noqa: E402  (timm's channel rounding, one copy)


def act_layer(name):
    return {"relu": nn.ReLU, "silu": nn.SiLU}[name]


# ---------------------------------------------------------------------------------------------------------------
# Layers (timm names)
# ---------------------------------------------------------------------------------------------------------------
class BatchNormAct2d(nn.BatchNorm2d):
    """BN whose parameters sit at the module itself (timm subclasses BatchNorm2d for weight compatibility),
    followed by the activation (`act`, no parameters) unless apply_act is False."""

    def __init__(self, ch, act, apply_act=True):
        super().__init__(ch, eps=1e-5, momentum=0.1)
        self.act = act_layer(act)() if apply_act else nn.Identity()

    def forward(self, x):
        return self.act(super().forward(x))


class ConvNormAct(nn.Module):
    """timm ConvNormAct: `conv` (no bias, symmetric padding ((s-1) + d(k-1)) // 2), `bn` = BatchNormAct2d."""

    def __init__(self, cin, cout, k, act, stride=1, groups=1, apply_act=True, dilation=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=((stride - 1) + dilation * (k - 1)) // 2,
                              dilation=dilation, groups=groups, bias=False)
        self.bn = BatchNormAct2d(cout, act, apply_act)

    def forward(self, x):
        return self.bn(self.conv(x))


class Eca(nn.Module):
    """timm EcaModule(channels): kernel from the channel count, Conv1d(1, 1, k) across channels, sigmoid gate."""

    def __init__(self, channels, gamma=2, beta=1):
        super().__init__()
        t = int(abs(math.log(channels, 2) + beta) / gamma)
        self.kernel = max(t if t % 2 else t + 1, 3)
        self.conv = nn.Conv1d(1, 1, self.kernel, padding=(self.kernel - 1) // 2, bias=False)

    def forward(self, x):
        y = self.conv(x.mean((2, 3)).unsqueeze(1))
        return x * torch.sigmoid(y).view(x.shape[0], -1, 1, 1)


def rel_logits_gather(q, rel_h, rel_w, height, width):
    """q (N, H*W, d) -> (N, H*W, H*W): q_(hq,wq) . rel_h[hk - hq + H - 1] + q_(hq,wq) . rel_w[wk - wq + W - 1].
    Built with explicit index tables (not timm's pad-and-reshape), so it checks that formulation independently."""
    n, hw, d = q.shape
    q4 = q.reshape(n, height, width, d)
    ih, iw = torch.arange(height), torch.arange(width)
    idx_h = (ih[None, :] - ih[:, None] + height - 1)[None, :, None, :].expand(n, height, width, height)  # [hq, hk]
    idx_w = (iw[None, :] - iw[:, None] + width - 1)[None, None, :, :].expand(n, height, width, width)    # [wq, wk]
    lh = torch.gather(q4 @ rel_h.t(), 3, idx_h)   # n, hq, wq, hk
    lw = torch.gather(q4 @ rel_w.t(), 3, idx_w)   # n, hq, wq, wk
    return (lh[:, :, :, :, None] + lw[:, :, :, None, :]).reshape(n, hw, hw)


def rel_logits_pad(q, rel_h, rel_w, height, width):
    """timm's formulation (pad to shift relative to absolute), written out per axis, for the selfcheck."""
    n, hw, d = q.shape

    def one_axis(qa, rel, length):
        b, a = qa.shape[:2]
        x = (qa @ rel.t()).reshape(-1, length, 2 * length - 1)
        x = F.pad(F.pad(x, [0, 1]).flatten(1), [0, length - 1]).reshape(-1, length + 1, 2 * length - 1)
        return x[:, :length, length - 1:].reshape(b, a, length, length)

    q4 = q.reshape(n, height, width, d)
    lw = one_axis(q4, rel_w, width)                       # n, hq, wq, wk
    lh = one_axis(q4.transpose(1, 2), rel_h, height)      # n, wq, hq, hk
    lh = lh.permute(0, 2, 1, 3)                           # n, hq, wq, hk
    return (lh[:, :, :, :, None] + lw[:, :, :, None, :]).reshape(n, hw, hw)


class PosEmbedRel(nn.Module):
    def __init__(self, height, width, dim_head):
        super().__init__()
        self.height, self.width = height, width
        self.height_rel = nn.Parameter(torch.zeros(2 * height - 1, dim_head))
        self.width_rel = nn.Parameter(torch.zeros(2 * width - 1, dim_head))

    def forward(self, q):
        return rel_logits_gather(q, self.height_rel, self.width_rel, self.height, self.width)


class BottleneckAttn(nn.Module):
    """timm BottleneckAttn(dim, dim_out, feat_size, stride, num_heads=4, dim_head, qk_ratio, qkv_bias): `qkv` 1x1 conv
    (no bias) to [q | k | v] (q and k: heads*dim_head_qk, v: dim), each chunk laid out head-major;
    logits = (q . k) * dim_head_qk^-0.5 + relative logits of the unscaled q; softmax; . v; AvgPool 2x2/2 (`pool`, no
    parameters) when stride 2.  No output projection."""

    def __init__(self, dim, dim_out=None, feat_size=None, stride=1, num_heads=4, dim_head=None, qk_ratio=1.0,
                 qkv_bias=False):
        super().__init__()
        assert feat_size is not None, "BottleneckAttn needs feat_size"
        dim_out = dim_out or dim
        assert dim_out % num_heads == 0
        self.heads = num_heads
        self.dqk = dim_head or make_divisible(dim_out * qk_ratio, divisor=8) // num_heads
        self.dv = dim_out // num_heads
        self.height, self.width = feat_size
        self.scale = self.dqk ** -0.5
        self.qkv = nn.Conv2d(dim, 2 * num_heads * self.dqk + dim_out, 1, bias=qkv_bias)
        self.pos_embed = PosEmbedRel(self.height, self.width, self.dqk)
        self.pool = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()

    def reset_parameters(self):
        nn.init.trunc_normal_(self.qkv.weight, std=self.qkv.weight.shape[1] ** -0.5)
        nn.init.trunc_normal_(self.pos_embed.height_rel, std=self.scale)
        nn.init.trunc_normal_(self.pos_embed.width_rel, std=self.scale)

    def forward(self, x):
        b, c, h, w = x.shape
        assert (h, w) == (self.height, self.width), f"BottleneckAttn built for {self.height}x{self.width}, got {h}x{w}"
        q, k, v = torch.split(self.qkv(x), [self.heads * self.dqk, self.heads * self.dqk, self.heads * self.dv], dim=1)
        q = q.reshape(b * self.heads, self.dqk, h * w).transpose(1, 2)
        k = k.reshape(b * self.heads, self.dqk, h * w)
        v = v.reshape(b * self.heads, self.dv, h * w).transpose(1, 2)
        attn = (q @ k) * self.scale + self.pos_embed(q)
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, self.heads * self.dv, h, w)
        return self.pool(out)


SELF_ATTN = {"bottleneck": BottleneckAttn, "halo": HaloAttn, "lambda": LambdaLayer}


class SEModule(nn.Module):
    """timm SEModule(channels) as byobnet's attn_layer='se' builds it (default kwargs): mean over H, W; fc1 1x1 conv
    (bias) to make_divisible(channels / 16, 8, round_limit=0); ReLU (whatever the net's act); fc2 1x1 conv (bias)
    back; sigmoid gate."""

    def __init__(self, channels):
        super().__init__()
        rd = make_divisible(channels / 16, 8, round_limit=0.)
        self.fc1 = nn.Conv2d(channels, rd, 1, bias=True)
        self.bn = nn.Identity()
        self.act = nn.ReLU()
        self.fc2 = nn.Conv2d(rd, channels, 1, bias=True)

    def forward(self, x):
        s = self.fc2(self.act(self.bn(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * torch.sigmoid(s)


CHANNEL_ATTN = {None: None, "eca": Eca, "se": SEModule}


def shortcut(cin, cout, stride, act, dilation=(1, 1)):
    """timm create_shortcut('conv1x1'): ConvNormAct 1x1 with the stride, no activation, when the shape or the dilation
    changes (a 1x1 conv's dilation does nothing); Identity otherwise."""
    if cin != cout or stride != 1 or dilation[0] != dilation[1]:
        return ConvNormAct(cin, cout, 1, act, stride=stride, apply_act=False)
    return nn.Identity()


class BottleneckBlock(nn.Module):
    """timm BottleneckBlock: conv1_1x1, conv2_kxk (3x3, stride, groups = mid / gs), conv2b_kxk (Identity),
    attn (channel attention on the *bottleneck width*, before conv3_1x1; Identity unless ECA/SE), conv3_1x1 (no act),
    attn_last (Identity), + shortcut, act.  dilation = (first, stage): conv2_kxk takes the first (timm)."""

    def __init__(self, cin, cout, stride, gs, br, act, attn, dilation=(1, 1)):
        super().__init__()
        mid = make_divisible(cout * br)
        groups = mid // gs if gs else 1
        self.shortcut = shortcut(cin, cout, stride, act, dilation)
        self.conv1_1x1 = ConvNormAct(cin, mid, 1, act)
        self.conv2_kxk = ConvNormAct(mid, mid, 3, act, stride=stride, groups=groups, dilation=dilation[0])
        self.conv2b_kxk = nn.Identity()
        self.attn = CHANNEL_ATTN[attn](mid) if attn else nn.Identity()
        self.conv3_1x1 = ConvNormAct(mid, cout, 1, act, apply_act=False)
        self.attn_last = nn.Identity()
        self.act = act_layer(act)()

    def forward(self, x):
        y = self.conv3_1x1(self.attn(self.conv2b_kxk(self.conv2_kxk(self.conv1_1x1(x)))))
        return self.act(self.attn_last(y) + self.shortcut(x))


class SelfAttnBlock(nn.Module):
    """timm SelfAttnBlock: conv1_1x1, conv2_kxk (Identity: extra_conv False, so groups play no part), self_attn
    (timm's layer for the block, which applies the block's stride itself), post_attn (BatchNormAct2d, with act),
    conv3_1x1 (no act), + shortcut, act.  No channel attention (timm's SelfAttnBlock has no `attn`).  The dilation
    reaches only the shortcut's condition: timm passes none to the self-attention layer."""

    def __init__(self, cin, cout, stride, br, act, feat, layer, kwargs, dilation=(1, 1)):
        super().__init__()
        mid = make_divisible(cout * br)
        self.shortcut = shortcut(cin, cout, stride, act, dilation)
        self.conv1_1x1 = ConvNormAct(cin, mid, 1, act)
        self.conv2_kxk = nn.Identity()
        self.self_attn = SELF_ATTN[layer](mid, stride=stride, feat_size=feat, **kwargs)
        self.post_attn = BatchNormAct2d(mid, act)
        self.conv3_1x1 = ConvNormAct(mid, cout, 1, act, apply_act=False)
        self.act = act_layer(act)()

    def forward(self, x):
        y = self.conv3_1x1(self.post_attn(self.self_attn(self.conv2_kxk(self.conv1_1x1(x)))))
        return self.act(y + self.shortcut(x))


class Stem(nn.Sequential):
    """timm Stem (stride 4): 'tiered' = ConvNormAct 3x3 of 3*c/8 (/2), c/2, c; '7x7' with a pool = one ConvNormAct
    7x7/2 (`conv1`).  Every conv with BN and act.  With stem_pool 'maxpool' a MaxPool 3x3/2 pad 1 (`pool`) follows;
    with stem_pool '' the last conv is strided instead (timm: stride 4 and no pool)."""

    def __init__(self, cin, widths, k, pool, act):
        super().__init__()
        strides = [2] + [1] * (len(widths) - 1)
        if not pool:
            strides[-1] = 2
        prev = cin
        for i, (w, s) in enumerate(zip(widths, strides)):
            self.add_module(f"conv{i + 1}", ConvNormAct(prev, w, k, act, stride=s))
            prev = w
        if pool:
            self.add_module("pool", nn.MaxPool2d(3, stride=2, padding=1))


def make_stem(cfg):
    """timm create_byob_stem for the two stem types used here; returns the stem and its reduction."""
    c, act, pool = cfg["stem_chs"], cfg["act"], cfg["stem_pool"]
    if cfg["stem_type"] == "tiered":
        return Stem(3, (3 * c // 8, c // 2, c), 3, pool, act), 4
    assert cfg["stem_type"] == "7x7"
    if pool:
        return Stem(3, (c,), 7, pool, act), 4
    return ConvNormAct(3, c, 7, act, stride=2), 2


class ClassifierHead(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class ByobNet(nn.Module):
    """stem, stages (Sequential of Sequentials), final_conv (ConvNormAct 1x1 with act when num_features, else
    Identity), head.fc.  Each block's self-attention layer and kwargs: the block's own when set (timm's
    override_kwargs: block kwargs replace the model's whole), else the model's.  cfg["output_stride"] (default 32) as
    timm's create_byob_stages: a strided stage at or past it runs at stride 1 and multiplies the dilation by its stride;
    a stage's first block takes 1 if the dilation is 1 or 2, else 2, its later blocks the dilation."""

    def __init__(self, cfg, classes=1000):
        super().__init__()
        act = cfg["act"]
        self.stem, reduction = make_stem(cfg)
        feat = (cfg["img"] // reduction, cfg["img"] // reduction)
        prev = cfg["stem_chs"]
        self.feat_sizes = []   # the map each block's attention (if any) runs on
        self.reductions = []   # each stage's output stride (timm's feature_info reduction)
        output_stride, net_stride, dilation = cfg.get("output_stride", 32), reduction, 1
        stages = []
        for st in cfg["stages"]:
            blocks = []
            stage_stride = st[0]["s"]
            if net_stride >= output_stride and stage_stride > 1:
                dilation *= stage_stride
                stage_stride = 1
            net_stride *= stage_stride
            first_dilation = 1 if dilation in (1, 2) else 2
            for j, b in enumerate(st):
                stride = stage_stride if j == 0 else 1
                dil = (first_dilation, dilation)
                first_dilation = dilation
                if b["type"] == "bottle":
                    blocks.append(BottleneckBlock(prev, b["c"], stride, b["gs"], b["br"], act, cfg["attn"], dil))
                else:
                    layer = b.get("self_attn_layer") or cfg["self_attn"]
                    kwargs = b.get("self_attn_kwargs")
                    kwargs = cfg["self_attn_kwargs"] if kwargs is None else kwargs
                    blocks.append(SelfAttnBlock(prev, b["c"], stride, b["br"], act, feat, layer, kwargs, dil))
                self.feat_sizes.append(feat)
                if stride > 1:
                    feat = (feat[0] // stride, feat[1] // stride)
                prev = b["c"]
            stages.append(nn.Sequential(*blocks))
            self.reductions.append(net_stride)
        self.stages = nn.Sequential(*stages)
        if cfg["num_features"]:
            self.final_conv = ConvNormAct(prev, cfg["num_features"], 1, act)
            prev = cfg["num_features"]
        else:
            self.final_conv = nn.Identity()
        self.head = ClassifierHead(prev, classes)
        self.final_feat = feat

    def forward(self, x):
        return self.head(self.final_conv(self.stages(self.stem(x))))


def timm_init(net):
    """timm's _init_weights with zero_init_last: conv2d N(0, sqrt(2/fan_out)), linear N(0, 0.01), BN (1, 0), every
    block's conv3_1x1.bn.weight zeroed (timm tests `shortcut is not None`, and Identity is not None), then each
    self-attention layer's reset_parameters (BottleneckAttn, HaloAttn: trunc_normal qkv/q/kv by fan-in and position
    tables by dim_head_qk^-0.5; LambdaLayer: qkv by fan-in, conv_lambda by dim_qk^-0.5, pos_emb 0.02); ECA's Conv1d,
    SE's biases and conv_lambda's bias keep PyTorch's default."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            m.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for m in net.modules():
        if isinstance(m, (BottleneckBlock, SelfAttnBlock)):
            nn.init.zeros_(m.conv3_1x1.bn.weight)
        if isinstance(m, SelfAttnBlock):
            m.self_attn.reset_parameters()


def randomize(net, seed):
    """Random weights whose logits depend on every tensor: timm's init, then random BN affine and running stats
    (including Lambda's norm_q / norm_v), ECA kernels re-drawn around 0, SE biases, conv_lambda's bias and the final
    conv's BN drawn too (last BN of each block scaled down instead of zeroed, so 50-layer nets stay well
    conditioned)."""
    g = torch.Generator().manual_seed(seed)

    def rnd(t, scale):
        t.copy_(scale * torch.randn(t.shape, generator=g, dtype=t.dtype))

    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
        for m in net.modules():
            if isinstance(m, (BottleneckBlock, SelfAttnBlock)):
                m.conv3_1x1.bn.weight.mul_(0.3)
            if isinstance(m, Eca):
                rnd(m.conv.weight, 0.5)
            if isinstance(m, SEModule):
                rnd(m.fc1.bias, 0.1)
                rnd(m.fc2.bias, 0.5)
            if isinstance(m, LambdaLayer):
                if m.conv_lambda is not None:   # timm's std dim_qk^-0.5 over r*r taps compounds over ReLU blocks
                    rnd(m.conv_lambda.weight, 0.3 / m.conv_lambda.kernel_size[0])
                    rnd(m.conv_lambda.bias, 0.1)
                else:
                    rnd(m.pos_emb, 0.1)
        rnd(net.head.fc.bias, 0.1)


def randomize_torchvision(net, seed):
    """torchvision ResNet: random BN affine and running statistics (each block's last BN scaled down, as above), fc
    bias."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
        for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
            for b in layer:
                b.bn2.weight.mul_(0.3)
        net.fc.bias.copy_(0.1 * torch.randn(net.fc.bias.shape, generator=g, dtype=net.fc.bias.dtype))


# ---------------------------------------------------------------------------------------------------------------
# Counting: params, MACs (1 MAC = 1 multiply-add = 2 FLOPs).  conv: every Conv1d/Conv2d (ECA, SE, q, kv, qkv
# included); linear: the fc; attention, per layer and batch element, on the map it runs on (before its pooling):
#   BoT (H*W = n):   q.k n*n*heads*dqk + attn.v n*n*heads*dv + relative logits n*heads*dqk*(2H-1 + 2W-1)
#   Halo (nb blocks of b*b queries, b = block_size // block_stride, windows of w*w, w = block + 2*halo):
#                    q.k nb*b*b*w*w*heads*dqk + attn.v nb*b*b*w*w*heads*dv + relative logits nb*b*b*heads*dqk*2*(2w-1)
#   Lambda (M = H*W, K = dim_qk, V = dim_v): content lambda k.v K*M*V, content output q.lambda heads*M*K*V,
#                    position lambda: with r the Conv3d (r, r, 1) K*M*V*r*r, without r the table product M*M*K*V,
#                    position output q.lambda heads*M*K*V
# ---------------------------------------------------------------------------------------------------------------
def count_params(net):
    return sum(p.numel() for p in net.parameters())


def attention_macs(m, h, w):
    if isinstance(m, BottleneckAttn):
        n = h * w
        return n * n * m.heads * (m.dqk + m.dv) + n * m.heads * m.dqk * (2 * h - 1 + 2 * w - 1)
    if isinstance(m, HaloAttn):
        nb = (h // m.block_size) * (w // m.block_size)
        nq, nk = m.block_size_ds ** 2, m.win_size ** 2
        return nb * nq * (nk * m.num_heads * (m.dim_head_qk + m.dim_head_v)
                          + m.num_heads * m.dim_head_qk * 2 * (2 * m.win_size - 1))
    if isinstance(m, LambdaLayer):
        mm, k, v = h * w, m.dim_qk, m.dim_v
        position = k * mm * v * m.conv_lambda.kernel_size[0] * m.conv_lambda.kernel_size[1] \
            if m.conv_lambda is not None else mm * mm * k * v
        return k * mm * v + 2 * m.num_heads * mm * k * v + position
    raise TypeError(type(m))


def count_macs(net, img):
    macs = {"conv": 0, "linear": 0, "attn": 0}
    hooks = []

    def conv_hook(m, inp, out):
        macs["conv"] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * math.prod(m.kernel_size)

    def linear_hook(m, inp, out):
        macs["linear"] += m.in_features * m.out_features

    def attn_hook(m, inp, out):
        macs["attn"] += attention_macs(m, inp[0].shape[2], inp[0].shape[3])

    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv1d)):   # not Conv3d: Lambda's conv_lambda is its position lambda
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, tuple(SELF_ATTN.values())):
            hooks.append(m.register_forward_hook(attn_hook))
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, img, img))
    for h in hooks:
        h.remove()
    return macs


def build(name, seed=0, init=True):
    """The net in eval mode; init=False skips timm's init (counts only: shapes do not depend on it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name in TORCHVISION or name in DILATED or name == "resnet50":
            import torchvision
            net = torchvision.models.resnet50(replace_stride_with_dilation=DILATED[name]) if name in DILATED \
                else getattr(torchvision.models, name)()
        else:
            net = ByobNet(NETS[name])
            if init:
                timm_init(net)
    return net.eval()


def image_size(name):
    return 224 if name in TORCHVISION or name in DILATED else NETS[name]["img"]


# timm's published figures (results/benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv: param_count in millions,
# infer_gmacs); torchvision's exact parameter counts (its weights' metadata).
PUBLISHED = {"botnet26t_256": (12.49, 3.32), "eca_botnext26ts_256": (10.59, 2.46), "halonet26t": (12.48, 3.19),
             "sehalonet33ts": (13.69, 3.55), "halonet50ts": (22.73, 5.3), "eca_halonext26ts": (10.76, 2.44),
             "lambda_resnet26t": (10.96, 3.02), "lambda_resnet50ts": (21.54, 5.07),
             "lambda_resnet26rpt_256": (10.99, 3.16), "halo2botnet50ts_256": (22.64, 5.02),
             "lamhalobotnet50ts_256": (22.57, 5.02), "sebotnet33ts_256": (13.70, 3.89),
             "botnet50ts_256": (22.74, 5.54), "halonet_h1": (8.10, 3.0)}
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50_os16": 25_557_032, "resnet50_os8": 25_557_032}


def check_published(name, params):
    """The exact count rounds to timm's published millions (2 decimals), or equals torchvision's exact count."""
    if name in TORCHVISION_PARAMS:
        return params == TORCHVISION_PARAMS[name]
    return name not in PUBLISHED or round(params / 1e6, 2) == PUBLISHED[name][0]


def cmd_counts():
    ok = True
    for name in ["botnet26t_256", "eca_botnext26ts_256", "botnext26ts_256"] + ZOO + TORCHVISION + ["halonet_h1"] + OUTPUT_STRIDE:
        net = build(name, init=False)
        p = count_params(net)
        m = count_macs(net, image_size(name))
        total = sum(m.values())
        pub = PUBLISHED.get(name)
        good = check_published(name, p)
        ok &= good
        print(f"{name}: params {p:,}; MACs {total:,} = conv {m['conv']:,} + linear {m['linear']:,} + attention "
              f"{m['attn']:,} at {image_size(name)}"
              + (f"; timm publishes {pub[0]}M params, {pub[1]} GMACs" if pub else "")
              + (f"; torchvision publishes {TORCHVISION_PARAMS[name]:,} params" if name in TORCHVISION_PARAMS else "")
              + ("" if good else "  MISMATCH"))
    if not ok:
        sys.exit(1)


def stage_outputs(net, x):
    """Every stage's output: torchvision's layer1..4 after its stem, or ByobNet's stages.i."""
    if isinstance(net, ByobNet):
        x, stages = net.stem(x), list(net.stages)
    else:
        x, stages = net.maxpool(net.relu(net.bn1(net.conv1(x)))), [net.layer1, net.layer2, net.layer3, net.layer4]
    out = []
    for st in stages:
        x = st(x)
        out.append(x)
    return out


def cmd_features(out_dir, names):
    """DIR/<net>.features.state.safetensors (float64, random weights and BN statistics, without the head, as a
    features_only model has none) and DIR/<net>.features.io.safetensors (input, feature1..N in eval mode)."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        sys.exit(f"unknown net(s) {unknown}; known: {FEATURES}")
    os.makedirs(out_dir, exist_ok=True)
    for i, name in enumerate(FEATURES):
        if names and name not in names:
            continue
        net = build(name).double()
        torchvision_net = name not in NETS
        (randomize_torchvision if torchvision_net else randomize)(net, seed=101 + i)
        size = 64 if torchvision_net else image_size(name)
        x = torch.randn(1, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(13))
        with torch.no_grad():
            feats = stage_outputs(net, x)
        state = {k: v for k, v in net.state_dict().items() if not k.startswith(("fc.", "head.", "final_conv."))}
        st_io.save(os.path.join(out_dir, f"{name}.features.state.safetensors"), state)
        st_io.save(os.path.join(out_dir, f"{name}.features.io.safetensors"),
                   dict({"input": x}, **{f"feature{j + 1}": f for j, f in enumerate(feats)}))
        print(f"{name}: " + ", ".join("x".join(str(d) for d in f.shape[1:]) for f in feats))


def cmd_train(out_dir, names):
    """One SGD step (lr 0.1, no momentum or weight decay) in train mode on a batch of 2, float64: DIR/<net>.train.before
    .safetensors (the random state), DIR/<net>.train.after.safetensors (the state after the step: parameters and the
    BatchNorm running statistics) and DIR/<net>.train.io.safetensors (input, target, loss)."""
    unknown = [n for n in names if n not in TRAIN]
    if unknown:
        sys.exit(f"unknown net(s) {unknown}; known: {TRAIN}")
    os.makedirs(out_dir, exist_ok=True)
    for i, name in enumerate(TRAIN):
        if names and name not in names:
            continue
        net = build(name).double()
        randomize(net, seed=201 + i)
        st_io.save(os.path.join(out_dir, f"{name}.train.before.safetensors"), net.state_dict())
        size = image_size(name)
        x = torch.randn(2, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(17))
        target = torch.tensor([3, 7])
        net.train()
        loss = F.cross_entropy(net(x), target)
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                if p.grad is not None:
                    p -= 0.1 * p.grad
        st_io.save(os.path.join(out_dir, f"{name}.train.after.safetensors"), net.state_dict())
        st_io.save(os.path.join(out_dir, f"{name}.train.io.safetensors"),
                   {"input": x, "target": target, "loss": loss.detach().reshape(1)})
        print(f"{name}: loss {float(loss):.6f}")


def cmd_cases(out_dir, names):
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown net(s) {unknown}; known: {CASES}")
    os.makedirs(out_dir, exist_ok=True)
    for name in ("botnet26t_256", "eca_botnext26ts_256"):
        st_io.save(os.path.join(out_dir, f"{name}.keys.safetensors"), build(name).state_dict())
    for i, name in enumerate(CASES):
        if names and name not in names:
            continue
        net = build(name).double()
        (randomize_torchvision if name in TORCHVISION or name in DILATED else randomize)(net, seed=7 + i)
        size = 64 if name in DILATED else image_size(name)
        x = torch.randn(1, 3, size, size, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
        with torch.no_grad():
            y = net(x)
        st_io.save(os.path.join(out_dir, f"{name}.state.safetensors"), net.state_dict())
        st_io.save(os.path.join(out_dir, f"{name}.io.safetensors"), {"input": x, "logits": y})
        print(f"{name}: logits std {float(y.std()):.4f}, max |logit| {float(y.abs().max()):.4f}")


# ---------------------------------------------------------------------------------------------------------------
# Torchwright names (the ResNet-family layout of docs/weights.md and issue 22's contract), from the module tree:
# stem -> conv1 (one conv) or conv1.0/.1/.3/.4/.6 + bn1 (three), stages.i.j -> layer{i+1}.j with conv1/bn1,
# conv2/bn2 (post_attn of a self-attention block is bn2), se, mhsa (every self-attention kind; BoT's and Halo's
# pos_embed -> rel_pos), conv3/bn3, downsample.0/.1; final_conv.0/.1; fc.
# ---------------------------------------------------------------------------------------------------------------
def torchwright_names(net):
    names = {}

    def put(prefix, module, target):
        for k in module.state_dict():
            names[f"{prefix}.{k}"] = f"{target}.{k}"

    stem = net.stem
    if isinstance(stem, ConvNormAct):
        put("stem.conv", stem.conv, "conv1")
        put("stem.bn", stem.bn, "bn1")
    else:
        convs = [m for n, m in stem.named_children() if n.startswith("conv")]
        if len(convs) == 1:
            put("stem.conv1.conv", convs[0].conv, "conv1")
            put("stem.conv1.bn", convs[0].bn, "bn1")
        else:
            assert len(convs) == 3
            for i, c in enumerate(convs):
                put(f"stem.conv{i + 1}.conv", c.conv, f"conv1.{3 * i}")
                put(f"stem.conv{i + 1}.bn", c.bn, f"conv1.{3 * i + 1}" if i < 2 else "bn1")
    for i, stage in enumerate(net.stages):
        for j, b in enumerate(stage):
            src, dst = f"stages.{i}.{j}", f"layer{i + 1}.{j}"
            put(f"{src}.conv1_1x1.conv", b.conv1_1x1.conv, f"{dst}.conv1")
            put(f"{src}.conv1_1x1.bn", b.conv1_1x1.bn, f"{dst}.bn1")
            if isinstance(b, BottleneckBlock):
                put(f"{src}.conv2_kxk.conv", b.conv2_kxk.conv, f"{dst}.conv2")
                put(f"{src}.conv2_kxk.bn", b.conv2_kxk.bn, f"{dst}.bn2")
                put(f"{src}.attn", b.attn, f"{dst}.se")
            else:
                for k in b.self_attn.state_dict():
                    t = k.replace("pos_embed.", "rel_pos.") if k.startswith("pos_embed.") else k
                    names[f"{src}.self_attn.{k}"] = f"{dst}.mhsa.{t}"
                put(f"{src}.post_attn", b.post_attn, f"{dst}.bn2")
            put(f"{src}.conv3_1x1.conv", b.conv3_1x1.conv, f"{dst}.conv3")
            put(f"{src}.conv3_1x1.bn", b.conv3_1x1.bn, f"{dst}.bn3")
            if isinstance(b.shortcut, ConvNormAct):
                put(f"{src}.shortcut.conv", b.shortcut.conv, f"{dst}.downsample.0")
                put(f"{src}.shortcut.bn", b.shortcut.bn, f"{dst}.downsample.1")
    if isinstance(net.final_conv, ConvNormAct):
        put("final_conv.conv", net.final_conv.conv, "final_conv.0")
        put("final_conv.bn", net.final_conv.bn, "final_conv.1")
    put("head.fc", net.head.fc, "fc")
    sd = net.state_dict()
    assert set(names) == set(sd), sorted(set(names) ^ set(sd))
    assert len(set(names.values())) == len(names), "two timm keys onto one Torchwright name"
    return {k: dict(shape=list(sd[k].shape), torchwright=names[k]) for k in sd}


def cmd_names(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name in NAMES:
        with open(os.path.join(out_dir, f"{name}.names.json"), "w") as f:
            json.dump(torchwright_names(build(name, init=False)), f, indent=0)


def cmd_selfcheck():
    g = torch.Generator().manual_seed(0)
    for h, w in ((4, 4), (3, 5), (16, 16), (8, 8)):
        q = torch.randn(6, h * w, 7, dtype=torch.float64, generator=g)
        rh = torch.randn(2 * h - 1, 7, dtype=torch.float64, generator=g)
        rw = torch.randn(2 * w - 1, 7, dtype=torch.float64, generator=g)
        a, b = rel_logits_gather(q, rh, rw, h, w), rel_logits_pad(q, rh, rw, h, w)
        # brute force for one query/key pair
        hq, wq, hk, wk = h - 1, 0, 0, w - 1
        ref = q[2, hq * w + wq] @ (rh[hk - hq + h - 1] + rw[wk - wq + w - 1])
        assert torch.allclose(a, b, atol=1e-12) and abs(float(a[2, hq * w + wq, hk * w + wk] - ref)) < 1e-12, (h, w)
    print("selfcheck ok")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "counts"
    if cmd == "counts":
        cmd_counts()
    elif cmd == "cases" and len(sys.argv) >= 3:
        cmd_cases(sys.argv[2], sys.argv[3:])
    elif cmd == "train" and len(sys.argv) >= 3:
        cmd_train(sys.argv[2], sys.argv[3:])
    elif cmd == "features" and len(sys.argv) >= 3:
        cmd_features(sys.argv[2], sys.argv[3:])
    elif cmd == "names" and len(sys.argv) == 3:
        cmd_names(sys.argv[2])
    elif cmd == "selfcheck":
        cmd_selfcheck()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
