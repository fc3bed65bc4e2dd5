using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>
    /// One test per diagnostic: the ID, the exact span (marked in the source with ⟦ and ⟧), and the key words of
    /// the message (stage/block, expected and actual value, a fix).
    /// </summary>
    public class DiagnosticTests
    {
        private const string Path = "test.arch";

        /// <summary>Compiles text whose expected span is marked ⟦like this⟧ and asserts one diagnostic of id there.</summary>
        internal static Diagnostic Expect(string marked, string id, params string[] messageParts)
        {
            int start = marked.IndexOf('⟦');
            int end = marked.IndexOf('⟧');
            Assert.True(start >= 0 && end > start, "test text needs a ⟦span⟧");
            var text = marked.Remove(end, 1).Remove(start, 1);
            int length = end - start - 1;
            var result = ArchCompiler.Compile(new[] { new SourceFile(Path, text) });
            var hits = result.Diagnostics.Where(d => d.Id == id).ToList();
            Assert.True(hits.Count > 0, $"expected {id}; got:\n" + string.Join("\n", result.Diagnostics));
            var d = hits.FirstOrDefault(h => h.Location.Start == start && h.Location.Length == length);
            Assert.True(d != null, $"expected {id} at [{start}, +{length}) '{text.Substring(start, length)}'; got:\n" + string.Join("\n", hits.Select(h => $"{h} @[{h.Location.Start}, +{h.Location.Length}]")));
            var pos = SourceLocation.PositionOf(text, start);
            Assert.Equal(pos, d!.Location.StartPos);
            Assert.Equal(Path, d.Location.Path);
            foreach (var part in messageParts)
                Assert.Contains(part, d.Message);
            return d;
        }

        [Fact]
        public void TW0001_syntax_error_says_what_was_expected() =>
            Expect("arch A {\n  depths ⟦{⟧ [1]\n}\n", "TW0001", "expected '='", "'{'");

        [Fact]
        public void TW0002_unknown_field_suggests_the_close_one() =>
            Expect("arch A : ResNet50 {\n  ⟦dephts⟧ = [3, 4, 6, 3]\n}\n", "TW0002", "dephts", "did you mean 'depths'");

        [Fact]
        public void TW0002_unknown_stage_field() =>
            Expect("arch A : ResNet50 {\n  ⟦c5.mhsaa⟧ = [1, 1, 1]\n}\n", "TW0002", "c5.mhsaa", "c5.mhsa");

        [Fact]
        public void TW0003_unknown_block_kind_lists_the_kinds() =>
            Expect("arch A : ResNet50 {\n  block = ⟦bottle⟧\n}\n", "TW0003", "block kind 'bottle'", "bottleneck, splat, cot, basic, van, rest");

        [Fact]
        public void TW0004_declared_input_channels_do_not_match() =>
            Expect("arch A : ResNet50 {\n  c3.in = ⟦100⟧\n}\n", "TW0004", "c3", "declared 100", "256 flow in from c2.out", "set it to 256");

        [Fact]
        public void TW0004_van_stage_outputs_differ_from_width() =>
            Expect("arch A : VanB0 {\n  outs = [32, 64, ⟦128⟧, 256]\n}\n", "TW0004", "c4 output", "128", "160");

        [Fact]
        public void TW0005_cardinality_does_not_divide_width() =>
            Expect("arch A : ResNet50 {\n  cardinality = ⟦3⟧\n}\n", "TW0005", "c2", "cardinality = 3", "width = 64");

        [Fact]
        public void TW0005_cardinality_times_radix_does_not_divide_width() =>
            Expect("arch A : ResNeSt50 {\n  radix = ⟦3⟧\n}\n", "TW0005", "c2 split attention", "cardinality x radix = 3", "width = 64");

        [Fact]
        public void TW0005_cot_width_must_be_a_multiple_of_8() =>
            Expect("arch A : CotNet50 {\n  widths = [⟦60⟧, 128, 256, 512]\n  outs = [256, 512, 1024, 2048]\n}\n", "TW0005", "c2 CoT layer", "width = 60");

        [Fact]
        public void TW0006_heads_do_not_divide_width() =>
            Expect("arch A : BotNet50 {\n  c5.heads = ⟦5⟧\n}\n", "TW0006", "c5 MHSA", "5 heads", "512", "e.g. 4");

        [Fact]
        public void TW0006_rest_heads_do_not_divide_dim() =>
            Expect("arch A : ResTLite {\n  heads = [1, ⟦3⟧, 4, 8]\n}\n", "TW0006", "c3 EMSA", "3 heads", "128");

        [Fact]
        public void TW0007_mask_length_differs_from_depth() =>
            Expect("arch A : ResNet50 {\n  c5.mhsa = ⟦[0, 1]⟧\n}\n", "TW0007", "c5", "2 entries", "depth 3");

        [Fact]
        public void TW0008_mhsa_needs_a_declared_input() =>
            Expect("arch A {\n  block = bottleneck\n  depths = [1, 1, 1, 1]\n  widths = [8, 16, 32, 64]\n  c5.mhsa = ⟦[1]⟧\n}\n", "TW0008", "c5", "relative-position", "input = 3x224x224");

        [Fact]
        public void TW0009_input_not_divisible_for_bot() =>
            Expect("arch A : BotNet50 {\n  input = ⟦3x200x200⟧\n}\n", "TW0009", "MHSA", "3x200x200", "multiple of 32");

        [Fact]
        public void TW0009_rest_needs_input_divisible_by_32() =>
            Expect("arch A : ResTLite {\n  input = ⟦3x230x230⟧\n}\n", "TW0009", "ResT", "multiple of 32");

        [Fact]
        public void TW0010_invalid_lka_decomposition() =>
            Expect("arch A : VanB0 {\n  lka_kernel = 21\n  lka_dilation = ⟦12⟧\n}\n", "TW0010", "c2", "21x21", "dilation 12", "at most 11");

        [Fact]
        public void TW0010_even_lka_kernel() =>
            Expect("arch A : VanB0 {\n  lka_kernel = ⟦20⟧\n}\n", "TW0010", "odd");

        [Fact]
        public void TW0011_sweep_over_an_unknown_field() =>
            Expect("sweep S : ResNet50 {\n  ⟦c5.mhs⟧ = [0, 0, 1], [0, 1, 1]\n}\n", "TW0011", "Sweep 'S'", "c5.mhs", "did you mean 'c5.mhsa'");

        [Fact]
        public void TW0012_inheritance_cycle() =>
            Expect("arch A : B {\n  classes = 10\n}\narch B : ⟦A⟧ {\n}\n", "TW0012", "A -> B");

        [Fact]
        public void TW0013_duplicate_architecture_name() =>
            Expect("arch A : ResNet50 {\n}\narch ⟦A⟧ : ResNet50 {\n}\n", "TW0013", "'A'", "(1,6)");

        [Fact]
        public void TW0014_an_unknown_name_lists_every_zoo_architecture()
        {
            var d = Expect("arch A : ⟦Nope⟧ {\n}\n", "TW0014", "'Nope'");
            foreach (var name in Zoo.Files.SelectMany(f => f.Archs).Select(a => a.Name))
                Assert.Contains(name, d.Message);
        }

        [Fact]
        public void TW0017_a_depths_override_that_shortens_the_network_points_at_the_override()
        {
            var d = Expect("arch Short : ResNet50 {\n  depths = ⟦[3, 4, 6]⟧\n}\n", "TW0017", "Short: 'widths' has 4 entries", "3 stages",
                "'depths' of Short", "inherited from 'ResNet50'", "override 'widths' in Short with 3 entries");
            Assert.Equal(Path, d.Location.Path);
        }

        [Fact]
        public void Mhsa_every_over_an_inherited_mask_replaces_it()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile(Path, "arch E : BotNet50 {\n  c5.mhsa_every = 3\n}\n") });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            var c5 = result.Architectures.Single(a => a.Name == "E").Ir.Stages[3];
            Assert.Equal(new[] { false, false, true }, c5.Blocks.Select(b => b.Kind == Blocks.BotAttentionDefinition.Instance.Block));
            // And a mask over an inherited interleave.
            var back = ArchCompiler.Compile(new[] { new SourceFile(Path, "arch I : ResNet50 {\n  input = 3x224x224\n  c5.mhsa_every = 1\n}\narch M : I {\n  c5.mhsa = [1, 0, 0]\n}\n") });
            Assert.False(back.HasErrors, string.Join("\n", back.Diagnostics));
            Assert.Equal(new[] { true, false, false }, back.Architectures.Single(a => a.Name == "M").Ir.Stages[3].Blocks.Select(b => b.Kind == Blocks.BotAttentionDefinition.Instance.Block));
        }

        [Fact]
        public void TW0014_unknown_base() =>
            Expect("arch A : ⟦resnet50⟧ {\n}\n", "TW0014", "'resnet50'", "did you mean 'ResNet50'");

        [Fact]
        public void TW0014_import_not_found() =>
            Expect("import ⟦\"missing.arch\"⟧\narch A : ResNet50 {\n}\n", "TW0014", "missing.arch");

        [Fact]
        public void TW0015_wrong_value_type() =>
            Expect("arch A : ResNet50 {\n  depths = ⟦3⟧\n}\n", "TW0015", "depths", "list of integers", "an integer");

        [Fact]
        public void TW0016_value_out_of_range() =>
            Expect("arch A : ResNet50 {\n  depths = [3, 4, ⟦0⟧, 3]\n}\n", "TW0016", "c4", "depth = 0", "1..256");

        [Fact]
        public void TW0017_per_stage_list_has_wrong_length() =>
            Expect("arch A : ResNet50 {\n  widths = ⟦[64, 128, 256]⟧\n}\n", "TW0017", "widths", "3 entries", "4 stages");

        [Fact]
        public void TW0018_families_mixed() =>
            Expect("arch A : ResNet50 {\n  c5.block = ⟦van⟧\n}\n", "TW0018", "c5", "Van", "ResNet");

        [Fact]
        public void TW0019_required_field_missing() =>
            Expect("arch ⟦A⟧ {\n  block = bottleneck\n}\n", "TW0019", "'depths'");

        [Fact]
        public void TW0020_field_set_twice() =>
            Expect("arch A : ResNet50 {\n  classes = 10\n  ⟦classes⟧ = 100\n}\n", "TW0020", "classes", "(2,3)");

        [Fact]
        public void TW0100_mhsa_on_a_large_map_warns_with_memory()
        {
            var d = Expect("arch A : ResNet50 {\n  c3.mhsa = ⟦[1, 0, 0, 0]⟧\n}\n", "TW0100", "c3 block 0", "56x56", "3136 tokens", "MiB");
            Assert.Equal(Severity.Warning, d.Severity);
        }

        [Fact]
        public void TW0101_inherited_field_without_effect_warns() =>
            Expect("arch A : ResNet50 {\n  block = splat\n  ⟦c3.radix⟧ = 4\n}\narch B : A {\n  block = bottleneck\n}\n", "TW0101",
                "c3", "inherited 'c3.radix'", "c3 is built from bottleneck blocks", "read only by splat blocks", "set by the base 'A'");

        [Fact]
        public void TW0016_stem_pool_none_on_the_resnet_stem_says_why_and_the_fix() =>
            Expect("arch A : ResNet50 {\n  stem_pool = ⟦none⟧\n}\n", "TW0016", "A: stem_pool = none is out of range",
                "the resnet stem keeps its max pool (without it the stem would downsample by 2, not 4)", "use stem = deep");

        [Fact]
        public void TW0016_basic_stage_output_other_than_its_width() =>
            Expect("arch A : ResNet18 {\n  c4.out = ⟦1024⟧\n}\n", "TW0016", "c4: out = 1024 is out of range",
                "basic blocks output their width (expansion 1): leave c4.out out or set it to 256, or use block = bottleneck");

        [Fact]
        public void TW0016_basic_blocks_refuse_channel_attention_after_the_spatial_conv() =>
            Expect("arch A : ResNet18 {\n  attention = se\n  attention_at = ⟦spatial⟧\n}\n", "TW0016", "attention_at = spatial",
                "basic blocks take channel attention after bn2 only; use attention_at = out");

        [Fact]
        public void TW0024_stem_pool_and_num_features_where_nothing_reads_them() =>
            Expect("arch A : VanB0 {\n  ⟦stem_pool⟧ = none\n}\n", "TW0024", "'stem_pool' has no effect", "read only by the resnet and deep stems");

        [Fact]
        public void TW0016_num_features_out_of_range() =>
            Expect("arch A : ResNet18 {\n  num_features = ⟦0⟧\n}\n", "TW0016", "A: num_features = 0 is out of range");

        [Fact]
        public void TW0024_field_without_effect_is_an_error_naming_the_field_kind_and_readers() =>
            Expect("arch A : ResNet50 {\n  ⟦c3.radix⟧ = 2\n}\n", "TW0024", "c3", "'c3.radix' has no effect", "c3 is built from bottleneck blocks", "read only by splat blocks", "remove it");

        [Fact]
        public void TW0022_mhsa_block_with_stride_4_is_refused_at_the_stride() =>
            Expect("arch A {\n  input = 3x16x16\n  block = splat\n  stem = none\n  depths = [1, 1]\n  widths = [64, 8]\n  strides = [2, ⟦4⟧]\n  c3.mhsa = [1]\n}\n",
                "TW0022", "c3 block 0 (MHSA)", "stride 1 or 2", "the stage stride is 4");

        [Fact]
        public void TW0022_default_stemless_stride_4_is_refused_at_the_mask() =>
            Expect("arch A {\n  input = 3x32x32\n  block = bottleneck\n  stem = none\n  depths = [1]\n  widths = [8]\n  c2.mhsa = ⟦[1]⟧\n}\n",
                "TW0022", "c2 block 0 (MHSA)", "the stage stride is 4");

        [Fact]
        public void TW0022_is_not_reported_when_block_0_is_a_convolution() =>
            Assert.DoesNotContain(ArchCompiler.Compile(new[] { new SourceFile(Path, "arch A {\n  input = 3x64x64\n  block = bottleneck\n  depths = [2]\n  widths = [8]\n  strides = [4]\n  c2.mhsa = [0, 1]\n}\n") }).Diagnostics,
                d => d.IsError);

        [Fact]
        public void TW0023_rest_spatial_reduction_larger_than_a_1x1_map() =>
            Expect("arch A {\n  input = 3x24x24\n  width = 0.1\n  block = rest\n  depths = [2, 2, 2]\n  widths = [128, 256, 256]\n  strides = [1, 3, 2]\n  heads = [4, 4, 8]\n  sr_ratios = [1, 5, ⟦3⟧]\n}\n",
                "TW0023", "c4: the EMSA spatial reduction (sr_ratio 3) receives a 1x1 map (at input 3x24x24)", "4x4 kernel", "an sr_ratio of 2 or less for c4");

        [Fact]
        public void TW0023_rest_patch_embedding_stride_3_on_a_1x1_map() =>
            Expect("arch A {\n  input = 3x16x16\n  block = rest\n  depths = [1, 1, 1, 1]\n  widths = [8, 8, 8, 8]\n  strides = [1, 2, 2, ⟦3⟧]\n}\n",
                "TW0023", "c5: the patch embedding (stride 3) receives a 1x1 map", "a stride of 2 or less for c5");

        [Fact]
        public void TW0102_width_multiplier_rounding_is_noted()
        {
            var d = Expect("arch A : ResNet50 {\n  width = ⟦0.3⟧\n}\n", "TW0102", "c2", "0.3", "19.2", "rounded to 16");
            Assert.Equal(Severity.Info, d.Severity);
        }

        [Fact]
        public void TW0103_plain_resnet_on_an_odd_input_warns() =>
            Expect("arch A : ResNet50 {\n  input = ⟦3x225x225⟧\n}\n", "TW0103", "3x225x225", "multiple of 32");

        [Fact]
        public void Every_catalogued_id_has_a_test_and_a_help_entry()
        {
            var tested = typeof(DiagnosticTests).GetMethods().Concat(typeof(BadInputTests).GetMethods())
                .Select(m => m.Name).Where(n => n.StartsWith("TW")).Select(n => n.Substring(0, 6)).ToHashSet();
            // Reported by the generator's attribute front end (tests/Generator.Tests) or the CLI's file reader (tests/Cli.Tests).
            var testedElsewhere = new HashSet<string> { "TW0021", "TW0032", "TW0033", "TW0034", "TW0036", "TW0037" };
            var docs = System.IO.File.ReadAllText(System.IO.Path.Combine(RepoRoot(), "docs", "diagnostics.md"));
            foreach (var d in DiagnosticCatalog.All)
            {
                if (!testedElsewhere.Contains(d.Id)) Assert.Contains(d.Id, tested);
                Assert.Contains("## " + d.Id, docs);
            }
        }

        [Fact]
        public void The_zoo_checks_clean()
        {
            var root = RepoRoot();
            var files = System.IO.Directory.GetFiles(System.IO.Path.Combine(root, "architectures"), "*.arch", System.IO.SearchOption.AllDirectories)
                .Select(p => new SourceFile(p, System.IO.File.ReadAllText(p)));
            var result = ArchCompiler.Compile(files);
            Assert.Empty(result.Diagnostics);
            Assert.Equal(34, result.Architectures.Count);
        }

        internal static string RepoRoot()
        {
            var dir = new System.IO.DirectoryInfo(System.AppContext.BaseDirectory);
            while (dir != null && !System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "Generator.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new System.InvalidOperationException("repository root not found");
        }
    }
}
