using System;
using TorchSharp;
using Torchwright.Runtime.Inference;
using TorchSharp.Modules;
using Torchwright.Runtime.CompilerServices;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// Lambda layer (LambdaNetworks; timm <c>LambdaLayer</c>, intra-depth u = 1): <c>qkv</c>, one 1x1 conv to
    /// heads·k | k | v channels (k = dimHead, v = dimOut/heads); q normalised by <c>norm_q</c>, v by <c>norm_v</c>
    /// (BatchNorm in timm; <see cref="Norms.Create"/>), keys softmaxed over the positions. Content lambda kᵀv is shared
    /// by all positions; the position lambdas come from <c>conv_lambda</c>, a Conv3d (r, r, 1) with bias sliding over
    /// (H, W) of each v channel (<c>r</c> given), or from <c>pos_emb</c>, a learned (2H-1, 2W-1, k) relative table
    /// indexed by timm's relative positions (<c>r</c> null: the map is fixed to <c>featSize</c>). Output
    /// q·(content + position lambda), (B, dimOut, H, W), average-pooled 2x2 at stride 2. (timm reshapes the output to the
    /// input's channel count, so it runs only with dimOut = dim, as its networks use it; here the output has dimOut channels.)
    /// </summary>
    public sealed class LambdaLayer2d : nn.Module<Tensor, Tensor>, ISelfAttention2d, IFoldsNorms
    {
        private readonly Conv2d qkv;
        private nn.Module<Tensor, Tensor> norm_q, norm_v;   // identities once folded
        private readonly Conv3d? conv_lambda;
        private readonly Parameter? pos_emb;
        private readonly AvgPool2d? pool;
        private readonly long heads, dimQk, dimV;
        private readonly (long Height, long Width)? featSize;

        public long InChannels { get; }
        public long OutChannels { get; }
        public long Stride { get; }

        /// <summary>Channels per head of q and of k (timm <c>dim_qk</c>).</summary>
        public long QkHeadDim => dimQk;

        /// <param name="name">Module name.</param>
        /// <param name="dim">Input channels.</param>
        /// <param name="dimOut">Output channels (null: <paramref name="dim"/>); v has dimOut/heads channels.</param>
        /// <param name="featSize">The fixed input map (H, W) of the relative-position form; only when <paramref name="r"/> is null.</param>
        /// <param name="stride">1, or 2 (AvgPool 2x2 after the lambdas).</param>
        /// <param name="heads">Query heads; must divide dimOut.</param>
        /// <param name="dimHead">Channels per head of q and of k; null: make_divisible(dimOut·qkRatio, 8) / heads, as timm.</param>
        /// <param name="r">Odd kernel of the local lambda convolution; null: fixed-size relative positions over <paramref name="featSize"/>.</param>
        /// <param name="qkRatio">q/k width relative to dimOut when <paramref name="dimHead"/> is null (must stay 1 otherwise).</param>
        /// <param name="qkvBias">Bias on qkv.</param>
        /// <param name="norm">The norm of q and v (timm: BatchNorm).</param>
        /// <param name="normGroups">Groups of <see cref="NormKind.Group"/>.</param>
        public LambdaLayer2d(string name, long dim, long? dimOut = null, (long Height, long Width)? featSize = null, long stride = 1,
            long heads = 4, long? dimHead = 16, long? r = 9, double qkRatio = 1.0, bool qkvBias = false,
            NormKind norm = NormKind.Batch, long normGroups = 32)
            : base(name)
        {
            const string B = nameof(LambdaLayer2d);
            long outDim = dimOut ?? dim;
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(dimOut), outDim);
            BlockArgs.Positive(B, nameof(heads), heads);
            if (stride != 1 && stride != 2)
                throw new ArgumentOutOfRangeException(nameof(stride), stride, $"{B}: stride must be 1 or 2 (AvgPool 2x2 after the lambdas), got {stride}.");
            BlockArgs.Divisible(B, nameof(dimOut), outDim, nameof(heads), heads);
            BlockArgs.QkRatio(B, qkRatio, dimHead);
            if (dimHead is { } dh)
                BlockArgs.Positive(B, nameof(dimHead), dh);
            long qk = dimHead ?? HaloAttention2d.MakeDivisible(outDim * qkRatio, 8) / heads;
            if (qk <= 0)
                throw new ArgumentException($"{B}: the derived q/k head width make_divisible({outDim}·{qkRatio}, 8)/{heads} is 0; give dimHead or fewer heads.", nameof(heads));
            if (r is { } rr)
            {
                if (rr <= 0 || rr % 2 == 0)
                    throw new ArgumentOutOfRangeException(nameof(r), rr, $"{B}: r (the lambda convolution's kernel) must be odd and positive, got {rr}.");
                if (featSize is not null)
                    throw new ArgumentException($"{B}: featSize has no effect with the local lambda convolution (r = {rr}); leave featSize null, or set r null for fixed-size relative positions.", nameof(featSize));
            }
            else
            {
                if (featSize is not { } fs)
                    throw new ArgumentException($"{B}: without r (relative positions) the input map is fixed: give featSize (H, W) of this layer's input.", nameof(featSize));
                if (fs.Height <= 0 || fs.Width <= 0)
                    throw new ArgumentOutOfRangeException(nameof(featSize), fs, $"{B}: featSize must be positive, got {fs.Height}x{fs.Width}.");
            }

            InChannels = dim;
            OutChannels = outDim;
            Stride = stride;
            this.heads = heads;
            dimQk = qk;
            dimV = outDim / heads;
            this.featSize = featSize;

            qkv = nn.Conv2d(dim, heads * qk + qk + dimV, 1, bias: qkvBias);
            norm_q = Norms.Create(norm, heads * qk, normGroups);
            norm_v = Norms.Create(norm, dimV, normGroups);
            register_module("qkv", qkv);
            register_module("norm_q", norm_q);
            register_module("norm_v", norm_v);
            Init.TruncNormal_(qkv.weight, 0, Math.Pow(dim, -0.5), -2, 2);   // timm: fan-in
            if (r is { } k)
            {
                conv_lambda = nn.Conv3d(1, qk, (k, k, 1), padding: (k / 2, k / 2, 0));
                register_module("conv_lambda", conv_lambda);
                Init.TruncNormal_(conv_lambda.weight, 0, Math.Pow(qk, -0.5), -2, 2);
            }
            else
            {
                var (fh, fw) = featSize!.Value;
                pos_emb = new Parameter(torch.empty(2 * fh - 1, 2 * fw - 1, qk));
                register_parameter("pos_emb", pos_emb);
                Init.TruncNormal_(pos_emb, 0, 0.02, -2, 2);
            }
            pool = stride == 2 ? nn.AvgPool2d(2, 2) : null;
            if (pool is not null)
                register_module("pool", pool);
        }

        /// <summary>norm_q and norm_v normalise the q and v rows of the qkv convolution's output: they fold into those rows.</summary>
        public void FoldNorms(NormFolder folder)
        {
            norm_q = folder.Fold(qkv, norm_q, "norm_q", 0);
            norm_v = folder.Fold(qkv, norm_v, "norm_v", heads * dimQk + dimQk);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            if (input.dim() != 4 || input.shape[1] != InChannels)
                throw new ArgumentException($"{nameof(LambdaLayer2d)} '{GetName()}' expects (B, {InChannels}, H, W), got ({string.Join(", ", input.shape)}).", nameof(input));
            long b = input.shape[0], h = input.shape[2], w = input.shape[3], m = h * w;
            if (featSize is { } fs && (h != fs.Height || w != fs.Width))
                throw new ArgumentException(
                    $"{nameof(LambdaLayer2d)} '{GetName()}' was built for a {fs.Height}x{fs.Width} map (its relative-position table fixes it) but got {h}x{w}. " +
                    "Build the layer for this map size, change the input resolution, or use the local lambda convolution (r).", nameof(input));
            if (pool is not null && (h % 2 != 0 || w % 2 != 0))
                throw new ArgumentException($"{nameof(LambdaLayer2d)} '{GetName()}': stride 2 (AvgPool 2x2) needs an even map, got {h}x{w}.", nameof(input));

            var parts = Call(qkv, input).split(new[] { heads * dimQk, dimQk, dimV }, 1);
            var q = Call(norm_q, parts[0]).reshape(b, heads, dimQk, m).transpose(-1, -2);   // B, heads, M, K
            var v = Call(norm_v, parts[2]).reshape(b, dimV, m).transpose(-1, -2);           // B, M, V
            var k = Softmax(parts[1].reshape(b, dimQk, m), -1);                             // B, K, M

            var content = MatMul(q, MatMul(k, v).unsqueeze(1));                               // B, heads, M, V
            Tensor positionLambda;                                                          // B, 1, M, K, V
            if (conv_lambda is not null)
            {
                var lam = Call(conv_lambda, v.reshape(b, 1, h, w, dimV));                     // B, K, H, W, V
                positionLambda = lam.reshape(b, 1, dimQk, m, dimV).transpose(2, 3);
            }
            else
            {
                var e = pos_emb!.reshape(-1, dimQk).index_select(0, RelativeIndex(h, w, input.device)).reshape(m, m, dimQk);   // M(q), M(k), K
                positionLambda = MatMul(e.transpose(-1, -2), v.unsqueeze(1)).unsqueeze(1);
            }
            var position = MatMul(q.unsqueeze(-2), positionLambda).squeeze(-2);             // B, heads, M, V
            var o = (content + position).transpose(-1, -2).reshape(b, heads * dimV, h, w);
            if (pool is not null)
                o = pool.call(o);
            return o.MoveToOuterDisposeScope();
        }

        /// <summary>Flat index into pos_emb (2H-1, 2W-1) of key j relative to query i over row-major positions,
        /// (hj - hi + H - 1)·(2W-1) + (wj - wi + W - 1): timm's rel_pos_indices. Made per call (M² longs), not stored.</summary>
        private static Tensor RelativeIndex(long h, long w, Device device)
        {
            var pos = torch.arange(h * w, device: device);
            var ph = pos.div(w, rounding_mode: RoundingMode.floor);
            var pw = pos.remainder(w);
            var dh = ph.unsqueeze(0) - ph.unsqueeze(1) + (h - 1);
            var dw = pw.unsqueeze(0) - pw.unsqueeze(1) + (w - 1);
            return (dh * (2 * w - 1) + dw).flatten();
        }
    }
}
