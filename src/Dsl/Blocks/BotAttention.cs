using System.Collections.Generic;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record BotSettings(long Heads, long QkHeadDim) : BlockSettings;

    /// <summary>
    /// BoTNet's MHSA (timm BottleneckAttn; Runtime MultiHeadSelfAttention2d) in the bottleneck's self-attention slot:
    /// multi-head self-attention with 2D relative-position logits at the block's input map, then a 2x2 average pool
    /// when the block is strided. <c>self_attn = bot</c>, the default.
    /// </summary>
    public sealed class BotAttentionDefinition : SelfAttentionDefinition
    {
        public static readonly BotAttentionDefinition Instance = new BotAttentionDefinition();

        public static readonly FieldInfo QkHeadDimField = new FieldInfo("qk_head_dim", FieldType.Int, FieldScope.Both,
            "Per-head width of the self-attention slot's queries and keys (timm's dim_head: eca_botnext26ts uses 16); values keep width / heads. Default: bot width / heads; halo make_divisible(width x qk_ratio, 8) / heads; lambda "
            + LambdaAttentionDefinition.DefaultQkHeadDim + ".");

        public override string Word => "bot";
        public override string Summary => "BoTNet MHSA with 2D relative positions";
        public override string KindName => "BotBottleneck";
        public override string Noun => "MHSA";
        public override string ABlock => "an MHSA block";
        public override IEnumerable<FieldInfo> Fields => new[] { SharedFields.Heads.List, SharedFields.Heads.Stage, QkHeadDimField };

        /// <summary>BoTNet's heads (timm BottleneckAttn's num_heads).</summary>
        public const long DefaultHeads = 4;
        public override bool FixesMapSize => true;
        public override string FixedMapSizeReason => "MHSA (the relative-position tables fix each map's size)";

        public override string FixedInputHint(LayerInfo row, Shape input) =>
            $"; declare 'input' with the size you need: the relative-position tables of {row.Path} are sized for {row.Input.H}x{row.Input.W}";

        public override BlockSettings? Read(StageContext stage, bool[] mask)
        {
            var f = stage.Fields;
            long heads = f.Get(SharedFields.Heads, stage.Index, DefaultHeads);
            var at = f.LocationOf(SharedFields.Heads, stage.Index);
            if (!f.InRange(heads, 1, 1024, at, SharedFields.Heads.Stage.Name, stage.Name)) return null;
            if (stage.Width % heads != 0)
                f.Report(DiagnosticCatalog.HeadsDoNotDivide.Create(at, stage.Name + " MHSA", heads, stage.Width, SharedFields.DivisorNear(stage.Width, heads)));
            if (mask[0] && stage.Stride > 2)
                f.Report(DiagnosticCatalog.MhsaStride.Create(
                    f.Has(FieldCatalog.Strides, stage.Index) ? f.LocationOf(FieldCatalog.Strides, stage.Index) : SelfAttentionSlot.Location(f, stage.Index), stage.Name, stage.Stride));
            if (!f.Has(FieldCatalog.Input))
                f.Report(DiagnosticCatalog.InputSizeRequired.Create(SelfAttentionSlot.Location(f, stage.Index), stage.Name, "MHSA's relative-position tables"));
            long qk = stage.Width / heads;
            if (f.Has(QkHeadDimField, stage.Index))
            {
                qk = f.Int(QkHeadDimField, stage.Index, qk);
                if (!f.InRange(qk, 1, 4096, f.LocationOf(QkHeadDimField, stage.Index), QkHeadDimField.Name, stage.Name)) return null;
            }
            return new BotSettings(heads, qk);
        }

        /// <summary>A strided block pools its map 2x2 after attending; a large map warns about the attention matrix's memory.</summary>
        public override void CheckInputMap(BlockMapCheck c)
        {
            var x = c.Input;
            var f = c.Fields;
            if (x.H < 1 || x.W < 1 || (c.BlockIR.Stride > 1 && (x.H % 2 != 0 || x.W % 2 != 0)))
            {
                if (!c.HasErrors)
                    f.Report(DiagnosticCatalog.FeatureMapNotDivisible.Create(SelfAttentionSlot.Location(f, c.Stage), $"{c.StageName} block {c.Block} (MHSA)", c.Ir.Input,
                        $"the block receives a {x.H}x{x.W} map and must pool it 2x2", c.TotalStride));
                return;
            }
            long tokens = x.H * x.W;
            if (tokens > 1024)
            {
                double bytes = 4.0 * ((BotSettings)c.BlockIR.Settings).Heads * tokens * tokens;
                f.Report(DiagnosticCatalog.LargeAttentionMap.Create(SelfAttentionSlot.Location(f, c.Stage), $"{c.StageName} block {c.Block}", x.H, x.W, tokens, ArchBuilder.FormatBytes(bytes)));
            }
        }

        /// <summary>qkv 1x1 conv, relative-position tables and the attention matmuls at the pre-stride map, then the 2x2 avg pool when strided.</summary>
        public override Shape Cost(CostSheet a, BlockIR b, Shape h)
        {
            var s = (BotSettings)b.Settings;
            long qk = s.Heads * s.QkHeadDim;                    // all heads' query (and key) channels
            a.Conv(h, 2 * qk + b.Width, 1);                     // qkv
            long d = s.QkHeadDim, n = checked(h.H * h.W);
            a.Add(checked((2 * h.H - 1) * d + (2 * h.W - 1) * d)); // relative-position tables
            a.Attention(checked(n * n * qk + n * n * b.Width + n * qk * (2 * h.H - 1 + 2 * h.W - 1))); // q·kᵀ, A·v, q·r
            return b.Stride > 1 ? CostSheet.Pool(h, 2, 2, 0) : h;
        }

        // MHSA runs at the block's input size (before any stride), which the checker computed.
        public override string Create(BlockIR b, Shape input)
        {
            var s = (BotSettings)b.Settings;
            var args = new List<(string, string)> { ("name", "\"mhsa\""), ("dim", I(b.Width)), ("heads", I(s.Heads)), ("height", I(input.H)), ("width", I(input.W)) };
            if (s.QkHeadDim != b.Width / s.Heads) args.Add(("qkHeadDim", I(s.QkHeadDim)));
            if (b.Stride != 1) args.Add(("stride", I(b.Stride)));
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.MultiHeadSelfAttention2d", args);
        }

        private static string I(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            yield return new KeyValuePair<string, object>("heads", ((BotSettings)b.Settings).Heads);
            yield return new KeyValuePair<string, object>("qk_head_dim", ((BotSettings)b.Settings).QkHeadDim);
        }
    }
}
