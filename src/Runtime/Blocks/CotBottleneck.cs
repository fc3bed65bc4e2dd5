using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// CoTNet bottleneck (JDAI-CV naming): conv1 1x1, bn1, ReLU, [avd AvgPool 3x3/s pad 1 when stride &gt; 1],
    /// conv2 = CoT layer (k = 3), conv3 1x1, bn3 (no bn2), + shortcut, ReLU.
    /// <see cref="BlockOptions"/>: the activation replaces each ReLU (the CoT layer's too, not its SiLU on K2); channel
    /// attention <c>se</c> follows bn3; the CoT layer has no dilated form, so Dilation must be 1.
    /// </summary>
    public sealed class CotBottleneck : nn.Module<Tensor, Tensor>, IResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv3;
        private readonly BatchNorm2d bn3;
        private readonly CotLayer conv2;
        private readonly nn.Module<Tensor, Tensor>? avd;
        private readonly nn.Module<Tensor, Tensor>? downsample;
        private readonly nn.Module<Tensor, Tensor>? se;
        private readonly Activation activation;

        /// <summary>bn3: the BatchNorm that ends the residual branch.</summary>
        public BatchNorm2d LastNorm => bn3;

        public CotBottleneck(string name, long inChannels, long width, long outChannels, long stride, ShortcutKind shortcut, BlockOptions? options = null)
            : base(name)
        {
            const string B = nameof(CotBottleneck);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(stride), stride);
            var o = BlockOptionArgs.Check(B, options, dilatable: false);
            activation = o.Activation;

            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            bn1 = nn.BatchNorm2d(width);
            avd = stride > 1 ? nn.AvgPool2d(3, stride, 1) : null;
            conv2 = new CotLayer("conv2", width, 3, o.Activation);
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = nn.BatchNorm2d(outChannels);
            se = BlockOptionArgs.Attention(o, outChannels);
            downsample = BlockArgs.Shortcut(inChannels, outChannels, stride, shortcut);

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            if (avd is not null)
                register_module("avd", avd);
            register_module("conv2", conv2);
            register_module("conv3", conv3);
            register_module("bn3", bn3);
            if (se is not null)
                register_module("se", se);
            if (downsample is not null)
                register_module("downsample", downsample);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var identity = downsample?.call(input);   // null: the identity is the input, which the caller owns
            var x = input.Through(conv1, bn1);
            x = Activations.Apply(activation, x).Freeing(x);
            if (avd is not null)
                x = avd.call(x).Freeing(x);
            x = conv2.call(x).Freeing(x);
            x = x.Through(conv3, bn3).Freeing(x);
            if (se is not null)
                x = se.call(x).Freeing(x);
            x = (x + (identity ?? input)).Freeing(x, identity);
            return Activations.Apply(activation, x).Freeing(x).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// Contextual Transformer layer (CoTNet, official naming) for C channels and a k x k context:
    /// static key K1 = key_embed(x) (conv k x k groups 4, BN, ReLU); weights w = embed([x, K1]) (1x1 2C -> C/2, BN, ReLU,
    /// 1x1 -> k²·C/8 with bias, GroupNorm(C/8)); value V = conv1x1(x) (1x1, BN); dynamic key
    /// K2[c] = Σ_{k²} w[c mod C/8]·unfold(V)[c] (share factor 8), SiLU(bn(K2)); fusion of (K2, K1) with a radix-2
    /// split-attention (<c>se</c>, attention width max(2C/4, 32), softmax over the two branches).  The three ReLUs (key_embed,
    /// embed, se) can be another activation; the SiLU on K2 is fixed.
    /// </summary>
    public sealed class CotLayer : nn.Module<Tensor, Tensor>
    {
        /// <summary>Channels sharing one aggregation kernel.</summary>
        public const long SharePlanes = 8;

        private readonly Chain key_embed, embed, conv1x1, se;
        private readonly nn.Module<Tensor, Tensor> bn;
        private readonly long dim, kernel;

        public CotLayer(string name, long dim, long kernel, Activation activation = Activation.ReLU) : base(name)
        {
            const string B = nameof(CotLayer);
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Divisible(B, "channels", dim, "the share factor", SharePlanes);
            if (kernel <= 0 || kernel % 2 == 0)
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"{B}: kernel must be odd and positive, got {kernel}.");
            this.dim = dim;
            this.kernel = kernel;
            long kk = kernel * kernel;
            long attn = Math.Max(dim * 2 / 4, 32);

            key_embed = new Chain("key_embed",
                nn.Conv2d(dim, dim, kernel, padding: kernel / 2, groups: 4, bias: false),
                nn.BatchNorm2d(dim),
                Activations.Create(activation));
            embed = new Chain("embed",
                nn.Conv2d(2 * dim, dim / 2, 1, bias: false),
                nn.BatchNorm2d(dim / 2),
                Activations.Create(activation),
                nn.Conv2d(dim / 2, kk * dim / SharePlanes, 1),
                nn.GroupNorm(dim / SharePlanes, kk * dim / SharePlanes));
            conv1x1 = new Chain("conv1x1",
                nn.Conv2d(dim, dim, 1, bias: false),
                nn.BatchNorm2d(dim));
            bn = nn.BatchNorm2d(dim);
            se = new Chain("se",
                nn.Conv2d(dim, attn, 1),
                nn.BatchNorm2d(attn),
                Activations.Create(activation),
                nn.Conv2d(attn, 2 * dim, 1));

            register_module("key_embed", key_embed);
            register_module("embed", embed);
            register_module("conv1x1", conv1x1);
            register_module("bn", bn);
            register_module("se", se);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            long b = input.shape[0], h = input.shape[2], w = input.shape[3];
            long kk = kernel * kernel, cw = dim / SharePlanes;
            var k1 = key_embed.call(input);
            var joined = torch.cat(new[] { input, k1 }, 1);
            var weights = embed.call(joined).Freeing(joined);
            weights = weights.view(b, 1, cw, kk, h, w).Freeing(weights);
            var value = conv1x1.call(input);
            // Local aggregation: unfold(V) is (B, C·k², H·W) with channel-major layout c·k² + j.
            var cols = nn.functional.unfold(value, kernel, padding: (kernel - 1) / 2).Freeing(value);
            cols = cols.view(b, SharePlanes, cw, kk, h, w).Freeing(cols);
            var k2 = (cols * weights).Freeing(cols, weights);
            k2 = k2.sum(3).Freeing(k2);
            k2 = k2.reshape(b, dim, h, w).Freeing(k2);
            k2 = bn.call(k2).Freeing(k2);
            k2 = nn.functional.silu(k2).Freeing(k2);
            var branches = torch.stack(new[] { k2, k1 }, 2).Freeing(k2, k1);          // B, C, 2, H, W
            var gap = branches.sum(2);
            gap = gap.mean(new long[] { 2, 3 }, keepdim: true).Freeing(gap);
            // The branch attention is (B, 2C, 1, 1): small; the scope frees its views.
            var a = se.call(gap).Freeing(gap);
            a = a.view(b, dim, 2).softmax(2).reshape(b, dim, 2, 1, 1).Freeing(a);
            var weighted = (branches * a).Freeing(branches, a);
            return weighted.sum(2).Freeing(weighted).MoveToOuterDisposeScope();
        }
    }
}
