using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Emit
{
    /// <summary>
    /// A checked architecture as a JSON spec that a builder in another language (the PyTorch reference networks in
    /// tests/Runtime.Tests/python/reference_nets.py) assembles without re-deriving anything: every <see cref="BlockIR"/>
    /// field, each block's input and output shape from the cost model (BoT's relative-position tables are sized by
    /// the block's input map), and the exact costs. Keys are snake_case, shapes are [C, H, W] and kinds are the cost
    /// model's names, as in the summary JSON. The format only ever changes by adding keys.
    /// </summary>
    public static class ArchSpecJson
    {
        /// <summary>Bumped only if an existing key changes meaning (adding keys does not bump it).</summary>
        public const int Version = 1;

        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

        /// <summary>Serialises an IR that passed the checks (<see cref="ArchCompiler"/>); shapes and costs come from <see cref="CostModel.Analyze"/>.</summary>
        public static string Write(ArchitectureIR ir)
        {
            if (ir is null) throw new ArgumentNullException(nameof(ir));
            var costs = CostModel.Analyze(ir);
            var rows = new Dictionary<string, LayerInfo>(StringComparer.Ordinal);
            foreach (var l in costs.Layers) rows[l.Path] = l;

            var stages = new List<string>();
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var st = ir.Stages[s];
                var blocks = st.Blocks.Select((b, i) => "        " + Block(b, rows[Naming.Block(ir.Family, s, i)]));
                stages.Add(Object(3, new[]
                {
                    ("index", Int(st.Index)),
                    ("name", Str(st.Name)),
                    ("in_channels", Int(st.InChannels)),
                    ("out_channels", Int(st.OutChannels)),
                    ("stride", Int(st.Stride)),
                    ("patch_kernel", Int(st.PatchKernel)),
                    ("output", ShapeArray(costs.StageOutputs[s])),
                    ("blocks", "[\n" + string.Join(",\n", blocks) + "\n      ]"),
                }));
            }
            return Object(1, new[]
            {
                ("spec_version", Int(Version)),
                ("name", Str(ir.Name)),
                ("family", Str(FamilyWord(ir.Family))),
                ("input", ShapeArray(ir.Input)),
                ("input_declared", Bool(ir.InputDeclared)),
                ("stem", Str(StemWord(ir.Stem))),
                ("stem_width", Int(ir.StemWidth)),
                ("classes", Int(ir.Classes)),
                ("params", Int(costs.Params)),
                ("macs", Int(costs.Macs)),
                ("macs_without_attention", Int(costs.Macs - costs.AttentionMacs)),
                ("stages", "[\n    " + string.Join(",\n    ", stages) + "\n  ]"),
            }) + "\n";
        }

        /// <summary>One block on one line: kind, every IR field (neutral values included), input and output shapes.</summary>
        private static string Block(BlockIR b, LayerInfo row) =>
            "{" + string.Join(", ", new[]
            {
                ("kind", Str(CostModel.KindName(b.Kind))),
                ("in_channels", Int(b.InChannels)),
                ("width", Int(b.Width)),
                ("out_channels", Int(b.OutChannels)),
                ("stride", Int(b.Stride)),
                ("cardinality", Int(b.Cardinality)),
                ("radix", Int(b.Radix)),
                ("avd", Bool(b.Avd)),
                ("shortcut", Str(b.Shortcut == ShortcutKind.AvgDown ? "avgdown" : "conv")),
                ("heads", Int(b.Heads)),
                ("mlp_ratio", Int(b.MlpRatio)),
                ("sr_ratio", Int(b.SrRatio)),
                ("lka_kernel", Int(b.LkaKernel)),
                ("lka_dilation", Int(b.LkaDilation)),
                ("layer_scale", Number(b.LayerScale)),
                ("qkv_bias", Bool(b.QkvBias)),
                ("input", ShapeArray(row.Input)),
                ("output", ShapeArray(row.Output)),
            }.Select(Member)) + "}";

        /// <summary>An object with one member per line at the given depth (two spaces a level).</summary>
        private static string Object(int depth, IEnumerable<(string Key, string Value)> members)
        {
            var pad = new string(' ', 2 * depth);
            return "{\n" + pad + string.Join(",\n" + pad, members.Select(Member)) + "\n" + new string(' ', 2 * (depth - 1)) + "}";
        }

        private static string Member((string Key, string Value) m) => Str(m.Key) + ": " + m.Value;

        /// <summary>The .arch spellings of the enums (family words are the family names in lower case).</summary>
        private static string FamilyWord(Family f) => f switch { Family.ResNet => "resnet", Family.Van => "van", _ => "rest" };

        private static string StemWord(StemKind s) => s switch
        {
            StemKind.ResNet => "resnet",
            StemKind.Deep => "deep",
            StemKind.Rest => "rest",
            StemKind.RestPaper => "rest_paper",
            _ => "none",
        };

        private static string ShapeArray(Shape s) => "[" + Int(s.C) + ", " + Int(s.H) + ", " + Int(s.W) + "]";

        private static string Int(long v) => v.ToString(Inv);

        private static string Bool(bool v) => v ? "true" : "false";

        /// <summary>Shortest round-trip form; JSON has no NaN or infinity, and the checker never lets one through.</summary>
        private static string Number(double v)
        {
            if (double.IsNaN(v) || double.IsInfinity(v))
                throw new ArgumentException($"ArchSpecJson: a block field is {v.ToString(Inv)}, which JSON cannot represent; serialise only checked architectures.", nameof(v));
            return v.ToString("R", Inv);
        }

        private static string Str(string s)
        {
            var sb = new StringBuilder(s.Length + 2).Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", Inv));
                        else sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }
    }
}
