using System;
using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests
{
    /// <summary>The generated module's <c>Precision</c> option, as a C# user sets it, on a small member of each family:
    /// whole-network logits (random initialisation) within a bf16 tolerance of fp32 (ResNet, BoT and VAN measure below
    /// 2 %), in fp32, with fp32 weights.</summary>
    public class MixedPrecisionModuleTests
    {
        [Theory]
        [InlineData("arch M : ResNet50 {\n  input = 3x64x64\n  width = 0.125\n  depths = [1, 1, 1, 1]\n  classes = 10\n}\n", 0.02)]
        [InlineData("arch M : BotNet50 {\n  input = 3x64x64\n  width = 0.125\n  depths = [1, 1, 1, 3]\n  classes = 10\n}\n", 0.02)]
        [InlineData("arch M : VanB0 {\n  input = 3x64x64\n  depths = [1, 1, 1, 1]\n  classes = 10\n}\n", 0.02)]
        // ResT's logits measure 5.6 %: four stages of attention over few tokens, each softmax fed from bf16 logits.
        [InlineData("arch M : ResTLite {\n  input = 3x64x64\n  depths = [1, 1, 1, 1]\n  classes = 10\n}\n", 0.08)]
        public void The_precision_option_runs_bf16_mixed_with_fp32_weights_and_logits(string source, double tolerance)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("m.arch", source) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            torch.manual_seed(7);
            using var module = ModuleCompiler.Build(result.Architectures.Single());
            module.eval();
            var option = module.GetType().GetProperty("Precision")!;
            Assert.Equal(typeof(Precision?), option.PropertyType);
            Assert.Null(option.GetValue(module));
            using var x = torch.randn(2, 3, 64, 64);
            using var noGrad = torch.no_grad();
            using var fp32 = module.call(x);
            option.SetValue(module, Precision.Bf16Mixed);
            using var mixed = module.call(x);
            Assert.Equal(ScalarType.Float32, mixed.dtype);
            Assert.Equal(Precision.Fp32, MixedPrecision.Current);   // the module's scope ended with its forward
            double error = (mixed - fp32).norm().ToDouble() / fp32.norm().ToDouble();
            Assert.True(error < tolerance && error > 0, $"relative error {error}");
            Assert.All(module.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
            // Set to Fp32, the module ignores a caller's mixed scope.
            option.SetValue(module, Precision.Fp32);
            using (MixedPrecision.Enter(Precision.Bf16Mixed))
            using (var again = module.call(x))
                Assert.Equal(0.0, (again - fp32).abs().max().ToDouble());
        }
    }
}
