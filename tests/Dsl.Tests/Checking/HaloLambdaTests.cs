using System.Linq;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Xunit;
using static Torchwright.Dsl.Tests.Checking.DiagnosticTests;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>self_attn = halo | lambda: their fields, defaults, the compile-time checks of what timm asserts at run time, and emission.</summary>
    public class HaloLambdaTests
    {
        private static CompilationResult Compile(string text) => ArchCompiler.Compile(new[] { new SourceFile("t.arch", text) });

        // The BoTNet-26 layout (timm's halonet26t / lambda_resnet26t without the tiered stem).
        private const string R26 = "  block = bottleneck\n  depths = [2, 2, 2, 2]\n  widths = [64, 128, 256, 512]\n";

        [Fact]
        public void Halo_defaults_are_timms_and_the_kind_decides_the_heads()
        {
            var r = Compile("arch H {\n  input = 3x256x256\n" + R26 + "  self_attn = halo\n  c4.mhsa = [0, 1]\n  c5.mhsa = [1, 1]\n}\n");
            Assert.False(r.HasErrors, string.Join("\n", r.Diagnostics));
            var blocks = r.Architectures.Single().Ir.Stages[3].Blocks;
            Assert.Equal(new[] { "HaloBottleneck", "HaloBottleneck" }, blocks.Select(b => b.Kind.KindName));
            // 8 heads, make_divisible(512, 8) / 8 = 64 per q/k head, block 8, halo 3, no bias.
            Assert.Equal(new HaloSettings(8, 64, 8, 3, false), blocks[0].Settings);
            Assert.Equal(1, ((HaloSettings)blocks[0].Settings).QueryStride(1));
            Assert.Equal(2, ((HaloSettings)blocks[0].Settings).QueryStride(2));
        }

        [Fact]
        public void Halo_qk_ratio_sizes_the_heads_like_timms_make_divisible()
        {
            var r = Compile("arch H {\n  input = 3x256x256\n" + R26 + "  self_attn = halo\n  qk_ratio = 0.3\n  c5.heads = 4\n  c5.mhsa = [0, 1]\n}\n");
            Assert.False(r.HasErrors, string.Join("\n", r.Diagnostics));
            // make_divisible(512 x 0.3 = 153.6, 8) = 152; / 4 heads = 38.
            Assert.Equal(38, ((HaloSettings)r.Architectures.Single().Ir.Stages[3].Blocks[1].Settings).QkHeadDim);
            Assert.Equal(152, HaloAttentionDefinition.MakeDivisible(153.6, 8));
            Assert.Equal(16, HaloAttentionDefinition.MakeDivisible(13, 8)); // 8 would lose more than 10 %
        }

        [Fact]
        public void Lambda_defaults_are_timms()
        {
            var r = Compile("arch L {\n" + R26 + "  self_attn = lambda\n  c5.mhsa = [1, 1]\n}\n");
            Assert.False(r.HasErrors, string.Join("\n", r.Diagnostics)); // r = 9 fixes no size: no input needed
            var b = r.Architectures.Single().Ir.Stages[3].Blocks[0];
            Assert.Equal("LambdaBottleneck", b.Kind.KindName);
            Assert.Equal(new LambdaSettings(4, 16, 9, false), b.Settings);
            Assert.False(b.Kind.FixesMapSize);
        }

        [Fact]
        public void Lambda_r_none_unsets_an_inherited_r_and_fixes_the_map()
        {
            var r = Compile("arch L {\n  input = 3x256x256\n" + R26 + "  self_attn = lambda\n  lambda_r = 13\n  c5.mhsa = [1, 1]\n}\narch P : L {\n  lambda_r = none\n}\n");
            Assert.False(r.HasErrors, string.Join("\n", r.Diagnostics));
            var l = r.Architectures.Single(a => a.Name == "L").Ir.Stages[3].Blocks[0];
            var p = r.Architectures.Single(a => a.Name == "P").Ir.Stages[3].Blocks[0];
            Assert.Equal(13L, ((LambdaSettings)l.Settings).R);
            Assert.Null(((LambdaSettings)p.Settings).R);
            Assert.True(p.Kind.FixesMapSize);
            Assert.Same(LambdaAttentionDefinition.Instance, ((SelfAttnBlockKind)p.Kind).Slot);
        }

        [Fact]
        public void A_halo_map_the_block_size_does_not_divide_is_TW0009_with_a_block_size_and_an_input_that_work() =>
            Expect("arch H {\n  input = 3x224x224\n" + R26 + "  self_attn = halo\n  halo_block = ⟦8⟧\n  c4.mhsa = [0, 1]\n}\n", "TW0009",
                "c4 block 1 (halo)", "input 3x224x224", "a 14x14 map, which halo_block = 8 does not divide (halo_block = 7 would)", "a multiple of 128");

        [Fact]
        public void Without_halo_block_the_map_check_marks_the_placement() =>
            Expect("arch H {\n  input = 3x224x224\n" + R26 + "  self_attn = halo\n  c4.mhsa = ⟦[0, 1]⟧\n}\n", "TW0009", "14x14 map, which halo_block = 8");

        [Fact]
        public void A_lambda_without_r_needs_the_input_TW0008() =>
            Expect("arch L {\n" + R26 + "  self_attn = lambda\n  lambda_r = ⟦none⟧\n  c5.mhsa = [1, 1]\n}\n", "TW0008",
                "c5", "relative-position table (lambda_r = none)", "add 'input = 3x224x224'");

        [Fact]
        public void Halo_heads_must_divide_the_width_TW0006() =>
            Expect("arch H {\n  input = 3x256x256\n" + R26 + "  self_attn = halo\n  c5.heads = ⟦6⟧\n  c5.mhsa = [1, 1]\n}\n", "TW0006",
                "c5 halo attention", "6 heads do not divide attention width 512", "e.g. 4");

        [Fact]
        public void Lambda_heads_must_divide_the_width_TW0006() =>
            Expect("arch L {\n" + R26 + "  self_attn = lambda\n  c4.heads = ⟦3⟧\n  c4.mhsa = [0, 1]\n}\n", "TW0006", "c4 lambda layer", "3 heads do not divide attention width 256");

        [Fact]
        public void An_even_lambda_r_is_TW0016() =>
            Expect("arch L {\n" + R26 + "  self_attn = lambda\n  c5.lambda_r = ⟦8⟧\n  c5.mhsa = [1, 1]\n}\n", "TW0016", "c5", "lambda_r = 8", "odd");

        [Fact]
        public void A_word_other_than_none_for_lambda_r_is_TW0015() =>
            Expect("arch L {\n" + R26 + "  self_attn = lambda\n  lambda_r = ⟦off⟧\n  c5.mhsa = [1, 1]\n}\n", "TW0015", "an integer or none");

        [Fact]
        public void Qk_ratio_beside_qk_head_dim_has_no_effect_TW0024() =>
            Expect("arch H {\n  input = 3x256x256\n" + R26 + "  self_attn = halo\n  qk_head_dim = 16\n  ⟦qk_ratio⟧ = 0.5\n  c5.mhsa = [1, 1]\n}\n", "TW0024", "'qk_ratio' has no effect");

        [Fact]
        public void Halo_fields_on_a_lambda_stage_have_no_effect_TW0024() =>
            Expect("arch L {\n" + R26 + "  self_attn = lambda\n  ⟦halo_size⟧ = 2\n  c5.mhsa = [1, 1]\n}\n", "TW0024", "'halo_size' has no effect");

        [Fact]
        public void A_halo_block_with_stride_4_is_TW0016()
        {
            var d = Expect("arch H {\n  input = 3x256x256\n" + R26 + "  strides = [1, 2, 2, ⟦4⟧]\n  self_attn = halo\n  c5.mhsa = [1, 1]\n}\n", "TW0016", "stride of a halo attention block = 4");
            Assert.True(d.IsError);
        }

        [Fact]
        public void Halo_and_lambda_emit_their_slot_modules_with_named_arguments()
        {
            var r = ArchCompiler.Compile(System.IO.Directory.GetFiles(System.IO.Path.Combine(RepoRoot(), "architectures"), "*.arch")
                .Select(p => new SourceFile(p, System.IO.File.ReadAllText(p))));
            string Code(string name) => Torchwright.Dsl.Emit.CSharpEmitter.EmitArchitecture(r.Architectures.Single(a => a.Name == name), name, new Torchwright.Dsl.Emit.EmitOptions("Zoo"));
            Assert.Contains("new TorchwrightBlocks.HaloAttention2d(name: \"mhsa\", dim: 512, stride: 2, heads: 8, haloSize: 2)", Code("HaloNet26t"));
            Assert.Contains("new TorchwrightBlocks.HaloAttention2d(name: \"mhsa\", dim: 128, heads: 4)", Code("HaloNet50ts"));
            Assert.Contains("new TorchwrightBlocks.LambdaLayer2d(name: \"mhsa\", dim: 512, stride: 2, heads: 4)", Code("LambdaResNet26t"));
            Assert.Contains("new TorchwrightBlocks.LambdaLayer2d(name: \"mhsa\", dim: 512, featSize: (16, 16), stride: 2, heads: 4, r: null)", Code("LambdaResNet26rpt256"));
        }
    }
}
