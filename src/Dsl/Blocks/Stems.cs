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
        public const string NN = "nn";

        public static readonly Field<long> StemWidth = new Field<long>("stem_width", FieldScope.Arch, 64,
            "Output channels of the resnet stem; rest stems: must equal widths[0]. A deep stem takes stem_widths instead (timm's and ResNeSt's stem_width is the deep stem's inner width: their stem_width = 32 is stem_widths = [32, 32, 64] here).",
            readBy: "the resnet, rest and rest_paper stems (a deep stem reads stem_widths)", note: " for the resnet stem");

        public static readonly FieldInfo StemWidths = new FieldInfo("stem_widths", FieldType.IntList, FieldScope.Arch,
            "Output channels of the deep stem's three 3x3 convs: [32, 32, 64] is ResNeSt's and timm's resnet*d deep stem (the default), [24, 32, 64] timm's tiered stem (resnet*t, botnet26t).",
            ReadBy: "the deep stem");

        public static readonly Field<string> StemPool = new Field<string>("stem_pool", FieldScope.Arch, "max",
            "The stem's 3x3/2 max pool: max, or none (timm's stem_pool = ''), which drops it and puts stride 2 on the deep stem's last conv instead (strides 2, 1, 2: still 4 in all; the same state-dict names). The resnet stem keeps its pool.",
            new[] { "max", "none" }, readBy: "the resnet and deep stems");

        /// <summary>The activation module of a stem (ReLU keeps torchvision's child name 'relu'; others take timm's 'act1').</summary>
        public static (string Name, string Type, string Create) Activation(string act) => act switch
        {
            "silu" => ("act1", "TorchModules.SiLU", $"{NN}.SiLU()"),
            "gelu" => ("act1", "TorchModules.GELU", $"{NN}.GELU()"),
            "hardswish" => ("act1", "TorchModules.Hardswish", $"{NN}.Hardswish()"),
            _ => ("relu", "TorchModules.ReLU", $"{NN}.ReLU(inplace: true)"),   // torchvision's inplace=True: the stem's BN output is used once
        };

        /// <summary>The field type and construction of a stem norm: BatchNorm2d, or the Runtime's Norms.Create for the others.</summary>
        public static (string Type, string Create) Norm(NormIR? norm, long channels) => norm is null || norm.Word == NormIR.Batch
            ? ("TorchModules.BatchNorm2d", $"{NN}.BatchNorm2d({channels})")
            : ("nn.Module<Tensor, Tensor>", $"{ResNetFamily.RuntimeBlocks}.Norms.Create({ResNetFamily.NormMember(norm)}, {channels}, {norm.Groups})");

        /// <summary>The summary's name of a stem norm.</summary>
        public static string NormKindName(NormIR? norm) => norm?.Word switch
        {
            NormIR.FrozenBatch => "FrozenBatchNorm2d",
            NormIR.Group => "GroupNorm",
            _ => "BatchNorm2d",
        };

        /// <summary>bn1, activation, 3x3/2 max pool (unless stem_pool = none): the tail of the resnet and deep stems.</summary>
        public static IEnumerable<EmittedPart> NormActPool(StemIR stem)
        {
            var a = Activation(stem.Activation);
            var n = Norm(stem.Norm, stem.OutChannels);
            yield return new EmittedPart("bn1", n.Type, n.Create);
            yield return new EmittedPart(a.Name, a.Type, a.Create);
            if (stem.Pool)
                yield return new EmittedPart("maxpool", "TorchModules.MaxPool2d", $"{NN}.MaxPool2d(3, stride: 2, padding: 1)");
        }

        /// <summary>The resnet and deep stems' forward: conv1 (a conv or the deep Sequential), bn1, activation, max pool.</summary>
        public static string ConvNormActPool(StemIR stem) => $"input.Through(conv1, bn1, {Activation(stem.Activation).Name}{(stem.Pool ? ", maxpool" : "")})";

        public static Shape NormAndPoolCost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            var bn = new CostSheet(NormIR.HasParams(stem.Norm));
            bn.Norm(x.C);
            row("bn1", NormKindName(stem.Norm), x, x, bn);
            if (!stem.Pool) return x;
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
        public override IEnumerable<FieldInfo> Fields => new FieldInfo[] { StemParts.StemWidth, StemParts.StemPool, ResNetFamily.Act, ResNetFamily.Norm, ResNetFamily.NormGroups };
        public override IReadOnlyList<FamilyDefinition> Families => StemParts.ResNetOnly;
        public override long Stride => 4;

        public override StemIR? Read(StemContext stem)
        {
            var f = stem.Fields;
            if (f.Has(StemParts.StemWidth) && !f.InRange(f.Get(StemParts.StemWidth), 2, 1 << 16, f.LocationOf(StemParts.StemWidth), StemParts.StemWidth.Name, f.ArchName)) return null;
            long w = stem.Scale(f.Get(StemParts.StemWidth));
            // Without its pool the 7x7 stem would downsample by 2, not 4 (timm's 7x7 stem_pool = ''), moving every stage's map.
            if (f.Get(StemParts.StemPool) == "none")
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(StemParts.StemPool), f.ArchName, StemParts.StemPool.Name, "none",
                    "the resnet stem keeps its max pool (without it the stem would downsample by 2, not 4); use stem = deep for timm's pool-less tiered stem, or remove stem_pool"));
                return null;
            }
            if (!ResNetFamily.ReadNorm(f, f.ArchName + " stem", new[] { ("bn1", w) }, out var norm)) return null;
            return new StemIR(this, EquatableArray.From(new[] { w }), f.Get(ResNetFamily.Act), norm);
        }

        public override Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            var a = new CostSheet();
            var y = a.Conv(x, stem.OutChannels, 7, 2, 3);
            row("conv1", "Conv2d", x, y, a);
            return StemParts.NormAndPoolCost(stem, y, row);
        }

        public override IEnumerable<(string Conv, string Norm)> ConvNormPairs(StemIR stem) => new[] { ("conv1", "bn1") };

        public override IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels)
        {
            long w = stem.OutChannels;
            yield return new EmittedPart("conv1", "TorchModules.Conv2d", $"{StemParts.NN}.Conv2d({inChannels}, {w}, 7, stride: 2, padding: 3, bias: false)");
            foreach (var p in StemParts.NormActPool(stem)) yield return p;
        }

        public override string? Forward(StemIR stem) => StemParts.ConvNormActPool(stem);
    }

    /// <summary>
    /// The deep stem of ResNeSt and timm's resnet*d / *t: three 3x3 convs (the first strided) with BN and activation
    /// between them, as conv1.0..6, then bn1, activation, max pool (stem_pool = none: no pool, the last conv strided, as
    /// timm's stem_pool ''). stem_widths gives each conv's output.
    /// </summary>
    public sealed class DeepStemDefinition : StemDefinition
    {
        public static readonly DeepStemDefinition Instance = new DeepStemDefinition();

        public override string Word => "deep";
        public override string Summary => "three 3x3 convs (ResNeSt, timm's deep and tiered stems) with stem_widths, BN, ReLU, maxpool";
        public override IEnumerable<FieldInfo> Fields => new FieldInfo[] { StemParts.StemWidths, StemParts.StemPool, ResNetFamily.Act, ResNetFamily.Norm, ResNetFamily.NormGroups };
        public override IReadOnlyList<FamilyDefinition> Families => StemParts.ResNetOnly;
        public override long Stride => 4;

        public override StemIR? Read(StemContext stem)
        {
            var f = stem.Fields;
            // timm's and ResNeSt's stem_width is this stem's inner width (timm resnet.py: stem_chs = (w, w), then 2w out;
            // 'deep_tiered': (3 * (w // 4), w)): say the stem_widths that builds what they meant. A base's is FieldReader's.
            var stemWidth = StemParts.StemWidth.Name;
            if (f.Has(stemWidth) && !f.IsInherited(stemWidth) && f.Int(stemWidth, 0) is var w and >= 1)
                f.Report(DiagnosticCatalog.FieldHasNoEffect.Create(f.Field(stemWidth)!.PathLocation, f.ArchName, stemWidth,
                    "the deep stem takes stem_widths, its three convs' outputs",
                    $"timm's and ResNeSt's stem_width = {w} is stem_widths = [{w}, {w}, {2 * w}] here (timm's deep_tiered stem: [{3 * (w / 4)}, {w}, {2 * w}])"));
            var widths = f.List(StemParts.StemWidths.Name) ?? new long[] { 32, 32, 64 };
            if (widths.Length != 3)
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(StemParts.StemWidths), f.ArchName, "the number of stem_widths", widths.Length,
                    "the deep stem has 3 convolutions: give 3 widths, e.g. [32, 32, 64] or timm's tiered [24, 32, 64]"));
                return null;
            }
            for (int i = 0; i < 3; i++)
            {
                var at = f.Field(StemParts.StemWidths.Name) is { Value: Syntax.ListValue l } ? l.Items[i].Location : f.ArchLocation;
                if (!f.InRange(widths[i], 1, 1 << 16, at, $"stem_widths[{i}]", f.ArchName)) return null;
            }
            var scaled = widths.Select(stem.Scale).ToArray();
            if (!ResNetFamily.ReadNorm(f, f.ArchName + " stem", new[] { ("conv1.1", scaled[0]), ("conv1.4", scaled[1]), ("bn1", scaled[2]) }, out var norm)) return null;
            return new StemIR(this, EquatableArray.From(scaled), f.Get(ResNetFamily.Act), norm, f.Get(StemParts.StemPool) == "max");
        }

        public override Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row)
        {
            var w = stem.Widths;
            var a = new CostSheet(NormIR.HasParams(stem.Norm));
            var y = a.Conv(x, w[0], 3, 2); a.Norm(w[0]);
            y = a.Conv(y, w[1], 3, 1); a.Norm(w[1]);
            y = a.Conv(y, w[2], 3, stem.Pool ? 1 : 2);
            row("conv1", "DeepStem", x, y, a);
            return StemParts.NormAndPoolCost(stem, y, row);
        }

        public override IEnumerable<(string Conv, string Norm)> ConvNormPairs(StemIR stem) =>
            new[] { ("conv1.0", "conv1.1"), ("conv1.3", "conv1.4"), ("conv1.6", "bn1") };

        public override IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels)
        {
            var w = stem.Widths;
            var act = StemParts.Activation(stem.Activation).Create;
            string nn = StemParts.NN;
            yield return new EmittedPart("conv1", "TorchModules.Sequential", $"{nn}.Sequential", new[]
            {
                $"(\"0\", {nn}.Conv2d({inChannels}, {w[0]}, 3, stride: 2, padding: 1, bias: false))",
                $"(\"1\", {StemParts.Norm(stem.Norm, w[0]).Create})",
                $"(\"2\", {act})",
                $"(\"3\", {nn}.Conv2d({w[0]}, {w[1]}, 3, stride: 1, padding: 1, bias: false))",
                $"(\"4\", {StemParts.Norm(stem.Norm, w[1]).Create})",
                $"(\"5\", {act})",
                $"(\"6\", {nn}.Conv2d({w[1]}, {w[2]}, 3, stride: {(stem.Pool ? 1 : 2)}, padding: 1, bias: false))",
            });
            foreach (var p in StemParts.NormActPool(stem)) yield return p;
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
        public override IEnumerable<FieldInfo> Fields => new FieldInfo[] { StemParts.StemWidth };
        public override IReadOnlyList<FamilyDefinition> Families => StemParts.RestOnly;
        public override long Stride => 4;
        private string RuntimeType => paper ? "RestPaperStem" : "RestStem";

        public override StemIR? Read(StemContext stem)
        {
            var f = stem.Fields;
            long w = stem.FirstStageWidth;
            if (f.Has(StemParts.StemWidth))
            {
                long declared = f.Get(StemParts.StemWidth);
                if (!f.InRange(declared, 1, 1 << 16, f.LocationOf(StemParts.StemWidth), StemParts.StemWidth.Name, f.ArchName)) return null;
                if (stem.Scale(declared) != w)
                    f.Report(DiagnosticCatalog.ChannelMismatch.Create(f.LocationOf(StemParts.StemWidth), FieldCatalog.StageName(0), stem.Scale(declared), w,
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
