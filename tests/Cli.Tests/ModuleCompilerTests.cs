using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
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
    }
}
