using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;
using static Torchwright.Dsl.Families.FamilyCode;

namespace Torchwright.Dsl.Families
{
    /// <summary>
    /// torchvision's ResNet layout (timm's ResNet and ByobNet load into it through the key maps): stem, layer1..N as
    /// Sequentials of bottlenecks, avgpool, fc. A stage outputs cN.out (default 4 x width).
    /// </summary>
    public sealed class ResNetFamilyDefinition : FamilyDefinition
    {
        public static readonly ResNetFamilyDefinition Instance = new ResNetFamilyDefinition();

        public override string Word => "resnet";
        public override string Name => "ResNet";
        public override string DefaultStem => "resnet";
        public override string InitMethod => "ResNet";
        public override bool InferChannelsLast => true;
        public override string Stage(int stage) => $"layer{stage + 1}";
        public override string Head => "fc";

        public override long? OutChannels(FamilyStage stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            long rawOut = f.StageInt(s, "out", "outs", stage.RawWidth * 4);
            if (!f.InRange(rawOut, 1, stage.MaxChannels, f.StageLocation(s, "out", "outs"), "out", stage.Name)) return null;
            long outCh = stage.Scale(rawOut);
            if (!f.InRange(outCh, 1, stage.MaxChannels, f.StageLocation(s, "out", "outs"), "out", stage.Name)) return null;
            return outCh;
        }

        public override IEnumerable<EmittedPart> StageParts(StageIR stage, IReadOnlyList<string> blocks)
        {
            yield return new EmittedPart(Stage(stage.Index), "global::TorchSharp.Modules.Sequential", $"{NN}.Sequential",
                blocks.Select((b, i) => $"(\"{i}\", ({NN}.Module<{T}, {T}>){b})").ToList());
        }

        public override IEnumerable<EmittedPart> PoolParts(long channels)
        {
            yield return new EmittedPart("avgpool", "global::TorchSharp.Modules.AdaptiveAvgPool2d", $"{NN}.AdaptiveAvgPool2d(1)");
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
