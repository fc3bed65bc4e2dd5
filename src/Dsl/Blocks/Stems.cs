using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>Fields and emission pieces the stems share.</summary>
    internal static class StemParts
    {
        public const string NN = "global::TorchSharp.torch.nn";

        public static readonly FieldInfo StemWidth = new FieldInfo("stem_width", FieldType.Int, FieldScope.Arch,
            "Output channels of the resnet stem (default 64); rest stems: must equal widths[0]. A deep stem takes stem_widths instead (timm's and ResNeSt's stem_width is the deep stem's inner width: their stem_width = 32 is stem_widths = [32, 32, 64] here).",
            ReadBy: "the resnet, rest and rest_paper stems (a deep stem reads stem_widths)");

        public static readonly FieldInfo StemWidths = new FieldInfo("stem_widths", FieldType.IntList, FieldScope.Arch,
            "Output channels of the deep stem's three 3x3 convs: [32, 32, 64] is ResNeSt's and timm's resnet*d deep stem (the default), [24, 32, 64] timm's tiered stem (resnet*t, botnet26t).",
            ReadBy: "the deep stem");

        /// <summary>The activation module of a stem (ReLU keeps torchvision's child name 'relu'; others take timm's 'act1').</summary>
        public static (string Name, string Type, string Create) Activation(string act) => act switch
        {
            "silu" => ("act1", "global::TorchSharp.Modules.SiLU", $"{NN}.SiLU()"),
            "gelu" => ("act1", "global::TorchSharp.Modules.GELU", $"{NN}.GELU()"),
            "hardswish" => ("act1", "global::TorchSharp.Modules.Hardswish", $"{NN}.Hardswish()"),
            _ => ("relu", "global::TorchSharp.Modules.ReLU", $"{NN}.ReLU()"),
        };

        /// <summary>bn1, activation, 3x3/2 max pool: the tail of the resnet and deep stems.</summary>
        public static IEnumerable<EmittedPart> NormActPool(long width, string act)
        {
            var a = Activation(act);
            yield return new EmittedPart("bn1", "global::TorchSharp.Modules.BatchNorm2d", $"{NN}.BatchNorm2d({width})");
            yield return new EmittedPart(a.Name, a.Type, a.Create);
            yield return new EmittedPart("maxpool", "global::TorchSharp.Modules.MaxPool2d", $"{NN}.MaxPool2d(3, stride: 2, padding: 1)");
        }

        /// <summary>The resnet and deep stems' forward: conv1 (a conv or the deep Sequential), bn1, activation, max pool.</summary>
        public static string ConvNormActPool(StemIR stem) => $"input.Through(conv1, bn1, {Activation(stem.Activation).Name}, maxpool)";

        public static Shape NormAndPoolCost(Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            var bn = new CostSheet();
            bn.Norm(x.C);
            row("bn1", "BatchNorm2d", x, x, bn);
            var pooled = CostSheet.Pool(x, 3, 2, 1);
            row("maxpool", "MaxPool2d", x, pooled, new CostSheet());
            return pooled;
        }

        public static readonly IReadOnlyList<FamilyDefinition> ResNetOnly = new FamilyDefinition[] { ResNetFamilyDefinition.Instance };
        public static readonly IReadOnlyList<FamilyDefinition> RestOnly = new FamilyDefinition[] { RestFamilyDefinition.Instance };
    }

    /// <summary>torchvision's stem: 7x7/2 conv, BN, activation, 3x3/2 max pool (conv1, bn1, relu, maxpool).</summary>
    public sealed class ResNetStemDefinition : StemDefinition
    {
        public static readonly ResNetStemDefinition Instance = new ResNetStemDefinition();

        public override string Word => "resnet";
        public override string Summary => "7x7/2, BN, ReLU, maxpool";
        public override IEnumerable<FieldInfo> Fields => new[] { StemParts.StemWidth, ResNetFamily.Act };
        public override IReadOnlyList<FamilyDefinition> Families => StemParts.ResNetOnly;
        public override long Stride => 4;

        public override StemIR? Read(StemContext stem)
        {
            var f = stem.Fields;
            if (f.Has("stem_width") && !f.InRange(f.Int("stem_width", 64), 2, 1 << 16, f.LocationOf("stem_width"), "stem_width", f.ArchName)) return null;
            long w = stem.Scale(f.Int("stem_width", 64));
            return new StemIR(this, EquatableArray.From(new[] { w }), f.Word("act") ?? "relu");
        }

        public override Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            var a = new CostSheet();
            var y = a.Conv(x, stem.OutChannels, 7, 2, 3);
            row("conv1", "Conv2d", x, y, a);
            return StemParts.NormAndPoolCost(y, row);
        }

        public override IEnumerable<(string Conv, string Norm)> ConvNormPairs(StemIR stem) => new[] { ("conv1", "bn1") };

        public override IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels)
        {
            long w = stem.OutChannels;
            yield return new EmittedPart("conv1", "global::TorchSharp.Modules.Conv2d", $"{StemParts.NN}.Conv2d({inChannels}, {w}, 7, stride: 2, padding: 3, bias: false)");
            foreach (var p in StemParts.NormActPool(w, stem.Activation)) yield return p;
        }

        public override string? Forward(StemIR stem) => StemParts.ConvNormActPool(stem);
    }

    /// <summary>
    /// The deep stem of ResNeSt and timm's resnet*d / *t: three 3x3 convs (the first strided) with BN and activation
    /// between them, as conv1.0..6, then bn1, activation, max pool. stem_widths gives each conv's output.
    /// </summary>
    public sealed class DeepStemDefinition : StemDefinition
    {
        public static readonly DeepStemDefinition Instance = new DeepStemDefinition();

        public override string Word => "deep";
        public override string Summary => "three 3x3 convs (ResNeSt, timm's deep and tiered stems) with stem_widths, BN, ReLU, maxpool";
        public override IEnumerable<FieldInfo> Fields => new[] { StemParts.StemWidths, ResNetFamily.Act };
        public override IReadOnlyList<FamilyDefinition> Families => StemParts.ResNetOnly;
        public override long Stride => 4;

        public override StemIR? Read(StemContext stem)
        {
            var f = stem.Fields;
            // timm's and ResNeSt's stem_width is this stem's inner width (timm resnet.py: stem_chs = (w, w), then 2w out;
            // 'deep_tiered': (3 * (w // 4), w)): say the stem_widths that builds what they meant. A base's is FieldReader's.
            if (f.Has("stem_width") && !f.IsInherited("stem_width") && f.Int("stem_width", 0) is var w and >= 1)
                f.Report(DiagnosticCatalog.FieldHasNoEffect.Create(f.Field("stem_width")!.PathLocation, f.ArchName, "stem_width",
                    "the deep stem takes stem_widths, its three convs' outputs",
                    $"timm's and ResNeSt's stem_width = {w} is stem_widths = [{w}, {w}, {2 * w}] here (timm's deep_tiered stem: [{3 * (w / 4)}, {w}, {2 * w}])"));
            var widths = f.List("stem_widths") ?? new long[] { 32, 32, 64 };
            if (widths.Length != 3)
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf("stem_widths"), f.ArchName, "the number of stem_widths", widths.Length,
                    "the deep stem has 3 convolutions: give 3 widths, e.g. [32, 32, 64] or timm's tiered [24, 32, 64]"));
                return null;
            }
            for (int i = 0; i < 3; i++)
            {
                var at = f.Field("stem_widths") is { Value: Syntax.ListValue l } ? l.Items[i].Location : f.ArchLocation;
                if (!f.InRange(widths[i], 1, 1 << 16, at, $"stem_widths[{i}]", f.ArchName)) return null;
            }
            return new StemIR(this, EquatableArray.From(widths.Select(stem.Scale).ToArray()), f.Word("act") ?? "relu");
        }

        public override Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            var w = stem.Widths;
            var a = new CostSheet();
            var y = a.Conv(x, w[0], 3, 2); a.Norm(w[0]);
            y = a.Conv(y, w[1], 3, 1); a.Norm(w[1]);
            y = a.Conv(y, w[2], 3, 1);
            row("conv1", "DeepStem", x, y, a);
            return StemParts.NormAndPoolCost(y, row);
        }

        public override IEnumerable<(string Conv, string Norm)> ConvNormPairs(StemIR stem) =>
            new[] { ("conv1.0", "conv1.1"), ("conv1.3", "conv1.4"), ("conv1.6", "bn1") };

        public override IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels)
        {
            var w = stem.Widths;
            var act = StemParts.Activation(stem.Activation).Create;
            string nn = StemParts.NN;
            yield return new EmittedPart("conv1", "global::TorchSharp.Modules.Sequential", $"{nn}.Sequential", new[]
            {
                $"(\"0\", {nn}.Conv2d({inChannels}, {w[0]}, 3, stride: 2, padding: 1, bias: false))",
                $"(\"1\", {nn}.BatchNorm2d({w[0]}))",
                $"(\"2\", {act})",
                $"(\"3\", {nn}.Conv2d({w[0]}, {w[1]}, 3, stride: 1, padding: 1, bias: false))",
                $"(\"4\", {nn}.BatchNorm2d({w[1]}))",
                $"(\"5\", {act})",
                $"(\"6\", {nn}.Conv2d({w[1]}, {w[2]}, 3, stride: 1, padding: 1, bias: false))",
            });
            foreach (var p in StemParts.NormActPool(w[2], stem.Activation)) yield return p;
        }

        public override string? Forward(StemIR stem) => StemParts.ConvNormActPool(stem);
    }

    /// <summary>ResT's stems (Runtime RestStem / RestPaperStem); their width is the first stage's.</summary>
    public sealed class RestStemDefinition : StemDefinition
    {
        public static readonly RestStemDefinition Released = new RestStemDefinition(paper: false);
        public static readonly RestStemDefinition Paper = new RestStemDefinition(paper: true);

        private readonly bool paper;

        private RestStemDefinition(bool paper) => this.paper = paper;

        public override string Word => paper ? "rest_paper" : "rest";
        public override string Summary => paper ? "ResT paper: 7x7/2, BN, ReLU, maxpool, PA" : "ResT released code: 3x3/2, 3x3, 3x3/2, PA";
        public override IEnumerable<FieldInfo> Fields => new[] { StemParts.StemWidth };
        public override IReadOnlyList<FamilyDefinition> Families => StemParts.RestOnly;
        public override long Stride => 4;
        private string RuntimeType => paper ? "RestPaperStem" : "RestStem";

        public override StemIR? Read(StemContext stem)
        {
            var f = stem.Fields;
            long w = stem.FirstStageWidth;
            if (f.Has("stem_width"))
            {
                long declared = f.Int("stem_width", 0);
                if (!f.InRange(declared, 1, 1 << 16, f.LocationOf("stem_width"), "stem_width", f.ArchName)) return null;
                if (stem.Scale(declared) != w)
                    f.Report(DiagnosticCatalog.ChannelMismatch.Create(f.LocationOf("stem_width"), "c2", stem.Scale(declared), w,
                        "widths[0] (ResT stages have no patch embedding after the stem)"));
            }
            return new StemIR(this, EquatableArray.From(new[] { w }), "relu");
        }

        public override Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            long w = stem.OutChannels;
            var a = new CostSheet();
            Shape y;
            if (paper)
            {
                y = a.Conv(x, w, 7, 2, 3); a.Norm(w);
                y = CostSheet.Pool(y, 3, 2, 1);
            }
            else
            {
                y = a.Conv(x, w / 2, 3, 2); a.Norm(w / 2);
                y = a.Conv(y, w / 2, 3, 1); a.Norm(w / 2);
                y = a.Conv(y, w, 3, 2);
            }
            RestDefinition.PositionAttentionCost(a, y);
            row("stem", RuntimeType, x, y, a);
            return y;
        }

        public override IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels)
        {
            var type = $"{ResNetFamily.RuntimeBlocks}.{RuntimeType}";
            yield return new EmittedPart("stem", type, $"new {type}(\"stem\", {inChannels}, {stem.OutChannels})");
        }

        public override string? Forward(StemIR stem) => "stem.call(input)";
    }

    /// <summary>No stem: the first stage embeds patches itself (VAN).</summary>
    public sealed class NoStemDefinition : StemDefinition
    {
        public static readonly NoStemDefinition Instance = new NoStemDefinition();

        public override string Word => "none";
        public override string Summary => "VAN: stage 1 embeds patches";
        public override IReadOnlyList<FamilyDefinition> Families => new FamilyDefinition[] { ResNetFamilyDefinition.Instance, VanFamilyDefinition.Instance };
        public override long Stride => 1;

        public override StemIR? Read(StemContext stem) => new StemIR(this, EquatableArray<long>.Empty, "relu");

        public override Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row) => x;

        public override IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels) => Array.Empty<EmittedPart>();

        public override string? Forward(StemIR stem) => null;
    }
}
