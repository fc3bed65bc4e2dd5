using TorchSharp;
using Torchwright.Runtime.Inference;
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
    /// The shortcut, drop_path, addition and final activation are the shared <see cref="ResidualBottleneck"/>.
    /// </summary>
    public sealed class Bottleneck : ResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, conv2, conv3, relu;
        private nn.Module<Tensor, Tensor> bn1, bn2, bn3;   // identities once folded
        private readonly nn.Module<Tensor, Tensor>[] branch;

        /// <summary>bn3: the norm that ends the residual branch.</summary>
        public override nn.Module<Tensor, Tensor> LastNorm => bn3;

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
            bn1 = Norms.Create(o.Norm, width, o.NormGroups);
            conv2 = nn.Conv2d(width, width, 3, stride: stride, padding: o.Dilation, dilation: o.Dilation, groups: groups, bias: false);
            bn2 = Norms.Create(o.Norm, width, o.NormGroups);
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = Norms.Create(o.Norm, outChannels, o.NormGroups);
            relu = Activations.Create(o.Activation);
            bool atSpatial = o.Position == ChannelAttentionPosition.AfterSpatialConv;
            var se = BlockOptionArgs.Attention(o, atSpatial ? width : outChannels);
            branch = se is null ? new[] { conv1, bn1, relu, conv2, bn2, relu, conv3, bn3 }
                : atSpatial ? new[] { conv1, bn1, relu, conv2, bn2, relu, se, conv3, bn3 }
                : new[] { conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, se };

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module("conv2", conv2);
            register_module("bn2", bn2);
            register_module("conv3", conv3);
            register_module("bn3", bn3);
            if (se is not null)
                register_module("se", se);
            register_module(o.Activation == Activation.ReLU ? "relu" : "act", relu);
            RegisterShortcut(inChannels, outChannels, stride, shortcut, o, dropPath, relu);
        }

        public override void FoldNorms(NormFolder folder)
        {
            bn1 = NormFolder.Replace(branch, bn1, folder.Fold(conv1, bn1, "bn1"));
            bn2 = NormFolder.Replace(branch, bn2, folder.Fold(conv2, bn2, "bn2"));
            bn3 = NormFolder.Replace(branch, bn3, folder.Fold(conv3, bn3, "bn3"));
        }

        protected override Tensor Branch(Tensor input) => input.Through(branch);
    }
}
