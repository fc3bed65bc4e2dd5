using System;
using System.Collections.Generic;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Analysis
{
    /// <summary>One row of the summary: a top-level component or a block, with its shapes and costs.</summary>
    public sealed record LayerInfo(string Path, string Kind, Shape Input, Shape Output, long Params, long Macs, long AttentionMacs);

    /// <summary>Shapes and costs of a whole architecture. MACs include attention matmuls; subtract AttentionMacs for conv+linear only.</summary>
    public sealed record CostReport(EquatableArray<LayerInfo> Layers, long Params, long Macs, long AttentionMacs, EquatableArray<Shape> StageOutputs);

    /// <summary>
    /// Shapes and exact costs of a whole architecture: the stem's, each block's (its definition's cost rule in
    /// src/Dsl/Blocks) and the family's patch embeddings, norms and head (its definition's, src/Dsl/Families). The Runtime blocks build exactly these layers
    /// (tests compare runtime counts against these numbers).
    /// Convention: 1 MAC = one multiply-add (= 2 FLOPs). Counted: conv, linear, and attention matmuls
    /// (q·kᵀ, A·v, BoT's q·r relative logits, ResT's head-mixing 1x1 conv over the attention map, CoT's local
    /// aggregation). Not counted: normalisation, activations, pooling, softmax, element-wise products and adds.
    /// Arithmetic is checked: an overflow throws <see cref="OverflowException"/>, which the checker reports.
    /// </summary>
    public static class CostModel
    {
        /// <summary>Output size of a conv/pool along one axis (PyTorch's formula).</summary>
        public static long OutSize(long size, long kernel, long stride, long pad, long dilation = 1, bool ceilMode = false)
        {
            long span = size + 2 * pad - dilation * (kernel - 1) - 1;
            // A window larger than the padded input: no output, except that ceil_mode keeps one partial window.
            if (span < 0 && !(ceilMode && span + stride - 1 >= 0)) return 0;
            long o = ceilMode ? (span + stride - 1) / stride + 1 : span / stride + 1;
            // PyTorch: with ceil_mode the last window must start inside the input (or left padding).
            if (ceilMode && (o - 1) * stride >= size + pad) o--;
            return o;
        }

        public static CostReport Analyze(ArchitectureIR ir)
        {
            var layers = new List<LayerInfo>();
            var stageOutputs = new List<Shape>();
            var x = ir.Input;

            void Row(string path, string kind, Shape input, Shape output, CostSheet a) =>
                layers.Add(new LayerInfo(path, kind, input, output, a.Params, a.Macs, a.AttentionMacs));

            x = ir.Stem.Kind.Cost(ir.Stem, x, Row);

            var family = ir.Family;
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var stage = ir.Stages[s];
                x = family.CostBeforeBlocks(stage, x, Row);
                for (int b = 0; b < stage.Blocks.Count; b++)
                {
                    var blk = stage.Blocks[b];
                    var a = new CostSheet(NormIR.HasParams(blk.Options.Norm));
                    var input = x;
                    x = blk.Kind.Cost(a, blk, x);
                    Row(family.Block(s, b), blk.Kind.KindName, input, x, a);
                }
                family.CostAfterBlocks(stage, x, Row);
                stageOutputs.Add(x);
            }

            if (ir.FinalConv is FinalConvIR fc)
            {
                var a = new CostSheet(NormIR.HasParams(fc.Norm));
                var y = a.Conv(x, fc.Channels, 1);
                a.Norm(fc.Channels);
                Row("final_conv", "ConvNormAct", x, y, a);
                x = y;
            }
            if (!ir.IsFeatureBackbone) family.CostBeforeHead(x, Row); // a feature backbone ends at its last returned stage
            if (ir.Classes > 0)
            {
                var a = new CostSheet();
                a.Linear(1, x.C, ir.Classes);
                Row(family.Head, "Linear", new Shape(x.C, 1, 1), new Shape(ir.Classes, 1, 1), a);
            }

            long p = 0, m = 0, at = 0;
            foreach (var l in layers) { p = checked(p + l.Params); m = checked(m + l.Macs); at = checked(at + l.AttentionMacs); }
            return new CostReport(EquatableArray.From(layers), p, m, at, EquatableArray.From(stageOutputs));
        }
    }
}
