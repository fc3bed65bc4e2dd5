using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// BoTNet MHSA (timm BottleneckAttn), the BoT kind of <see cref="SelfAttnBottleneck"/>'s slot: q, k, v from one 1x1 conv
    /// (<c>qkv</c>, no bias, out heads·dqk | heads·dqk | width), q/k heads of dqk = <c>qkHeadDim</c> (0: width/heads) and v
    /// heads of width/heads, logits = q·kᵀ·dqk^-0.5 + relative position logits (<c>rel_pos</c>, tables of dqk), softmax, ·v.
    /// No output projection. With <c>stride</c> 2 the output is average-pooled 2x2 (timm pools inside BottleneckAttn; the
    /// pool has no parameters). Input (B, width, H, W), H x W the construction-time size; output (B, width, H/stride, W/stride).
    /// </summary>
    public sealed class MultiHeadSelfAttention2d : nn.Module<Tensor, Tensor>, ISelfAttention2d
    {
        private readonly nn.Module<Tensor, Tensor> qkv;
        private readonly RelativePositionEmbedding2d rel_pos;
        private readonly long dim, heads, dimHead, qkDim, height, width, stride;
        private readonly double scale;

        public MultiHeadSelfAttention2d(string name, long dim, long heads, long height, long width, long qkHeadDim = 0, long stride = 1) : base(name)
        {
            const string B = "MHSA";
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(heads), heads);
            BlockArgs.Positive(B, nameof(height), height);
            BlockArgs.Positive(B, nameof(width), width);
            BlockArgs.Divisible(B, "width (channels)", dim, nameof(heads), heads);
            if (qkHeadDim < 0)
                throw new ArgumentOutOfRangeException(nameof(qkHeadDim), qkHeadDim, $"{B}: qkHeadDim must be 0 (width/heads) or positive, got {qkHeadDim}.");
            if (stride != 1 && stride != 2)
                throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{B}: stride must be 1 or 2 (AvgPool 2x2 after attention), got {stride}.");
            if (stride == 2 && (height % 2 != 0 || width % 2 != 0))
                throw new ArgumentException($"{B}: stride 2 needs an even pre-stride map to pool 2x2, got {height}x{width}.", nameof(height));
            this.stride = stride;
            this.dim = dim;
            this.heads = heads;
            this.dimHead = dim / heads;
            this.qkDim = qkHeadDim == 0 ? dimHead : qkHeadDim;
            this.height = height;
            this.width = width;
            this.scale = Math.Pow(qkDim, -0.5);
            qkv = nn.Conv2d(dim, 2 * heads * qkDim + dim, 1, bias: false);
            rel_pos = new RelativePositionEmbedding2d("rel_pos", height, width, qkDim);
            register_module("qkv", qkv);
            register_module("rel_pos", rel_pos);
        }

        public long InChannels => dim;

        public long OutChannels => dim;

        public long Stride => stride;

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            if (input.dim() != 4 || input.shape[1] != dim || input.shape[2] != height || input.shape[3] != width)
                throw new ArgumentException(
                    $"MHSA '{GetName()}' was built for input (B, {dim}, {height}, {width}) -- its relative-position tables fix H x W -- " +
                    $"but got ({string.Join(", ", input.shape)}). Build the block for this feature-map size or change the input resolution.",
                    nameof(input));
            long b = input.shape[0], hw = height * width;
            Tensor q, k, v;
            using (var qkvOut = Call(qkv, input))
            {
                var parts = qkvOut.split(new long[] { heads * qkDim, heads * qkDim, dim }, 1);
                q = Heads(parts[0], qkDim, b, hw, transposed: true);      // N, HW, dqk
                k = Heads(parts[1], qkDim, b, hw, transposed: false);     // N, dqk, HW
                v = Heads(parts[2], dimHead, b, hw, transposed: true);    // N, HW, d
            }
            var logits = MatMul(q, k).Freeing(k);
            logits = logits.mul(scale).Freeing(logits);
            var rel = rel_pos.call(q).Freeing(q);
            logits = (logits + rel).Freeing(logits, rel);
            var attn = Softmax(logits, -1).Freeing(logits);
            var output = MatMul(attn, v).Freeing(attn, v);
            output = output.transpose(1, 2).Freeing(output);
            output = output.reshape(b, dim, height, width).Freeing(output);
            if (stride == 2)
                output = nn.functional.avg_pool2d(output, 2, 2).Freeing(output);
            return output.MoveToOuterDisposeScope();
        }

        /// <summary>One of q, k, v (B, heads·d, H, W) as (B·heads, d, H·W), or (B·heads, H·W, d) when transposed; frees the slice.</summary>
        private Tensor Heads(Tensor part, long d, long b, long hw, bool transposed)
        {
            var x = part.reshape(b * heads, d, hw).Freeing(part);
            return transposed ? x.transpose(1, 2).Freeing(x) : x;
        }
    }

    /// <summary>
    /// 2D relative position logits (BoTNet / timm PosEmbedRel): tables <c>height_rel</c> [2H-1, d] and
    /// <c>width_rel</c> [2W-1, d] shared by all heads.  For queries (N, H·W, d) returns (N, H·W, H·W) with
    /// logit[(hq,wq),(hk,wk)] = q·height_rel[hk-hq+H-1] + q·width_rel[wk-wq+W-1].
    /// </summary>
    public sealed class RelativePositionEmbedding2d : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter height_rel, width_rel;
        private readonly long height, width, dimHead;

        public RelativePositionEmbedding2d(string name, long height, long width, long dimHead) : base(name)
        {
            this.height = height;
            this.width = width;
            this.dimHead = dimHead;
            double scale = Math.Pow(dimHead, -0.5);
            height_rel = new Parameter(torch.randn(new long[] { 2 * height - 1, dimHead }).mul_(scale));
            width_rel = new Parameter(torch.randn(new long[] { 2 * width - 1, dimHead }).mul_(scale));
            register_parameter("height_rel", height_rel);
            register_parameter("width_rel", width_rel);
        }

        public override Tensor forward(Tensor q)
        {
            using var scope = torch.NewDisposeScope();
            long n = q.shape[0], h = height, w = width;
            var q4 = q.reshape(n, h, w, dimHead);
            var lw = RelToAbs(q4, width_rel, w);
            lw = lw.reshape(n, h, w, 1, w).Freeing(lw);                 // [n, hq, wq, ., wk]
            var qt = q4.transpose(1, 2).Freeing(q4);
            var lh = RelToAbs(qt, height_rel, h).Freeing(qt);
            lh = lh.permute(0, 2, 1, 3).Freeing(lh);
            lh = lh.reshape(n, h, w, h, 1).Freeing(lh);                 // [n, hq, wq, hk, .]
            var logits = (lw + lh).Freeing(lw, lh);
            return logits.reshape(n, h * w, h * w).Freeing(logits).MoveToOuterDisposeScope();
        }

        /// <summary>q (N, A, L, d), rel (2L-1, d) -> (N, A, L, L) with out[..., i, j] = q[..., i]·rel[j - i + L - 1],
        /// using the pad-and-reshape relative-to-absolute conversion (no gather). Frees what it makes, not <paramref name="q"/>.</summary>
        private static Tensor RelToAbs(Tensor q, Tensor rel, long length)
        {
            long n = q.shape[0], a = q.shape[1], r = 2 * length - 1;
            var relT = rel.t();
            var x = MatMul(q, relT).Freeing(relT);
            x = x.reshape(-1, length, r).Freeing(x);                               // N·A, L, 2L-1
            x = nn.functional.pad(x, new long[] { 0, 1 }).Freeing(x);
            x = x.flatten(1).Freeing(x);                                            // N·A, L·2L
            x = nn.functional.pad(x, new long[] { 0, r - length }).Freeing(x);     // N·A, L·2L + L-1
            x = x.reshape(-1, length + 1, r).Freeing(x);
            x = x.narrow(1, 0, length).Freeing(x);
            x = x.narrow(2, length - 1, length).Freeing(x);
            return x.reshape(n, a, length, length).Freeing(x);
        }
    }
}
