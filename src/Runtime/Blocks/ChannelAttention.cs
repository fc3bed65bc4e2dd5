using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// Squeeze-excitation (SE-Net; timm <c>SEModule</c> without its optional norm/max-pool): s = mean_HW(x) (B, C, 1, 1),
    /// <c>fc1</c> 1x1 conv C -> r (bias), activation (ReLU in the blocks, as timm), <c>fc2</c> 1x1 conv r -> C (bias), out = x · sigmoid(s).
    /// Parameters: (C·r + r) + (r·C + C).
    /// </summary>
    public sealed class SqueezeExcite : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d fc1, fc2;
        private readonly Activation activation;

        /// <summary>Parameters of an SE module on <paramref name="channels"/> with <paramref name="reducedChannels"/> (fc1 + fc2, both with bias).</summary>
        public static long ParameterCount(long channels, long reducedChannels) =>
            (channels * reducedChannels + reducedChannels) + (reducedChannels * channels + channels);

        public SqueezeExcite(string name, long channels, long reducedChannels, Activation act = Activation.ReLU) : base(name)
        {
            const string B = nameof(SqueezeExcite);
            BlockArgs.Positive(B, nameof(channels), channels);
            BlockArgs.Positive(B, nameof(reducedChannels), reducedChannels);
            activation = Activations.Check(act);
            fc1 = nn.Conv2d(channels, reducedChannels, 1, bias: true);
            fc2 = nn.Conv2d(reducedChannels, channels, 1, bias: true);
            register_module("fc1", fc1);
            register_module("fc2", fc2);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var s = input.mean(new long[] { 2, 3 }, keepdim: true);
            s = Call(fc1, s).Freeing(s);
            s = Activations.Apply(activation, s).Freeing(s);
            s = Call(fc2, s).Freeing(s);
            var gate = s.sigmoid().Freeing(s);
            return (input * gate).Freeing(gate).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Efficient channel attention (ECA-Net; timm <c>EcaModule</c> with a fixed kernel): y = mean_HW(x) as (B, 1, C),
    /// <c>conv</c> = Conv1d(1, 1, k, padding (k-1)/2, no bias) across the channels, out = x · sigmoid(y) as (B, C, 1, 1).
    /// Parameters: k.
    /// </summary>
    public sealed class EfficientChannelAttention : nn.Module<Tensor, Tensor>
    {
        private readonly Conv1d conv;

        public EfficientChannelAttention(string name, long kernel) : base(name)
        {
            if (kernel <= 0 || kernel % 2 == 0)
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel,
                    $"{nameof(EfficientChannelAttention)}: kernel must be odd and positive (padding (k-1)/2 keeps the channel count), got {kernel}.");
            conv = nn.Conv1d(1, 1, kernel, padding: (kernel - 1) / 2, bias: false);
            register_module("conv", conv);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            long b = input.shape[0], c = input.shape[1];
            var y = input.mean(new long[] { 2, 3 });
            y = y.view(b, 1, c).Freeing(y);
            y = Call(conv, y).Freeing(y);
            y = y.sigmoid().Freeing(y);
            y = y.view(b, c, 1, 1).Freeing(y);
            return (input * y).Freeing(y).MoveToOuterDisposeScope();
        }
    }

    /// <summary>The checks and constructions of <see cref="BlockOptions"/> the bottlenecks share.</summary>
    internal static class BlockOptionArgs
    {
        /// <summary>Checks <paramref name="options"/> (null = <see cref="BlockOptions.Default"/>) for <paramref name="block"/>.
        /// <paramref name="dilatable"/>: whether the block has a spatial conv that dilation applies to.</summary>
        /// <paramref name="spatialAttention"/>: whether the block can place channel attention after its spatial conv.
        public static BlockOptions Check(string block, BlockOptions? options, bool dilatable, bool spatialAttention = false)
        {
            var o = options ?? BlockOptions.Default;
            Activations.Check(o.Activation);
            switch (o.Attention)
            {
                case ChannelAttentionKind.None:
                    if (o.AttentionChannels != 0 || o.AttentionKernel != 0)
                        throw new ArgumentException(
                            $"{block}: AttentionChannels ({o.AttentionChannels}) and AttentionKernel ({o.AttentionKernel}) have no effect without channel attention; leave them 0 or set Attention.",
                            nameof(options));
                    break;
                case ChannelAttentionKind.SqueezeExcite:
                    if (o.AttentionChannels <= 0 || o.AttentionKernel != 0)
                        throw new ArgumentException(
                            $"{block}: squeeze-excitation needs AttentionChannels > 0 (the reduced channels of fc1) and AttentionKernel 0, got {o.AttentionChannels} and {o.AttentionKernel}.",
                            nameof(options));
                    break;
                case ChannelAttentionKind.Eca:
                    if (o.AttentionKernel <= 0 || o.AttentionKernel % 2 == 0 || o.AttentionChannels != 0)
                        throw new ArgumentException(
                            $"{block}: ECA needs an odd AttentionKernel > 0 and AttentionChannels 0, got {o.AttentionKernel} and {o.AttentionChannels}.",
                            nameof(options));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(options), o.Attention, $"{block}: unknown channel attention {(int)o.Attention}.");
            }
            if (o.Position != ChannelAttentionPosition.AfterLastNorm && o.Position != ChannelAttentionPosition.AfterSpatialConv)
                throw new ArgumentOutOfRangeException(nameof(options), o.Position, $"{block}: unknown channel-attention position {(int)o.Position}.");
            if (o.Position == ChannelAttentionPosition.AfterSpatialConv && o.Attention == ChannelAttentionKind.None)
                throw new ArgumentException(
                    $"{block}: Position AfterSpatialConv has no effect without channel attention; leave it AfterLastNorm or set Attention.",
                    nameof(options));
            if (o.Position == ChannelAttentionPosition.AfterSpatialConv && !spatialAttention)
                throw new ArgumentException(
                    $"{block}: channel attention Position AfterSpatialConv is not supported: the block has no 3x3 conv to follow " +
                    "(timm's SelfAttnBlock has no attn either). Use Position AfterLastNorm (after bn3), or a Bottleneck block.",
                    nameof(options));
            if (o.Norm != NormKind.Batch && o.Norm != NormKind.FrozenBatch && o.Norm != NormKind.Group)
                throw new ArgumentOutOfRangeException(nameof(options), o.Norm, $"{block}: unknown norm kind {(int)o.Norm}.");
            if (o.Norm != NormKind.Group && o.NormGroups != BlockOptions.Default.NormGroups)
                throw new ArgumentException(
                    $"{block}: NormGroups ({o.NormGroups}) has no effect with Norm {o.Norm}; leave it {BlockOptions.Default.NormGroups} or set Norm = Group.",
                    nameof(options));
            if (o.Dilation <= 0)
                throw new ArgumentOutOfRangeException(nameof(options), o.Dilation, $"{block}: Dilation must be positive, got {o.Dilation}.");
            if (!dilatable && o.Dilation != 1)
                throw new ArgumentException(
                    $"{block}: Dilation must be 1, got {o.Dilation}: the block has no dilated form (its spatial mixing is attention, not a 3x3 conv). " +
                    "Keep this stage at output stride (Dilation 1), or use Bottleneck or SplitAttnBottleneck blocks where you need dilation.",
                    nameof(options));
            return o;
        }

        /// <summary>The channel attention on <paramref name="channels"/> (registered as <c>se</c>), or null for none.
        /// SE keeps ReLU inside whatever the block's activation: timm's ResNet and ByobNet build SEModule without act_layer.</summary>
        public static nn.Module<Tensor, Tensor>? Attention(BlockOptions o, long channels) => o.Attention switch
        {
            ChannelAttentionKind.SqueezeExcite => new SqueezeExcite("se", channels, o.AttentionChannels, Activation.ReLU),
            ChannelAttentionKind.Eca => new EfficientChannelAttention("se", o.AttentionKernel),
            _ => null,
        };
    }
}
