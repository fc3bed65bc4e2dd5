using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;
using static Torchwright.Dsl.Families.FamilyCode;

namespace Torchwright.Dsl.Families
{
    /// <summary>
    /// The transformer-style families (VAN, ResT): stages are ModuleLists of blocks that keep their width, so a stage
    /// outputs its width (a declared cN.out that differs is TW0004).
    /// </summary>
    public abstract class PatchFamilyDefinition : FamilyDefinition
    {
        public override string Head => "head";

        /// <summary>The Runtime block type the stage's ModuleList holds.</summary>
        protected abstract string BlockType { get; }

        public override long? OutChannels(FamilyStage stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            if (f.Has(FieldCatalog.Outs, s))
            {
                long rawOut = f.Get(FieldCatalog.Outs, s, stage.RawWidth);
                if (!f.InRange(rawOut, 1, stage.MaxChannels, f.LocationOf(FieldCatalog.Outs, s), FieldCatalog.Outs.Stage.Name, stage.Name)) return null;
                long declared = stage.Scale(rawOut);
                if (declared != stage.Width)
                    f.Report(DiagnosticCatalog.ChannelMismatch.Create(f.LocationOf(FieldCatalog.Outs, s), stage.Name + " output", declared, stage.Width,
                        stage.Name + ".width (" + stage.Kind.Word + " stages output their width)"));
            }
            return stage.Width;
        }

        protected EmittedPart BlockList(StageIR stage, IReadOnlyList<string> blocks)
        {
            var t = $"{FamilyCode.Blocks}.{BlockType}";
            return new EmittedPart(Stage(stage.Index), $"TorchModules.ModuleList<{t}>", $"{NN}.ModuleList<{t}>", blocks);
        }
    }

    /// <summary>VAN (the official repository): each stage is patch_embedN (overlapping conv + BN), blockN, normN (LayerNorm); mean pooling, head.</summary>
    public sealed class VanFamilyDefinition : PatchFamilyDefinition
    {
        public static readonly VanFamilyDefinition Instance = new VanFamilyDefinition();

        public override string Word => "van";
        public override string Name => "Van";
        public override string DefaultStem => "none";
        public override string StemNote => " (VAN embeds patches in each stage)";
        public override string InitMethod => "Van";
        public override bool InferChannelsLast => true;
        public override bool TrainChannelsLast => true;
        protected override string BlockType => "VanBlock";
        public override string Stage(int stage) => $"block{stage + 1}";
        public override string? PatchEmbed(int stage) => $"patch_embed{stage + 1}";
        public override string? StageNorm(int stage) => $"norm{stage + 1}";

        /// <summary>VAN's patch embedding has a kernel (default 2 x stride - 1).</summary>
        public override long? PatchKernel(FamilyStage stage, long stride)
        {
            var f = stage.Fields;
            long k = f.Get(FieldCatalog.PatchKernels, stage.Index, 2 * stride - 1);
            if (!f.InRange(k, 1, 31, f.LocationOf(FieldCatalog.PatchKernels, stage.Index), FieldCatalog.PatchKernels.Stage.Name, stage.Name)) return null;
            return k;
        }

        public override Shape CostBeforeBlocks(StageIR stage, Shape x, CostRow row)
        {
            var a = new CostSheet();
            var y = a.Conv(x, stage.OutChannels, stage.PatchKernel, stage.Stride, stage.PatchKernel / 2, bias: true);
            a.Norm(stage.OutChannels);
            row(PatchEmbed(stage.Index)!, "OverlapPatchEmbed", x, y, a);
            return y;
        }

        public override void CostAfterBlocks(StageIR stage, Shape x, CostRow row)
        {
            var a = new CostSheet();
            a.Norm(stage.OutChannels);
            row(StageNorm(stage.Index)!, "LayerNorm", x, x, a);
        }

        public override IEnumerable<EmittedPart> StageParts(StageIR stage, IReadOnlyList<string> blocks)
        {
            var patch = PatchEmbed(stage.Index)!;
            yield return new EmittedPart(patch, $"{FamilyCode.Blocks}.OverlapPatchEmbed",
                $"new {FamilyCode.Blocks}.OverlapPatchEmbed({Str(patch)}, {stage.InChannels}, {stage.OutChannels}, {stage.PatchKernel}, {stage.Stride})");
            yield return BlockList(stage, blocks);
            yield return new EmittedPart(StageNorm(stage.Index)!, "TorchModules.LayerNorm", $"{NN}.LayerNorm({stage.OutChannels}, eps: 1e-6)");
        }

        public override IEnumerable<EmittedPart> PoolParts(long channels) => Array.Empty<EmittedPart>();

        internal override void WriteStageForward(CodeWriter w, StageIR stage, string method)
        {
            w.Open($"private {T} {method}({T} input)");
            w.Line($"{T} x = {Field(PatchEmbed(stage.Index)!)}.call(input);");
            w.Line($"x = x.Through({Field(Stage(stage.Index))}).Freeing(x);");
            w.Line("x = x.permute(0, 2, 3, 1).Freeing(x);");
            w.Line($"x = {Field(StageNorm(stage.Index)!)}.call(x).Freeing(x);");
            w.Line("return x.permute(0, 3, 1, 2).Freeing(x);");
            w.Close();
        }

        internal override void WritePool(CodeWriter w) => w.Line($"{T} x = features.mean(new long[] {{ 2, 3 }});");
    }

    /// <summary>ResT (the official repository): stem, stage1..N (patch_embed_N before every stage after the first), norm, avg_pool, head.</summary>
    public sealed class RestFamilyDefinition : PatchFamilyDefinition
    {
        public static readonly RestFamilyDefinition Instance = new RestFamilyDefinition();

        public override string Word => "rest";
        public override string Name => "Rest";
        public override string DefaultStem => "rest";
        public override string InitMethod => "Rest";
        public override bool InferChannelsLast => true;
        public override bool TrainChannelsLast => true;
        protected override string BlockType => "RestBlock";
        public override string Stage(int stage) => $"stage{stage + 1}";
        public override string? PatchEmbed(int stage) => stage > 0 ? $"patch_embed_{stage + 1}" : null;

        public override void CheckStride(FamilyStage stage, long stride)
        {
            var f = stage.Fields;
            if (stage.Index == 0 && stride != 1)
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(FieldCatalog.Strides, 0), stage.Name, FieldCatalog.Strides.Stage.Name, stride, "the first ResT stage runs at the stem's resolution: use stride 1"));
        }

        /// <summary>
        /// ResT's patch embeddings ((p+1)x(p+1), stride p, padding p/2) and EMSA's spatial reduction ((sr+1)x(sr+1),
        /// stride sr, padding sr/2) use kernels larger than their stride: on a map smaller than the kernel even padded,
        /// libtorch refuses the convolution. Other convolutions and pools pad enough to keep at least one pixel.
        /// Checked at the input the costs were computed for (the declared one, or 224x224).
        /// </summary>
        public override void CheckMaps(ArchitectureIR ir, CostReport costs, FieldReader f)
        {
            var byPath = new Dictionary<string, LayerInfo>(StringComparer.Ordinal);
            foreach (var l in costs.Layers) byPath[l.Path] = l;
            static bool Holds(Shape x, long p) => CostModel.OutSize(x.H, p + 1, p, p / 2) >= 1 && CostModel.OutSize(x.W, p + 1, p, p / 2) >= 1;
            static long Largest(Shape x, long p) { while (p > 1 && !Holds(x, p)) p--; return p; }
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var stage = ir.Stages[s];
                var patch = PatchEmbed(s);
                if (patch != null && byPath.TryGetValue(patch, out var embed) && !Holds(embed.Input, stage.Stride))
                {
                    f.Report(DiagnosticCatalog.MapTooSmall.Create(f.Has(FieldCatalog.Strides, s) ? f.LocationOf(FieldCatalog.Strides, s) : f.LocationOf(FieldCatalog.Input),
                        stage.Name, $"the patch embedding (stride {stage.Stride})", embed.Input.H, embed.Input.W, ir.Input, stage.Stride + 1,
                        $"a stride of {Largest(embed.Input, stage.Stride)} or less for {stage.Name}"));
                    return; // later stages see no map at all
                }
                var sr = stage.Blocks.Count > 0 && stage.Blocks[0].Settings is RestSettings rs ? rs.SrRatio : 1;
                if (sr > 1 && byPath.TryGetValue(Block(s, 0), out var block) && !Holds(block.Input, sr))
                    f.Report(DiagnosticCatalog.MapTooSmall.Create(f.LocationOf(RestDefinition.SrRatio, s),
                        stage.Name, $"the EMSA spatial reduction (sr_ratio {sr})", block.Input.H, block.Input.W, ir.Input, sr + 1,
                        $"an sr_ratio of {Largest(block.Input, sr)} or less for {stage.Name}"));
            }
        }

        public override Shape CostBeforeBlocks(StageIR stage, Shape x, CostRow row)
        {
            if (PatchEmbed(stage.Index) is not string patch) return x;
            var a = new CostSheet();
            var y = a.Conv(x, stage.OutChannels, stage.Stride + 1, stage.Stride, stage.Stride / 2, bias: true);
            a.Norm(stage.OutChannels);
            RestDefinition.PositionAttentionCost(a, y);
            row(patch, "RestPatchEmbed", x, y, a);
            return y;
        }

        public override void CostBeforeHead(Shape x, CostRow row)
        {
            var a = new CostSheet();
            a.Norm(x.C);
            row("norm", "LayerNorm", x, x, a);
        }

        public override IEnumerable<EmittedPart> StageParts(StageIR stage, IReadOnlyList<string> blocks)
        {
            if (PatchEmbed(stage.Index) is string patch)
                yield return new EmittedPart(patch, $"{FamilyCode.Blocks}.RestPatchEmbed",
                    $"new {FamilyCode.Blocks}.RestPatchEmbed({Str(patch)}, {stage.InChannels}, {stage.OutChannels}, {stage.Stride})");
            yield return BlockList(stage, blocks);
        }

        public override IEnumerable<EmittedPart> PoolParts(long channels)
        {
            yield return new EmittedPart("norm", "TorchModules.LayerNorm", $"{NN}.LayerNorm({channels})");
            yield return new EmittedPart("avg_pool", "TorchModules.AdaptiveAvgPool2d", $"{NN}.AdaptiveAvgPool2d(1)");
        }

        internal override void WriteStageForward(CodeWriter w, StageIR stage, string method)
        {
            var blocks = Field(Stage(stage.Index));
            if (PatchEmbed(stage.Index) is string patch)
            {
                w.Open($"private {T} {method}({T} input)");
                w.Line($"{T} x = {Field(patch)}.call(input);");
                w.Line($"return x.Through({blocks}).Freeing(x);");
                w.Close();
            }
            else
            {
                w.Line($"private {T} {method}({T} input) => input.Through({blocks});");
            }
        }

        internal override void WritePool(CodeWriter w)
        {
            w.Line($"{T} x = features.permute(0, 2, 3, 1);");
            w.Line("x = norm.call(x).Freeing(x);");
            w.Line("x = x.permute(0, 3, 1, 2).Freeing(x);");
            w.Line("x = avg_pool.call(x).Freeing(x);");
            w.Line("x = x.flatten(1).Freeing(x);");
        }
    }
}
