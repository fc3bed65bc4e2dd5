using System;
using System.Collections.Generic;
using System.Globalization;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record HaloSettings(long Heads, long QkHeadDim, long BlockSize, long HaloSize, bool QkvBias) : BlockSettings
    {
        /// <summary>timm's block_stride: a stride-2 block subsamples its queries when the block size is even, else pools 2x2 after.</summary>
        public long QueryStride(long stride) => stride > 1 && BlockSize % stride == 0 ? stride : 1;

        /// <summary>Edge of the key/value window around each query block.</summary>
        public long Window() => BlockSize + 2 * HaloSize;
    }

    /// <summary>
    /// HaloNet's blocked local self-attention (timm HaloAttn; Runtime HaloAttention2d) in the bottleneck's slot: the map
    /// is cut into halo_block x halo_block query blocks, each attending to its block widened by halo_size on every side,
    /// with relative-position logits. <c>self_attn = halo</c>.
    /// </summary>
    public sealed class HaloAttentionDefinition : SelfAttentionDefinition
    {
        public static readonly HaloAttentionDefinition Instance = new HaloAttentionDefinition();

        /// <summary>timm HaloAttn's num_heads.</summary>
        public const long DefaultHeads = 8;

        /// <summary>timm HaloAttn's qkv_bias.</summary>
        public const bool DefaultQkvBias = false;

        public static readonly Field<long> BlockSizeField = new Field<long>("halo_block", FieldScope.Both, 8,
            "Halo attention's query block edge (timm block_size): every map it attends over must be a multiple of it.");

        public static readonly Field<long> HaloSizeField = new Field<long>("halo_size", FieldScope.Both, 3,
            "Halo attention's halo: each query block attends to its block widened by this many positions on every side (timm halo_size).");

        public static readonly Field<double> QkRatioField = new Field<double>("qk_ratio", FieldScope.Both, 1.0,
            "Halo attention's query/key width relative to the stage width when qk_head_dim is not set: qk_head_dim = make_divisible(width x qk_ratio, 8) / heads (timm).");

        public override string Word => "halo";
        public override string Summary => "HaloNet blocked local attention (timm HaloAttn)";
        public override string KindName => "HaloBottleneck";
        public override string Noun => "halo";
        public override string ABlock => "a halo attention block";

        public override IEnumerable<FieldInfo> Fields => new FieldInfo[]
        {
            SharedFields.Heads.List, SharedFields.Heads.Stage, BotAttentionDefinition.QkHeadDimField, BlockSizeField, HaloSizeField, QkRatioField, SharedFields.QkvBias,
        };

        public override BlockSettings? Read(StageContext stage, bool[] mask)
        {
            var f = stage.Fields;
            int s = stage.Index;
            if (ReadHeadsAndStride(stage, mask, DefaultHeads, "halo attention", "halo attention block") is not long heads) return null;
            long block = f.Get(BlockSizeField, s);
            if (!f.InRange(block, 1, 1024, f.LocationOf(BlockSizeField, s), BlockSizeField.Name, stage.Name)) return null;
            long halo = f.Get(HaloSizeField, s);
            if (!f.InRange(halo, 0, 1024, f.LocationOf(HaloSizeField, s), HaloSizeField.Name, stage.Name)) return null;
            bool bias = f.BothBool(s, SharedFields.QkvBias.Name, DefaultQkvBias);
            long qk;
            if (f.Has(BotAttentionDefinition.QkHeadDimField, s))
            {
                // qk_ratio only sizes a qk_head_dim that is not given: left unread, a qk_ratio here is TW0024.
                qk = f.Int(BotAttentionDefinition.QkHeadDimField, s, 0);
                if (!f.InRange(qk, 1, 4096, f.LocationOf(BotAttentionDefinition.QkHeadDimField, s), BotAttentionDefinition.QkHeadDimField.Name, stage.Name)) return null;
            }
            else
            {
                double ratio = f.Get(QkRatioField, s);
                qk = MakeDivisible(stage.Width * ratio, 8) / heads;
                if (!(ratio > 0) || qk < 1)
                {
                    f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(QkRatioField, s), stage.Name, QkRatioField.Name, ratio.ToString("R", CultureInfo.InvariantCulture),
                        $"make_divisible({stage.Width} x qk_ratio, 8) / {heads} heads must be at least 1"));
                    return null;
                }
            }
            return new HaloSettings(heads, qk, block, halo, bias);
        }

        /// <summary>timm's make_divisible: the nearest multiple of <paramref name="divisor"/> (at least one), one step up when rounding lost more than 10 %.</summary>
        public static long MakeDivisible(double v, long divisor)
        {
            long n = Math.Max(divisor, (long)(v + divisor / 2.0) / divisor * divisor);
            return n < 0.9 * v ? n + divisor : n;
        }

        /// <summary>The map the block attends over must be a multiple of the block size (timm asserts it in forward).</summary>
        public override void CheckInputMap(BlockMapCheck c)
        {
            var x = c.Input;
            var f = c.Fields;
            var s = (HaloSettings)c.BlockIR.Settings;
            if (x.H >= 1 && x.W >= 1 && x.H % s.BlockSize == 0 && x.W % s.BlockSize == 0) return;
            if (c.HasErrors) return;
            long strideBefore = Math.Max(1, (long)Math.Round((double)c.Ir.Input.H / Math.Max(1, x.H)));
            long multiple = Lcm(c.TotalStride, strideBefore * s.BlockSize);
            long divisor = 1;
            for (long d = Math.Min(s.BlockSize, Gcd(Math.Max(1, x.H), Math.Max(1, x.W))); d >= 1; d--)
                if (x.H % d == 0 && x.W % d == 0) { divisor = d; break; }
            var at = f.Has(BlockSizeField, c.Stage) ? f.LocationOf(BlockSizeField, c.Stage) : SelfAttentionSlot.Location(f, c.Stage);
            f.Report(DiagnosticCatalog.FeatureMapNotDivisible.Create(at, $"{c.StageName} block {c.Block} (halo)", c.Ir.Input,
                $"the block attends over a {x.H}x{x.W} map, which halo_block = {s.BlockSize} does not divide (halo_block = {divisor} would)", multiple));
        }

        private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

        private static long Lcm(long a, long b) => a / Gcd(a, b) * b;

        /// <summary>q (strided by the query stride) and kv 1x1 convs, the relative-position tables, q·kᵀ, A·v and the
        /// position logits per query block (reference_byobnet.py's convention), then the 2x2 pool of an odd-block stride.</summary>
        public override Shape Cost(CostSheet a, BlockIR b, Shape h)
        {
            var s = (HaloSettings)b.Settings;
            long qs = s.QueryStride(b.Stride);
            long dv = b.Width / s.Heads, win = s.Window();
            a.Conv(h, s.Heads * s.QkHeadDim, 1, stride: qs, bias: s.QkvBias);   // q
            a.Conv(h, s.Heads * (s.QkHeadDim + dv), 1, bias: s.QkvBias);         // kv
            a.Add(checked(2 * (2 * win - 1) * s.QkHeadDim));                     // rel_pos.height_rel, width_rel
            long blocks = (h.H / s.BlockSize) * (h.W / s.BlockSize);
            long queries = (s.BlockSize / qs) * (s.BlockSize / qs);
            a.Attention(checked(blocks * queries * (win * win * s.Heads * (s.QkHeadDim + dv) + s.Heads * s.QkHeadDim * 2 * (2 * win - 1))));
            var o = new Shape(b.Width, h.H / qs, h.W / qs);
            return b.Stride > qs ? CostSheet.Pool(o, 2, 2, 0) : o;
        }

        public override string Create(BlockIR b, Shape input)
        {
            var s = (HaloSettings)b.Settings;
            var args = new List<(string, string)> { ("name", "\"mhsa\""), ("dim", I(b.Width)) };
            if (b.Stride != 1) args.Add(("stride", I(b.Stride)));
            args.Add(("heads", I(s.Heads)));
            if (s.QkHeadDim != MakeDivisible(b.Width, 8) / s.Heads) args.Add(("dimHead", I(s.QkHeadDim)));
            if (s.BlockSize != BlockSizeField.Default) args.Add(("blockSize", I(s.BlockSize)));
            if (s.HaloSize != HaloSizeField.Default) args.Add(("haloSize", I(s.HaloSize)));
            if (s.QkvBias) args.Add(("qkvBias", "true"));
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.HaloAttention2d", args);
        }

        private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            var s = (HaloSettings)b.Settings;
            yield return new KeyValuePair<string, object>("heads", s.Heads);
            yield return new KeyValuePair<string, object>("qk_head_dim", s.QkHeadDim);
            yield return new KeyValuePair<string, object>("block_size", s.BlockSize);
            yield return new KeyValuePair<string, object>("halo_size", s.HaloSize);
            yield return new KeyValuePair<string, object>("qkv_bias", s.QkvBias);
        }
    }
}
