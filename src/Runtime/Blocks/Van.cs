using System;
using TorchSharp;
using Torchwright.Runtime.Inference;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// VAN block (official naming): x + layer_scale_1·attn(norm1(x)); x + layer_scale_2·mlp(norm2(x)).
    /// Stochastic depth (<c>dropPath</c> &gt; 0, one <see cref="DropPath"/> for both branches, as the official code)
    /// drops each scaled branch. attn = proj_2(LKA(GELU(proj_1(x)))) + x; LKA decomposes a K x K kernel with dilation d into a (2d-1)² depthwise
    /// conv, a ceil(K/d)² depthwise conv dilated by d and a 1x1 conv; mlp = fc1 1x1, 3x3 depthwise (bias), GELU, fc2.
    /// </summary>
    public sealed class VanBlock : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor> norm1;
        private nn.Module<Tensor, Tensor> norm2;   // an identity once folded
        private readonly VanAttention attn;
        private readonly VanMlp mlp;
        private readonly Parameter layer_scale_1, layer_scale_2;
        private readonly DropPath? drop_path;

        public VanBlock(string name, long dim, long mlpRatio, long lkaKernel, long lkaDilation, double layerScale, double dropPath = 0) : base(name)
        {
            const string B = nameof(VanBlock);
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(mlpRatio), mlpRatio);
            norm1 = nn.BatchNorm2d(dim);
            attn = new VanAttention("attn", dim, lkaKernel, lkaDilation);
            norm2 = nn.BatchNorm2d(dim);
            mlp = new VanMlp("mlp", dim, dim * mlpRatio);
            layer_scale_1 = new Parameter(torch.ones(new long[] { dim }).mul_(layerScale));
            layer_scale_2 = new Parameter(torch.ones(new long[] { dim }).mul_(layerScale));
            drop_path = DropPath.For(dropPath);

            register_module("norm1", norm1);
            register_module("attn", attn);
            register_module("norm2", norm2);
            register_module("mlp", mlp);
            register_parameter("layer_scale_1", layer_scale_1);
            register_parameter("layer_scale_2", layer_scale_2);
            if (drop_path is not null)
                register_module("drop_path", drop_path);
        }

        /// <summary>norm2 runs only into mlp.fc1 (a 1x1 convolution) and folds forward into it. norm1's output also feeds
        /// attn's own shortcut (attn(y) = proj_2(...(proj_1(y))) + y), which no convolution computes, so it stays.</summary>
        public void FoldNorms(NormFolder folder)
        {
            folder.Keep(norm1, "norm1", "its output is also attn's inner shortcut, not only a convolution's input");
            norm2 = folder.FoldInto(norm2, "norm2", mlp.Fc1);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = AddScaled(input, layer_scale_1, input.Through(norm1, attn));
            return AddScaled(x, layer_scale_2, x.Through(norm2, mlp)).Freeing(x).MoveToOuterDisposeScope();
        }

        /// <summary>x + drop_path(scale·branch) with the per-channel scale broadcast over H and W; frees the branch, not x.</summary>
        private Tensor AddScaled(Tensor x, Tensor scale, Tensor branch)
        {
            var s = scale.view(-1, 1, 1);
            var scaled = (s * branch).Freeing(s, branch).DroppedBy(drop_path);
            return (x + scaled).Freeing(scaled);
        }
    }

    /// <summary>VAN attention: proj_1 1x1, GELU (<c>activation</c>), LKA (<c>spatial_gating_unit</c>), proj_2 1x1, + input.</summary>
    public sealed class VanAttention : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> proj_1, activation, proj_2;
        private readonly LargeKernelAttention spatial_gating_unit;

        public VanAttention(string name, long dim, long lkaKernel, long lkaDilation) : base(name)
        {
            proj_1 = nn.Conv2d(dim, dim, 1);
            activation = nn.GELU();
            spatial_gating_unit = new LargeKernelAttention("spatial_gating_unit", dim, lkaKernel, lkaDilation);
            proj_2 = nn.Conv2d(dim, dim, 1);
            register_module("proj_1", proj_1);
            register_module("activation", activation);
            register_module("spatial_gating_unit", spatial_gating_unit);
            register_module("proj_2", proj_2);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = input.Through(proj_1, activation, spatial_gating_unit, proj_2);
            return (x + input).Freeing(x).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Large-kernel attention: u ⊙ conv1(conv_spatial(conv0(u))) with conv0 a (2d-1)x(2d-1) depthwise conv (pad d-1),
    /// conv_spatial a ceil(K/d) x ceil(K/d) depthwise conv dilated by d (pad (ceil(K/d)-1)·d/2), conv1 1x1; all with bias.
    /// K = 21, d = 3 gives VAN's 5x5 and 7x7 dilation-3 pad-9 convs.
    /// </summary>
    public sealed class LargeKernelAttention : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> conv0, conv_spatial, conv1;

        public LargeKernelAttention(string name, long dim, long kernel, long dilation) : base(name)
        {
            const string B = "LKA";
            BlockArgs.Positive(B, nameof(kernel), kernel);
            BlockArgs.Positive(B, nameof(dilation), dilation);
            long k0 = 2 * dilation - 1;
            long ks = (kernel + dilation - 1) / dilation;
            if ((ks - 1) * dilation % 2 != 0)
                throw new ArgumentException(
                    $"{B}: kernel {kernel} with dilation {dilation} gives a {ks}x{ks} dilated conv whose 'same' padding (({ks}-1)·{dilation})/2 is not an integer; choose an odd ceil(K/d) or an even dilation.",
                    nameof(kernel));
            conv0 = nn.Conv2d(dim, dim, k0, padding: (k0 - 1) / 2, groups: dim);
            conv_spatial = nn.Conv2d(dim, dim, ks, padding: (ks - 1) * dilation / 2, dilation: dilation, groups: dim);
            conv1 = nn.Conv2d(dim, dim, 1);
            register_module("conv0", conv0);
            register_module("conv_spatial", conv_spatial);
            register_module("conv1", conv1);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var a = input.Through(conv0, conv_spatial, conv1);
            return (input * a).Freeing(a).MoveToOuterDisposeScope();
        }
    }

    /// <summary>VAN MLP: fc1 1x1, <c>dwconv.dwconv</c> 3x3 depthwise (bias), GELU (<c>act</c>), fc2 1x1.</summary>
    public sealed class VanMlp : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> fc1, act, fc2;

        /// <summary>The 1x1 convolution the block's norm2 runs into.</summary>
        internal nn.Module<Tensor, Tensor> Fc1 => fc1;
        private readonly VanDepthwiseConv dwconv;

        public VanMlp(string name, long dim, long hidden) : base(name)
        {
            fc1 = nn.Conv2d(dim, hidden, 1);
            dwconv = new VanDepthwiseConv("dwconv", hidden);
            act = nn.GELU();
            fc2 = nn.Conv2d(hidden, dim, 1);
            register_module("fc1", fc1);
            register_module("dwconv", dwconv);
            register_module("act", act);
            register_module("fc2", fc2);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return input.Through(fc1, dwconv, act, fc2).MoveToOuterDisposeScope();
        }
    }

    /// <summary>VAN's <c>DWConv</c> wrapper: a 3x3 depthwise conv with bias registered as <c>dwconv</c>.</summary>
    public sealed class VanDepthwiseConv : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> dwconv;

        public VanDepthwiseConv(string name, long dim) : base(name)
        {
            dwconv = nn.Conv2d(dim, dim, 3, padding: 1, groups: dim);
            register_module("dwconv", dwconv);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return Call(dwconv, input).MoveToOuterDisposeScope();
        }
    }

    /// <summary>VAN overlapping patch embedding: <c>proj</c> conv k x k / stride, pad k/2 (bias), <c>norm</c> BN.</summary>
    public sealed class OverlapPatchEmbed : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor> proj;
        private nn.Module<Tensor, Tensor> norm;   // an identity once folded

        public OverlapPatchEmbed(string name, long inChannels, long outChannels, long kernel, long stride) : base(name)
        {
            const string B = nameof(OverlapPatchEmbed);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(kernel), kernel);
            BlockArgs.Positive(B, nameof(stride), stride);
            proj = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2);
            norm = nn.BatchNorm2d(outChannels);
            register_module("proj", proj);
            register_module("norm", norm);
        }

        public void FoldNorms(NormFolder folder) => norm = folder.Fold(proj, norm, "norm");

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            // The previous stage hands over the channels-last view its LayerNorm leaves. libtorch (2.10 here, and 1.13)
            // corrupts the heap in the backward pass of a strided 1x1 conv on such a view with few input channels
            // (tests/Cli.Tests/Soundness/corpus.arch, VanPatchKernel1Stride3), so the embedding takes a contiguous copy.
            var x = input.is_contiguous() ? input : input.contiguous();   // a copy belongs to this scope and goes with it
            return x.Through(proj, norm).MoveToOuterDisposeScope();
        }
    }
}
