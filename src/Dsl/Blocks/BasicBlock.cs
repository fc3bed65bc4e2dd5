using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record BasicSettings : BlockSettings;

    /// <summary>
    /// torchvision's BasicBlock (ResNet-18/34): two 3x3 convs, expansion 1, so a basic stage outputs its width.
    /// Runtime BasicBlock; channel attention follows bn2 (timm's BasicBlock), each 3x3 conv takes the block's dilation.
    /// </summary>
    public sealed class BasicDefinition : ResNetBlockDefinition
    {
        public static readonly BasicDefinition Instance = new BasicDefinition();

        public override string KindName => "BasicBlock";
        public override string Word => "basic";
        public override string Summary => "ResNet-18/34: two 3x3 convs, expansion 1 (out = width)";
        public override long Expansion => 1;
        public override bool TakesDilation => true;
        public override bool TakesSpatialAttention => false;
        public override string LastNorm => "bn2";

        public override BlockSettings? ReadSettings(StageContext stage)
        {
            // The block has one width: both convs output it (torchvision's planes).
            if (stage.OutChannels != stage.Width)
            {
                var f = stage.Fields;
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(FieldCatalog.Outs, stage.Index), stage.Name, FieldCatalog.Outs.Stage.Name, stage.OutChannels,
                    $"basic blocks output their width (expansion 1): leave {stage.Name}.out out or set it to {stage.Width}, or use block = bottleneck"));
                return null;
            }
            return new BasicSettings();
        }

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var h = a.Conv(x, b.Width, 3, b.Stride, dilation: b.Options.Dilation); a.Norm(b.Width);
            h = a.Conv(h, b.Width, 3, dilation: b.Options.Dilation); a.Norm(b.Width);
            ResNetFamily.AttentionCost(a, b);
            ResNetFamily.ShortcutCost(a, b, x);
            return h;
        }

        /// <summary>The family's arguments with the block's one width as torchvision's <c>planes</c>.</summary>
        public override string Create(BlockIR b, string name, Shape input) =>
            CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.BasicBlock", ResNetFamily.Arguments(b, name)
                .Where(a => a.Item1 != "width")
                .Select(a => a.Item1 == "outChannels" ? ("planes", a.Item2) : a));

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b) => ResNetFamily.OptionsSpec(b);
    }
}
