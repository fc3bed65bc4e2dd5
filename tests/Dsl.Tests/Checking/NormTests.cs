using System.Linq;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>norm = batch | frozen_batch | group and norm_groups: counts, the summary, and the located errors.</summary>
    public class NormTests
    {
        private static CheckedArchitecture Compile(string text, string name = "A")
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("n.arch", text) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            return result.Architectures.Single(a => a.Name == name);
        }

        /// <summary>torchvision: resnet50(norm_layer=FrozenBatchNorm2d) has 25,503,912 parameters (its 53,120 norm
        /// weights and biases are buffers); with GroupNorm(32, c) 25,557,032, as with BatchNorm. MACs do not change.</summary>
        [Theory]
        [InlineData("batch", 25_557_032L)]
        [InlineData("frozen_batch", 25_503_912L)]
        [InlineData("group", 25_557_032L)]
        public void ResNet50_counts_follow_torchvision(string norm, long parameters)
        {
            var a = Compile($"arch A : ResNet50 {{\n  norm = {norm}\n}}\n");
            var plain = Compile("arch A : ResNet50 {\n}\n");
            Assert.Equal(parameters, a.Costs.Params);
            Assert.Equal(plain.Costs.Macs, a.Costs.Macs);
        }

        [Fact]
        public void The_summary_names_the_stem_norm_and_the_blocks_carry_it()
        {
            var a = Compile("arch A : ResNet50 {\n  norm = group\n  norm_groups = 16\n}\n");
            Assert.Equal("GroupNorm", a.Costs.Layers.Single(l => l.Path == "bn1").Kind);
            Assert.All(a.Ir.Stages.SelectMany(s => s.Blocks), b => Assert.Equal(new Model.NormIR("group", 16), b.Options.Norm));
            var f = Compile("arch A : ResNet50 {\n  norm = frozen_batch\n}\n");
            var bn1 = f.Costs.Layers.Single(l => l.Path == "bn1");
            Assert.Equal(("FrozenBatchNorm2d", 0L), (bn1.Kind, bn1.Params));
            Assert.Null(Compile("arch A : ResNet50 {\n}\n").Ir.Stem.Norm);
        }

        [Fact]
        public void Generated_code_builds_each_norm_through_the_runtime()
        {
            var a = Compile("arch A : ResNet50 {\n  stem = deep\n  norm = group\n  norm_groups = 16\n}\n");
            var code = Emit.CSharpEmitter.EmitArchitecture(a, "A", new Emit.EmitOptions("N"));
            Assert.Contains("TorchwrightBlocks.Norms.Create(TorchwrightBlocks.NormKind.Group, 32, 16)", code);
            Assert.Contains("Norm: TorchwrightBlocks.NormKind.Group, NormGroups: 16", code);
            Assert.DoesNotContain("BatchNorm2d", code);
        }

        [Fact]
        public void TW0005_groups_that_do_not_divide_a_block_width_name_the_layer() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  stem_width = 96\n  norm = group\n  norm_groups = ⟦48⟧\n}\n", "TW0005",
                "c2 bn1 (GroupNorm)", "norm_groups = 48", "its width = 64");

        [Fact]
        public void A_group_count_error_is_reported_once()
        {
            var all = ArchCompiler.Compile(new[] { new SourceFile("test.arch", "arch A : ResNet50 {\n  stem_width = 96\n  norm = group\n  norm_groups = 48\n}\n") }).Diagnostics;
            Assert.Equal("TW0005", Assert.Single(all).Id);
        }

        [Fact]
        public void TW0005_default_groups_that_do_not_divide_the_stem_are_reported_at_norm() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  stem_width = 48\n  norm = ⟦group⟧\n}\n", "TW0005",
                "A stem bn1 (GroupNorm)", "norm_groups = 32", "its width = 48");

        [Fact]
        public void TW0024_norm_groups_without_group_norm()
        {
            var d = DiagnosticTests.Expect("arch A : ResNet50 {\n  norm = frozen_batch\n  ⟦norm_groups⟧ = 16\n}\n", "TW0024",
                "'norm_groups' has no effect", "norm = frozen_batch has no groups");
            var all = ArchCompiler.Compile(new[] { new SourceFile("test.arch", "arch A : ResNet50 {\n  norm = frozen_batch\n  norm_groups = 16\n}\n") }).Diagnostics;
            Assert.Single(all); // read by the stem and every stage, reported once
        }

        [Fact]
        public void TW0024_norm_on_a_family_without_it() =>
            DiagnosticTests.Expect("arch A : VanB0 {\n  ⟦norm⟧ = group\n}\n", "TW0024", "'norm' has no effect");
    }
}
