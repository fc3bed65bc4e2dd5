using TorchSharp;
using Torchwright.Runtime.Inference;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// torchvision's ResNet BasicBlock (ResNet-18/34): conv1 3x3 with the stride, bn1, ReLU, conv2 3x3, bn2, + shortcut,
    /// ReLU (expansion 1: out = planes). State-dict names follow torchvision (<c>conv1, bn1, conv2, bn2, downsample.0/.1</c>;
    /// <c>downsample.0/.1/.2</c> for <see cref="ShortcutKind.AvgDown"/>).
    /// <see cref="BlockOptions"/>: the activation replaces each ReLU (registered <c>relu</c> for ReLU, <c>act</c> otherwise);
    /// channel attention <c>se</c> follows bn2 (timm's BasicBlock; Position AfterSpatialConv is refused, bn2 already ends the
    /// branch); Dilation d gives conv2 (and conv1, unless <c>firstDilation</c> says otherwise) dilation = padding = d, as
    /// timm's BasicBlock does (torchvision refuses dilation); every norm, the shortcut's included, is
    /// <see cref="Norms.Create"/>(Norm, channels, NormGroups).
    /// <c>dropPath</c> &gt; 0: stochastic depth (<see cref="DropPath"/>) on the branch, after attention, before the addition.
    /// The shortcut, drop_path, addition and final activation are the shared <see cref="ResidualBottleneck"/>.
    /// </summary>
    public sealed class BasicBlock : ResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, conv2, relu;
        private nn.Module<Tensor, Tensor> bn1, bn2;   // identities once folded
        private readonly nn.Module<Tensor, Tensor>[] branch;

        /// <summary>bn2, the norm that ends the residual branch (BatchNorm2d, FrozenBatchNorm2d or GroupNorm).</summary>
        public override nn.Module<Tensor, Tensor> LastNorm => bn2;

        /// <param name="name">Module name.</param>
        /// <param name="inChannels">Input channels.</param>
        /// <param name="planes">Output channels of both 3x3 convs (and of the block).</param>
        /// <param name="stride">Stride of conv1 and of the shortcut.</param>
        /// <param name="shortcut">The projection used when the shape changes.</param>
        /// <param name="options">Activation, channel attention, dilation, norm.</param>
        /// <param name="dropPath">Stochastic-depth rate of the branch.</param>
        /// <param name="firstDilation">Dilation of conv1 (timm <c>first_dilation</c>: the previous dilation in the first block
        /// of a stage that starts dilating); null: <see cref="BlockOptions.Dilation"/>.</param>
        public BasicBlock(string name, long inChannels, long planes, long stride, ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0, long? firstDilation = null)
            : base(name)
        {
            const string B = nameof(BasicBlock);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(planes), planes);
            BlockArgs.Positive(B, nameof(stride), stride);
            var o = BlockOptionArgs.Check(B, options, dilatable: true);
            long d1 = firstDilation ?? o.Dilation;
            BlockArgs.Positive(B, nameof(firstDilation), d1);

            conv1 = nn.Conv2d(inChannels, planes, 3, stride: stride, padding: d1, dilation: d1, bias: false);
            bn1 = Norms.Create(o.Norm, planes, o.NormGroups);
            conv2 = nn.Conv2d(planes, planes, 3, padding: o.Dilation, dilation: o.Dilation, bias: false);
            bn2 = Norms.Create(o.Norm, planes, o.NormGroups);
            relu = Activations.Create(o.Activation);
            var se = BlockOptionArgs.Attention(o, planes);
            branch = se is null ? new[] { conv1, bn1, relu, conv2, bn2 } : new[] { conv1, bn1, relu, conv2, bn2, se };

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module(o.Activation == Activation.ReLU ? "relu" : "act", relu);
            register_module("conv2", conv2);
            register_module("bn2", bn2);
            if (se is not null)
                register_module("se", se);
            RegisterShortcut(inChannels, planes, stride, shortcut, o, dropPath, relu);
        }

        /// <summary>conv1 → bn1 and conv2 → bn2; the shortcut's <see cref="Chain"/> (conv → norm) declares its own pair.</summary>
        public override void FoldNorms(NormFolder folder)
        {
            bn1 = NormFolder.Replace(branch, bn1, folder.Fold(conv1, bn1, "bn1"));
            bn2 = NormFolder.Replace(branch, bn2, folder.Fold(conv2, bn2, "bn2"));
        }

        protected override Tensor Branch(Tensor input) => input.Through(branch);
    }
}
