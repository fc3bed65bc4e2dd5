"""PyTorch 1.13 reference of timm's byobnet layout, for exactly what botnet26t_256 and eca_botnext26ts_256 need,
with timm's state-dict names (stem.conv1.conv, stages.i.j.conv1_1x1.bn, self_attn.pos_embed.height_rel, post_attn,
shortcut.conv, head.fc, ...).  Written for this project from a reading of timm (models/byobnet.py, byoanet.py,
layers/bottleneck_attn.py, conv_bn_act.py, norm_act.py, eca.py); no timm import, no copied code.

timm registers no model called "botnext26ts_256": the grouped (gs=16), SiLU BoTNet-26 is "eca_botnext26ts_256"
(ECA channel attention in its bottleneck blocks).  NETS["botnext26ts_256"] is that net without ECA, for the layout
questions only.

    python3 reference_byobnet.py counts          params and MACs at 256x256 (1 MAC = 1 multiply-add)
    python3 reference_byobnet.py cases DIR       DIR/<net>.keys.safetensors (float32, timm init) for the key-map tests;
                                                 DIR/<net>.{state,io}.safetensors (float64, random) for botnet26t_256
                                                 and eca_botnext26ts_256
    python3 reference_byobnet.py selfcheck       gather-based relative logits == timm's pad-and-reshape formulation
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import st_io


# ---------------------------------------------------------------------------------------------------------------
# The two configs, as timm's ByoModelCfg spells them (byoanet.py), reduced to the fields these nets use.
# ---------------------------------------------------------------------------------------------------------------
def _stage(types, c, s, gs, br=0.25):
    return dict(types=types, c=c, s=s, gs=gs, br=br)


# interleave_blocks(types=('bottle', 'self_attn'), d=2) with the default every=1 puts self_attn at index 1 only.
NETS = {
    "botnet26t_256": dict(
        stages=[_stage(["bottle", "bottle"], 256, 1, 0), _stage(["bottle", "bottle"], 512, 2, 0),
                _stage(["bottle", "self_attn"], 1024, 2, 0), _stage(["self_attn", "self_attn"], 2048, 2, 0)],
        stem_chs=64, act="relu", attn=None, dim_head=None, img=256),
    "eca_botnext26ts_256": dict(
        stages=[_stage(["bottle", "bottle"], 256, 1, 16), _stage(["bottle", "bottle"], 512, 2, 16),
                _stage(["bottle", "self_attn"], 1024, 2, 16), _stage(["self_attn", "self_attn"], 2048, 2, 16)],
        stem_chs=64, act="silu", attn="eca", dim_head=16, img=256),
}
NETS["botnext26ts_256"] = dict(NETS["eca_botnext26ts_256"], attn=None)


def make_divisible(v, divisor=8, min_value=None, round_limit=.9):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


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
    """timm ConvNormAct: `conv` (no bias, symmetric padding ((s-1) + (k-1)) // 2), `bn` = BatchNormAct2d."""

    def __init__(self, cin, cout, k, act, stride=1, groups=1, apply_act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=((stride - 1) + (k - 1)) // 2, groups=groups, bias=False)
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
    """timm BottleneckAttn: `qkv` 1x1 conv (no bias) to [q | k | v] (q and k: heads*dim_head_qk, v: dim), each
    chunk laid out head-major; logits = (q . k) * dim_head_qk^-0.5 + relative logits of the unscaled q; softmax; . v;
    AvgPool 2x2/2 (`pool`, no parameters) when stride 2.  No output projection."""

    def __init__(self, dim, height, width, stride, heads=4, dim_head=None):
        super().__init__()
        self.heads = heads
        self.dqk = dim_head or make_divisible(dim, 8) // heads
        self.dv = dim // heads
        self.height, self.width = height, width
        self.scale = self.dqk ** -0.5
        self.qkv = nn.Conv2d(dim, 2 * heads * self.dqk + dim, 1, bias=False)
        self.pos_embed = PosEmbedRel(height, width, self.dqk)
        self.pool = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()

    def forward(self, x):
        b, c, h, w = x.shape
        assert (h, w) == (self.height, self.width), f"BottleneckAttn built for {self.height}x{self.width}, got {h}x{w}"
        q, k, v = torch.split(self.qkv(x), [self.heads * self.dqk, self.heads * self.dqk, c], dim=1)
        q = q.reshape(b * self.heads, self.dqk, h * w).transpose(1, 2)
        k = k.reshape(b * self.heads, self.dqk, h * w)
        v = v.reshape(b * self.heads, self.dv, h * w).transpose(1, 2)
        attn = (q @ k) * self.scale + self.pos_embed(q)
        out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, c, h, w)
        return self.pool(out)


def shortcut(cin, cout, stride, act):
    """timm create_shortcut('conv1x1'): ConvNormAct 1x1 with the stride, no activation; Identity otherwise."""
    if cin != cout or stride != 1:
        return ConvNormAct(cin, cout, 1, act, stride=stride, apply_act=False)
    return nn.Identity()


class BottleneckBlock(nn.Module):
    """timm BottleneckBlock: conv1_1x1, conv2_kxk (3x3, stride, groups = mid / gs), conv2b_kxk (Identity),
    attn (channel attention on the *bottleneck width*, before conv3_1x1; Identity here unless ECA), conv3_1x1 (no act),
    attn_last (Identity), + shortcut, act."""

    def __init__(self, cin, cout, stride, gs, br, act, attn):
        super().__init__()
        mid = make_divisible(cout * br)
        groups = mid // gs if gs else 1
        self.shortcut = shortcut(cin, cout, stride, act)
        self.conv1_1x1 = ConvNormAct(cin, mid, 1, act)
        self.conv2_kxk = ConvNormAct(mid, mid, 3, act, stride=stride, groups=groups)
        self.conv2b_kxk = nn.Identity()
        self.attn = Eca(mid) if attn == "eca" else nn.Identity()
        self.conv3_1x1 = ConvNormAct(mid, cout, 1, act, apply_act=False)
        self.attn_last = nn.Identity()
        self.act = act_layer(act)()

    def forward(self, x):
        y = self.conv3_1x1(self.attn(self.conv2b_kxk(self.conv2_kxk(self.conv1_1x1(x)))))
        return self.act(self.attn_last(y) + self.shortcut(x))


class SelfAttnBlock(nn.Module):
    """timm SelfAttnBlock: conv1_1x1, conv2_kxk (Identity: extra_conv False, so groups play no part), self_attn
    (strides by its own AvgPool), post_attn (BatchNormAct2d, with act), conv3_1x1 (no act), + shortcut, act.
    No channel attention (timm's SelfAttnBlock has no `attn`)."""

    def __init__(self, cin, cout, stride, br, act, feat, dim_head):
        super().__init__()
        mid = make_divisible(cout * br)
        self.shortcut = shortcut(cin, cout, stride, act)
        self.conv1_1x1 = ConvNormAct(cin, mid, 1, act)
        self.conv2_kxk = nn.Identity()
        self.self_attn = BottleneckAttn(mid, feat[0], feat[1], stride, dim_head=dim_head)
        self.post_attn = BatchNormAct2d(mid, act)
        self.conv3_1x1 = ConvNormAct(mid, cout, 1, act, apply_act=False)
        self.act = act_layer(act)()

    def forward(self, x):
        y = self.conv3_1x1(self.post_attn(self.self_attn(self.conv2_kxk(self.conv1_1x1(x)))))
        return self.act(y + self.shortcut(x))


class Stem(nn.Sequential):
    """timm Stem, stem_type 'tiered': ConvNormAct 3x3 (3*c/8, /2), (c/2), (c) — every conv with BN and act —
    then `pool` MaxPool 3x3/2 pad 1."""

    def __init__(self, cin, c, act):
        super().__init__()
        widths = (3 * c // 8, c // 2, c)
        prev = cin
        for i, (w, s) in enumerate(zip(widths, (2, 1, 1))):
            self.add_module(f"conv{i + 1}", ConvNormAct(prev, w, 3, act, stride=s))
            prev = w
        self.add_module("pool", nn.MaxPool2d(3, stride=2, padding=1))


class ClassifierHead(nn.Module):
    def __init__(self, cin, classes):
        super().__init__()
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


class ByobNet(nn.Module):
    """stem, stages (Sequential of Sequentials), final_conv (Identity: num_features 0), head.fc."""

    def __init__(self, cfg, classes=1000):
        super().__init__()
        act = cfg["act"]
        self.stem = Stem(3, cfg["stem_chs"], act)
        feat = (cfg["img"] // 4, cfg["img"] // 4)
        prev = cfg["stem_chs"]
        self.feat_sizes = []   # the map each block's attention (if any) runs on
        stages = []
        for st in cfg["stages"]:
            blocks = []
            for j, kind in enumerate(st["types"]):
                stride = st["s"] if j == 0 else 1
                if kind == "bottle":
                    blocks.append(BottleneckBlock(prev, st["c"], stride, st["gs"], st["br"], act, cfg["attn"]))
                else:
                    blocks.append(SelfAttnBlock(prev, st["c"], stride, st["br"], act, feat, cfg["dim_head"]))
                self.feat_sizes.append(feat)
                if stride > 1:
                    feat = (feat[0] // stride, feat[1] // stride)
                prev = st["c"]
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.final_conv = nn.Identity()
        self.head = ClassifierHead(prev, classes)
        self.final_feat = feat

    def forward(self, x):
        return self.head(self.final_conv(self.stages(self.stem(x))))


def timm_init(net):
    """timm's _init_weights with zero_init_last: conv N(0, sqrt(2/fan_out)), linear N(0, 0.01), BN (1, 0), every
    block's conv3_1x1.bn.weight zeroed (timm tests `shortcut is not None`, and Identity is not None), BottleneckAttn
    qkv trunc_normal(std fan_in^-0.5), position tables trunc_normal(std dim_head_qk^-0.5); ECA's Conv1d keeps
    PyTorch's default."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
            m.weight.data.normal_(0, math.sqrt(2.0 / fan_out))
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for m in net.modules():
        if isinstance(m, (BottleneckBlock, SelfAttnBlock)):
            nn.init.zeros_(m.conv3_1x1.bn.weight)
        if isinstance(m, BottleneckAttn):
            nn.init.trunc_normal_(m.qkv.weight, std=m.qkv.weight.shape[1] ** -0.5)
            nn.init.trunc_normal_(m.pos_embed.height_rel, std=m.scale)
            nn.init.trunc_normal_(m.pos_embed.width_rel, std=m.scale)


def randomize(net, seed):
    """Random weights whose logits depend on every tensor: timm's init, then random BN affine and running stats, ECA
    kernels re-drawn around 0 (so the gates differ from channel to channel)
    (last BN of each block scaled down instead of zeroed, so 16 residual blocks stay well conditioned)."""
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
        for m in net.modules():
            if isinstance(m, (BottleneckBlock, SelfAttnBlock)):
                m.conv3_1x1.bn.weight.mul_(0.3)
            if isinstance(m, Eca):
                m.conv.weight.copy_(0.5 * torch.randn(m.conv.weight.shape, generator=g, dtype=m.conv.weight.dtype))
        net.head.fc.bias.copy_(0.1 * torch.randn(net.head.fc.bias.shape, generator=g))


# ---------------------------------------------------------------------------------------------------------------
# Counting: params, MACs (conv + linear + attention matmuls q.k, A.v, q.r; 1 MAC = 1 multiply-add = 2 FLOPs)
# ---------------------------------------------------------------------------------------------------------------
def count_params(net):
    return sum(p.numel() for p in net.parameters())


def count_macs(net, img):
    macs = {"conv": 0, "linear": 0, "attn": 0}
    hooks = []

    def conv_hook(m, inp, out):
        macs["conv"] += out.numel() // out.shape[0] * (m.in_channels // m.groups) * math.prod(m.kernel_size)

    def linear_hook(m, inp, out):
        macs["linear"] += m.in_features * m.out_features

    def attn_hook(m, inp, out):
        n = m.height * m.width
        qk, v = m.heads * m.dqk, m.heads * m.dv
        macs["attn"] += n * n * qk + n * n * v + n * qk * (2 * m.height - 1 + 2 * m.width - 1)

    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv1d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, BottleneckAttn):
            hooks.append(m.register_forward_hook(attn_hook))
    with torch.no_grad():
        net.eval()(torch.zeros(1, 3, img, img))
    for h in hooks:
        h.remove()
    return macs


def build(name, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ByobNet(NETS[name])
        timm_init(net)
    return net.eval()


# timm's published figures (results/benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv, results-imagenet.csv):
# param_count in millions, infer_gmacs.
PUBLISHED = {"botnet26t_256": (12.49, 3.32), "eca_botnext26ts_256": (10.59, 2.46)}


def cmd_counts():
    for name in ("botnet26t_256", "eca_botnext26ts_256", "botnext26ts_256"):
        net = build(name)
        p = count_params(net)
        m = count_macs(net, NETS[name]["img"])
        total = sum(m.values())
        pub = PUBLISHED.get(name)
        attn_tables = sum(x.numel() for n, x in net.named_parameters() if "pos_embed" in n)
        print(f"{name}: params {p:,} (position tables {attn_tables:,}); MACs {total:,} = conv {m['conv']:,} + "
              f"linear {m['linear']:,} + attention {m['attn']:,}; final map {net.final_feat}; "
              f"attention maps {[f for f, b in zip(net.feat_sizes, [b for s in net.stages for b in s]) if isinstance(b, SelfAttnBlock)]}"
              + (f"; timm publishes {pub[0]}M params, {pub[1]} GMACs" if pub else ""))


def cmd_cases(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name in ("botnet26t_256", "eca_botnext26ts_256"):
        st_io.save(os.path.join(out_dir, f"{name}.keys.safetensors"), build(name).state_dict())
    for name, seed in (("botnet26t_256", 7), ("eca_botnext26ts_256", 8)):
        net = build(name).double()
        randomize(net, seed=seed)
        x = torch.randn(1, 3, 256, 256, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
        with torch.no_grad():
            y = net(x)
        st_io.save(os.path.join(out_dir, f"{name}.state.safetensors"), net.state_dict())
        st_io.save(os.path.join(out_dir, f"{name}.io.safetensors"), {"input": x, "logits": y})
        print(f"{name}: logits std {float(y.std()):.4f}")


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
    elif cmd == "cases":
        cmd_cases(sys.argv[2])
    elif cmd == "selfcheck":
        cmd_selfcheck()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
