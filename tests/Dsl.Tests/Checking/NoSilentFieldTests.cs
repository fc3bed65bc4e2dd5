using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>
    /// "A field with no effect on what it is set on is a diagnostic, never ignored" (design decision 6), checked for
    /// every field of the catalog in both scopes on every block kind: setting the field to a valid non-default value
    /// either changes the checked IR or draws a diagnostic that names the field (or sits on its line). Never neither.
    /// </summary>
    public class NoSilentFieldTests
    {
        private readonly ITestOutputHelper output;

        public NoSilentFieldTests(ITestOutputHelper output) => this.output = output;

        /// <summary>The kinds of the matrix: a small valid base for each (4 stages, 3x64x64 input) and the stage its stage-scope fields go on.</summary>
        internal sealed record Kind(string Name, string Stage, (string Field, string Value)[] Base);

        private static readonly (string, string)[] ResNetLayout =
        {
            ("input", "3x64x64"), ("classes", "8"), ("depths", "[1, 2, 1, 2]"), ("widths", "[16, 16, 32, 32]"),
        };

        internal static readonly Kind[] Kinds =
        {
            new Kind("bottleneck", "c3", ResNetLayout.Append(("block", "bottleneck")).ToArray()),
            new Kind("splat", "c3", ResNetLayout.Append(("block", "splat")).ToArray()),
            new Kind("cot", "c3", ResNetLayout.Append(("block", "cot")).ToArray()),
            new Kind("basic", "c3", ResNetLayout.Append(("block", "basic")).ToArray()),
            new Kind("van", "c3", ResNetLayout.Append(("block", "van")).ToArray()),
            new Kind("rest", "c3", ResNetLayout.Append(("block", "rest")).ToArray()),
            // BoT: every c5 block is MHSA, so the stage-scope fields go on c5.
            new Kind("mhsa", "c5", ResNetLayout.Append(("block", "bottleneck")).Append(("c5.mhsa", "[1, 1]")).ToArray()),
            // Halo (at 256x256 c5 attends over 16x16, then 8x8 maps: halo_block 8 divides them) and lambda in the same slot.
            new Kind("halo", "c5", ResNetLayout.Skip(1).Prepend(("input", "3x256x256")).Append(("block", "bottleneck")).Append(("c5.mhsa", "[1, 1]")).Append(("self_attn", "halo")).ToArray()),
            new Kind("lambda", "c5", ResNetLayout.Append(("block", "bottleneck")).Append(("c5.mhsa", "[1, 1]")).Append(("self_attn", "lambda")).ToArray()),
        };

        /// <summary>A valid value that differs from the default, per field (arch scope by name, stage scope as "cN.name"); per kind where one value cannot fit all.</summary>
        private static string ValueFor(FieldInfo field, bool stage, Kind kind)
        {
            string k = kind.Name;
            switch (stage ? "cN." + field.Name : field.Name)
            {
                case "input": return "3x96x96";
                case "classes": return "10";
                case "width": return "0.5";
                case "stem": return k == "rest" ? "rest_paper" : "deep"; // van has no stem but none: any other is an error naming stem
                case "stem_width": return "32";
                case "stem_widths": return "[16, 16, 32]";
                case "stem_pool": return "none";
                case "num_features": return "64";
                case "block": return BlockSwap(k);
                case "cN.block": return BlockSwap(k);
                case "depths": return "[2, 2, 1, 2]";
                case "cN.depth": return "3";
                case "widths": return "[16, 32, 32, 32]";
                case "cN.width": return "24";
                case "outs": return "[32, 64, 128, 128]";
                case "cN.out": return "32";
                case "strides": return "[1, 2, 2, 1]";
                case "cN.stride": return "1";
                case "cN.in": return "7"; // a check, not a setting: only a wrong value can show (the right one is neither, by design)
                case "shortcut": case "cN.shortcut": return "avgdown";
                case "act": case "cN.act": return "silu";
                case "attention": case "cN.attention": return "se";
                case "se_ratio": case "cN.se_ratio": return "0.25";
                case "eca_kernel": case "cN.eca_kernel": return "5";
                case "attention_at": case "cN.attention_at": return "spatial";
                case "mhsa_attention": case "cN.mhsa_attention": return "se";
                case "self_attn": case "cN.self_attn": return k == "lambda" ? "bot" : "lambda";
                case "qk_head_dim": case "cN.qk_head_dim": return k == "halo" ? "8" : "4"; // halo's default is 4 here
                case "halo_block": case "cN.halo_block": return "1";
                case "halo_size": case "cN.halo_size": return "1";
                case "qk_ratio": case "cN.qk_ratio": return "0.5";
                case "lambda_r": case "cN.lambda_r": return "3";
                case "cN.dilation": return "2";
                case "frozen_stages": return "1";
                case "output_stride": return "16"; // c5 at stride 1, dilated by 2
                case "out_indices": return "[1, 2, 3]"; // with the base's classes: TW0024 naming out_indices

                case "norm": return "frozen_batch"; // its norms' weights become buffers: fewer parameters
                case "norm_groups": return "8"; // without norm = group: TW0024
                case "avd": case "cN.avd": return "false";
                case "avd_first": case "cN.avd_first": return "true";
                case "radix": case "cN.radix": return "4";
                case "cardinality": case "cN.cardinality": return "2";
                case "heads": return "[2, 2, 2, 2]";
                case "cN.heads": return "2";
                case "cN.mhsa": return k == "mhsa" || k == "halo" || k == "lambda" ? "[0, 1]" : "[1, 1]";
                case "cN.mhsa_every": return k == "mhsa" || k == "halo" || k == "lambda" ? "2" : "1";
                case "mlp_ratios": return "[2, 2, 2, 2]";
                case "cN.mlp_ratio": return "2";
                case "sr_ratios": return "[2, 2, 1, 1]";
                case "cN.sr_ratio": return "2";
                case "lka_kernel": case "cN.lka_kernel": return "7";
                case "lka_dilation": case "cN.lka_dilation": return "2";
                case "layer_scale": return "0.1";
                case "qkv_bias": case "cN.qkv_bias": return k == "rest" ? "false" : "true"; // each reader's default
                case "patch_kernels": return "[5, 3, 3, 3]";
                case "drop_path": return "0.1";
                case "dropout": return "0.2";
                case "cN.patch_kernel": return "5";
                default: throw new InvalidOperationException($"no test value for {(stage ? "cN." : "")}{field.Name}: add one to NoSilentFieldTests.ValueFor");
            }
        }

        private static string BlockSwap(string kind) => kind switch
        {
            "bottleneck" => "splat",
            "splat" => "cot",
            "cot" => "bottleneck",
            "basic" => "bottleneck",
            "van" => "rest", // only van is of the VAN family: at stage scope this is a mixed-family error
            "rest" => "van",
            _ => "splat",
        };

        /// <summary>The declaration text, the base's fields with one set or overridden, and the 0-based line of that field.</summary>
        internal static (string Text, int Line) Declare(Kind kind, string? path, string? value, params (string Field, string Value)[] extra)
        {
            var fields = kind.Base.Concat(extra).ToList();
            int at = -1;
            if (path != null)
            {
                at = fields.FindIndex(f => f.Field == path);
                if (at >= 0) fields[at] = (path, value!);
                else { fields.Add((path, value!)); at = fields.Count - 1; }
            }
            var sb = new StringBuilder("arch T {\n");
            foreach (var (f, v) in fields) sb.Append("  ").Append(f).Append(" = ").Append(v).Append('\n');
            sb.Append("}\n");
            return (sb.ToString(), at + 1);
        }

        internal static CompilationResult Compile(string text) => ArchCompiler.Compile(new[] { new SourceFile("t.arch", text) });

        private static ArchitectureIR BaseIr(Kind kind)
        {
            var result = Compile(Declare(kind, null, null).Text);
            Assert.True(result.Architectures.Count == 1 && !result.Diagnostics.Any(d => d.Severity != Severity.Info),
                $"base of {kind.Name} must check cleanly:\n" + string.Join("\n", result.Diagnostics));
            return result.Architectures[0].Ir;
        }

        /// <summary>"effect", or the IDs of the diagnostics that name the field or sit on its line, or "NEITHER".</summary>
        internal static string Cell(Kind kind, ArchitectureIR baseIr, string path, string name, string value, params (string, string)[] extra)
        {
            var (text, line) = Declare(kind, path, value, extra);
            var result = Compile(text);
            var naming = result.Diagnostics
                .Where(d => d.Severity != Severity.Info && (d.Location.StartPos.Line == line || d.Message.Contains(path) || Names(d.Message, name)))
                .Select(d => d.Id).Distinct().ToList();
            if (naming.Count > 0) return string.Join("+", naming);
            if (result.Architectures.Count == 1)
            {
                var ir = result.Architectures[0].Ir;
                if (ir != baseIr with { Location = ir.Location }) return "effect";
            }
            return "NEITHER";
        }

        /// <summary>Whether a message names the field as a word (short names such as 'in' only quoted).</summary>
        private static bool Names(string message, string name) =>
            message.Contains("'" + name + "'") || (name.Length >= 4 && Regex.IsMatch(message, @"\b" + Regex.Escape(name) + @"\b"));

        /// <summary>Every (field, kind) cell, printed as a table; row label is the field path as written (cN. for stage scope).</summary>
        internal static List<(string Row, string Kind, string Cell)> Matrix()
        {
            var cells = new List<(string, string, string)>();
            foreach (var kind in Kinds)
            {
                var baseIr = BaseIr(kind);
                foreach (var field in FieldCatalog.All)
                {
                    if ((field.Scope & FieldScope.Arch) != 0)
                        cells.Add((field.Name, kind.Name, Cell(kind, baseIr, field.Name, field.Name, ValueFor(field, false, kind))));
                    if ((field.Scope & FieldScope.Stage) != 0)
                        cells.Add(("cN." + field.Name, kind.Name, Cell(kind, baseIr, kind.Stage + "." + field.Name, field.Name, ValueFor(field, true, kind))));
                }
            }
            return cells;
        }

        /// <summary>
        /// Cells known to be silent (a Dsl bug, reported): kept here so the test stays green until the fix, and fails
        /// the moment the fix lands (the cell must then leave this list).
        /// </summary>
        private static readonly HashSet<(string Row, string Kind)> KnownSilent = new HashSet<(string, string)>();

        [Fact]
        public void Every_field_on_every_kind_has_an_effect_or_a_diagnostic()
        {
            var cells = Matrix();
            var rows = cells.Select(c => c.Row).Distinct().ToList();
            var sb = new StringBuilder();
            sb.Append("| field | ").Append(string.Join(" | ", Kinds.Select(k => k.Name + (k.Stage == "c3" ? "" : " (" + k.Stage + ")")))).Append(" |\n");
            foreach (var row in rows)
                sb.Append("| ").Append(row).Append(" | ").Append(string.Join(" | ", Kinds.Select(k => cells.Single(c => c.Row == row && c.Kind == k.Name).Cell))).Append(" |\n");
            output.WriteLine(sb.ToString());

            var silent = cells.Where(c => c.Cell == "NEITHER").Select(c => (c.Row, c.Kind)).ToList();
            Assert.True(silent.All(KnownSilent.Contains), "fields silently ignored: " + string.Join(", ", silent.Where(s => !KnownSilent.Contains(s))) + "\n" + sb);
            Assert.True(KnownSilent.All(silent.Contains), "fixed, remove from KnownSilent: " + string.Join(", ", KnownSilent.Where(k => !silent.Contains(k))));

            string At(string row, string kind) => cells.Single(c => c.Row == row && c.Kind == kind).Cell;
            Assert.Equal("TW0024", At("radix", "bottleneck"));
            Assert.Equal("effect", At("radix", "splat"));
            Assert.Equal("TW0024", At("act", "van"));
            Assert.Equal("effect", At("act", "bottleneck"));
            Assert.Equal("TW0024", At("se_ratio", "bottleneck"));
            Assert.Equal("TW0024", At("cN.eca_kernel", "splat"));
            Assert.Equal("effect", At("cardinality", "cot"));
            Assert.Equal("effect", At("cN.cardinality", "cot"));
            Assert.Equal("TW0024", At("heads", "bottleneck"));
            Assert.Equal("TW0024", At("cN.heads", "bottleneck"));
            Assert.Equal("effect", At("cN.heads", "mhsa"));
            Assert.Equal("effect", At("heads", "rest"));
            Assert.Equal("TW0024", At("stem_widths", "bottleneck")); // stem resnet
            Assert.Equal("TW0024", At("cN.attention", "mhsa"));    // MHSA blocks take no channel attention
            Assert.Equal("effect", At("cN.dilation", "splat"));
            Assert.Equal("TW0024", At("cN.dilation", "van"));
            Assert.Equal("effect", At("avd_first", "splat"));
            Assert.Equal("TW0024", At("avd_first", "bottleneck"));
            Assert.Equal("TW0024", At("qkv_bias", "van"));
            Assert.Equal("effect", At("lka_kernel", "van"));
            Assert.Equal("TW0004", At("cN.in", "bottleneck"));
            Assert.Equal("TW0024", At("cN.block", "mhsa"));
            Assert.Equal("effect", At("patch_kernels", "van"));
            Assert.Equal("effect", At("cN.patch_kernel", "van"));
            Assert.Equal("TW0024", At("patch_kernels", "bottleneck")); // every c5 block is MHSA: the conv kind builds nothing
        }

        [Fact]
        public void Every_catalog_field_has_a_test_value_on_every_kind()
        {
            foreach (var kind in Kinds)
                foreach (var field in FieldCatalog.All)
                {
                    if ((field.Scope & FieldScope.Arch) != 0) Assert.NotEmpty(ValueFor(field, false, kind));
                    if ((field.Scope & FieldScope.Stage) != 0) Assert.NotEmpty(ValueFor(field, true, kind));
                }
        }

        private static Kind KindNamed(string name) => Kinds.Single(k => k.Name == name);

        [Fact]
        public void Se_ratio_and_eca_kernel_take_effect_with_their_attention_and_are_TW0024_without()
        {
            foreach (var name in new[] { "bottleneck", "splat", "cot" })
            {
                var kind = KindNamed(name);
                var baseIr = BaseIr(kind);
                Assert.Equal("TW0024", Cell(kind, baseIr, "se_ratio", "se_ratio", "0.25"));
                Assert.Equal("effect", Cell(kind, baseIr, "se_ratio", "se_ratio", "0.25", ("attention", "se")));
                Assert.Equal("effect", Cell(kind, baseIr, "c3.se_ratio", "se_ratio", "0.25", ("c3.attention", "se")));
                Assert.Equal("effect", Cell(kind, baseIr, "eca_kernel", "eca_kernel", "5", ("attention", "eca")));
                // Each option reads only its own field.
                Assert.Equal("TW0024", Cell(kind, baseIr, "eca_kernel", "eca_kernel", "5", ("attention", "se")));
                Assert.Equal("TW0024", Cell(kind, baseIr, "se_ratio", "se_ratio", "0.25", ("attention", "eca")));
            }
            // The ratio changes the SE width: 64 output channels x 0.25 = 16 (the default 1/16 gives make_divisible(4) = 8).
            var ir = Compile(Declare(KindNamed("bottleneck"), "se_ratio", "0.25", ("attention", "se")).Text).Architectures[0].Ir;
            Assert.Equal(16, ir.Stages[0].Blocks[0].Options.Attention!.Channels);
            var dflt = Compile(Declare(KindNamed("bottleneck"), "attention", "se").Text).Architectures[0].Ir;
            Assert.Equal(8, dflt.Stages[0].Blocks[0].Options.Attention!.Channels);
        }

        [Fact]
        public void Stem_widths_take_effect_on_the_deep_stem_and_stem_width_is_TW0024_there()
        {
            var kind = KindNamed("bottleneck");
            var baseIr = BaseIr(kind);
            Assert.Equal("effect", Cell(kind, baseIr, "stem_widths", "stem_widths", "[16, 16, 32]", ("stem", "deep")));
            Assert.Equal("TW0024", Cell(kind, baseIr, "stem_width", "stem_width", "32", ("stem", "deep")));
            Assert.Equal("TW0024", Cell(kind, baseIr, "stem_widths", "stem_widths", "[16, 16, 32]"));
            var ir = Compile(Declare(kind, "stem_widths", "[16, 16, 32]", ("stem", "deep")).Text).Architectures[0].Ir;
            Assert.Equal(new long[] { 16, 16, 32 }, ir.Stem.Widths.ToArray());
            Assert.Equal(32, ir.Stages[0].InChannels);
        }

        [Fact]
        public void Attention_at_takes_effect_with_attention_and_is_refused_where_the_block_has_no_such_slot()
        {
            var kind = KindNamed("bottleneck");
            var baseIr = BaseIr(kind);
            Assert.Equal("effect", Cell(kind, baseIr, "attention_at", "attention_at", "spatial", ("attention", "eca")));
            Assert.Equal("TW0024", Cell(kind, baseIr, "attention_at", "attention_at", "spatial"));
            var ir = Compile(Declare(kind, "attention_at", "spatial", ("attention", "eca")).Text).Architectures[0].Ir;
            Assert.True(ir.Stages[0].Blocks[0].Options.AttentionAtSpatial);
            // ECA's kernel adapts to the channels it sees: the width (16 -> 3) at spatial, the output (64 -> 3) after bn3.
            Assert.Equal(3, ir.Stages[0].Blocks[0].Options.Attention!.Kernel);
            // Split attention and CoT take channel attention after bn3 only (their Runtime blocks have no other slot).
            Assert.Equal("TW0016", Cell(KindNamed("splat"), BaseIr(KindNamed("splat")), "attention_at", "attention_at", "spatial", ("attention", "se")));
        }

        [Fact]
        public void Mhsa_attention_and_qk_head_dim_take_effect_on_mhsa_blocks_only()
        {
            var kind = KindNamed("mhsa");
            var baseIr = BaseIr(kind);
            Assert.Equal("effect", Cell(kind, baseIr, "c5.mhsa_attention", "mhsa_attention", "se"));
            Assert.Equal("effect", Cell(kind, baseIr, "c5.qk_head_dim", "qk_head_dim", "4"));
            Assert.Equal("TW0024", Cell(KindNamed("bottleneck"), BaseIr(KindNamed("bottleneck")), "mhsa_attention", "mhsa_attention", "se"));
            var ir = Compile(Declare(kind, "c5.mhsa_attention", "se").Text).Architectures[0].Ir;
            var c5 = ir.Stages[3];
            Assert.All(c5.Blocks, b => Assert.Equal("se", b.Options.Attention!.Kind.Word));
        }

        [Fact]
        public void Mhsa_stage_reads_heads_and_not_the_conv_fields()
        {
            var kind = KindNamed("mhsa");
            var baseIr = BaseIr(kind);
            Assert.Equal("effect", Cell(kind, baseIr, "c5.heads", "heads", "2"));
            Assert.Equal("TW0024", Cell(kind, baseIr, "c5.cardinality", "cardinality", "2"));
            Assert.Equal("TW0024", Cell(kind, baseIr, "c5.attention", "attention", "se"));
            // act reaches MHSA blocks too (BoTNet-S1 / timm's botnet26t use SiLU throughout).
            Assert.Equal("effect", Cell(kind, baseIr, "c5.act", "act", "silu"));
        }

        [Fact]
        public void A_base_field_the_derived_kind_does_not_read_is_TW0101_and_a_sweep_over_it_is_quiet()
        {
            const string bases = "arch Base {\n  input = 3x64x64\n  classes = 8\n  block = splat\n  radix = 4\n  depths = [1, 2, 1, 2]\n  widths = [16, 16, 32, 32]\n}\n";
            var derived = Compile(bases + "arch Derived : Base {\n  block = bottleneck\n}\n");
            var warning = Assert.Single(derived.Diagnostics, d => d.Id == "TW0101");
            Assert.Equal(Severity.Warning, warning.Severity);
            Assert.Contains("radix", warning.Message);
            Assert.Contains("Base", warning.Message);
            Assert.DoesNotContain(derived.Diagnostics, d => d.Id == "TW0024");
            Assert.Equal(2, derived.Architectures.Count); // a warning: Derived still builds

            // The zoo case docs/arch-language.md gives: ResNeSt50's split-attention fields are inherited and unread.
            var zoo = Compile("arch MyNet : ResNeSt50 {\n  block = bottleneck\n}\n");
            Assert.Equal(new[] { "avd", "radix" }, zoo.Diagnostics.Where(d => d.Id == "TW0101").Select(d => d.Message.Contains("'radix'") ? "radix" : d.Message.Contains("'avd'") ? "avd" : d.Message).OrderBy(x => x));
            Assert.False(zoo.HasErrors, string.Join("\n", zoo.Diagnostics));

            // The same field set by the declaration itself is TW0024, an error.
            var own = Compile("arch Own {\n  input = 3x64x64\n  block = bottleneck\n  radix = 4\n  depths = [1, 2, 1, 2]\n  widths = [16, 16, 32, 32]\n}\n");
            Assert.Contains(own.Diagnostics, d => d.Id == "TW0024" && d.IsError && d.Message.Contains("radix"));

            // A sweep varies its base on purpose: the bottleneck variant leaves radix unread without a warning.
            var sweep = Compile(bases + "sweep S : Base {\n  block = splat, bottleneck\n}\n");
            Assert.DoesNotContain(sweep.Diagnostics, d => d.Id == "TW0101" || d.Id == "TW0024");
            Assert.Single(sweep.Sweeps);
            Assert.Equal(2, sweep.Sweeps[0].Variants.Count);
        }
    }
}
