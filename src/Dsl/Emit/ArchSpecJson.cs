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
    /// src/Cli/python/reference_nets.py) assembles without re-deriving anything: every block's channels,
    /// stride and settings (written by its definition), each block's input and output shape from the cost model (BoT's relative-position tables are sized by
    /// the block's input map), and the exact costs. Keys are snake_case, shapes are [C, H, W] and kinds are the cost
    /// model's names, as in the summary JSON. The format only ever changes by adding keys. The training regularisers
    /// appear only when above 0 (a block's <c>drop_path</c>, the architecture's <c>dropout</c>), so specs without them
    /// read as before.
    /// </summary>
    public static class ArchSpecJson
    {
        /// <summary>Bumped only if an existing key changes meaning or goes (adding keys does not bump it). 2: blocks carry only their kind's settings; stems their widths.</summary>
        public const int Version = 2;

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
                var blocks = st.Blocks.Select((b, i) => "        " + Block(b, rows[ir.Family.Block(s, i)]));
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
            var members = new List<(string Key, string Value)>
            {
                ("spec_version", Int(Version)),
                ("name", Str(ir.Name)),
                ("family", Str(ir.Family.Word)),
                ("input", ShapeArray(ir.Input)),
                ("input_declared", Bool(ir.InputDeclared)),
                ("stem", Str(ir.Stem.Kind.Word)),
                ("stem_width", Int(ir.Stem.OutChannels)),
                ("stem_widths", "[" + string.Join(", ", ir.Stem.Widths.Select(Int)) + "]"),
                ("stem_activation", Str(ir.Stem.Activation)),
                ("classes", Int(ir.Classes)),
            };
            // Present only when they differ from the defaults, so the specs of other networks are unchanged.
            if (!ir.Stem.Pool) members.Add(("stem_pool", Str("none")));
            if (ir.FinalConv is FinalConvIR fc)
            {
                members.Add(("num_features", Int(fc.Channels)));
                members.Add(("final_conv_activation", Str(fc.Activation)));
            }
            if (ir.Dropout != 0) members.Add(("dropout", Number(ir.Dropout)));
            // The stem's norm is the network's (norm is arch-wide); batch, the default, is left out.
            if (ir.Stem.Norm is NormIR norm)
            {
                members.Add(("norm", Str(norm.Word)));
                members.Add(("norm_groups", Int(norm.Groups)));
            }
            members.Add(("params", Int(costs.Params)));
            members.Add(("macs", Int(costs.Macs)));
            members.Add(("macs_without_attention", Int(costs.Macs - costs.AttentionMacs)));
            members.Add(("stages", "[\n    " + string.Join(",\n    ", stages) + "\n  ]"));
            return Object(1, members) + "\n";
        }

        /// <summary>One block on one line: kind, channels and stride, the kind's own settings (its definition's), input and output shapes.</summary>
        private static string Block(BlockIR b, LayerInfo row)
        {
            var members = new List<(string, string)>
            {
                ("kind", Str(b.Kind.KindName)),
                ("in_channels", Int(b.InChannels)),
                ("width", Int(b.Width)),
                ("out_channels", Int(b.OutChannels)),
                ("stride", Int(b.Stride)),
            };
            foreach (var kv in b.Kind.Spec(b)) members.Add((kv.Key, Value(kv.Value)));
            if (b.DropPath != 0) members.Add(("drop_path", Number(b.DropPath)));
            members.Add(("input", ShapeArray(row.Input)));
            members.Add(("output", ShapeArray(row.Output)));
            return "{" + string.Join(", ", members.Select(Member)) + "}";
        }

        private static string Value(object v) => v switch
        {
            long l => Int(l),
            int i => Int(i),
            bool b => Bool(b),
            double d => Number(d),
            string s => Str(s),
            _ => throw new ArgumentException($"ArchSpecJson: a block setting has type {v.GetType()}, which the spec does not write."),
        };

        /// <summary>An object with one member per line at the given depth (two spaces a level).</summary>
        private static string Object(int depth, IEnumerable<(string Key, string Value)> members)
        {
            var pad = new string(' ', 2 * depth);
            return "{\n" + pad + string.Join(",\n" + pad, members.Select(Member)) + "\n" + new string(' ', 2 * (depth - 1)) + "}";
        }

        private static string Member((string Key, string Value) m) => Str(m.Key) + ": " + m.Value;

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
