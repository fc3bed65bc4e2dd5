using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Dsl.Model;
using Torchwright.Runtime;
using TorchSharp;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>Architectures outside the zoo, built at run time: the module must agree with its compile-time constants.</summary>
    public class ModuleCompilerTests
    {
        [Fact]
        public void Rest_stages_with_strides_other_than_2_build_the_patch_embedding_the_checker_costed()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("s.arch", "arch RestS4 : ResTLite {\n  strides = [1, 4, 2, 1]\n}\n") });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            var arch = result.Architectures.Single();
            using var module = ModuleCompiler.Build(arch);
            Assert.Equal(arch.Costs.Params, module.parameters().Sum(p => p.numel()));
            module.eval();
            using var x = torch.randn(1, 3, 224, 224);
            using var y = module.call(x);
            Assert.Equal(new long[] { 1, 1000 }, y.shape);
            // Stage 4's stride-1 embedding is a 2x2 conv without padding: 7x7 -> 6x6.
            Assert.Equal(6, arch.Costs.StageOutputs[3].H);
        }

        /// <summary>A module part that refuses its arguments at construction: the error names the architecture, the stage
        /// and block, and the cause (never a TargetInvocationException). The checker rejects every such declaration, so
        /// the IR is altered after checking to reach the Runtime's own refusal.</summary>
        [Fact]
        public void A_part_that_cannot_be_constructed_is_a_ModuleBuildException_naming_architecture_stage_block_and_cause()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("s.arch", "arch Bot : ResNet50 {\n  input = 3x64x64\n  width = 0.125\n  depths = [1, 1, 2, 1]\n  c4.mhsa = [0, 1]\n}\n") });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            var arch = result.Architectures.Single();
            var c4 = arch.Ir.Stages[2];
            var broken = c4 with { Blocks = EquatableArray.From(new[] { c4.Blocks[0], c4.Blocks[1] with { Stride = 3 } }) };
            var altered = arch with { Ir = arch.Ir with { Stages = EquatableArray.From(arch.Ir.Stages.Select((s, i) => i == 2 ? broken : s)) } };

            var e = Assert.Throws<ModuleBuildException>(() => ModuleCompiler.Build(altered));
            Assert.Equal("Bot", e.Architecture);
            Assert.Equal("layer3.1 (stage c4, block 1)", e.Part);
            Assert.Equal("MHSA: stride must be 1 or 2 (AvgPool 2x2 after attention), got 3. (Parameter 'stride')", e.Cause);
            Assert.Equal("Bot: its module could not be built at layer3.1 (stage c4, block 1): " + e.Cause, e.Message);
        }
    }
}
