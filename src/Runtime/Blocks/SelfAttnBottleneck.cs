using System;
using TorchSharp;
using Torchwright.Runtime.Inference;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// The ResNet-family bottleneck with a self-attention slot (timm's SelfAttnBlock): conv1 1x1, bn1, act, the slot
    /// (<c>mhsa</c>: an <see cref="ISelfAttention2d"/> such as BoT's <see cref="MultiHeadSelfAttention2d"/>, which applies
    /// the block's stride itself), bn2, act, conv3 1x1, bn3, channel attention <c>se</c>, then the shared residual skeleton
    /// (<see cref="ResidualBottleneck"/>). State-dict names: conv1, bn1, mhsa.*, bn2, conv3, bn3, se, downsample.*.
    /// <see cref="BlockOptions"/>: the activation replaces each ReLU; channel attention follows bn3 (Position
    /// AfterSpatialConv is refused: SelfAttnBlock has no attn there); attention has no dilated form, so Dilation must be 1.
    /// </summary>
    public sealed class SelfAttnBottleneck : ResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, mhsa, bn2, conv3;
        private nn.Module<Tensor, Tensor> bn1, bn3;   // identities once folded
        private readonly nn.Module<Tensor, Tensor>? se;
        private readonly Activation activation;

        public override nn.Module<Tensor, Tensor> LastNorm => bn3;

        public SelfAttnBottleneck(string name, long inChannels, long width, long outChannels, long stride, nn.Module<Tensor, Tensor> attention,
            ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0)
            : base(name)
        {
            const string B = nameof(SelfAttnBottleneck);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(width), width);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(stride), stride);
            if (attention is null) throw new ArgumentNullException(nameof(attention));
            if (!(attention is ISelfAttention2d slot))
                throw new ArgumentException($"{B}: the attention module must implement ISelfAttention2d (e.g. MultiHeadSelfAttention2d), got {attention.GetType().Name}.", nameof(attention));
            if (slot.InChannels != width || slot.OutChannels != width || slot.Stride != stride)
                throw new ArgumentException(
                    $"{B}: the attention maps {slot.InChannels} -> {slot.OutChannels} channels with stride {slot.Stride}, but the block needs {width} -> {width} with stride {stride}; build it for the block's width and stride.",
                    nameof(attention));
            var o = BlockOptionArgs.Check(B, options, dilatable: false);
            activation = o.Activation;

            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            bn1 = Norms.Create(o.Norm, width, o.NormGroups);
            mhsa = attention;
            bn2 = Norms.Create(o.Norm, width, o.NormGroups);
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = Norms.Create(o.Norm, outChannels, o.NormGroups);
            se = BlockOptionArgs.Attention(o, outChannels);

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module("mhsa", mhsa);
            register_module("bn2", bn2);
            register_module("conv3", conv3);
            register_module("bn3", bn3);
            if (se is not null)
                register_module("se", se);
            RegisterShortcut(inChannels, outChannels, stride, shortcut, o, dropPath);
        }

        public override void FoldNorms(NormFolder folder)
        {
            bn1 = folder.Fold(conv1, bn1, "bn1");
            folder.Keep(bn2, "bn2", "it follows the attention's output (a matmul), not a convolution");
            bn3 = folder.Fold(conv3, bn3, "bn3");
        }

        protected override Tensor Branch(Tensor input)
        {
            var x = input.Through(conv1, bn1);
            x = Activations.Apply(activation, x).Freeing(x);
            x = mhsa.call(x).Freeing(x);
            x = Call(bn2, x).Freeing(x);
            x = Activations.Apply(activation, x).Freeing(x);
            x = x.Through(conv3, bn3).Freeing(x);
            return se is null ? x : se.call(x).Freeing(x);
        }
    }
}
