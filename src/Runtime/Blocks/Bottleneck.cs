using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// torchvision ResNet "v1.5" bottleneck: conv1 1x1 (in -> width), bn1, ReLU, conv2 3x3 with the stride and
    /// groups, bn2, ReLU, conv3 1x1 (width -> out), bn3, + shortcut, ReLU.  State-dict names follow torchvision.
    /// <see cref="BlockOptions"/>: the activation replaces each ReLU (the module is registered as <c>relu</c> when it is
    /// ReLU, <c>act</c> otherwise); channel attention <c>se</c> follows bn3 (timm SE-ResNet) or, with Position AfterSpatialConv,
    /// the activation after bn2 on the width channels (timm ByobNet's <c>attn</c>); conv2 gets dilation = padding = d.
    /// <c>dropPath</c> &gt; 0: stochastic depth (<see cref="DropPath"/>) on the branch, after attention, before the addition (timm).
    /// </summary>
    public sealed class Bottleneck : nn.Module<Tensor, Tensor>, IResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv2, bn2, conv3, relu;
        private readonly BatchNorm2d bn3;
        private readonly nn.Module<Tensor, Tensor>? downsample;
        private readonly nn.Module<Tensor, Tensor>[] branch;
        private readonly DropPath? drop_path;

        /// <summary>bn3: the BatchNorm that ends the residual branch.</summary>
        public BatchNorm2d LastNorm => bn3;

        public Bottleneck(string name, long inChannels, long width, long outChannels, long stride, long groups, ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0)
            : base(name)
        {
            const string B = nameof(Bottleneck);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(width), width);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(stride), stride);
            BlockArgs.Positive(B, nameof(groups), groups);
            BlockArgs.Divisible(B, nameof(width), width, nameof(groups), groups);
            var o = BlockOptionArgs.Check(B, options, dilatable: true, spatialAttention: true);

            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            bn1 = nn.BatchNorm2d(width);
            conv2 = nn.Conv2d(width, width, 3, stride: stride, padding: o.Dilation, dilation: o.Dilation, groups: groups, bias: false);
            bn2 = nn.BatchNorm2d(width);
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = nn.BatchNorm2d(outChannels);
            relu = Activations.Create(o.Activation);
            bool atSpatial = o.Position == ChannelAttentionPosition.AfterSpatialConv;
            var se = BlockOptionArgs.Attention(o, atSpatial ? width : outChannels);
            branch = se is null ? new[] { conv1, bn1, relu, conv2, bn2, relu, conv3, bn3 }
                : atSpatial ? new[] { conv1, bn1, relu, conv2, bn2, relu, se, conv3, bn3 }
                : new[] { conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, se };
            downsample = BlockArgs.Shortcut(inChannels, outChannels, stride, shortcut);
            drop_path = DropPath.For(dropPath);

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module("conv2", conv2);
            register_module("bn2", bn2);
            register_module("conv3", conv3);
            register_module("bn3", bn3);
            if (se is not null)
                register_module("se", se);
            register_module(o.Activation == Activation.ReLU ? "relu" : "act", relu);
            if (downsample is not null)
                register_module("downsample", downsample);
            if (drop_path is not null)
                register_module("drop_path", drop_path);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var identity = downsample?.call(input);   // null: the identity is the input, which the caller owns
            var x = input.Through(branch).DroppedBy(drop_path);
            x = (x + (identity ?? input)).Freeing(x, identity);
            return relu.call(x).Freeing(x).MoveToOuterDisposeScope();
        }
    }
}
