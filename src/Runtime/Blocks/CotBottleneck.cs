using System;
using TorchSharp;
using Torchwright.Runtime.Inference;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// CoTNet bottleneck (JDAI-CV naming): conv1 1x1, bn1, ReLU, [avd AvgPool 3x3/s pad 1 when stride &gt; 1],
    /// conv2 = CoT layer (k = 3), conv3 1x1, bn3 (no bn2), + shortcut, ReLU.  With cardinality &gt; 1 conv2 is the
    /// grouped CoXt layer of CoTNeXt (same state-dict names); the width is then cardinality x the per-group width.
    /// <see cref="BlockOptions"/>: the activation replaces each ReLU (the CoT/CoXt layer's too, not its SiLU on K2); channel
    /// attention <c>se</c> follows bn3; the CoT layer has no dilated form, so Dilation must be 1.
    /// The shortcut, drop_path, addition and final activation are the shared <see cref="ResidualBottleneck"/>.
    /// <c>dropPath</c> &gt; 0: stochastic depth (<see cref="DropPath"/>) on the branch, after attention, before the addition.
    /// </summary>
    public sealed class CotBottleneck : ResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, conv3;
        private nn.Module<Tensor, Tensor> bn1, bn3;   // identities once folded
        private readonly CotLayer conv2;
        private readonly nn.Module<Tensor, Tensor>? avd;
        private readonly nn.Module<Tensor, Tensor>? se;
        private readonly Activation activation;

        /// <summary>bn3: the norm that ends the residual branch.</summary>
        public override nn.Module<Tensor, Tensor> LastNorm => bn3;

        /// <summary>The CoTNet block (cardinality 1).</summary>
        public CotBottleneck(string name, long inChannels, long width, long outChannels, long stride, ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0)
            : this(name, inChannels, width, outChannels, stride, 1, shortcut, options, dropPath)
        {
        }

        public CotBottleneck(string name, long inChannels, long width, long outChannels, long stride, long cardinality, ShortcutKind shortcut, BlockOptions? options = null, double dropPath = 0)
            : base(name)
        {
            const string B = nameof(CotBottleneck);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(stride), stride);
            BlockArgs.Positive(B, nameof(cardinality), cardinality);
            var o = BlockOptionArgs.Check(B, options, dilatable: false);
            activation = o.Activation;

            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            bn1 = Norms.Create(o.Norm, width, o.NormGroups);
            avd = stride > 1 ? nn.AvgPool2d(3, stride, 1) : null;
            conv2 = new CotLayer("conv2", width, 3, cardinality, o.Activation, o.Norm, o.NormGroups);
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = Norms.Create(o.Norm, outChannels, o.NormGroups);
            se = BlockOptionArgs.Attention(o, outChannels);

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            if (avd is not null)
                register_module("avd", avd);
            register_module("conv2", conv2);
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
            if (avd is not null)
                x = avd.call(x).Freeing(x);
            x = Call(conv2, x).Freeing(x);
            x = x.Through(conv3, bn3).Freeing(x);
            return se is null ? x : se.call(x).Freeing(x);
        }
    }

    /// <summary>
    /// Contextual Transformer layer (CoTNet, official naming) for C channels and a k x k context:
    /// static key K1 = key_embed(x) (conv k x k groups 4, BN, ReLU); weights w = embed([x, K1]) (1x1 2C -> C/2, BN, ReLU,
    /// 1x1 -> k²·C/8 with bias, GroupNorm(C/8)); value V = conv1x1(x) (1x1, BN); dynamic key
    /// K2[c] = Σ_{k²} w[c mod C/8]·unfold(V)[c] (share factor 8), SiLU(bn(K2)); fusion of (K2, K1) with a radix-2
    /// split-attention (<c>se</c>, attention width max(2C/4, 32), softmax over the two branches).  The three ReLUs (key_embed,
    /// embed, se) can be another activation; the SiLU on K2 is fixed.
    /// <para>Cardinality g &gt; 1 is CoTNeXt's CoXt layer: key_embed groups 4g, embed.0 / embed.3 / conv1x1.0 groups g,
    /// the embed input interleaves the channels of x and K1 (x0, K1_0, x1, K1_1, ...) instead of concatenating them,
    /// and the aggregation runs per group: group i's channel c uses weight channel c mod C/(8g) of group i.  GroupNorm,
    /// bn and se are unchanged.  (The official CoXtLayer fixes 4g = 8 and g = 2, its only published setting.)</para>
    /// </summary>
    public sealed class CotLayer : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        /// <summary>Channels sharing one aggregation kernel.</summary>
        public const long SharePlanes = 8;

        private readonly Chain key_embed, embed, conv1x1, se;
        private readonly nn.Module<Tensor, Tensor> bn;
        private readonly long dim, kernel, cardinality;

        public CotLayer(string name, long dim, long kernel, long cardinality = 1, Activation activation = Activation.ReLU,
            NormKind norm = NormKind.Batch, long normGroups = 32) : base(name)
        {
            const string B = nameof(CotLayer);
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(cardinality), cardinality);
            // Every group needs whole share-factor blocks of channels (C/(8g) aggregation kernels per group).
            BlockArgs.Divisible(B, "channels", dim, cardinality == 1 ? "the share factor" : "the share factor x cardinality", SharePlanes * cardinality);
            if (kernel <= 0 || kernel % 2 == 0)
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, $"{B}: kernel must be odd and positive, got {kernel}.");
            this.dim = dim;
            this.kernel = kernel;
            this.cardinality = cardinality;
            long kk = kernel * kernel;
            long attn = Math.Max(dim * 2 / 4, 32);

            key_embed = new Chain("key_embed",
                nn.Conv2d(dim, dim, kernel, padding: kernel / 2, groups: 4 * cardinality, bias: false),
                Norms.Create(norm, dim, normGroups),
                Activations.Create(activation));
            embed = new Chain("embed",
                nn.Conv2d(2 * dim, dim / 2, 1, groups: cardinality, bias: false),
                Norms.Create(norm, dim / 2, normGroups),
                Activations.Create(activation),
                nn.Conv2d(dim / 2, kk * dim / SharePlanes, 1, groups: cardinality),
                nn.GroupNorm(dim / SharePlanes, kk * dim / SharePlanes));
            conv1x1 = new Chain("conv1x1",
                nn.Conv2d(dim, dim, 1, groups: cardinality, bias: false),
                Norms.Create(norm, dim, normGroups));
            bn = Norms.Create(norm, dim, normGroups);
            se = new Chain("se",
                nn.Conv2d(dim, attn, 1),
                Norms.Create(norm, attn, normGroups),
                Activations.Create(activation),
                nn.Conv2d(attn, 2 * dim, 1));

            register_module("key_embed", key_embed);
            register_module("embed", embed);
            register_module("conv1x1", conv1x1);
            register_module("bn", bn);
            register_module("se", se);
        }

        /// <summary>key_embed, embed, conv1x1 and se are chains that fold their own pairs; bn follows the aggregation.</summary>
        public void FoldNorms(NormFolder folder) =>
            folder.Keep(bn, "bn", "it normalises the local aggregation (unfolded values times dynamic weights), which no convolution computes");

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            long b = input.shape[0], h = input.shape[2], w = input.shape[3];
            long g = cardinality, kk = kernel * kernel, cw = dim / (SharePlanes * g);
            var k1 = Call(key_embed, input);
            // CoXt interleaves x and K1 channel by channel so that each embed group sees its own channels of both.
            var joined = g == 1 ? torch.cat(new[] { input, k1 }, 1) : torch.stack(new[] { input, k1 }, 2).reshape(b, 2 * dim, h, w);
            var weights = Call(embed, joined).Freeing(joined);
            weights = weights.view(b, g, 1, cw, kk, h, w).Freeing(weights);
            var value = Call(conv1x1, input);
            // Local aggregation, K2[c](y, x) = Σ_j w[c mod C/(8g)]_j(y, x)·V_pad[c](y + dy_j, x + dx_j) over the k² offsets
            // j = dy·k + dx: unfold(V)'s channel-major c·k² + j order, summed as one multiply-add per offset on shifted
            // views of the zero-padded V. Backward keeps V_pad once, not unfold's k² copies, and the elementwise ops
            // keep V's layout (channels-last stays channels-last). Channel c of group i uses weight channel
            // c mod C/(8g) of that group.
            long pad = (kernel - 1) / 2;
            var padded = nn.functional.pad(value, new[] { pad, pad, pad, pad }).Freeing(value);
            var shifted = padded.view(b, g, SharePlanes, cw, h + 2 * pad, w + 2 * pad);
            Tensor k2 = null!;
            for (long j = 0; j < kk; j++)
            {
                var v = shifted.narrow(4, j / kernel, h).narrow(5, j % kernel, w);
                var wj = weights.select(4, j);
                k2 = j == 0 ? v * wj : k2.addcmul_(v, wj, 1);
            }
            weights.Dispose();
            k2 = k2.reshape(b, dim, h, w).Freeing(k2);
            k2 = Call(bn, k2).Freeing(k2);
            k2 = nn.functional.silu(k2).Freeing(k2);
            // Fusion of (K2, K1) by a radix-2 split attention, without stacking them: gap = mean_HW(K2 + K1) =
            // mean_HW(K2) + mean_HW(K1), and out = a_0·K2 + a_1·K1.
            var gap = k2.mean(new long[] { 2, 3 }, keepdim: true).add_(k1.mean(new long[] { 2, 3 }, keepdim: true));
            // The branch attention is (B, 2C, 1, 1): small; the scope frees its views.
            var a = Call(se, gap).Freeing(gap);
            a = Softmax(a.view(b, dim, 2), 2).Freeing(a);
            var output = (k2 * a.select(2, 0).view(b, dim, 1, 1)).Freeing(k2);
            output = output.addcmul_(k1, a.select(2, 1).view(b, dim, 1, 1), 1).Freeing(k1, a);
            return output.MoveToOuterDisposeScope();
        }
    }
}
