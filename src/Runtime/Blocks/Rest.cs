using System;
using TorchSharp;
using Torchwright.Runtime.Inference;
using static TorchSharp.torch;
using static Torchwright.Runtime.MixedPrecision;   // Call, MatMul, Softmax: the precision policy

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// ResT block (official naming), taking and returning (B, C, H, W): tokens t = flatten(x);
    /// t + attn(norm1(t)); t + mlp(norm2(t)) with pre-norm LayerNorms and the efficient MSA (<see cref="EfficientSelfAttention"/>).
    /// Stochastic depth (<c>dropPath</c> &gt; 0, one <see cref="DropPath"/> for both branches, as the official code) drops each branch.
    /// </summary>
    public sealed class RestBlock : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> norm1, norm2;
        private readonly EfficientSelfAttention attn;
        private readonly RestMlp mlp;
        private readonly DropPath? drop_path;

        public RestBlock(string name, long dim, long heads, long mlpRatio, long srRatio, bool qkvBias, double dropPath = 0) : base(name)
        {
            const string B = nameof(RestBlock);
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(mlpRatio), mlpRatio);
            norm1 = nn.LayerNorm(dim);
            attn = new EfficientSelfAttention("attn", dim, heads, srRatio, qkvBias);
            norm2 = nn.LayerNorm(dim);
            mlp = new RestMlp("mlp", dim, dim * mlpRatio);
            drop_path = DropPath.For(dropPath);
            register_module("norm1", norm1);
            register_module("attn", attn);
            if (drop_path is not null)
                register_module("drop_path", drop_path);
            register_module("norm2", norm2);
            register_module("mlp", mlp);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            if (input.dim() != 4)
                throw new ArgumentException($"RestBlock '{GetName()}' expects (B, C, H, W), got ({string.Join(", ", input.shape)}).", nameof(input));
            long b = input.shape[0], c = input.shape[1], h = input.shape[2], w = input.shape[3];
            var t = input.flatten(2);
            t = t.transpose(1, 2).Freeing(t);                                       // B, N, C
            var normed = Call(norm1, t);
            var branch = attn.Forward(normed, h, w).Freeing(normed).DroppedBy(drop_path);
            t = (t + branch).Freeing(t, branch);
            branch = t.Through(norm2, mlp).DroppedBy(drop_path);
            t = (t + branch).Freeing(t, branch);
            t = t.transpose(1, 2).Freeing(t);
            return t.reshape(b, c, h, w).Freeing(t).MoveToOuterDisposeScope();
        }
    }

    /// <summary>
    /// ResT efficient multi-head self-attention (EMSA): q = Linear(C, C); keys/values from a spatially reduced map
    /// (<c>sr</c> depthwise conv k = sr+1, stride sr, pad sr/2, then <c>sr_norm</c> LayerNorm) when sr &gt; 1;
    /// kv = Linear(C, 2C); A = softmax(transform_conv(q·kᵀ·d^-0.5)) then transform_norm (InstanceNorm over heads),
    /// the transform being skipped when heads = 1; out = proj(A·v).
    /// Its module input is (B, C, H, W) tokens-free form; blocks call <see cref="Forward(Tensor, long, long)"/> with tokens.
    /// </summary>
    public sealed class EfficientSelfAttention : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> q, kv, proj;
        private readonly nn.Module<Tensor, Tensor>? sr, sr_norm, transform_conv, transform_norm;
        private readonly long dim, heads, dimHead, srRatio;
        private readonly double scale;

        public EfficientSelfAttention(string name, long dim, long heads, long srRatio, bool qkvBias) : base(name)
        {
            const string B = "EMSA";
            BlockArgs.Positive(B, nameof(dim), dim);
            BlockArgs.Positive(B, nameof(heads), heads);
            BlockArgs.Positive(B, nameof(srRatio), srRatio);
            BlockArgs.Divisible(B, nameof(dim), dim, nameof(heads), heads);
            this.dim = dim;
            this.heads = heads;
            this.dimHead = dim / heads;
            this.srRatio = srRatio;
            this.scale = Math.Pow(dimHead, -0.5);

            q = nn.Linear(dim, dim, qkvBias);
            kv = nn.Linear(dim, 2 * dim, qkvBias);
            proj = nn.Linear(dim, dim);
            register_module("q", q);
            register_module("kv", kv);
            register_module("proj", proj);
            if (srRatio > 1)
            {
                sr = nn.Conv2d(dim, dim, srRatio + 1, stride: srRatio, padding: srRatio / 2, groups: dim);
                sr_norm = nn.LayerNorm(dim);
                register_module("sr", sr);
                register_module("sr_norm", sr_norm);
            }
            if (heads > 1)
            {
                transform_conv = nn.Conv2d(heads, heads, 1);
                transform_norm = nn.InstanceNorm2d(heads);
                register_module("transform_conv", transform_conv);
                register_module("transform_norm", transform_norm);
            }
        }

        /// <summary>Map form: (B, C, H, W) -> (B, C, H, W).</summary>
        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            long b = input.shape[0], h = input.shape[2], w = input.shape[3];
            var tokens = input.flatten(2);
            tokens = tokens.transpose(1, 2).Freeing(tokens);
            var y = Forward(tokens, h, w).Freeing(tokens);
            y = y.transpose(1, 2).Freeing(y);
            return y.reshape(b, dim, h, w).Freeing(y).MoveToOuterDisposeScope();
        }

        /// <summary>Token form: x (B, N = H·W, C) -> (B, N, C).</summary>
        public Tensor Forward(Tensor x, long h, long w)
        {
            using var scope = torch.NewDisposeScope();
            long b = x.shape[0], n = x.shape[1];
            if (x.shape[2] != dim || n != h * w)
                throw new ArgumentException($"EMSA '{GetName()}' expects tokens (B, {h}·{w}, {dim}), got ({string.Join(", ", x.shape)}).", nameof(x));
            var qh = Call(q, x);
            qh = qh.reshape(b, n, heads, dimHead).Freeing(qh);
            qh = qh.permute(0, 2, 1, 3).Freeing(qh);                                // B, h, N, d
            Tensor? reduced = null;                                                 // null: keys and values come from x
            if (sr is not null && sr_norm is not null)
            {
                var map = x.permute(0, 2, 1);
                map = map.reshape(b, dim, h, w).Freeing(map);
                reduced = Call(sr, map).Freeing(map);
                reduced = reduced.reshape(b, dim, -1).Freeing(reduced);
                reduced = reduced.permute(0, 2, 1).Freeing(reduced);
                reduced = Call(sr_norm, reduced).Freeing(reduced);
            }
            var kvh = Call(kv, reduced ?? x).Freeing(reduced);
            kvh = kvh.reshape(b, -1, 2, heads, dimHead).Freeing(kvh);
            kvh = kvh.permute(2, 0, 3, 1, 4).Freeing(kvh);                           // 2, B, h, N', d
            var kT = kvh.select(0, 0);
            kT = kT.transpose(-2, -1).Freeing(kT);
            var v = kvh.select(0, 1).Freeing(kvh);
            var a = MatMul(qh, kT).Freeing(qh, kT);
            a = a.mul(scale).Freeing(a);
            if (transform_conv is not null && transform_norm is not null)
            {
                a = Call(transform_conv, a).Freeing(a);
                a = Softmax(a, -1).Freeing(a);
                a = Call(transform_norm, a).Freeing(a);
            }
            else
            {
                a = Softmax(a, -1).Freeing(a);
            }
            var y = MatMul(a, v).Freeing(a, v);
            y = y.transpose(1, 2).Freeing(y);
            y = y.reshape(b, n, dim).Freeing(y);
            return Call(proj, y).Freeing(y).MoveToOuterDisposeScope();
        }
    }

    /// <summary>ResT MLP on tokens: fc1 Linear(C, C·r), GELU (<c>act</c>), fc2 Linear(C·r, C).</summary>
    public sealed class RestMlp : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> fc1, act, fc2;

        public RestMlp(string name, long dim, long hidden) : base(name)
        {
            fc1 = nn.Linear(dim, hidden);
            act = nn.GELU();
            fc2 = nn.Linear(hidden, dim);
            register_module("fc1", fc1);
            register_module("act", act);
            register_module("fc2", fc2);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return input.Through(fc1, act, fc2).MoveToOuterDisposeScope();
        }
    }

    /// <summary>ResT pixel attention "PA": x ⊙ sigmoid(pa_conv(x)), pa_conv a 3x3 depthwise conv with bias.</summary>
    public sealed class PositionAttention : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> pa_conv;

        public PositionAttention(string name, long dim) : base(name)
        {
            BlockArgs.Positive(nameof(PositionAttention), nameof(dim), dim);
            pa_conv = nn.Conv2d(dim, dim, 3, padding: 1, groups: dim);
            register_module("pa_conv", pa_conv);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var gate = Call(pa_conv, input);
            gate = gate.sigmoid().Freeing(gate);
            return (input * gate).Freeing(gate).MoveToOuterDisposeScope();
        }
    }

    /// <summary>ResT released-code stem: conv1 3x3/2 in -> out/2, norm1, ReLU; conv2 3x3 out/2 -> out/2, norm2, ReLU;
    /// conv3 3x3/2 out/2 -> out (all without bias); pos = PA(out).</summary>
    public sealed class RestStem : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor> conv1, conv2, conv3, act;
        private nn.Module<Tensor, Tensor> norm1, norm2;   // identities once folded
        private readonly PositionAttention pos;

        public RestStem(string name, long inChannels, long outChannels) : base(name)
        {
            const string B = nameof(RestStem);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Divisible(B, nameof(outChannels), outChannels, "2", 2);
            long hid = outChannels / 2;
            conv1 = nn.Conv2d(inChannels, hid, 3, stride: 2, padding: 1, bias: false);
            norm1 = nn.BatchNorm2d(hid);
            conv2 = nn.Conv2d(hid, hid, 3, stride: 1, padding: 1, bias: false);
            norm2 = nn.BatchNorm2d(hid);
            conv3 = nn.Conv2d(hid, outChannels, 3, stride: 2, padding: 1, bias: false);
            act = nn.ReLU();
            pos = new PositionAttention("pos", outChannels);
            register_module("conv1", conv1);
            register_module("norm1", norm1);
            register_module("conv2", conv2);
            register_module("norm2", norm2);
            register_module("conv3", conv3);
            register_module("act", act);
            register_module("pos", pos);
        }

        public void FoldNorms(NormFolder folder)
        {
            norm1 = folder.Fold(conv1, norm1, "norm1");
            norm2 = folder.Fold(conv2, norm2, "norm2");
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return input.Through(conv1, norm1, act, conv2, norm2, act, conv3, pos).MoveToOuterDisposeScope();
        }
    }

    /// <summary>ResT paper stem: conv 7x7/2 pad 3 (no bias), norm BN, ReLU (<c>act</c>), MaxPool 3x3/2 pad 1 (<c>pool</c>), pos = PA.</summary>
    public sealed class RestPaperStem : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor> conv, act, pool;
        private nn.Module<Tensor, Tensor> norm;   // an identity once folded
        private readonly PositionAttention pos;

        public RestPaperStem(string name, long inChannels, long outChannels) : base(name)
        {
            const string B = nameof(RestPaperStem);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            conv = nn.Conv2d(inChannels, outChannels, 7, stride: 2, padding: 3, bias: false);
            norm = nn.BatchNorm2d(outChannels);
            act = nn.ReLU();
            pool = nn.MaxPool2d(3, 2, 1);
            pos = new PositionAttention("pos", outChannels);
            register_module("conv", conv);
            register_module("norm", norm);
            register_module("act", act);
            register_module("pool", pool);
            register_module("pos", pos);
        }

        public void FoldNorms(NormFolder folder) => norm = folder.Fold(conv, norm, "norm");

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return input.Through(conv, norm, act, pool, pos).MoveToOuterDisposeScope();
        }
    }

    /// <summary>ResT patch embedding between stages (released code): conv (p+1)x(p+1), stride p, pad p/2 (bias), norm BN,
    /// pos = PA, with p the stage stride (3x3/2 pad 1 in every published model).</summary>
    public sealed class RestPatchEmbed : nn.Module<Tensor, Tensor>, IFoldsNorms
    {
        private readonly nn.Module<Tensor, Tensor> conv;
        private nn.Module<Tensor, Tensor> norm;   // an identity once folded
        private readonly PositionAttention pos;

        public RestPatchEmbed(string name, long inChannels, long outChannels, long patchSize) : base(name)
        {
            const string B = nameof(RestPatchEmbed);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(patchSize), patchSize);
            conv = nn.Conv2d(inChannels, outChannels, patchSize + 1, stride: patchSize, padding: patchSize / 2);
            norm = nn.BatchNorm2d(outChannels);
            pos = new PositionAttention("pos", outChannels);
            register_module("conv", conv);
            register_module("norm", norm);
            register_module("pos", pos);
        }

        public void FoldNorms(NormFolder folder) => norm = folder.Fold(conv, norm, "norm");

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            return input.Through(conv, norm, pos).MoveToOuterDisposeScope();
        }
    }
}
