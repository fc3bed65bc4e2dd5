using System;
using System.Collections.Generic;
using System.Globalization;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record SplitAttnSettings(long Radix, long Cardinality, bool Avd, bool AvdFirst) : BlockSettings;

    /// <summary>ResNeSt's split-attention bottleneck (Runtime SplitAttnBottleneck), with timm's avd / avd_first.</summary>
    public sealed class SplitAttnDefinition : ResNetBlockDefinition
    {
        public static readonly SplitAttnDefinition Instance = new SplitAttnDefinition();

        public static readonly Field<long> RadixField = new Field<long>("radix", FieldScope.Both, 2, "Split-attention radix (splat blocks).");

        public static readonly Field<bool> AvdField = new Field<bool>("avd", FieldScope.Both, true,
            "Split attention: in the strided first block run the split-attention conv at stride 1 and downsample with a 3x3 avg pool (stride, pad 1).",
            readBy: "the strided first block of a splat stage");

        public static readonly Field<bool> AvdFirstField = new Field<bool>("avd_first", FieldScope.Both, false,
            "With avd: the avg pool runs before the split-attention conv instead of after it (timm's resnest50d_1s4x24d / 4s2x40d).",
            readBy: "the strided first block of a splat stage with avd = true");

        public override string KindName => "SplitAttnBottleneck";
        public override string Word => "splat";
        public override string Summary => "ResNeSt split attention";
        public override IEnumerable<FieldInfo> Fields => new FieldInfo[] { SharedFields.Cardinality, RadixField, AvdField, AvdFirstField };
        // The Runtime block takes channel attention after bn3 only.
        public override bool TakesSpatialAttention => false;
        public override bool TakesDilation => true;

        // No TrainsSlowerChannelsLast: it trains and infers in the family's channels-last, since the Runtime's split
        // attention keeps the layout (no 5-d sum).
        // ResNeSt50 at batch 8, 224, against PyTorch eager in the same run: the folded module ran 1.36x channels-last and
        // 1.19x contiguous, the training step 1.07x and 1.02x.

        public static long Inter(long width, long radix) => Math.Max(width * radix / 4, 32);

        public override IEnumerable<(string Layer, long Channels)> NormedWidths(StageContext stage, BlockSettings settings)
        {
            var t = (SplitAttnSettings)settings;
            return new[] { ("bn1", stage.Width), ("conv2.bn0", stage.Width * t.Radix), ("conv2.bn1", Inter(stage.Width, t.Radix)), ("bn3", stage.OutChannels) };
        }

        public override BlockSettings? ReadSettings(StageContext stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            long card = f.Get(SharedFields.Cardinality, s);
            long radix = f.Get(RadixField, s);
            if (!f.InRange(card, 1, 4096, f.LocationOf(SharedFields.Cardinality, s), SharedFields.Cardinality.Name, stage.Name) ||
                !f.InRange(radix, 1, 16, f.LocationOf(RadixField, s), RadixField.Name, stage.Name))
                return null;
            // avd and avd_first only change a strided block (the stage's first).
            bool avd = false, avdFirst = false;
            if (stage.Stride > 1)
            {
                avd = f.Get(AvdField, s);
                if (avd) avdFirst = f.Get(AvdFirstField, s);
            }
            long groups = card * radix, inter = Inter(stage.Width, radix);
            if (stage.Width % groups != 0)
                GroupsError(stage, f.Has(RadixField, s) ? f.LocationOf(RadixField, s) : f.LocationOf(SharedFields.Cardinality, s), stage.Name + " split attention", SharedFields.Cardinality.Name + " x " + RadixField.Name, groups, FieldCatalog.Widths.Stage.Name, stage.Width);
            else if (inter % card != 0)
                GroupsError(stage, f.LocationOf(SharedFields.Cardinality, s), stage.Name + " split-attention fc1", SharedFields.Cardinality.Name, card, "its width max(width*radix/4, 32)", inter);
            return new SplitAttnSettings(radix, card, avd, avdFirst);
        }

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var s = (SplitAttnSettings)b.Settings;
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            bool pooled = s.Avd && b.Stride > 1;
            if (pooled && s.AvdFirst) h = CostSheet.Pool(h, 3, b.Stride, 1);
            long convStride = pooled ? 1 : b.Stride;
            var split = a.Conv(h, b.Width * s.Radix, 3, convStride, dilation: b.Options.Dilation, groups: s.Cardinality * s.Radix); a.Norm(b.Width * s.Radix);
            long inter = Inter(b.Width, s.Radix);
            a.Conv(new Shape(b.Width, 1, 1), inter, 1, groups: s.Cardinality, bias: true); a.Norm(inter);
            a.Conv(new Shape(inter, 1, 1), b.Width * s.Radix, 1, groups: s.Cardinality, bias: true);
            h = new Shape(b.Width, split.H, split.W);
            ResNetFamily.SpatialAttentionCost(a, b);
            if (pooled && !s.AvdFirst) h = CostSheet.Pool(h, 3, b.Stride, 1);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            ResNetFamily.AttentionCost(a, b);
            ResNetFamily.ShortcutCost(a, b, x);
            return h;
        }

        public override string Create(BlockIR b, string name, Shape input)
        {
            var s = (SplitAttnSettings)b.Settings;
            var own = new List<(string, string)>
            {
                ("radix", s.Radix.ToString(CultureInfo.InvariantCulture)),
                ("cardinality", s.Cardinality.ToString(CultureInfo.InvariantCulture)),
                ("avd", CSharpLiteral.Bool(s.Avd)),
            };
            if (s.AvdFirst) own.Add(("avdFirst", "true"));
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.SplitAttnBottleneck", ResNetFamily.Arguments(b, name, own.ToArray()));
        }

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            var s = (SplitAttnSettings)b.Settings;
            yield return new KeyValuePair<string, object>("radix", s.Radix);
            yield return new KeyValuePair<string, object>("cardinality", s.Cardinality);
            yield return new KeyValuePair<string, object>("avd", s.Avd);
            yield return new KeyValuePair<string, object>("avd_first", s.AvdFirst);
            foreach (var o in ResNetFamily.OptionsSpec(b)) yield return o;
        }
    }
}
