using System;
using System.Collections.Generic;
using System.Globalization;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record CotSettings(long Cardinality) : BlockSettings;

    /// <summary>
    /// CoTNet's bottleneck (Runtime CotBottleneck): 3x3 avg pool before the CoT layer when strided, no bn2. With
    /// cardinality g > 1 it is CoTNeXt's grouped "CoXt" layer: key conv groups 4g, embed and value convs groups g.
    /// </summary>
    public sealed class CotDefinition : ResNetBlockDefinition
    {
        public static readonly CotDefinition Instance = new CotDefinition();

        private const long Kernel = 3;

        public override string KindName => "CotBottleneck";
        public override string Word => "cot";
        public override string Summary => "CoTNet; CoTNeXt with cardinality";
        public override IEnumerable<FieldInfo> Fields => new[] { SharedFields.Cardinality };
        // The Runtime block takes channel attention after bn3 only.
        public override bool TakesSpatialAttention => false;
        public override bool TakesDilation => false;

        // CotNet50 at batch 8, 224, against PyTorch eager in the same run: the training step ran 1.13-1.17x contiguous and
        // 1.06-1.08x channels-last; the folded inference module, which keeps the family's channels-last, 1.85x against
        // 1.50x contiguous.
        public override bool TrainsSlowerChannelsLast => true;

        public static long Attn(long width) => Math.Max(2 * width / 4, 32);

        public override IEnumerable<(string Layer, long Channels)> NormedWidths(StageContext stage, BlockSettings settings) => new[]
        {
            ("bn1", stage.Width), ("conv2.embed.1", stage.Width / 2), ("conv2.se.1", Math.Max(stage.Width * 2 / 4, 32)), ("bn3", stage.OutChannels),
        };

        public override BlockSettings? ReadSettings(StageContext stage)
        {
            var f = stage.Fields;
            long card = f.Get(SharedFields.Cardinality, stage.Index);
            var at = f.LocationOf(SharedFields.Cardinality, stage.Index);
            if (!f.InRange(card, 1, 4096, at, SharedFields.Cardinality.Name, stage.Name)) return null;
            // Key conv groups 4g, the value sharing factor 8 inside each of the g groups.
            if (stage.Width % (8 * card) != 0)
            {
                if (card == 1)
                    GroupsError(stage, f.LocationOf(FieldCatalog.Widths, stage.Index), stage.Name + " CoT layer", "8 (key groups 4, value sharing 8)", 8, FieldCatalog.Widths.Stage.Name, stage.Width);
                else
                    GroupsError(stage, at, stage.Name + " CoXt layer", "8 x cardinality (key groups 4 x cardinality, value sharing 8 per group)", 8 * card, FieldCatalog.Widths.Stage.Name, stage.Width);
            }
            return new CotSettings(card);
        }

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            long g = ((CotSettings)b.Settings).Cardinality;
            long c = b.Width, k = Kernel;
            var h = a.Conv(x, c, 1); a.Norm(c);
            if (b.Stride > 1) h = CostSheet.Pool(h, 3, b.Stride, 1);
            a.Conv(h, c, k, groups: 4 * g); a.Norm(c);                               // key_embed
            a.Conv(new Shape(2 * c, h.H, h.W), c / 2, 1, groups: g); a.Norm(c / 2);  // embed.0/.1
            a.Conv(new Shape(c / 2, h.H, h.W), k * k * c / 8, 1, groups: g, bias: true); // embed.3
            a.Norm(k * k * c / 8);                                                   // embed.4 GroupNorm
            a.Conv(h, c, 1, groups: g); a.Norm(c);                                   // conv1x1 (value)
            a.Attention(checked(c * k * k * h.H * h.W));                             // local aggregation
            a.Norm(c);                                                               // bn
            long attn = Attn(c);
            a.Conv(new Shape(c, 1, 1), attn, 1, bias: true); a.Norm(attn);           // se.0/.1
            a.Conv(new Shape(attn, 1, 1), 2 * c, 1, bias: true);                     // se.3
            ResNetFamily.SpatialAttentionCost(a, b);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            ResNetFamily.AttentionCost(a, b);
            ResNetFamily.ShortcutCost(a, b, x);
            return h;
        }

        public override string Create(BlockIR b, string name, Shape input)
        {
            long g = ((CotSettings)b.Settings).Cardinality;
            var own = g != 1 ? new[] { ("cardinality", g.ToString(CultureInfo.InvariantCulture)) } : new (string, string)[0];
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.CotBottleneck", ResNetFamily.Arguments(b, name, own));
        }

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            yield return new KeyValuePair<string, object>("cardinality", ((CotSettings)b.Settings).Cardinality);
            foreach (var o in ResNetFamily.OptionsSpec(b)) yield return o;
        }
    }
}
