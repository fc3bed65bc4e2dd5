using System.Collections.Generic;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record BotSettings(long Heads, long QkHeadDim) : BlockSettings;

    /// <summary>
    /// BoTNet's MHSA bottleneck (Runtime BotBottleneck): the 3x3 conv of a ResNet-family block replaced by multi-head
    /// self-attention with 2D relative-position logits, chosen per block by cN.mhsa or cN.mhsa_every.
    /// </summary>
    public sealed class BotDefinition : BlockDefinition
    {
        public static readonly BotDefinition Instance = new BotDefinition();

        private const string ReadBy = "bottleneck, splat and cot stages (MHSA replaces their 3x3 conv)";

        public static readonly FieldInfo MhsaField = new FieldInfo("mhsa", FieldType.IntList, FieldScope.Stage,
            "Per-block mask: 1 replaces that block's 3x3 conv with multi-head self-attention (BoTNet). One entry per block.", ReadBy: ReadBy);

        public static readonly FieldInfo MhsaEveryField = new FieldInfo("mhsa_every", FieldType.Int, FieldScope.Stage,
            "Interleave: every k-th block of the stage (blocks k, 2k, ...) gets MHSA. Alternative to mhsa; a derived architecture's mhsa_every replaces an inherited mhsa (and the other way round).", ReadBy: ReadBy);

        public static readonly FieldInfo QkHeadDimField = new FieldInfo("qk_head_dim", FieldType.Int, FieldScope.Both,
            "Per-head width of MHSA's queries and keys (timm's dim_head: eca_botnext26ts uses 16); values keep width / heads. Default width / heads.",
            ReadBy: "MHSA blocks (cN.mhsa / cN.mhsa_every)");

        public override string RuntimeType => "BotBottleneck";
        public override string? Word => null;
        public override FamilyDefinition Family => ResNetFamilyDefinition.Instance;
        public override string Summary => "BoTNet MHSA bottleneck (by mask)";
        public override IEnumerable<FieldInfo> Fields => new[] { SharedFields.HeadsList, SharedFields.Heads, MhsaField, MhsaEveryField, QkHeadDimField };
        public override bool FixesMapSize => true;
        public override string FixedMapSizeReason => "MHSA (the relative-position tables fix each map's size)";
        public override string FixedInputHint(LayerInfo row, Shape input) =>
            $"; declare 'input' with the size you need: the relative-position tables of {row.Path} are sized for {row.Input.H}x{row.Input.W}";

        /// <summary>MHSA blocks are placed inside a convolutional kind's stage (by mask), which builds the stage; no word selects this kind.</summary>
        public override List<BlockIR>? BuildStage(StageContext stage) =>
            throw new System.InvalidOperationException("MHSA blocks are built by the stage's convolutional kind (ResNetBlockDefinition.BuildStage)");

        /// <summary>Which blocks of the stage become MHSA: the explicit mask, the every-k interleave, or none.</summary>
        public static bool[] Mask(StageContext stage)
        {
            var f = stage.Fields;
            int depth = stage.Depth;
            var mask = new bool[depth];
            var maskPath = stage.StagePath("mhsa");
            var everyPath = stage.StagePath("mhsa_every");
            if (f.Has(maskPath) && f.Has(everyPath))
            {
                f.Report(DiagnosticCatalog.DuplicateAssignment.Create(f.PathLocationOf(everyPath), everyPath + " (with " + maskPath + ")", f.ArchName, f.PathLocationOf(maskPath)));
                f.List(maskPath); f.Int(everyPath, 1); // reported once, here
                return mask;
            }
            if (f.Has(maskPath))
            {
                var list = (Syntax.ListValue)f.Field(maskPath)!.Value;
                var values = f.List(maskPath)!;
                if (values.Length != depth)
                {
                    f.Report(DiagnosticCatalog.MaskLength.Create(list.Location, stage.Name, "mhsa", values.Length, depth));
                    return mask;
                }
                for (int i = 0; i < depth; i++)
                {
                    if (values[i] != 0 && values[i] != 1)
                    {
                        f.Report(DiagnosticCatalog.OutOfRange.Create(list.Items[i].Location, stage.Name, $"mhsa[{i}]", values[i], "mask entries are 0 (keep the block) or 1 (MHSA)"));
                        return new bool[depth];
                    }
                    mask[i] = values[i] == 1;
                }
            }
            else if (f.Has(everyPath))
            {
                long every = f.Int(everyPath, 1);
                if (!f.InRange(every, 1, depth, f.LocationOf(everyPath), "mhsa_every", stage.Name)) return mask;
                for (int i = 0; i < depth; i++) mask[i] = (i + 1) % every == 0;
            }
            return mask;
        }

        public static SourceLocation MaskLocation(FieldReader f, int stage) =>
            f.Has(FieldReader.StagePath(stage, "mhsa")) ? f.LocationOf(FieldReader.StagePath(stage, "mhsa")) : f.LocationOf(FieldReader.StagePath(stage, "mhsa_every"));

        public BlockSettings? ReadSettings(StageContext stage, bool[] mask)
        {
            var f = stage.Fields;
            long heads = f.StageInt(stage.Index, "heads", "heads", 4);
            var at = f.StageLocation(stage.Index, "heads", "heads");
            if (!f.InRange(heads, 1, 1024, at, "heads", stage.Name)) return null;
            if (stage.Width % heads != 0)
                f.Report(DiagnosticCatalog.HeadsDoNotDivide.Create(at, stage.Name + " MHSA", heads, stage.Width, DivisorNear(stage.Width, heads)));
            if (mask[0] && stage.Stride > 2)
                f.Report(DiagnosticCatalog.MhsaStride.Create(
                    f.Has(stage.StagePath("stride")) || f.Has("strides") ? f.StageLocation(stage.Index, "stride", "strides") : MaskLocation(f, stage.Index), stage.Name, stage.Stride));
            if (!f.Has("input"))
                f.Report(DiagnosticCatalog.InputSizeRequired.Create(MaskLocation(f, stage.Index), stage.Name, "MHSA's relative-position tables"));
            long qk = stage.Width / heads;
            if (f.HasBoth(stage.Index, "qk_head_dim"))
            {
                qk = f.BothInt(stage.Index, "qk_head_dim", qk);
                if (!f.InRange(qk, 1, 4096, f.BothLocation(stage.Index, "qk_head_dim"), "qk_head_dim", stage.Name)) return null;
            }
            return new BotSettings(heads, qk);
        }

        /// <summary>The divisor of <paramref name="width"/> nearest to <paramref name="heads"/> (for the fix in messages).</summary>
        public static long DivisorNear(long width, long heads)
        {
            for (long d = 0; d < width; d++)
            {
                if (heads - d >= 1 && width % (heads - d) == 0) return heads - d;
                if (width % (heads + d) == 0) return heads + d;
            }
            return 1;
        }

        /// <summary>MHSA at the pre-stride map, then 2x2 avg pool when strided.</summary>
        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var s = (BotSettings)b.Settings;
            long qk = s.Heads * s.QkHeadDim;                    // all heads' query (and key) channels
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            a.Conv(h, 2 * qk + b.Width, 1);                     // qkv
            long d = s.QkHeadDim, n = checked(h.H * h.W);
            a.Add(checked((2 * h.H - 1) * d + (2 * h.W - 1) * d)); // relative-position tables
            a.Attention(checked(n * n * qk + n * n * b.Width + n * qk * (2 * h.H - 1 + 2 * h.W - 1))); // q·kᵀ, A·v, q·r
            if (b.Stride > 1) h = CostSheet.Pool(h, 2, 2, 0);
            a.Norm(b.Width);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            ResNetFamily.AttentionCost(a, b);
            ResNetFamily.ShortcutCost(a, b, x);
            return h;
        }

        // MHSA runs at the block's input size (before any stride), which the checker computed.
        public override string Create(BlockIR b, string name, Shape input)
        {
            var s = (BotSettings)b.Settings;
            string qk = s.QkHeadDim != b.Width / s.Heads ? $", qkHeadDim: {s.QkHeadDim}" : "";
            return $"new {ResNetFamily.RuntimeBlocks}.BotBottleneck({name}, {b.InChannels}, {b.Width}, {b.OutChannels}, {b.Stride}, {s.Heads}, {input.H}, {input.W}, {ResNetFamily.ShortcutArgument(b)}{qk}{ResNetFamily.OptionsArgument(b)}{Regularization.DropPathArgument(b)})";
        }

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            yield return new KeyValuePair<string, object>("heads", ((BotSettings)b.Settings).Heads);
            yield return new KeyValuePair<string, object>("qk_head_dim", ((BotSettings)b.Settings).QkHeadDim);
            foreach (var o in ResNetFamily.OptionsSpec(b)) yield return o;
        }
    }
}
