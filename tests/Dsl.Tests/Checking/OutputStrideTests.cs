using System.Linq;
using Xunit;
using static Torchwright.Dsl.Tests.Checking.DiagnosticTests;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>
    /// output_stride = 8 | 16 | 32 (timm's create_byob_stages, torchvision's replace_stride_with_dilation): the derived
    /// strides and dilations, the references' exact counts, FeatureInfo's strides and the located errors.
    /// </summary>
    public class OutputStrideTests
    {
        private static CheckedArchitecture Check(string text)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("f.arch", text) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            return result.Architectures.Single(a => a.Name == "A");
        }

        private static long[] Strides(CheckedArchitecture a) => a.Ir.Stages.Select(s => s.Stride).ToArray();

        private static long[][] Dilations(CheckedArchitecture a) => a.Ir.Stages.Select(s => s.Blocks.Select(b => b.Options.Dilation).ToArray()).ToArray();

        /// <summary>torchvision resnet50(replace_stride_with_dilation=[False, False, True]) and [False, True, True] at 224:
        /// the same 25,557,032 parameters, and the MACs reference_byobnet.py counts on them by hooks (conv + linear).</summary>
        [Theory]
        [InlineData(16, 6_208_618_496L)]
        [InlineData(8, 19_079_364_608L)]
        public void ResNet50_counts_equal_torchvision_s_dilated_resnet50(int outputStride, long macs)
        {
            var a = Check($"arch A : ResNet50 {{\n  output_stride = {outputStride}\n}}\n");
            Assert.Equal((25_557_032L, macs), (a.Costs.Params, a.Costs.Macs));
        }

        /// <summary>torchvision's layers: the dilated layer's first block keeps the previous dilation (previous_dilation),
        /// as timm's first_dilation (1 for dilation 2, 2 for dilation 4).</summary>
        [Fact]
        public void Strides_and_dilations_are_torchvision_s()
        {
            var os16 = Check("arch A : ResNet50 {\n  output_stride = 16\n}\n");
            Assert.Equal(new long[] { 1, 2, 2, 1 }, Strides(os16));
            Assert.Equal(new[] { new long[] { 1, 1, 1 }, new long[] { 1, 1, 1, 1 }, Enumerable.Repeat(1L, 6).ToArray(), new long[] { 1, 2, 2 } }, Dilations(os16));
            var os8 = Check("arch A : ResNet50 {\n  output_stride = 8\n}\n");
            Assert.Equal(new long[] { 1, 2, 1, 1 }, Strides(os8));
            Assert.Equal(new[] { new long[] { 1, 1, 1 }, new long[] { 1, 1, 1, 1 }, new long[] { 1, 2, 2, 2, 2, 2 }, new long[] { 2, 4, 4 } }, Dilations(os8));
            // The default, said: the classifier's layout unchanged.
            var os32 = Check("arch A : ResNet50 {\n  output_stride = 32\n}\n");
            Assert.Equal(new long[] { 1, 2, 2, 2 }, Strides(os32));
            Assert.Equal(4_089_184_256L, os32.Costs.Macs);
        }

        [Fact]
        public void Feature_info_strides_follow()
        {
            var os16 = Check("arch A : ResNet50 {\n  classes = 0\n  out_indices = [1, 2, 3, 4]\n  output_stride = 16\n}\n");
            Assert.Equal(new[] { ("layer1", "c2", 256L, 4L), ("layer2", "c3", 512L, 8L), ("layer3", "c4", 1024L, 16L), ("layer4", "c5", 2048L, 16L) }, os16.FeatureLevels);
            var os8 = Check("arch A : ResNet50 {\n  classes = 0\n  out_indices = [2, 4]\n  output_stride = 8\n}\n");
            Assert.Equal(new[] { ("layer2", "c3", 512L, 8L), ("layer4", "c5", 2048L, 8L) }, os8.FeatureLevels);
            Assert.Contains("new(\"layer4\", 2048L, 8L)", Dsl.Emit.CSharpEmitter.EmitArchitecture(os8, "A", new Dsl.Emit.EmitOptions("N")));
        }

        /// <summary>
        /// timm's botnet50ts (bottleneck and BoT blocks interleaved in c4 and c5) at 128 with output_stride 16 and 8:
        /// reference_byobnet.py's exact counts (botnet50ts_os16_128, botnet50ts_os8_128). The BoT blocks get no dilation and
        /// run at stride 1 on the larger map, so their relative-position tables grow with it.
        /// </summary>
        [Theory]
        [InlineData(16, 22_734_496L, 1_927_036_928L, 31_752_192L)]
        [InlineData(8, 22_744_736L, 5_776_392_192L, 206_897_152L)]
        public void BotNet50ts_counts_equal_the_byobnet_reference(int outputStride, long parameters, long macs, long attentionMacs)
        {
            var a = Check($"arch A : BotNet50ts256 {{\n  input = 3x128x128\n  output_stride = {outputStride}\n}}\n");
            Assert.Equal((parameters, macs, attentionMacs), (a.Costs.Params, a.Costs.Macs, a.Costs.AttentionMacs));
            var c5 = a.Ir.Stages[3].Blocks;
            Assert.Equal(outputStride == 16 ? new long[] { 1, 1, 2 } : new long[] { 2, 1, 4 }, c5.Select(b => b.Options.Dilation).ToArray());
            Assert.Equal(1, a.Ir.Stages[3].Stride);
        }

        /// <summary>BoTNet-50 (all of c5 MHSA) at output stride 16: c5's first MHSA runs at stride 1 (no pool), and the
        /// tables of its two later blocks grow from 7x7 to 14x14: 2 x ((2x14-1) - (2x7-1)) x 2 x 128 = 7,168 parameters.</summary>
        [Fact]
        public void BoTNet50_attention_runs_unstrided_on_the_larger_map()
        {
            var full = Check("arch A : BotNet50 {\n}\n");
            var a = Check("arch A : BotNet50 {\n  output_stride = 16\n}\n");
            Assert.Equal(full.Costs.Params + 7_168, a.Costs.Params);
            Assert.All(a.Ir.Stages[3].Blocks, b => Assert.Equal(1L, b.Options.Dilation));
            Assert.Equal("2048x14x14", a.Costs.StageOutputs[3].ToString());
        }

        [Fact]
        public void Only_8_16_and_32_are_output_strides()
        {
            Expect("arch A : ResNet50 {\n  output_stride = ⟦12⟧\n}\n", "TW0016", "A: output_stride = 12 is out of range: use 8, 16 or 32");
        }

        [Fact]
        public void An_explicit_stride_or_dilation_on_a_stage_it_changes_conflicts()
        {
            Expect("arch A : ResNet50 {\n  output_stride = 16\n  ⟦c5.stride⟧ = 2\n}\n", "TW0024",
                "c5: 'c5.stride' has no effect: output_stride = 16 runs c5 at stride 1 and dilates it by 2 instead (the network's stride is already 16), "
                + "and output_stride derives c5's stride and dilation (remove output_stride to set them yourself); remove it");
            Expect("arch A : ResNet50 {\n  output_stride = 8\n  ⟦c5.dilation⟧ = 4\n}\n", "TW0024",
                "c5: 'c5.dilation' has no effect: output_stride = 8 dilates c5 by 4, and output_stride derives c5's stride and dilation");
        }

        /// <summary>A stage it does not change keeps its own settings.</summary>
        [Fact]
        public void A_stage_before_the_output_stride_keeps_its_own_stride()
        {
            var a = Check("arch A : ResNet50 {\n  output_stride = 16\n  c3.stride = 2\n}\n");
            Assert.Equal(new long[] { 1, 2, 2, 1 }, Strides(a));
        }

        [Fact]
        public void Cot_blocks_have_no_dilated_form()
        {
            Expect("arch A : CotNet50 {\n  output_stride = ⟦16⟧\n}\n", "TW0016",
                "c5: output_stride = 16 is out of range: it dilates c5 by 2 and cot blocks have no dilated form; use a larger output_stride, or bottleneck, splat or basic blocks in c5");
        }

        [Fact]
        public void A_stride_that_jumps_past_it_is_located_with_the_fix()
        {
            Expect("arch A : ResNet50 {\n  strides = [1, 4, 2, 1]\n  output_stride = ⟦8⟧\n}\n", "TW0016",
                "A: output_stride = 8 is out of range: c3's stride 4 takes the network's stride from 4 to 16, past 8; use output_stride 16, or a stride that reaches 8 exactly");
        }

        [Fact]
        public void Above_the_network_s_stride_it_has_no_effect()
        {
            Expect("arch A : ResNet50 {\n  depths = [3, 4, 6]\n  widths = [64, 128, 256]\n  outs = [256, 512, 1024]\n  strides = [1, 2, 2]\n  ⟦output_stride⟧ = 32\n}\n", "TW0024",
                "A: 'output_stride' has no effect: the network reduces its input by 16 in all, less than 32, and output_stride only turns the strides past it into dilation");
        }

        /// <summary>VAN and ResT do not read it: the catalog's rule for a field the family does not read.</summary>
        [Theory]
        [InlineData("VanB0")]
        [InlineData("ResTLite")]
        public void Van_and_rest_do_not_read_it(string baseName)
        {
            Expect($"arch A : {baseName} {{\n  ⟦output_stride⟧ = 16\n}}\n", "TW0024", "'output_stride' is read only by ResNet-family networks");
        }
    }
}
