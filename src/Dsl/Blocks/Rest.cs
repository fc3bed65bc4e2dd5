using System.Collections.Generic;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record RestSettings(long Heads, long MlpRatio, long SrRatio, bool QkvBias) : BlockSettings;

    /// <summary>ResT's block (Runtime RestBlock): pre-norm efficient multi-head self-attention and MLP.</summary>
    public sealed class RestDefinition : BlockDefinition
    {
        public static readonly RestDefinition Instance = new RestDefinition();

        public static readonly PerStage SrRatio = new PerStage("sr_ratios", "sr_ratio",
            "Per-stage spatial reduction of ResT's efficient attention (keys/values downsampled by sr).", "This stage's spatial reduction.", 1);

        /// <summary>ResT's heads where the declaration gives none.</summary>
        public const long DefaultHeads = 1;

        /// <summary>ResT's qkv_bias (<see cref="SharedFields.QkvBias"/>): bias on its q and kv projections.</summary>
        public const bool DefaultQkvBias = true;

        public override string KindName => "RestBlock";
        public override string Word => "rest";
        public override FamilyDefinition Family => RestFamilyDefinition.Instance;
        public override string Summary => "ResT efficient MSA";
        public override IEnumerable<FieldInfo> Fields => new FieldInfo[] { SharedFields.Heads.List, SharedFields.Heads.Stage, SharedFields.MlpRatio.List, SharedFields.MlpRatio.Stage, SrRatio.List, SrRatio.Stage, SharedFields.QkvBias };
        public override bool FixesMapSize => true;
        public override string FixedMapSizeReason => "ResT (its attention reshapes tokens back to maps at every stage)";
        public override string FixedInputHint(LayerInfo row, Shape input) =>
            $"; declare 'input' with the size you need (a multiple of 32): ResT's attention is checked for {input.H}x{input.W}";

        public override List<BlockIR>? BuildStage(StageContext stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            long heads = f.Get(SharedFields.Heads, s, DefaultHeads);
            long mlp = f.Get(SharedFields.MlpRatio, s);
            long sr = f.Get(SrRatio, s);
            if (!f.InRange(heads, 1, 1024, f.LocationOf(SharedFields.Heads, s), SharedFields.Heads.Stage.Name, stage.Name) ||
                !f.InRange(mlp, 1, 64, f.LocationOf(SharedFields.MlpRatio, s), SharedFields.MlpRatio.Stage.Name, stage.Name) ||
                !f.InRange(sr, 1, 64, f.LocationOf(SrRatio, s), SrRatio.Stage.Name, stage.Name))
                return null;
            if (stage.Width % heads != 0)
                f.Report(DiagnosticCatalog.HeadsDoNotDivide.Create(f.LocationOf(SharedFields.Heads, s), stage.Name + " EMSA", heads, stage.Width, SharedFields.DivisorNear(stage.Width, heads)));
            var settings = new RestSettings(heads, mlp, sr, f.BothBool(stage.Index, SharedFields.QkvBias.Name, DefaultQkvBias));
            var blocks = new List<BlockIR>(stage.Depth);
            for (int b = 0; b < stage.Depth; b++)
                blocks.Add(new BlockIR(this, stage.Width, stage.Width, stage.Width, 1, settings, BlockOptionsIR.Default));
            return blocks;
        }

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var s = (RestSettings)b.Settings;
            long c = b.Width, n = checked(x.H * x.W), hidden = c * s.MlpRatio;
            a.Norm(c);
            a.Linear(n, c, c, s.QkvBias);                                             // q
            long nk = n;
            if (s.SrRatio > 1)
            {
                var r = a.Conv(x, c, s.SrRatio + 1, s.SrRatio, s.SrRatio / 2, groups: c, bias: true); // sr
                a.Norm(c);                                                            // sr_norm
                nk = checked(r.H * r.W);
            }
            a.Linear(nk, c, 2 * c, s.QkvBias);                                        // kv
            a.Attention(checked(2 * n * nk * c));                                     // q·kᵀ and A·v
            if (s.Heads > 1)
            {
                a.Add(s.Heads * s.Heads + s.Heads);                                   // transform_conv
                a.Attention(checked(s.Heads * s.Heads * n * nk));
            }
            a.Linear(n, c, c);                                                        // proj
            a.Norm(c);
            a.Linear(n, c, hidden);                                                   // fc1
            a.Linear(n, hidden, c);                                                   // fc2
            return x;
        }

        /// <summary>ResT's PA: depthwise 3x3 conv with bias, then x·sigmoid(.).</summary>
        public static void PositionAttentionCost(CostSheet a, Shape x) => a.Conv(x, x.C, 3, 1, 1, groups: x.C, bias: true);

        public override string Create(BlockIR b, string name, Shape input)
        {
            var s = (RestSettings)b.Settings;
            var args = new List<(string, string)>
            {
                ("name", name), ("dim", I(b.Width)), ("heads", I(s.Heads)), ("mlpRatio", I(s.MlpRatio)), ("srRatio", I(s.SrRatio)), ("qkvBias", CSharpLiteral.Bool(s.QkvBias)),
            };
            if (b.DropPath != 0) args.Add(("dropPath", CSharpLiteral.Double(b.DropPath)));
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.RestBlock", args);
        }

        private static string I(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            var s = (RestSettings)b.Settings;
            yield return new KeyValuePair<string, object>("heads", s.Heads);
            yield return new KeyValuePair<string, object>("mlp_ratio", s.MlpRatio);
            yield return new KeyValuePair<string, object>("sr_ratio", s.SrRatio);
            yield return new KeyValuePair<string, object>("qkv_bias", s.QkvBias);
        }
    }
}
