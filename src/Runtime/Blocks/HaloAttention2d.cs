using System;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.CompilerServices;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// Halo attention (HaloNet; timm <c>HaloAttn</c>): the map is cut into non-overlapping <c>blockSize</c> x
    /// <c>blockSize</c> query blocks, each attending to the (blockSize + 2·haloSize)² window around it (zero padded at the
    /// border). <c>q</c>: 1x1 conv to heads·dimHead (stride 2 when the block strides); <c>kv</c>: one 1x1 conv to
    /// heads·(dimHead + dimOut/heads) whose channels are grouped per head as [k | v], timm's layout;
    /// logits = q·kᵀ·dimHead^-0.5 + relative position logits (<c>rel_pos.height_rel</c>, <c>rel_pos.width_rel</c>,
    /// (2·win-1) x dimHead each; with <c>scalePosEmbed</c> the scale applies to both terms). No output projection.
    /// Stride 2: queries are subsampled (strided q, halved query blocks), unless <c>avgDown</c> or the block size is odd,
    /// in which case the full-resolution output is average-pooled 2x2, as timm decides. Input (B, dim, H, W) with H and
    /// W multiples of the block size; output (B, dimOut, H/stride, W/stride).
    /// </summary>
    public sealed class HaloAttention2d : nn.Module<Tensor, Tensor>, ISelfAttention2d
    {
        private readonly Conv2d q, kv;
        private readonly HaloRelativePosition rel_pos;
        private readonly AvgPool2d? pool;
        private readonly long heads, dimHeadQk, dimHeadV, blockSize, blockSizeDs, blockStride, haloSize, winSize;
        private readonly double scale;
        private readonly bool scalePosEmbed;

        public long InChannels { get; }
        public long OutChannels { get; }
        public long Stride { get; }

        /// <summary>Channels per head of q and k (timm <c>dim_head_qk</c>).</summary>
        public long QkHeadDim => dimHeadQk;

        /// <param name="name">Module name.</param>
        /// <param name="dim">Input channels.</param>
        /// <param name="dimOut">Output channels (null: <paramref name="dim"/>); v has dimOut/heads channels per head.</param>
        /// <param name="stride">1 or 2.</param>
        /// <param name="heads">Attention heads; must divide dimOut.</param>
        /// <param name="dimHead">Channels per head of q and k; null: make_divisible(dimOut·qkRatio, 8) / heads, as timm.</param>
        /// <param name="blockSize">Query block edge; the input map must be a multiple of it.</param>
        /// <param name="haloSize">Halo added on each side of a block for its keys and values.</param>
        /// <param name="qkRatio">q/k width relative to dimOut when <paramref name="dimHead"/> is null (must stay 1 otherwise).</param>
        /// <param name="qkvBias">Bias on q and kv.</param>
        /// <param name="avgDown">Stride 2 by average pooling the output instead of strided queries.</param>
        /// <param name="scalePosEmbed">Scale the position logits as well as q·kᵀ.</param>
        public HaloAttention2d(string name, long dim, long? dimOut = null, long stride = 1, long heads = 8, long? dimHead = null,
            long blockSize = 8, long haloSize = 3, double qkRatio = 1.0, bool qkvBias = false, bool avgDown = false, bool scalePosEmbed = false)
            : base(name)
        {
            const string B = nameof(HaloAttention2d);
            long outDim = dimOut ?? dim;
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(dimOut), outDim);
            BlockArgs.Positive(B, nameof(heads), heads);
            BlockArgs.Positive(B, nameof(blockSize), blockSize);
            if (stride != 1 && stride != 2)
                throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{B}: stride must be 1 or 2 (timm HaloAttn), got {stride}.");
            if (haloSize < 0)
                throw new ArgumentOutOfRangeException(nameof(haloSize), haloSize, $"{B}: haloSize must be 0 or more, got {haloSize}.");
            BlockArgs.Divisible(B, nameof(dimOut), outDim, nameof(heads), heads);
            BlockArgs.QkRatio(B, qkRatio, dimHead);
            if (stride == 1 && avgDown)
                throw new ArgumentException($"{B}: avgDown has no effect at stride 1; leave it false or use stride 2.", nameof(avgDown));
            if (dimHead is { } dh)
                BlockArgs.Positive(B, nameof(dimHead), dh);
            long qkHead = dimHead ?? MakeDivisible(outDim * qkRatio, 8) / heads;
            if (qkHead <= 0)
                throw new ArgumentException($"{B}: the derived q/k head width make_divisible({outDim}·{qkRatio}, 8)/{heads} is 0; give dimHead or fewer heads.", nameof(heads));

            InChannels = dim;
            OutChannels = outDim;
            Stride = stride;
            this.heads = heads;
            dimHeadQk = qkHead;
            dimHeadV = outDim / heads;
            scale = Math.Pow(qkHead, -0.5);
            this.scalePosEmbed = scalePosEmbed;
            this.blockSize = blockSizeDs = blockSize;
            this.haloSize = haloSize;
            winSize = blockSize + 2 * haloSize;
            blockStride = 1;
            bool useAvgPool = false;
            if (stride > 1)
            {
                // timm: queries are subsampled when the stride divides the block, the output pooled otherwise.
                useAvgPool = avgDown || blockSize % stride != 0;
                blockStride = useAvgPool ? 1 : stride;
                blockSizeDs = blockSize / blockStride;
            }

            q = nn.Conv2d(dim, heads * qkHead, 1, stride: blockStride, bias: qkvBias);
            kv = nn.Conv2d(dim, heads * (qkHead + dimHeadV), 1, bias: qkvBias);
            rel_pos = new HaloRelativePosition("rel_pos", blockSizeDs, winSize, qkHead);
            pool = useAvgPool ? nn.AvgPool2d(2, 2) : null;
            register_module("q", q);
            register_module("kv", kv);
            register_module("rel_pos", rel_pos);
            if (pool is not null)
                register_module("pool", pool);

            // timm's reset_parameters: fan-in truncated normals for the projections, dimHead^-0.5 for the tables.
            double std = Math.Pow(dim, -0.5);
            Init.TruncNormal_(q.weight, 0, std, -2, 2);
            Init.TruncNormal_(kv.weight, 0, std, -2, 2);
            Init.TruncNormal_(rel_pos.HeightRel, 0, scale, -2, 2);
            Init.TruncNormal_(rel_pos.WidthRel, 0, scale, -2, 2);
        }

        /// <summary>timm's make_divisible: the nearest multiple of <paramref name="divisor"/> (at least one), raised by one
        /// step when rounding down lost more than 10 %.</summary>
        internal static long MakeDivisible(double v, long divisor)
        {
            long n = Math.Max(divisor, (long)(v + divisor / 2.0) / divisor * divisor);
            return n < 0.9 * v ? n + divisor : n;
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            if (input.dim() != 4 || input.shape[1] != InChannels)
                throw new ArgumentException($"{nameof(HaloAttention2d)} '{GetName()}' expects (B, {InChannels}, H, W), got ({string.Join(", ", input.shape)}).", nameof(input));
            long b = input.shape[0], h = input.shape[2], w = input.shape[3];
            if (h % blockSize != 0 || w % blockSize != 0)
                throw new ArgumentException(
                    $"{nameof(HaloAttention2d)} '{GetName()}': the {h}x{w} map is not a multiple of the block size {blockSize}; " +
                    $"choose an input size whose map here is a multiple of {blockSize}, or a block size that divides {h} and {w}.", nameof(input));
            if (pool is not null && (h % 2 != 0 || w % 2 != 0))
                throw new ArgumentException(
                    $"{nameof(HaloAttention2d)} '{GetName()}': stride 2 by average pooling needs an even map, got {h}x{w}.", nameof(input));
            long nh = h / blockSize, nw = w / blockSize, nb = nh * nw, bs = blockSizeDs;

            var qx = Call(q, input);                                                          // B, heads·dqk, H/s, W/s
            qx = qx.reshape(-1, dimHeadQk, nh, bs, nw, bs).permute(0, 1, 3, 5, 2, 4).Freeing(qx);
            qx = qx.reshape(b * heads, dimHeadQk, bs * bs, nb).Freeing(qx);
            var query = qx.transpose(1, 3).Freeing(qx);                                      // B·heads, nb, bs², dqk

            var kvx = Call(kv, input);
            kvx = nn.functional.pad(kvx, new[] { haloSize, haloSize, haloSize, haloSize }).Freeing(kvx);
            kvx = kvx.unfold(2, winSize, blockSize).unfold(3, winSize, blockSize).Freeing(kvx); // B, C, nh, nw, win, win
            kvx = kvx.reshape(b * heads, dimHeadQk + dimHeadV, nb, winSize * winSize).Freeing(kvx);
            kvx = kvx.permute(0, 2, 3, 1).Freeing(kvx);                                      // B·heads, nb, win², dqk + dv
            var parts = kvx.split(new[] { dimHeadQk, dimHeadV }, -1);
            Tensor key = parts[0], value = parts[1];

            var kt = key.transpose(-1, -2);
            var logits = MatMul(query, kt).Freeing(kt);
            var pos = rel_pos.call(query);
            Tensor attn = scalePosEmbed
                ? (logits + pos).mul(scale)
                : logits.mul(scale).add_(pos);
            logits.Dispose();
            pos.Dispose();
            attn = Softmax(attn, -1).Freeing(attn);

            var o = MatMul(attn, value).Freeing(attn);                                        // B·heads, nb, bs², dv
            o = o.transpose(1, 3).Freeing(o);                                                // B·heads, dv, bs², nb
            o = o.reshape(-1, bs, bs, nh, nw).permute(0, 3, 1, 4, 2).contiguous().Freeing(o);
            o = o.view(b, heads * dimHeadV, h / blockStride, w / blockStride).Freeing(o);
            if (pool is not null)
                o = pool.call(o).Freeing(o);
            return o.MoveToOuterDisposeScope();
        }

        /// <summary>
        /// Halo's relative position logits (timm <c>PosEmbedRel</c> of halo_attn): tables <c>height_rel</c>,
        /// <c>width_rel</c> (2·win-1, d) shared by all heads. For queries (N, nb, bs², d) returns (N, nb, bs², win²) with
        /// logit[(hq,wq),(hk,wk)] = q·height_rel[hk-hq+win-1] + q·width_rel[wk-wq+win-1], hq, wq indexing the (possibly
        /// subsampled) query block and hk, wk its key window.
        /// </summary>
        private sealed class HaloRelativePosition : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter height_rel, width_rel;
            private readonly long blockSize, winSize, dimHead;

            public Tensor HeightRel => height_rel;
            public Tensor WidthRel => width_rel;

            public HaloRelativePosition(string name, long blockSize, long winSize, long dimHead) : base(name)
            {
                this.blockSize = blockSize;
                this.winSize = winSize;
                this.dimHead = dimHead;
                height_rel = new Parameter(torch.empty(2 * winSize - 1, dimHead));
                width_rel = new Parameter(torch.empty(2 * winSize - 1, dimHead));
                register_parameter("height_rel", height_rel);
                register_parameter("width_rel", width_rel);
            }

            public override Tensor forward(Tensor q)
            {
                using var scope = torch.NewDisposeScope();
                long n = q.shape[0], nb = q.shape[1], bs = blockSize, win = winSize;
                var q4 = q.reshape(-1, bs, bs, dimHead);                                      // N', hq, wq, d
                // index[i, j] = j - i + win - 1: key j of the window relative to query i of the block.
                var index = (torch.arange(win, device: q.device).unsqueeze(0) - torch.arange(bs, device: q.device).unsqueeze(1)).add_(win - 1);
                var lw = MatMul(q4, width_rel.t());                                             // N', hq, wq, 2win-1
                lw = lw.gather(-1, index.view(1, 1, bs, win).expand(lw.shape[0], bs, bs, win)).Freeing(lw);   // N', hq, wq, wk
                var lh = MatMul(q4, height_rel.t());
                lh = lh.gather(-1, index.view(1, bs, 1, win).expand(lh.shape[0], bs, bs, win)).Freeing(lh);   // N', hq, wq, hk
                var logits = lh.unsqueeze(-1) + lw.unsqueeze(-2);                              // N', hq, wq, hk, wk
                return logits.reshape(n, nb, bs * bs, win * win).MoveToOuterDisposeScope();
            }
        }
    }
}
