using System;
using System.Collections.Generic;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Analysis
{
    /// <summary>One row of the summary: a top-level component or a block, with its shapes and costs.</summary>
    public sealed record LayerInfo(string Path, string Kind, Shape Input, Shape Output, long Params, long Macs, long AttentionMacs);

    /// <summary>Shapes and costs of a whole architecture. MACs include attention matmuls; subtract AttentionMacs for conv+linear only.</summary>
    public sealed record CostReport(EquatableArray<LayerInfo> Layers, long Params, long Macs, long AttentionMacs, EquatableArray<Shape> StageOutputs);

    /// <summary>
    /// Exact parameter counts and MACs per block kind, written once here; the Runtime blocks build exactly these
    /// layers (tests compare runtime counts against these numbers).
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

        /// <summary>Accumulates the costs of one component.</summary>
        private sealed class Acc
        {
            public long Params, Macs, Attn;

            public Shape Conv(Shape x, long cout, long k, long stride = 1, long pad = -1, long dilation = 1, long groups = 1, bool bias = false)
            {
                if (pad < 0) pad = dilation * (k - 1) / 2;
                long h = OutSize(x.H, k, stride, pad, dilation), w = OutSize(x.W, k, stride, pad, dilation);
                long perOut = checked(x.C / groups * k * k);
                Params = checked(Params + cout * perOut + (bias ? cout : 0));
                Macs = checked(Macs + cout * perOut * h * w);
                return new Shape(cout, h, w);
            }

            public void Norm(long c) => Params = checked(Params + 2 * c);

            public void Linear(long tokens, long inF, long outF, bool bias = true)
            {
                Params = checked(Params + inF * outF + (bias ? outF : 0));
                Macs = checked(Macs + tokens * inF * outF);
            }

            public void Attention(long macs) { Macs = checked(Macs + macs); Attn = checked(Attn + macs); }

            public void Add(long parameters) => Params = checked(Params + parameters);

            public static Shape Pool(Shape x, long k, long stride, long pad, bool ceilMode = false) =>
                new Shape(x.C, OutSize(x.H, k, stride, pad, 1, ceilMode), OutSize(x.W, k, stride, pad, 1, ceilMode));
        }

        public static CostReport Analyze(ArchitectureIR ir)
        {
            var layers = new List<LayerInfo>();
            var stageOutputs = new List<Shape>();
            var x = ir.Input;

            void Row(string path, string kind, Shape input, Shape output, Acc a) =>
                layers.Add(new LayerInfo(path, kind, input, output, a.Params, a.Macs, a.Attn));

            x = Stem(ir, x, Row);

            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var stage = ir.Stages[s];
                var patch = Naming.PatchEmbed(ir.Family, s);
                if (patch != null)
                {
                    var a = new Acc();
                    var input = x;
                    if (ir.Family == Family.Van)
                    {
                        x = a.Conv(x, stage.OutChannels, stage.PatchKernel, stage.Stride, stage.PatchKernel / 2, bias: true);
                        a.Norm(stage.OutChannels);
                        Row(patch, "OverlapPatchEmbed", input, x, a);
                    }
                    else
                    {
                        x = a.Conv(x, stage.OutChannels, stage.Stride + 1, stage.Stride, stage.Stride / 2, bias: true);
                        a.Norm(stage.OutChannels);
                        PositionAttention(a, x);
                        Row(patch, "RestPatchEmbed", input, x, a);
                    }
                }
                for (int b = 0; b < stage.Blocks.Count; b++)
                {
                    var blk = stage.Blocks[b];
                    var a = new Acc();
                    var input = x;
                    x = Block(a, blk, x);
                    Row(Naming.Block(ir.Family, s, b), KindName(blk.Kind), input, x, a);
                }
                if (ir.Family == Family.Van)
                {
                    var a = new Acc();
                    a.Norm(stage.OutChannels);
                    Row(Naming.StageNorm(s), "LayerNorm", x, x, a);
                }
                stageOutputs.Add(x);
            }

            if (ir.Family == Family.Rest)
            {
                var a = new Acc();
                a.Norm(x.C);
                Row("norm", "LayerNorm", x, x, a);
            }
            if (ir.Classes > 0)
            {
                var a = new Acc();
                a.Linear(1, x.C, ir.Classes);
                Row(Naming.Head(ir.Family), "Linear", new Shape(x.C, 1, 1), new Shape(ir.Classes, 1, 1), a);
            }

            long p = 0, m = 0, at = 0;
            foreach (var l in layers) { p = checked(p + l.Params); m = checked(m + l.Macs); at = checked(at + l.AttentionMacs); }
            return new CostReport(EquatableArray.From(layers), p, m, at, EquatableArray.From(stageOutputs));
        }

        public static string KindName(BlockKind kind) => kind switch
        {
            BlockKind.Bottleneck => "Bottleneck",
            BlockKind.Bot => "BotBottleneck",
            BlockKind.SplitAttn => "SplitAttnBottleneck",
            BlockKind.Cot => "CotBottleneck",
            BlockKind.Van => "VanBlock",
            _ => "RestBlock",
        };

        private static Shape Stem(ArchitectureIR ir, Shape x, Action<string, string, Shape, Shape, Acc> row)
        {
            var input = x;
            long w = ir.StemWidth;
            switch (ir.Stem)
            {
                case StemKind.ResNet:
                {
                    var a = new Acc();
                    x = a.Conv(x, w, 7, 2, 3);
                    row("conv1", "Conv2d", input, x, a);
                    return NormAndPool(x, row);
                }
                case StemKind.Deep:
                {
                    var a = new Acc();
                    x = a.Conv(x, w / 2, 3, 2); a.Norm(w / 2);
                    x = a.Conv(x, w / 2, 3, 1); a.Norm(w / 2);
                    x = a.Conv(x, w, 3, 1);
                    row("conv1", "DeepStem", input, x, a);
                    return NormAndPool(x, row);
                }
                case StemKind.Rest:
                {
                    var a = new Acc();
                    x = a.Conv(x, w / 2, 3, 2); a.Norm(w / 2);
                    x = a.Conv(x, w / 2, 3, 1); a.Norm(w / 2);
                    x = a.Conv(x, w, 3, 2);
                    PositionAttention(a, x);
                    row("stem", "RestStem", input, x, a);
                    return x;
                }
                case StemKind.RestPaper:
                {
                    var a = new Acc();
                    x = a.Conv(x, w, 7, 2, 3); a.Norm(w);
                    x = Acc.Pool(x, 3, 2, 1);
                    PositionAttention(a, x);
                    row("stem", "RestPaperStem", input, x, a);
                    return x;
                }
                default:
                    return x;
            }
        }

        /// <summary>The ResNet-style stem tail shared by the 7x7 and deep stems: bn1, ReLU, 3x3/2 max pool.</summary>
        private static Shape NormAndPool(Shape x, Action<string, string, Shape, Shape, Acc> row)
        {
            var bn = new Acc();
            bn.Norm(x.C);
            row("bn1", "BatchNorm2d", x, x, bn);
            var pooled = Acc.Pool(x, 3, 2, 1);
            row("maxpool", "MaxPool2d", x, pooled, new Acc());
            return pooled;
        }

        /// <summary>ResT's PA: depthwise 3x3 conv with bias, then x·sigmoid(.).</summary>
        private static void PositionAttention(Acc a, Shape x) => a.Conv(x, x.C, 3, 1, 1, groups: x.C, bias: true);

        private static Shape Block(Acc a, BlockIR b, Shape x)
        {
            switch (b.Kind)
            {
                case BlockKind.Bottleneck: return Bottleneck(a, b, x);
                case BlockKind.Bot: return Bot(a, b, x);
                case BlockKind.SplitAttn: return SplitAttn(a, b, x);
                case BlockKind.Cot: return Cot(a, b, x);
                case BlockKind.Van: return Van(a, b, x);
                default: return Rest(a, b, x);
            }
        }

        private static void Shortcut(Acc a, BlockIR b, Shape x, Shape output)
        {
            if (b.Stride == 1 && b.InChannels == b.OutChannels) return;
            var pooled = b.Shortcut == ShortcutKind.AvgDown && b.Stride > 1 ? Acc.Pool(x, b.Stride, b.Stride, 0, ceilMode: true) : x;
            a.Conv(pooled, b.OutChannels, 1, b.Shortcut == ShortcutKind.AvgDown ? 1 : b.Stride);
            a.Norm(b.OutChannels);
        }

        private static Shape Bottleneck(Acc a, BlockIR b, Shape x)
        {
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            h = a.Conv(h, b.Width, 3, b.Stride, groups: b.Cardinality); a.Norm(b.Width);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            Shortcut(a, b, x, h);
            return h;
        }

        /// <summary>BoT: MHSA at the pre-stride map, then 2x2 avg pool when strided.</summary>
        private static Shape Bot(Acc a, BlockIR b, Shape x)
        {
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            a.Conv(h, 3 * b.Width, 1);                          // qkv
            long d = b.Width / b.Heads, n = checked(h.H * h.W);
            a.Add(checked((2 * h.H - 1) * d + (2 * h.W - 1) * d)); // relative-position tables
            a.Attention(checked(n * n * b.Width * 2 + n * b.Width * (2 * h.H - 1 + 2 * h.W - 1)));
            if (b.Stride > 1) h = Acc.Pool(h, 2, 2, 0);
            a.Norm(b.Width);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            Shortcut(a, b, x, h);
            return h;
        }

        public static long SplitAttnInter(long width, long radix) => Math.Max(width * radix / 4, 32);

        private static Shape SplitAttn(Acc a, BlockIR b, Shape x)
        {
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            long convStride = b.Avd && b.Stride > 1 ? 1 : b.Stride;
            var s = a.Conv(h, b.Width * b.Radix, 3, convStride, groups: b.Cardinality * b.Radix); a.Norm(b.Width * b.Radix);
            long inter = SplitAttnInter(b.Width, b.Radix);
            var gap = new Shape(b.Width, 1, 1);
            a.Conv(gap, inter, 1, groups: b.Cardinality, bias: true); a.Norm(inter);
            a.Conv(new Shape(inter, 1, 1), b.Width * b.Radix, 1, groups: b.Cardinality, bias: true);
            h = new Shape(b.Width, s.H, s.W);
            if (b.Avd && b.Stride > 1) h = Acc.Pool(h, 3, b.Stride, 1);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            Shortcut(a, b, x, h);
            return h;
        }

        public static long CotAttn(long width) => Math.Max(2 * width / 4, 32);

        /// <summary>CoTNet bottleneck: 3x3 avg pool before the CoT layer when strided, no bn2.</summary>
        private static Shape Cot(Acc a, BlockIR b, Shape x)
        {
            const long k = 3;
            long c = b.Width;
            var h = a.Conv(x, c, 1); a.Norm(c);
            if (b.Stride > 1) h = Acc.Pool(h, 3, b.Stride, 1);
            a.Conv(h, c, k, groups: 4); a.Norm(c);                              // key_embed
            a.Conv(new Shape(2 * c, h.H, h.W), c / 2, 1); a.Norm(c / 2);        // embed.0/.1
            a.Conv(new Shape(c / 2, h.H, h.W), k * k * c / 8, 1, bias: true);   // embed.3
            a.Norm(k * k * c / 8);                                              // embed.4 GroupNorm
            a.Conv(h, c, 1); a.Norm(c);                                         // conv1x1 (value)
            a.Attention(checked(c * k * k * h.H * h.W));                        // local aggregation
            a.Norm(c);                                                          // bn
            long attn = CotAttn(c);
            a.Conv(new Shape(c, 1, 1), attn, 1, bias: true); a.Norm(attn);      // se.0/.1
            a.Conv(new Shape(attn, 1, 1), 2 * c, 1, bias: true);                // se.3
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            Shortcut(a, b, x, h);
            return h;
        }

        /// <summary>The large-kernel decomposition: (2d-1) depthwise, ceil(K/d) depthwise dilated by d.</summary>
        public static (long Local, long Dilated) LkaKernels(long kernel, long dilation) =>
            (2 * dilation - 1, (kernel + dilation - 1) / dilation);

        private static Shape Van(Acc a, BlockIR b, Shape x)
        {
            long c = b.Width, hidden = c * b.MlpRatio;
            var (k0, k1) = LkaKernels(b.LkaKernel, b.LkaDilation);
            a.Norm(c);
            a.Conv(x, c, 1, bias: true);                                              // proj_1
            a.Conv(x, c, k0, groups: c, bias: true);                                  // conv0
            a.Conv(x, c, k1, dilation: b.LkaDilation, groups: c, bias: true);         // conv_spatial
            a.Conv(x, c, 1, bias: true);                                              // conv1
            a.Conv(x, c, 1, bias: true);                                              // proj_2
            a.Add(c);                                                                 // layer_scale_1
            a.Norm(c);
            var m = a.Conv(x, hidden, 1, bias: true);                                 // fc1
            a.Conv(m, hidden, 3, groups: hidden, bias: true);                         // dwconv
            a.Conv(m, c, 1, bias: true);                                              // fc2
            a.Add(c);                                                                 // layer_scale_2
            return x;
        }

        private static Shape Rest(Acc a, BlockIR b, Shape x)
        {
            long c = b.Width, n = checked(x.H * x.W), hidden = c * b.MlpRatio;
            a.Norm(c);
            a.Linear(n, c, c, b.QkvBias);                                             // q
            long nk = n;
            if (b.SrRatio > 1)
            {
                var r = a.Conv(x, c, b.SrRatio + 1, b.SrRatio, b.SrRatio / 2, groups: c, bias: true); // sr
                a.Norm(c);                                                            // sr_norm
                nk = checked(r.H * r.W);
            }
            a.Linear(nk, c, 2 * c, b.QkvBias);                                        // kv
            a.Attention(checked(2 * n * nk * c));                                     // q·kᵀ and A·v
            if (b.Heads > 1)
            {
                a.Add(b.Heads * b.Heads + b.Heads);                                   // transform_conv
                a.Attention(checked(b.Heads * b.Heads * n * nk));
            }
            a.Linear(n, c, c);                                                        // proj
            a.Norm(c);
            a.Linear(n, c, hidden);                                                   // fc1
            a.Linear(n, hidden, c);                                                   // fc2
            return x;
        }
    }
}
