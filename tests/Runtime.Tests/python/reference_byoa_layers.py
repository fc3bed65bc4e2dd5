"""PyTorch 1.13 references of timm's Halo and Lambda self-attention layers (timm/layers/halo_attn.py HaloAttn,
timm/layers/lambda_layer.py LambdaLayer), with timm's constructor signatures, state-dict names
(q, kv, pos_embed.height_rel, pos_embed.width_rel; qkv, norm_q, norm_v, conv_lambda, pos_emb) and init.
Written for this project from a reading of timm; no timm import, no copied code.  Imported by
reference_byobnet.py (whole byoanet networks) and attention_slot_parity.py (block parity with the Runtime).

    python3 reference_byoa_layers.py selfcheck    gather-based logits == the pad-and-reshape ones used here
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8, min_value=None, round_limit=.9):
    """timm's channel rounding: nearest multiple of divisor, never below min_value nor 10% under v."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def rel_logits_1d(q, rel_k, permute_mask):
    """q (N, H, W, d), rel_k (2*win-1, d) -> (N, H, W, win, win) permuted by permute_mask, where the logit of query
    column w and key column j (0 <= j < win) is q[..., w, :] . rel_k[j - w + win - 1] (tiled over the other axis).
    Relative-to-absolute by padding and reshaping, as timm does."""
    n, h, w, _ = q.shape
    rel_size = rel_k.shape[0]
    win = (rel_size + 1) // 2
    x = (q @ rel_k.transpose(-1, -2)).reshape(-1, w, rel_size)
    x = F.pad(x, [0, 1]).flatten(1)
    x = F.pad(x, [0, rel_size - w]).reshape(-1, w + 1, rel_size)
    x = x[:, :w, win - 1:]
    x = x.reshape(n, h, 1, w, win).expand(-1, -1, win, -1, -1)
    return x.permute(permute_mask)


def rel_logits_1d_gather(q, rel_k):
    """The same logits as rel_logits_1d before tiling, by explicit indexing: (N, H, W, win)."""
    w = q.shape[2]
    win = (rel_k.shape[0] + 1) // 2
    idx = torch.arange(win)[None, :] - torch.arange(w)[:, None] + win - 1  # (W, win)
    x = q @ rel_k.transpose(-1, -2)  # N, H, W, 2win-1
    return x.gather(-1, idx.expand(*x.shape[:-1], win))


class PosEmbedRel(nn.Module):
    """Halo's relative position logits: tables height_rel, width_rel (2*win-1, dim_head) shared by all heads."""

    def __init__(self, block_size, win_size, dim_head, scale):
        super().__init__()
        self.block_size = block_size
        self.dim_head = dim_head
        self.height_rel = nn.Parameter(torch.randn(win_size * 2 - 1, dim_head) * scale)
        self.width_rel = nn.Parameter(torch.randn(win_size * 2 - 1, dim_head) * scale)

    def forward(self, q):
        b, bb, hw, _ = q.shape
        q = q.reshape(-1, self.block_size, self.block_size, self.dim_head)
        logits_w = rel_logits_1d(q, self.width_rel, (0, 1, 3, 2, 4))
        logits_h = rel_logits_1d(q.transpose(1, 2), self.height_rel, (0, 3, 1, 4, 2))
        return (logits_h + logits_w).reshape(b, bb, hw, -1)


class HaloAttn(nn.Module):
    """timm HaloAttn: non-overlapping query blocks of block_size attend to key/value windows of
    block_size + 2*halo_size around them.  q: 1x1 conv (stride block_stride) to num_heads*dim_head_qk; kv: one 1x1
    conv whose output channels are grouped per head as [k (dim_head_qk) | v (dim_head_v)] consecutive blocks.
    Stride 2: queries are subsampled by the strided q conv, unless avg_down or block_size % stride != 0, in which
    case the full-resolution output is average-pooled 2x2."""

    def __init__(self, dim, dim_out=None, feat_size=None, stride=1, num_heads=8, dim_head=None, block_size=8,
                 halo_size=3, qk_ratio=1.0, qkv_bias=False, avg_down=False, scale_pos_embed=False):
        super().__init__()
        dim_out = dim_out or dim
        assert dim_out % num_heads == 0
        assert stride in (1, 2)
        self.num_heads = num_heads
        self.dim_head_qk = dim_head or make_divisible(dim_out * qk_ratio, divisor=8) // num_heads
        self.dim_head_v = dim_out // num_heads
        self.dim_out_qk = num_heads * self.dim_head_qk
        self.dim_out_v = num_heads * self.dim_head_v
        self.scale = self.dim_head_qk ** -0.5
        self.scale_pos_embed = scale_pos_embed
        self.block_size = self.block_size_ds = block_size
        self.halo_size = halo_size
        self.win_size = block_size + halo_size * 2
        self.block_stride = 1
        use_avg_pool = False
        if stride > 1:
            use_avg_pool = avg_down or block_size % stride != 0
            self.block_stride = 1 if use_avg_pool else stride
            self.block_size_ds = block_size // self.block_stride
        self.q = nn.Conv2d(dim, self.dim_out_qk, 1, stride=self.block_stride, bias=qkv_bias)
        self.kv = nn.Conv2d(dim, self.dim_out_qk + self.dim_out_v, 1, bias=qkv_bias)
        self.pos_embed = PosEmbedRel(self.block_size_ds, self.win_size, self.dim_head_qk, self.scale)
        self.pool = nn.AvgPool2d(2, 2) if use_avg_pool else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self):
        std = self.q.weight.shape[1] ** -0.5  # fan-in
        nn.init.trunc_normal_(self.q.weight, std=std)
        nn.init.trunc_normal_(self.kv.weight, std=std)
        nn.init.trunc_normal_(self.pos_embed.height_rel, std=self.scale)
        nn.init.trunc_normal_(self.pos_embed.width_rel, std=self.scale)

    def forward(self, x):
        b, _, h, w = x.shape
        assert h % self.block_size == 0 and w % self.block_size == 0, (h, w, self.block_size)
        nh, nw = h // self.block_size, w // self.block_size
        nb = nh * nw
        bs = self.block_size_ds

        q = self.q(x).reshape(-1, self.dim_head_qk, nh, bs, nw, bs).permute(0, 1, 3, 5, 2, 4)
        q = q.reshape(b * self.num_heads, self.dim_head_qk, -1, nb).transpose(1, 3)  # B*heads, nb, bs^2, dqk

        kv = F.pad(self.kv(x), [self.halo_size] * 4)
        kv = kv.unfold(2, self.win_size, self.block_size).unfold(3, self.win_size, self.block_size)
        kv = kv.reshape(b * self.num_heads, self.dim_head_qk + self.dim_head_v, nb, -1).permute(0, 2, 3, 1)
        k, v = torch.split(kv, [self.dim_head_qk, self.dim_head_v], dim=-1)  # B*heads, nb, win^2, d

        if self.scale_pos_embed:
            attn = (q @ k.transpose(-1, -2) + self.pos_embed(q)) * self.scale
        else:
            attn = (q @ k.transpose(-1, -2)) * self.scale + self.pos_embed(q)
        attn = attn.softmax(dim=-1)

        out = (attn @ v).transpose(1, 3)  # B*heads, dv, bs^2, nb
        out = out.reshape(-1, bs, bs, nh, nw).permute(0, 3, 1, 4, 2).contiguous()
        out = out.view(b, self.dim_out_v, h // self.block_stride, w // self.block_stride)
        return self.pool(out)


def rel_pos_indices(size):
    """(2, M, M) with [c, i, j] = pos_c(j) - pos_c(i) + size_c - 1 over the row-major positions of an H x W map."""
    size = _pair(size)
    pos = torch.stack(torch.meshgrid(torch.arange(size[0]), torch.arange(size[1]), indexing="ij")).flatten(1)
    rel = pos[:, None, :] - pos[:, :, None]
    rel[0] += size[0] - 1
    rel[1] += size[1] - 1
    return rel


class LambdaLayer(nn.Module):
    """timm LambdaLayer (intra-depth u = 1): q (num_heads*dim_qk), k (dim_qk), v (dim_v = dim_out/num_heads) from
    one 1x1 conv; q and v batch-normed, k softmaxed over positions; content lambda k v^T, position lambda from a
    Conv3d (r, r, 1) over (H, W, dim_v) with r, else from a learned (2H-1, 2W-1, dim_qk) relative table.
    Stride 2 average-pools the output 2x2."""

    def __init__(self, dim, dim_out=None, feat_size=None, stride=1, num_heads=4, dim_head=16, r=9, qk_ratio=1.0,
                 qkv_bias=False):
        super().__init__()
        dim_out = dim_out or dim
        assert dim_out % num_heads == 0
        self.dim_qk = dim_head or make_divisible(dim_out * qk_ratio, divisor=8) // num_heads
        self.num_heads = num_heads
        self.dim_v = dim_out // num_heads
        self.qkv = nn.Conv2d(dim, num_heads * self.dim_qk + self.dim_qk + self.dim_v, 1, bias=qkv_bias)
        self.norm_q = nn.BatchNorm2d(num_heads * self.dim_qk)
        self.norm_v = nn.BatchNorm2d(self.dim_v)
        if r is not None:
            self.conv_lambda = nn.Conv3d(1, self.dim_qk, (r, r, 1), padding=(r // 2, r // 2, 0))
            self.pos_emb = None
            self.rel_pos_indices = None
            self.feat_size = None
        else:
            assert feat_size is not None
            self.feat_size = _pair(feat_size)
            self.conv_lambda = None
            self.pos_emb = nn.Parameter(torch.zeros(2 * self.feat_size[0] - 1, 2 * self.feat_size[1] - 1, self.dim_qk))
            self.register_buffer("rel_pos_indices", rel_pos_indices(self.feat_size), persistent=False)
        self.pool = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.trunc_normal_(self.qkv.weight, std=self.qkv.weight.shape[1] ** -0.5)  # fan-in
        if self.conv_lambda is not None:
            nn.init.trunc_normal_(self.conv_lambda.weight, std=self.dim_qk ** -0.5)
        if self.pos_emb is not None:
            nn.init.trunc_normal_(self.pos_emb, std=.02)

    def forward(self, x):
        b, _, h, w = x.shape
        m = h * w
        q, k, v = torch.split(self.qkv(x), [self.num_heads * self.dim_qk, self.dim_qk, self.dim_v], dim=1)
        q = self.norm_q(q).reshape(b, self.num_heads, self.dim_qk, m).transpose(-1, -2)  # B, heads, M, K
        v = self.norm_v(v).reshape(b, self.dim_v, m).transpose(-1, -2)  # B, M, V
        k = F.softmax(k.reshape(b, self.dim_qk, m), dim=-1)  # B, K, M

        content_out = q @ (k @ v).unsqueeze(1)  # B, heads, M, V
        if self.pos_emb is None:
            pos_lam = self.conv_lambda(v.reshape(b, 1, h, w, self.dim_v))  # B, K, H, W, V
            pos_lam = pos_lam.reshape(b, 1, self.dim_qk, m, self.dim_v).transpose(2, 3)  # B, 1, M, K, V
        else:
            pos_emb = self.pos_emb[self.rel_pos_indices[0], self.rel_pos_indices[1]].expand(b, -1, -1, -1)
            pos_lam = (pos_emb.transpose(-1, -2) @ v.unsqueeze(1)).unsqueeze(1)  # B, 1, M, K, V
        position_out = (q.unsqueeze(-2) @ pos_lam).squeeze(-2)  # B, heads, M, V

        # timm reshapes to the input's C, which only works for dim == dim_out; the output width is heads * dim_v.
        out = (content_out + position_out).transpose(-1, -2).reshape(b, self.num_heads * self.dim_v, h, w)
        return self.pool(out)


def selfcheck():
    torch.manual_seed(0)
    for n, h, w, win in ((3, 4, 4, 10), (2, 8, 8, 14), (1, 2, 2, 6)):
        q = torch.randn(n, h, w, 5, dtype=torch.float64)
        rel = torch.randn(2 * win - 1, 5, dtype=torch.float64)
        pad = rel_logits_1d(q, rel, (0, 1, 3, 2, 4))[:, :, :, 0, :]  # N, H, W, win (tiled axis dropped)
        gat = rel_logits_1d_gather(q, rel)
        assert torch.allclose(pad, gat), (n, h, w, win)
    assert rel_pos_indices((2, 3))[:, 0, 5].tolist() == [2, 4]
    print("ok")


if __name__ == "__main__":
    if sys.argv[1:] == ["selfcheck"]:
        selfcheck()
    else:
        sys.exit(__doc__)
