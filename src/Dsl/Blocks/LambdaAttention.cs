using System.Collections.Generic;
using System.Globalization;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>R: the local lambda convolution's kernel, null for the fixed-size relative-position table.</summary>
    public sealed record LambdaSettings(long Heads, long QkHeadDim, long? R, bool QkvBias) : BlockSettings;

    /// <summary>
    /// LambdaNetworks' lambda layer (timm LambdaLayer; Runtime LambdaLayer2d) in the bottleneck's slot: content lambda
    /// kᵀv plus position lambdas from a local (r x r) convolution (<c>lambda_r</c>) or, with <c>lambda_r = none</c>, a
    /// learned relative-position table that fixes the map size; a strided block pools 2x2 after. <c>self_attn = lambda</c>.
    /// </summary>
    public sealed class LambdaAttentionDefinition : SelfAttentionDefinition
    {
        public static readonly LambdaAttentionDefinition Instance = new LambdaAttentionDefinition();

        private LambdaAttentionDefinition() => fixedSize = new SelfAttnBlockKind(this, fixesMapSize: true);

        private readonly SelfAttnBlockKind fixedSize;

        /// <summary>timm LambdaLayer's num_heads.</summary>
        public const long DefaultHeads = 4;

        /// <summary>timm LambdaLayer's dim_head (not width / heads).</summary>
        public const long DefaultQkHeadDim = 16;

        /// <summary>timm LambdaLayer's qkv_bias.</summary>
        public const bool DefaultQkvBias = false;

        public static readonly Field<long> RField = new Field<long>("lambda_r", FieldScope.Both, 9,
            "Lambda layer's local position kernel (timm r; odd): position lambdas from an r x r convolution. 'none' learns fixed-size relative positions instead (timm r = None; needs 'input', and also unsets an inherited value).",
            words: new[] { "none" });

        public override string Word => "lambda";
        public override string Summary => "LambdaNetworks lambda layer (timm LambdaLayer)";
        public override string KindName => "LambdaBottleneck";
        public override string Noun => "lambda";
        public override string ABlock => "a lambda block";

        public override IEnumerable<FieldInfo> Fields => new FieldInfo[]
        {
            SharedFields.Heads.List, SharedFields.Heads.Stage, BotAttentionDefinition.QkHeadDimField, RField, SharedFields.QkvBias,
        };

        /// <summary>The definition's own kind does not fix the map; the relative-position form's does.</summary>
        public override string FixedMapSizeReason => "a lambda layer with lambda_r = none (its relative-position table fixes each map's size)";

        public override string FixedInputHint(LayerInfo row, Shape input) =>
            $"; declare 'input' with the size you need: the relative-position table of {row.Path} is sized for {row.Input.H}x{row.Input.W}";

        public override SelfAttnBlockKind BlockFor(BlockSettings settings) => ((LambdaSettings)settings).R == null ? fixedSize : Block;

        public override BlockSettings? Read(StageContext stage, bool[] mask)
        {
            var f = stage.Fields;
            int s = stage.Index;
            if (ReadHeadsAndStride(stage, mask, DefaultHeads, "lambda layer", "lambda block") is not long heads) return null;
            long qk = f.Int(BotAttentionDefinition.QkHeadDimField, s, DefaultQkHeadDim);
            if (!f.InRange(qk, 1, 4096, f.LocationOf(BotAttentionDefinition.QkHeadDimField, s), BotAttentionDefinition.QkHeadDimField.Name, stage.Name)) return null;
            long? r = f.IntOrNone(RField, s);
            if (r is long k && (k < 1 || k % 2 == 0 || k > 255))
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(RField, s), stage.Name, RField.Name, k,
                    "the local position kernel is odd, 1 to 255 (timm uses 9, or 13 in lamhalobotnet); or 'none' for relative positions"));
                return null;
            }
            if (r == null && !f.Has(FieldCatalog.Input))
            {
                f.Report(DiagnosticCatalog.InputSizeRequired.Create(f.Has(RField, s) ? f.LocationOf(RField, s) : SelfAttentionSlot.Location(f, s), stage.Name,
                    "the lambda layer's relative-position table (lambda_r = none)"));
                return null;
            }
            return new LambdaSettings(heads, qk, r, f.BothBool(s, SharedFields.QkvBias.Name, DefaultQkvBias));
        }

        /// <summary>qkv 1x1 conv, norm_q and norm_v, the position parameters (conv_lambda's r x r x 1 kernel with bias, or the
        /// (2H-1) x (2W-1) table), and the lambda MACs of reference_byobnet.py: content kᵀv, the position lambda (its conv
        /// over every v channel, or the table product) and both q·λ products; then the 2x2 pool when strided.</summary>
        public override Shape Cost(CostSheet a, BlockIR b, Shape h)
        {
            var s = (LambdaSettings)b.Settings;
            long k = s.QkHeadDim, v = b.Width / s.Heads, m = checked(h.H * h.W);   // v: timm's dim_v, one value head shared by the query heads
            a.Conv(h, s.Heads * k + k + v, 1, bias: s.QkvBias);   // qkv
            a.Norm(s.Heads * k); a.Norm(v);                       // norm_q, norm_v
            long position;
            if (s.R is long r)
            {
                a.Add(checked(k * r * r + k));                    // conv_lambda
                position = checked(k * m * v * r * r);
            }
            else
            {
                a.Add(checked((2 * h.H - 1) * (2 * h.W - 1) * k)); // pos_emb
                position = checked(m * m * k * v);
            }
            a.Attention(checked(k * m * v + 2 * s.Heads * m * k * v + position));
            var o = new Shape(b.Width, h.H, h.W);
            return b.Stride > 1 ? CostSheet.Pool(o, 2, 2, 0) : o;
        }

        public override string Create(BlockIR b, Shape input)
        {
            var s = (LambdaSettings)b.Settings;
            var args = new List<(string, string)> { ("name", "\"mhsa\""), ("dim", I(b.Width)) };
            if (s.R == null) args.Add(("featSize", $"({I(input.H)}, {I(input.W)})"));
            if (b.Stride != 1) args.Add(("stride", I(b.Stride)));
            args.Add(("heads", I(s.Heads)));
            if (s.QkHeadDim != DefaultQkHeadDim) args.Add(("dimHead", I(s.QkHeadDim)));
            if (s.R != RField.Default) args.Add(("r", s.R is long r ? I(r) : "null"));
            if (s.QkvBias) args.Add(("qkvBias", "true"));
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.LambdaLayer2d", args);
        }

        private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            var s = (LambdaSettings)b.Settings;
            yield return new KeyValuePair<string, object>("heads", s.Heads);
            yield return new KeyValuePair<string, object>("qk_head_dim", s.QkHeadDim);
            yield return new KeyValuePair<string, object>("r", s.R is long r ? (object)r : "none");
            yield return new KeyValuePair<string, object>("qkv_bias", s.QkvBias);
        }
    }
}
