using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Inference;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// A sequential container whose children are registered as <c>"0"</c>, <c>"1"</c>, ... exactly like
    /// PyTorch's <c>nn.Sequential</c>, so state-dict keys such as <c>downsample.1.weight</c> or
    /// <c>embed.4.bias</c> match the reference implementations.  Registration is explicit (no reflection).
    /// Each layer's output is freed once the next layer has consumed it (<see cref="Intermediates.Through(Tensor, nn.Module{Tensor, Tensor}[])"/>).
    /// </summary>
    public sealed class Chain : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor>[] _layers;

        public Chain(string name, params nn.Module<Tensor, Tensor>[] layers) : base(name)
        {
            if (layers is null || layers.Length == 0)
                throw new ArgumentException($"Chain '{name}' needs at least one layer.", nameof(layers));
            _layers = layers;
            for (int i = 0; i < layers.Length; i++)
                register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]);
        }

        /// <summary>The layers in order.</summary>
        public IReadOnlyList<nn.Module<Tensor, Tensor>> Layers => _layers;

        /// <summary>Folds each norm that directly follows a convolution in the chain (downsample.0 → .1, key_embed.0 → .1).</summary>
        public void FoldNorms(NormFolder folder)
        {
            for (int i = 1; i < _layers.Length; i++)
                if (_layers[i - 1] is Conv2d && NormFolder.IsNorm(_layers[i]))
                    _layers[i] = folder.Fold(_layers[i - 1], _layers[i], i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return input.Through(_layers).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Shared construction helpers: argument checks with actionable messages, shortcuts.</summary>
    internal static class BlockArgs
    {
        public static void Positive(string block, string arg, long value)
        {
            if (value <= 0)
                throw new ArgumentOutOfRangeException(arg, value, $"{block}: {arg} must be positive, got {value}.");
        }

        public static void Divisible(string block, string arg, long value, string byArg, long by)
        {
            if (by <= 0 || value % by != 0)
                throw new ArgumentException(
                    $"{block}: {arg} = {value} must be divisible by {byArg} = {by}; choose {arg} as a multiple of {by}.", arg);
        }

        /// <summary>timm's qk_ratio of the self-attention slot modules: positive and finite, and only with dimHead unset
        /// (which it would size).</summary>
        public static void QkRatio(string block, double qkRatio, long? dimHead)
        {
            if (!(qkRatio > 0) || double.IsInfinity(qkRatio))
                throw new ArgumentOutOfRangeException("qkRatio", qkRatio, $"{block}: qkRatio must be positive and finite, got {qkRatio}.");
            if (dimHead is not null && qkRatio != 1.0)
                throw new ArgumentException($"{block}: qkRatio = {qkRatio} has no effect when dimHead (= {dimHead}) is given; leave qkRatio at 1 or dimHead null.", "qkRatio");
        }

        /// <summary>The residual projection (its norm as the block's options say), or null when the block keeps the input shape.</summary>
        public static nn.Module<Tensor, Tensor>? Shortcut(long inChannels, long outChannels, long stride, ShortcutKind kind, BlockOptions options)
        {
            if (stride == 1 && inChannels == outChannels)
                return null;
            if (kind == ShortcutKind.Conv)
            {
                return new Chain("downsample",
                    nn.Conv2d(inChannels, outChannels, 1, stride: stride, bias: false),
                    Norms.Create(options.Norm, outChannels, options.NormGroups));
            }
            nn.Module<Tensor, Tensor> pool = stride > 1
                ? nn.AvgPool2d(stride, stride, ceil_mode: true, count_include_pad: false)
                : nn.Identity();
            return new Chain("downsample",
                pool,
                nn.Conv2d(inChannels, outChannels, 1, bias: false),
                Norms.Create(options.Norm, outChannels, options.NormGroups));
        }
    }
}
