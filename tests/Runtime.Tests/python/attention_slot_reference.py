"""References for the self-attention slot modules and the basic block of the Runtime (AttentionSlotParityTests),
served by parity_server.py for the kinds in KINDS.

* HaloAttention2d / LambdaLayer2d: reference_byoa_layers.HaloAttn / LambdaLayer (timm's layers), seen through the
  Runtime's state-dict names (Halo's pos_embed is the Runtime's rel_pos; the rest is timm's names);
* BasicBlock: torchvision's BasicBlock names with the Runtime's BlockOptions (activation, SE after bn2 as timm's
  BasicBlock, dilation of both 3x3 convs with timm's first_dilation, norm kind, avg-down shortcut);
  TorchvisionBasicBlock: torchvision.models.resnet.BasicBlock itself;
* FrozenBatchNorm2d: torchvision.ops.misc.FrozenBatchNorm2d; GroupNorm: torch.nn.GroupNorm.
"""
import torch.nn as nn

from reference_attention import BlockOpts
from reference_blocks import DropPath, conv1x1, dropped
from reference_byoa_layers import HaloAttn, LambdaLayer

KINDS = {"HaloAttention2d", "LambdaLayer2d", "BasicBlock", "TorchvisionBasicBlock", "FrozenBatchNorm2d", "GroupNorm"}


class HaloSlot(nn.Module):
    """HaloAttn with its parameters registered under the Runtime's names (q, kv, rel_pos.*): the same tensors."""

    def __init__(self, **kw):
        super().__init__()
        inner = HaloAttn(**kw)
        self.q, self.kv, self.rel_pos = inner.q, inner.kv, inner.pos_embed
        self._inner = [inner]  # not registered: its parameters are the ones above

    def forward(self, x):
        return self._inner[0](x)


def norm(kind, channels, groups):
    if kind == "Batch":
        return nn.BatchNorm2d(channels)
    if kind == "FrozenBatch":
        from torchvision.ops.misc import FrozenBatchNorm2d
        return FrozenBatchNorm2d(channels)
    if kind == "Group":
        return nn.GroupNorm(groups, channels)
    raise ValueError(f"unknown norm {kind!r}")


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride, shortcut, opts, norm_kind="Batch", groups=32, first_dilation=None,
                 drop_path=0.0):
        super().__init__()
        d = opts.dilation
        d1 = first_dilation or d
        self.conv1 = nn.Conv2d(cin, planes, 3, stride=stride, padding=d1, dilation=d1, bias=False)
        self.bn1 = norm(norm_kind, planes, groups)
        self.relu = opts.act()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=d, dilation=d, bias=False)
        self.bn2 = norm(norm_kind, planes, groups)
        self.se = opts.attention_module(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            if shortcut == "Conv":
                self.downsample = nn.Sequential(conv1x1(cin, planes, stride), norm(norm_kind, planes, groups))
            else:
                pool = (nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)
                        if stride > 1 else nn.Identity())
                self.downsample = nn.Sequential(pool, conv1x1(cin, planes), norm(norm_kind, planes, groups))
        if drop_path > 0:
            self.drop_path = DropPath(drop_path)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.se is not None:
            out = self.se(out)
        return self.relu(dropped(self, out) + identity)


def build(kind, a):
    if kind == "HaloAttention2d":
        return HaloSlot(dim=a["dim"], dim_out=a.get("dimOut"), stride=a["stride"], num_heads=a["heads"],
                        dim_head=a.get("dimHead"), block_size=a["blockSize"], halo_size=a["haloSize"],
                        qk_ratio=a.get("qkRatio", 1.0), qkv_bias=a.get("qkvBias", False),
                        avg_down=a.get("avgDown", False), scale_pos_embed=a.get("scalePosEmbed", False))
    if kind == "LambdaLayer2d":
        m = LambdaLayer(dim=a["dim"], dim_out=a.get("dimOut"), feat_size=a.get("featSize"), stride=a["stride"],
                        num_heads=a["heads"], dim_head=a.get("dimHead"), r=a.get("r"),
                        qk_ratio=a.get("qkRatio", 1.0), qkv_bias=a.get("qkvBias", False))
        if a.get("norm", "Batch") != "Batch":
            m.norm_q = norm(a["norm"], m.norm_q.num_features, a["normGroups"])
            m.norm_v = norm(a["norm"], m.norm_v.num_features, a["normGroups"])
        return m
    if kind == "BasicBlock":
        return BasicBlock(a["inChannels"], a["planes"], a["stride"], a["shortcut"], BlockOpts.from_args(a),
                          a.get("norm", "Batch"), a.get("normGroups", 32), a.get("firstDilation"))
    if kind == "TorchvisionBasicBlock":
        import torchvision.models.resnet as tvr
        cin, planes, stride = a["inChannels"], a["planes"], a["stride"]
        ds = None
        if stride != 1 or cin != planes:
            ds = nn.Sequential(conv1x1(cin, planes, stride), nn.BatchNorm2d(planes))
        return tvr.BasicBlock(cin, planes, stride, ds)
    if kind == "FrozenBatchNorm2d":
        from torchvision.ops.misc import FrozenBatchNorm2d
        return FrozenBatchNorm2d(a["channels"])
    if kind == "GroupNorm":
        return nn.GroupNorm(a["groups"], a["channels"])
    raise ValueError(f"unknown block kind {kind}")
