using System;
using System.Collections.Generic;
using Torchwright.Dsl.Analysis;
using System.Linq;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;
using static Torchwright.Dsl.Families.FamilyCode;

namespace Torchwright.Dsl.Families
{
    /// <summary>
    /// torchvision's ResNet layout (timm's ResNet and ByobNet load into it through the key maps): stem, layer1..N as
    /// Sequentials of bottlenecks, avgpool, fc. A stage outputs cN.out (default the kind's expansion x width: 4, or 1 for basic blocks).
    /// </summary>
    public sealed class ResNetFamilyDefinition : FamilyDefinition
    {
        public static readonly ResNetFamilyDefinition Instance = new ResNetFamilyDefinition();

        public override string Word => "resnet";
        public override string Name => "ResNet";
        public override string DefaultStem => "resnet";
        public override string InitMethod => "ResNet";
        public override bool InferChannelsLast => true;
        public override bool TrainChannelsLast => true;
        public override string Stage(int stage) => $"layer{stage + 1}";
        public override string Head => "fc";

        public override long? OutChannels(FamilyStage stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            long expansion = stage.Kind is ResNetBlockDefinition kind ? kind.Expansion : 4;
            long rawOut = f.Get(FieldCatalog.Outs, s, stage.RawWidth * expansion);
            if (!f.InRange(rawOut, 1, stage.MaxChannels, f.LocationOf(FieldCatalog.Outs, s), FieldCatalog.Outs.Stage.Name, stage.Name)) return null;
            long outCh = stage.Scale(rawOut);
            if (!f.InRange(outCh, 1, stage.MaxChannels, f.LocationOf(FieldCatalog.Outs, s), FieldCatalog.Outs.Stage.Name, stage.Name)) return null;
            return outCh;
        }

        public override OutputStridePlan? ReadOutputStride(FieldReader f, long stemStride) => OutputStridePlan.Read(f, stemStride);

        public override bool ReadFinalConv(FieldReader f, Func<long, long> scale, long maxChannels, out FinalConvIR? finalConv)
        {
            finalConv = null;
            if (!f.Has(ResNetFamily.NumFeatures)) return true;
            long n = f.Get(ResNetFamily.NumFeatures);
            if (!f.InRange(n, 1, maxChannels, f.LocationOf(ResNetFamily.NumFeatures), ResNetFamily.NumFeatures.Name, f.ArchName)) return false;
            // timm scales num_features by the width factor too.
            if (!ResNetFamily.ReadNorm(f, f.ArchName, new[] { ("final_conv.1", scale(n)) }, out var norm)) return false;
            finalConv = new FinalConvIR(scale(n), f.Get(ResNetFamily.Act), norm);
            return true;
        }

        public override IEnumerable<EmittedPart> StageParts(StageIR stage, IReadOnlyList<string> blocks)
        {
            yield return new EmittedPart(Stage(stage.Index), "TorchModules.Sequential", $"{NN}.Sequential",
                blocks.Select((b, i) => $"(\"{i}\", ({NN}.Module<{T}, {T}>){b})").ToList());
        }

        public override IEnumerable<EmittedPart> PoolParts(long channels)
        {
            yield return new EmittedPart("avgpool", "TorchModules.AdaptiveAvgPool2d", $"{NN}.AdaptiveAvgPool2d(1)");
        }

        internal override void WriteStageForward(CodeWriter w, StageIR stage, string method) =>
            w.Line($"private {T} {method}({T} input) => {Field(Stage(stage.Index))}.call(input);");

        internal override void WritePool(CodeWriter w)
        {
            w.Line($"{T} x = avgpool.call(features);");
            w.Line("x = x.flatten(1).Freeing(x);");
        }
    }
}
