using System.Collections.Generic;
using System.Globalization;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record BottleneckSettings(long Cardinality) : BlockSettings;

    /// <summary>torchvision's ResNet v1.5 bottleneck (ResNeXt with cardinality): Runtime Bottleneck.</summary>
    public sealed class BottleneckDefinition : ResNetBlockDefinition
    {
        public static readonly BottleneckDefinition Instance = new BottleneckDefinition();

        public override string KindName => "Bottleneck";
        public override string Word => "bottleneck";
        public override string Summary => "ResNet v1.5; ResNeXt with cardinality";
        public override IEnumerable<FieldInfo> Fields => new[] { SharedFields.Cardinality };
        public override bool TakesDilation => true;

        public override BlockSettings? ReadSettings(StageContext stage)
        {
            var f = stage.Fields;
            long card = f.Get(SharedFields.Cardinality, stage.Index);
            if (!f.InRange(card, 1, 4096, f.LocationOf(SharedFields.Cardinality, stage.Index), SharedFields.Cardinality.Name, stage.Name)) return null;
            if (stage.Width % card != 0)
                GroupsError(stage, f.LocationOf(SharedFields.Cardinality, stage.Index), stage.Name, SharedFields.Cardinality.Name, card, FieldCatalog.Widths.Stage.Name, stage.Width);
            return new BottleneckSettings(card);
        }

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var s = (BottleneckSettings)b.Settings;
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            h = a.Conv(h, b.Width, 3, b.Stride, dilation: b.Options.Dilation, groups: s.Cardinality); a.Norm(b.Width);
            ResNetFamily.SpatialAttentionCost(a, b);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            ResNetFamily.AttentionCost(a, b);
            ResNetFamily.ShortcutCost(a, b, x);
            return h;
        }

        public override string Create(BlockIR b, string name, Shape input) =>
            CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.Bottleneck", ResNetFamily.Arguments(b, name, ("groups", ((BottleneckSettings)b.Settings).Cardinality.ToString(CultureInfo.InvariantCulture))));

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            yield return new KeyValuePair<string, object>("cardinality", ((BottleneckSettings)b.Settings).Cardinality);
            foreach (var o in ResNetFamily.OptionsSpec(b)) yield return o;
        }
    }
}
