using System.Linq;
using Torchwright.Dsl.Model;
using Xunit;
using static Torchwright.Dsl.Tests.Checking.DiagnosticTests;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>Issue 24: messages that said the wrong thing or too little, and the dilation rule they describe.</summary>
    public class LooseEndsDiagnosticTests
    {
        /// <summary>The one diagnostic-free architecture named A of the text.</summary>
        private static Model.ArchitectureIR Built(string text)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("test.arch", text) });
            Assert.True(!result.HasErrors, string.Join("\n", result.Diagnostics));
            return result.Architectures.Single(a => a.Name == "A").Ir;
        }

        private static long[][] Dilations(Model.ArchitectureIR ir) =>
            ir.Stages.Select(s => s.Blocks.Select(b => b.Options.Dilation).ToArray()).ToArray();

        /// <summary>
        /// torchvision's previous_dilation: a stage's first block keeps the dilation the previous stage ended with, its
        /// later blocks take the stage's own. So c3.dilation acts on c4's first block even when c3 has one block.
        /// </summary>
        [Fact]
        public void A_single_block_stage_dilation_acts_on_the_next_stage_first_block()
        {
            var ir = Built("arch A : ResNet50 {\n  depths = [1, 1, 2]\n  widths = [8, 16, 32]\n  outs = [32, 64, 128]\n  strides = [1, 2, 1]\n  c3.dilation = 2\n}\n");
            Assert.Equal(new[] { new long[] { 1 }, new long[] { 1 }, new long[] { 2, 1 } }, Dilations(ir));
        }

        [Fact]
        public void A_multi_block_stage_dilation_acts_on_its_later_blocks_and_the_next_stage_first()
        {
            var ir = Built("arch A : ResNet50 {\n  depths = [1, 3, 2]\n  widths = [8, 16, 32]\n  outs = [32, 64, 128]\n  strides = [1, 2, 1]\n  c3.dilation = 2\n  c4.dilation = 4\n}\n");
            Assert.Equal(new[] { new long[] { 1 }, new long[] { 1, 2, 2 }, new long[] { 2, 4 } }, Dilations(ir));
        }

        /// <summary>It said "c5 is built from bottleneck blocks, and 'dilation' is read only by bottleneck and splat blocks".</summary>
        [Fact]
        public void A_dilation_with_nothing_to_act_on_says_why_by_the_rule()
        {
            Expect("arch A : ResNet50 {\n  depths = [1, 1, 1]\n  widths = [8, 16, 32]\n  outs = [32, 64, 128]\n  strides = [1, 2, 1]\n  ⟦c4.dilation⟧ = 2\n}\n", "TW0024",
                "c4: 'c4.dilation' has no effect: c4 has a single block and is the last stage, and a stage's dilation acts on the 3x3 convs "
                + "of its blocks after the first and of the next stage's first block (torchvision's previous_dilation); remove it");
            Expect("arch A : ResNet50 {\n  depths = [1, 1, 2]\n  widths = [8, 16, 32]\n  outs = [32, 64, 128]\n  strides = [1, 2, 1]\n  c4.mhsa = [1, 0]\n  ⟦c3.dilation⟧ = 2\n}\n", "TW0024",
                "c3: 'c3.dilation' has no effect: c3 has a single block and c4's first block is an MHSA block, and a stage's dilation acts on");
        }

        /// <summary>A ResNeSt or timm user's stem_width = 64 on a deep stem is stem_widths = [64, 64, 128] here.</summary>
        [Theory]
        [InlineData(64, "[64, 64, 128]", "[48, 64, 128]")]
        [InlineData(32, "[32, 32, 64]", "[24, 32, 64]")]
        public void Stem_width_on_a_deep_stem_names_the_exact_stem_widths(int w, string deep, string tiered)
        {
            Expect($"arch A : ResNet50 {{\n  stem = deep\n  ⟦stem_width⟧ = {w}\n}}\n", "TW0024",
                $"A: 'stem_width' has no effect: the deep stem takes stem_widths, its three convs' outputs, and timm's and ResNeSt's stem_width = {w} "
                + $"is stem_widths = {deep} here (timm's deep_tiered stem: {tiered}); remove it");
        }

        [Theory]
        [InlineData("dilation", "c5.dilation")]
        [InlineData("mhsa", "c5.mhsa")]
        public void An_arch_level_per_stage_field_names_the_per_stage_form(string field, string example)
        {
            Expect($"arch A : ResNet50 {{\n  ⟦{field}⟧ = 2\n}}\n", "TW0002",
                $"Unknown field '{field}' in A; '{field}' is set per stage: write it cN.{field} (e.g. {example})");
        }
    }
}
