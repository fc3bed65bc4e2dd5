"""PyTorch references of the block options the ResNet-family bottlenecks take (C#: BlockOptions).

Written for this project from the SE-Net and ECA-Net papers and timm's module layout (SEModule: fc1/fc2;
EcaModule: conv), so timm checkpoints' "se.fc1.weight" / "se.conv.weight" keys load unchanged.
"""
import torch
import torch.nn as nn

# C# Activation enum names -> PyTorch modules (GELU: the exact erf form, PyTorch's default).
_ACTIVATIONS = {"ReLU": nn.ReLU, "SiLU": nn.SiLU, "GELU": nn.GELU, "HardSwish": nn.Hardswish}


def make_act(name="ReLU"):
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


class SqueezeExcite(nn.Module):
    """gate = sigmoid(fc2(act(fc1(mean_hw(x))))); out = x * gate.  Params: (C*r + r) + (r*C + C)."""

    def __init__(self, channels, reduced, act="ReLU"):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1, bias=True)
        self.act = make_act(act)
        self.fc2 = nn.Conv2d(reduced, channels, 1, bias=True)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(self.act(self.fc1(s))))


class EfficientChannelAttention(nn.Module):
    """A k-tap 1D conv over the pooled channel vector; out = x * sigmoid(conv).  Params: k."""

    def __init__(self, kernel):
        super().__init__()
        assert kernel > 0 and kernel % 2 == 1, f"ECA kernel must be odd, got {kernel}"
        self.conv = nn.Conv1d(1, 1, kernel, padding=(kernel - 1) // 2, bias=False)

    def forward(self, x):
        b, c = x.shape[:2]
        y = self.conv(x.mean(dim=(2, 3)).unsqueeze(1))      # B, 1, C
        return x * torch.sigmoid(y).reshape(b, c, 1, 1)


class BlockOpts:
    """The C# BlockOptions: activation name, attention ("None" | "SqueezeExcite" | "Eca"), its channels/kernel, dilation,
    position ("AfterLastNorm": after bn3 on the out channels | "AfterSpatialConv": after conv2+bn2+act on the width,
    timm ByobNet's attn)."""

    def __init__(self, activation="ReLU", attention="None", attention_channels=0, attention_kernel=0, dilation=1,
                 position="AfterLastNorm"):
        self.activation = activation
        self.attention = attention
        self.attention_channels = attention_channels
        self.attention_kernel = attention_kernel
        self.dilation = dilation
        assert position in ("AfterLastNorm", "AfterSpatialConv"), f"unknown attention position {position!r}"
        self.position = position

    @property
    def at_spatial(self):
        return self.position == "AfterSpatialConv"

    @staticmethod
    def from_args(a):
        return BlockOpts(a.get("activation", "ReLU"), a.get("attention", "None"), a.get("attentionChannels", 0),
                         a.get("attentionKernel", 0), a.get("dilation", 1),
                         a.get("position", "AfterLastNorm"))

    def act(self):
        return make_act(self.activation)

    def attention_module(self, channels):
        """The module registered as `se` after bn3, or None.  SE keeps ReLU inside whatever the block's activation:
        timm's ResNet/ByobNet build SEModule without act_layer."""
        if self.attention == "SqueezeExcite":
            return SqueezeExcite(channels, self.attention_channels)
        if self.attention == "Eca":
            return EfficientChannelAttention(self.attention_kernel)
        if self.attention == "None":
            return None
        raise ValueError(f"unknown attention {self.attention!r}")


DEFAULT = BlockOpts()
