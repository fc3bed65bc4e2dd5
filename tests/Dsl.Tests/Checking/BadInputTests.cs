using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Xunit;
using static Torchwright.Dsl.Tests.Checking.DiagnosticTests;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>
    /// Issue 14's reproducers on the DSL side: declarations that used to be accepted and then ignored or turned
    /// into code that did not compile, imports that crashed or hung, and a file that asked for minutes of checking.
    /// Each is now a located diagnostic (span marked ⟦like this⟧).
    /// </summary>
    public class BadInputTests
    {
        private static CompilationResult Compile(string text) => ArchCompiler.Compile(new[] { new SourceFile("test.arch", text) });

        // ---- stage names with leading zeros -------------------------------------------------------

        [Fact]
        public void TW0002_leading_zero_stage_depth_is_an_unknown_field_not_ignored() =>
            Expect("arch A : ResNet50 {\n  ⟦c05.depth⟧ = 1\n}\n", "TW0002", "'c05.depth'", "write the stage as c5 (stage numbers have no leading zeros)");

        [Fact]
        public void TW0002_leading_zeros_stage_width_is_an_unknown_field_not_ignored() =>
            Expect("arch A : ResNet50 {\n  ⟦c002.width⟧ = 7\n}\n", "TW0002", "'c002.width'", "write the stage as c2");

        [Fact]
        public void TW0011_leading_zero_stage_in_a_sweep_axis_is_reported() =>
            Expect("sweep S : ResNet50 {\n  ⟦c03.depth⟧ = 1, 2\n}\n", "TW0011", "'c03.depth'", "write the stage as c3");

        // ---- train.NAME settings: the Dsl checks their form, the torchwright commands their names ----------

        [Fact]
        public void TW0048_a_training_path_with_more_than_one_name_is_refused() =>
            Expect("arch A : ResNet50 {\n  ⟦train.opt.lr⟧ = 0.1\n}\n", "TW0048", "'train.opt.lr'", "in A", "train.NAME with one snake_case name");

        [Fact]
        public void TW0048_an_empty_training_name_is_refused_in_a_sweep_too() =>
            Expect("sweep S : ResNet50 {\n  ⟦train.Lr⟧ = 0.1, 0.2\n}\n", "TW0048", "'train.Lr'", "in ResNet50");

        [Fact]
        public void TW0049_a_shape_is_not_a_training_value() =>
            Expect("arch A : ResNet50 {\n  train.lr = ⟦3x3⟧\n}\n", "TW0049", "train.lr: a shape (3x3) is not a training setting value");

        [Fact]
        public void TW0049_a_nested_list_is_not_a_training_value_in_a_sweep_axis() =>
            Expect("sweep S : ResNet50 {\n  train.betas = [0.9, 0.99], ⟦[[0.9]]⟧\n}\n", "TW0049", "train.betas: a list ([[0.9]])");

        [Fact]
        public void Training_settings_are_inherited_swept_and_build_nothing()
        {
            var result = Compile("arch A : ResNet50 {\n  input = 3x64x64\n  train.lr = 0.05\n  train.opt = adamw\n}\n"
                + "arch B : A {\n  train.lr = 2e-3\n}\n"
                + "sweep S : B {\n  train.betas = [0.9, 0.98], [0.8, 0.9]\n  train.nesterov = true\n}\n");
            Assert.Empty(result.Diagnostics);
            var a = result.Architectures.Single(x => x.Name == "A");
            var b = result.Architectures.Single(x => x.Name == "B");
            Assert.Equal(new[] { "train.lr=0.05", "train.opt=adamw" }, Pairs(a));
            // The derived value replaces the inherited one in place; a float keeps its exact value (2e-3, not 0.002 rounded).
            Assert.Equal(new[] { "train.lr=0.002", "train.opt=adamw" }, Pairs(b));
            // Training settings do not change the network: B's IR is A's but for the name.
            Assert.Equal(a.Costs.Params, b.Costs.Params);
            Assert.Equal(a.Ir with { Name = "" }, b.Ir with { Name = "", Location = a.Ir.Location });
            var sweep = Assert.Single(result.Sweeps);
            Assert.Equal(new[] { "S/train.betas=[0.9,0.98]/train.nesterov=true", "S/train.betas=[0.8,0.9]/train.nesterov=true" },
                sweep.Variants.Select(v => v.Name).ToArray());
            Assert.Equal(new[] { "train.lr=0.002", "train.opt=adamw", "train.betas=0.8,0.9", "train.nesterov=true" }, Pairs(sweep.Variants[1]));
        }

        private static string[] Pairs(CheckedArchitecture arch) =>
            arch.Training.Select(f => f.Path + "=" + Torchwright.Dsl.Model.TrainingFields.ValueText(f.Value)).ToArray();

        // ---- channel counts are checked before the width multiplier ---------------------------------

        [Fact]
        public void TW0016_negative_stem_width_under_a_multiplier_is_out_of_range() =>
            Expect("arch A : ResNet50 {\n  stem_width = ⟦-1000⟧; width = 0.5\n}\n", "TW0016", "stem_width = -1000", "expected 2..65536");

        [Fact]
        public void TW0016_negative_stage_out_under_a_multiplier_is_out_of_range() =>
            Expect("arch A : ResNet50 {\n  width = 0.5\n  c3.out = ⟦-5⟧\n}\n", "TW0016", "c3: out = -5", "expected 1..65536");

        [Fact]
        public void TW0016_zero_outs_entry_under_a_multiplier_is_out_of_range() =>
            Expect("arch A : ResNet50 {\n  width = 2.0\n  outs = [256, ⟦0⟧, 1024, 2048]\n}\n", "TW0016", "c3: out = 0");

        // ---- generated type names --------------------------------------------------------------------

        [Fact]
        public void TW0030_a_name_the_generated_code_aliases_is_refused()
        {
            Expect("arch ⟦Tensor⟧ : ResNet50 {}\n", "TW0030",
                "Architecture 'Tensor' generates the C# type 'Tensor', which the generated code's using alias for TorchSharp.torch.Tensor (at the top of every generated namespace) already generates");
            Expect("arch ⟦TorchwrightBlocks⟧ : ResNet50 {}\n", "TW0030", "using alias for Torchwright.Runtime.Blocks");
            var result = Compile("arch nn : ResNet50 {}\narch Net : ResNet50 {}\n");
            Assert.Equal(new[] { "Net" }, result.Architectures.Select(a => a.Name).ToArray());
        }

        [Fact]
        public void TW0030_two_names_mapping_to_one_type_report_the_second_naming_the_first()
        {
            var d = Expect("arch A_B : ResNet50 {}\narch ⟦A__B⟧ : ResNet50 {}\n", "TW0030",
                "Architecture 'A__B' generates the C# type 'A_B', which architecture 'A_B' (at test.arch(1,6)) already generates");
            var result = Compile("arch A_B : ResNet50 {}\narch A__B : ResNet50 {}\n");
            Assert.Equal(new[] { "A_B" }, result.Architectures.Select(a => a.Name).ToArray());
        }

        [Fact]
        public void TW0030_an_architecture_named_like_a_sweep_variant_class_is_reported_at_the_later_declaration()
        {
            Expect("arch S9_classes_7 : ResNet50 {}\nsweep ⟦S9⟧ : ResNet50 { classes = 7, 8 }\n", "TW0030",
                "Variant 'S9/classes=7' generates the C# type 'S9_classes_7', which architecture 'S9_classes_7' (at test.arch(1,6)) already generates");
            Expect("sweep S9 : ResNet50 { classes = 7, 8 }\narch ⟦S9_classes_7⟧ : ResNet50 {}\n", "TW0030",
                "which variant 'S9/classes=7' of sweep 'S9' (at test.arch(1,7)) already generates");
            var result = Compile("arch S9_classes_7 : ResNet50 {}\nsweep S9 : ResNet50 { classes = 7, 8 }\n");
            Assert.Empty(result.Sweeps);
            Assert.Single(result.Architectures);
        }

        [Fact]
        public void TW0031_a_type_named_after_one_of_its_generated_members_is_reported()
        {
            Expect("arch ⟦Macs⟧ : ResNet50 {}\n", "TW0031", "Architecture 'Macs' generates the C# type 'Macs'", "member 'Macs'");
            Expect("arch ⟦layer1⟧ : ResNet50 {}\n", "TW0031", "member 'layer1'");
            Expect("sweep ⟦Variants⟧ : ResNet50 { classes = 7, 8 }\n", "TW0031", "Sweep 'Variants'");
            Assert.Empty(Compile("arch Macs : ResNet50 {}\n").Architectures);
        }

        [Theory]
        [InlineData("class", "@class")]
        [InlineData("string", "@string")]
        [InlineData("namespace", "@namespace")]
        [InlineData("record", "record")]
        [InlineData("var", "var")]
        [InlineData("ResNet", "ResNet")]
        [InlineData("A-B", "AmB")]
        [InlineData("7x", "_7x")]
        public void Identifiers_escape_reserved_keywords_with_an_at_sign(string name, string identifier)
        {
            Assert.Equal(identifier, CSharpEmitter.Identifier(name));
            Assert.Equal(identifier.TrimStart('@'), CSharpEmitter.MetadataName(identifier));
        }

        [Fact]
        public void Keyword_architectures_pass_the_checker_and_name_their_variants_plainly()
        {
            var result = Compile("arch class : ResNet50 {}\nsweep object : ResNet50 { classes = 7 }\n");
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            var sweep = Assert.Single(result.Sweeps);
            Assert.Equal(new[] { "object_classes_7" }, CSharpEmitter.VariantClassNames(sweep, CSharpEmitter.Identifier("object")));
            var code = CSharpEmitter.EmitArchitecture(result.Architectures[0], "@class", new EmitOptions("N"));
            Assert.Contains("public sealed partial class @class :", code);
            Assert.Contains("public @class() : base(\"class\")", code);
        }

        [Fact]
        public void TW0039_contextual_keyword_names_are_refused()
        {
            Expect("arch ⟦var⟧ : ResNet50 {}\n", "TW0039", "Architecture 'var' would generate the C# type 'var', a contextual keyword", "rename it, e.g. 'varNet'");
            Expect("sweep ⟦nameof⟧ : ResNet50 { classes = 7 }\n", "TW0039", "Sweep 'nameof'");
            Assert.Empty(Compile("arch value : ResNet50 {}\n").Architectures);
        }

        // ---- imports -------------------------------------------------------------------------------

        [Fact]
        public void TW0035_empty_import_has_its_own_diagnostic() =>
            Expect("import ⟦\"\"⟧\narch A : ResNet50 {}\n", "TW0035", "Import path is empty");

        [Fact]
        public void TW0014_import_paths_are_escaped_in_messages()
        {
            var d = Expect("import ⟦\"a\u202Eb\rc\u2028.arch\"⟧\n", "TW0014");
            Assert.Contains(@"Import 'a\u202Eb\u000Dc\u2028.arch' was not found (looked for a\u202Eb\u000Dc\u2028.arch)", d.Message);
            Assert.Equal(-1, DisplayText.FirstUnsafe(d.Message));
        }

        [Fact]
        public void TW0014_a_lone_surrogate_in_an_import_is_escaped()
        {
            var d = Assert.Single(Compile("import \"x\ud800y.arch\"\n").Diagnostics, x => x.Id == "TW0014");
            Assert.Contains(@"'x\uD800y.arch'", d.Message);
        }

        [Fact]
        public void TW0014_a_megabyte_import_path_gives_a_short_message()
        {
            var path = new string('p', 1 << 20);
            var d = Assert.Single(Compile("import \"" + path + "\"\n").Diagnostics, x => x.Id == "TW0014");
            Assert.True(d.Message.Length < 3 * DisplayText.MaxShown, $"message is {d.Message.Length} characters");
            Assert.Contains(new string('p', DisplayText.MaxShown) + "\u2026'", d.Message);
        }

        [Fact]
        public void A_file_name_with_line_breaks_prints_on_one_line()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("od\u2028d\nname\u202E.arch", "arch A : ResNet50 { c3.in = 100 }\n") });
            var d = Assert.Single(result.Diagnostics, x => x.Id == "TW0004");
            Assert.Equal("od\u2028d\nname\u202E.arch", d.Location.Path); // the real path stays for tools that open it
            Assert.StartsWith(@"od\u2028d\u000Aname\u202E.arch(1,29): error TW0004:", d.ToString());
            Assert.Equal(-1, DisplayText.FirstUnsafe(d.ToString()));
        }

        [Fact]
        public void Escape_keeps_surrogate_pairs_and_cuts_with_an_ellipsis()
        {
            Assert.Equal("a\ud83d\ude00b", DisplayText.Escape("a\ud83d\ude00b"));
            Assert.Equal(@"\u0000\u0085\u200F", DisplayText.Escape("\0\u0085\u200F"));
            Assert.Equal("abc\u2026", DisplayText.Escape("abcdef", 3));
        }

        // ---- the work cap ---------------------------------------------------------------------------

        /// <summary>Issue 14: 1.1 KB that made `check` take 112 s and 2.5 GB (8 stages x 256 blocks under a 64 x 64 sweep).</summary>
        [Fact]
        public void TW0038_a_sweep_asking_for_millions_of_blocks_is_refused_at_its_name()
        {
            var values = string.Join(", ", Enumerable.Range(1, 64));
            var widths = string.Join(", ", Enumerable.Range(1, 64).Select(i => 8 * i));
            var text = "arch Deep : ResNet50 {\n  depths = [256, 256, 256, 256, 256, 256, 256, 256]; widths = [8, 8, 8, 8, 8, 8, 8, 8]\n"
                     + "  outs = [32, 32, 32, 32, 32, 32, 32, 32]; strides = [1, 1, 1, 1, 1, 1, 1, 1]\n}\n"
                     + "sweep ⟦Big⟧ : Deep {\n  classes = " + values + "\n  stem_width = " + widths + "\n}\n";
            Expect(text, "TW0038", "Sweep 'Big' brings the blocks to check to 8,390,656 (its 4,096 variants have 8,388,608 blocks)",
                "over the cap of 131,072 blocks per compilation");
            var result = Compile(text.Replace("⟦", "").Replace("⟧", ""));
            Assert.Empty(result.Sweeps);
            Assert.Equal("Deep", Assert.Single(result.Architectures).Name); // the architecture itself (2,048 blocks) is still checked
        }

        /// <summary>A 1 MiB file of architectures each extending the next one down crashed `check` with a stack overflow.</summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void TW0016_a_deep_inheritance_chain_is_refused_at_the_first_declaration_too_deep_in_either_order(bool reversed)
        {
            var lines = new[] { "arch A0 : ResNet50 {}" }.Concat(Enumerable.Range(1, 40_000).Select(i => $"arch A{i} : A{i - 1} {{}}")).ToList();
            if (reversed) lines.Reverse();
            var text = string.Join("\n", lines) + "\n";
            var result = Compile(text);
            var d = Assert.Single(result.Diagnostics, x => x.Id == "TW0016");
            // A0 extends the zoo's ResNet50, so A256 is the first with 257 bases below it.
            Assert.Equal("A256: inheritance depth = 257 is out of range: at most 256 bases may stand below an architecture; flatten the chain", d.Message);
            Assert.Equal(text.IndexOf("arch A256 : A255", System.StringComparison.Ordinal) + "arch A256 : ".Length, d.Location.Start);
            // A0 .. A255 pass (4,096 blocks, under the cap); everything above A256 fails with it, unreported.
            Assert.Equal(256, result.Architectures.Count);
            Assert.DoesNotContain(result.Diagnostics, x => x.Id != "TW0016");
        }

        [Fact]
        public void Cycles_and_unknown_bases_are_still_reported_once()
        {
            var cycle = Compile("arch A : B {}\narch B : C {}\narch C : A {}\narch D : A {}\n");
            var c = Assert.Single(cycle.Diagnostics);
            Assert.Equal("TW0012", c.Id);
            Assert.Equal("'C' inherits from itself through C -> A -> B -> C; break the cycle", c.Message);
            var unknown = Compile("arch A : B {}\narch B : Nope {}\n");
            Assert.Equal("TW0014", Assert.Single(unknown.Diagnostics).Id);
        }

        [Fact]
        public void Work_under_the_cap_is_checked_and_the_count_follows_the_builder()
        {
            Assert.Equal(131_072, WorkLimits.MaxBlocks);
            var result = Compile("sweep S : ResNet50 { classes = " + string.Join(", ", Enumerable.Range(1, 4096)) + " }\n");
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics.Take(3)));
            Assert.Equal(4096, result.Sweeps[0].Variants.Count); // 4096 x 16 blocks = 65,536
            var deep = Compile("arch D : ResNet50 { c3.depth = 300 }\n");
            Assert.Contains(deep.Diagnostics, d => d.Id == "TW0016" && d.Message.Contains("depth = 300"));
        }
    }
}
