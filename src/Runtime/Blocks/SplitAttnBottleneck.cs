using System;
using TorchSharp;
using Torchwright.Runtime.Inference;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// ResNeSt bottleneck (timm naming): conv1 1x1, bn1, ReLU, conv2 = split attention, [avd_last AvgPool 3x3/s pad 1],
    /// conv3 1x1, bn3, + shortcut, ReLU.  With <c>avd</c> and stride &gt; 1 the split-attention conv runs at stride 1
    /// and the average pool carries the stride.  With <c>avdFirst</c> (timm <c>avd_first</c>) the pool runs before the
    /// split-attention conv instead and is named <c>avd_first</c>.
    /// <see cref="BlockOptions"/>: the activation replaces each ReLU (split attention's too); channel attention <c>se</c>
    /// follows bn3; the split-attention conv gets dilation = padding = d (with or without avdFirst).
    /// The shortcut, drop_path, addition and final activation are the shared <see cref="ResidualBottleneck"/>.
    /// <c>dropPath</c> &gt; 0: stochastic depth (<see cref="DropPath"/>) on the branch, after attention, before the addition (timm).
    /// </summary>
    public sealed class SplitAttnBottleneck : ResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, conv3;
        private nn.Module<Tensor, Tensor> bn1, bn3;   // identities once folded
        private readonly SplitAttention conv2;
        private readonly nn.Module<Tensor, Tensor>? avd_first, avd_last;
        private readonly nn.Module<Tensor, Tensor>? se;
        private readonly Activation activation;

        /// <summary>bn3: the norm that ends the residual branch.</summary>
        public override nn.Module<Tensor, Tensor> LastNorm => bn3;

        /// <summary>The ResNeSt block with the pool after the split attention (avd_last).</summary>
        public SplitAttnBottleneck(string name, long inChannels, long width, long outChannels, long stride, long radix, long cardinality, bool avd, ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0)
            : this(name, inChannels, width, outChannels, stride, radix, cardinality, avd, false, shortcut, options, dropPath)
        {
        }

        public SplitAttnBottleneck(string name, long inChannels, long width, long outChannels, long stride, long radix, long cardinality, bool avd, bool avdFirst, ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0)
            : base(name)
        {
            const string B = nameof(SplitAttnBottleneck);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(stride), stride);
            if (avdFirst && !avd)
                throw new ArgumentException($"{B}: avdFirst places the avd pool before the split attention and needs avd = true; set avd or drop avdFirst.", nameof(avdFirst));
            bool useAvd = avd && stride > 1;
            var o = BlockOptionArgs.Check(B, options, dilatable: true);
            activation = o.Activation;

            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            bn1 = Norms.Create(o.Norm, width, o.NormGroups);
            avd_first = useAvd && avdFirst ? nn.AvgPool2d(3, stride, 1) : null;
            conv2 = new SplitAttention("conv2", width, useAvd ? 1 : stride, radix, cardinality, o.Dilation, o.Activation, o.Norm, o.NormGroups);
            avd_last = useAvd && !avdFirst ? nn.AvgPool2d(3, stride, 1) : null;
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = Norms.Create(o.Norm, outChannels, o.NormGroups);
            se = BlockOptionArgs.Attention(o, outChannels);

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            if (avd_first is not null)
                register_module("avd_first", avd_first);
            register_module("conv2", conv2);
            if (avd_last is not null)
                register_module("avd_last", avd_last);
            register_module("conv3", conv3);
            register_module("bn3", bn3);
            if (se is not null)
                register_module("se", se);
            RegisterShortcut(inChannels, outChannels, stride, shortcut, o, dropPath);
        }

        public override void FoldNorms(NormFolder folder)
        {
            bn1 = folder.Fold(conv1, bn1, "bn1");
            bn3 = folder.Fold(conv3, bn3, "bn3");
        }

        protected override Tensor Branch(Tensor input)
        {
            var x = input.Through(conv1, bn1);
            x = Activations.Apply(activation, x).Freeing(x);
            if (avd_first is not null)
                x = avd_first.call(x).Freeing(x);
            x = Call(conv2, x).Freeing(x);
            if (avd_last is not null)
                x = avd_last.call(x).Freeing(x);
            x = x.Through(conv3, bn3).Freeing(x);
            return se is null ? x : se.call(x).Freeing(x);
        }
    }

    /// <summary>
    /// Split attention (ResNeSt, timm <c>SplitAttn</c>): conv 3x3 width -> width·radix (groups = cardinality·radix,
    /// no bias), bn0, ReLU; gap = mean_HW(Σ_r split_r); fc1 1x1 width -> inter (groups = cardinality, bias), bn1, ReLU;
    /// fc2 1x1 inter -> width·radix (groups = cardinality, bias); r-softmax over the radix (sigmoid when radix = 1);
    /// out = Σ_r a_r·split_r.  inter = max(width·radix/4, 32).  The 3x3 conv takes a dilation (padding = dilation) and
    /// both ReLUs can be another activation.
    /// </summary>
    public sealed class SplitAttention : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor> conv, fc1, fc2;
        private nn.Module<Tensor, Tensor> bn0, bn1;   // identities once folded
        private readonly long width, radix, cardinality;
        private readonly Activation activation;

        /// <summary>The attention bottleneck width: max(width·radix/4, 32).</summary>
        public static long InterChannels(long width, long radix) => Math.Max(width * radix / 4, 32);

        public SplitAttention(string name, long width, long stride, long radix, long cardinality, long dilation = 1, Activation activation = Activation.ReLU,
            NormKind norm = NormKind.Batch, long normGroups = 32) : base(name)
        {
            const string B = nameof(SplitAttention);
            BlockArgs.Positive(B, nameof(width), width);
            BlockArgs.Positive(B, nameof(radix), radix);
            BlockArgs.Positive(B, nameof(cardinality), cardinality);
            BlockArgs.Positive(B, nameof(dilation), dilation);
            BlockArgs.Divisible(B, nameof(width), width, "cardinality·radix", cardinality * radix);
            long inter = InterChannels(width, radix);
            BlockArgs.Divisible(B, "inter channels", inter, nameof(cardinality), cardinality);
            this.width = width;
            this.radix = radix;
            this.cardinality = cardinality;
            this.activation = Activations.Check(activation);

            conv = nn.Conv2d(width, width * radix, 3, stride: stride, padding: dilation, dilation: dilation, groups: cardinality * radix, bias: false);
            bn0 = Norms.Create(norm, width * radix, normGroups);
            fc1 = nn.Conv2d(width, inter, 1, groups: cardinality);
            bn1 = Norms.Create(norm, inter, normGroups);
            fc2 = nn.Conv2d(inter, width * radix, 1, groups: cardinality);
            register_module("conv", conv);
            register_module("bn0", bn0);
            register_module("fc1", fc1);
            register_module("bn1", bn1);
            register_module("fc2", fc2);
        }

        public void FoldNorms(NormFolder folder)
        {
            bn0 = folder.Fold(conv, bn0, "bn0");
            bn1 = folder.Fold(fc1, bn1, "bn1");
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = input.Through(conv, bn0);
            x = Activations.Apply(activation, x).Freeing(x);   // (B, radix·width, H, W): the radix splits side by side
            long b = x.shape[0];
            // gap = mean_HW(Σ_r split_r) = Σ_r mean_HW(split_r): pooling first sums (B, radix·width) values instead of
            // materialising the split sum, a full-size tensor (timm's x.sum(1)) whose reduction also drops channels-last.
            var gap = x.mean(new long[] { 2, 3 }, keepdim: true);
            if (radix > 1)
                gap = gap.view(b, radix, width, 1, 1).sum(1).Freeing(gap);
            gap = gap.Through(fc1, bn1).Freeing(gap);
            gap = Activations.Apply(activation, gap).Freeing(gap);
            var a = Call(fc2, gap).Freeing(gap);
            Tensor output;
            if (radix > 1)
            {
                // The attention over the radix is (B, radix·width, 1, 1): small; the scope frees its views.
                a = Softmax(a.view(b, cardinality, radix, -1).transpose(1, 2), 1).reshape(b, radix, width, 1, 1).Freeing(a);
                // out = Σ_r a_r·split_r, one multiply-add per split on channel slices of x: elementwise ops keep x's
                // layout (channels-last stays channels-last) and no (B, radix, width, H, W) product is made.
                output = x.narrow(1, 0, width) * a.select(1, 0);
                for (long r = 1; r < radix; r++)
                    output = output.addcmul_(x.narrow(1, r * width, width), a.select(1, r), 1);
            }
            else
            {
                var gate = a.sigmoid().Freeing(a);
                output = (x * gate).Freeing(gate);
            }
            x.Dispose();
            return output.MoveToOuterDisposeScope();
        }
    }
}
