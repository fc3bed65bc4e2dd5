using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// The family's training layout (<c>FamilyDefinition.TrainChannelsLast</c>), as train, sweep and bench build the
    /// module (<see cref="ModuleCompiler.BuildForTraining"/>): two SGD steps with momentum of the module in that layout
    /// equal the contiguous module's within 1e-9 relative, on one architecture of each family (one block per stage, 64 px).
    /// In float64, because BatchNorm over a batch of 2 at 2x2 pixels amplifies the rounding of the other summation order
    /// beyond any float32 tolerance (at 32 px, one pixel, even float64's reaches 5e-6 in CotNet50's attention embedding).
    /// ChannelsLastTests checks float32 training on a small network.
    /// </summary>
    public class TrainingLayoutTests
    {
        [Theory]
        [InlineData("ResNet50")]
        [InlineData("CotNet50")]
        [InlineData("VanB0")]
        [InlineData("ResTLite")]
        public void A_training_step_in_the_familys_layout_equals_the_contiguous_one(string name)
        {
            var small = ArchCompiler.Compile(new[] { new SourceFile("small.arch", $"arch {name}Small : {name} {{\n  input = 3x64x64\n  classes = 10\n  depths = [1, 1, 1, 1]\n}}\n") });
            Assert.False(small.HasErrors, string.Join("; ", small.Diagnostics));
            var arch = small.Architectures.Single(a => a.Name == name + "Small");
            torch.manual_seed(1);
            using var contiguous = ModuleCompiler.Build(arch);
            using var trained = ModuleCompiler.BuildForTraining(arch);
            contiguous.to(ScalarType.Float64);
            trained.to(ScalarType.Float64);
            trained.load_state_dict(contiguous.state_dict());
            var convs = trained.modules().OfType<Conv2d>().ToList();
            Assert.NotEmpty(convs);
            Assert.All(convs, c => Assert.True(arch.Ir.TrainChannelsLast ? ChannelsLast.Is(c.weight!) : c.weight!.is_contiguous()));

            torch.manual_seed(2);
            using var x = torch.randn(2, 3, 64, 64, ScalarType.Float64);
            using var y = torch.tensor(new long[] { 3, 7 });
            foreach (var m in new[] { contiguous, trained })
            {
                m.train();
                using var opt = optim.SGD(m.parameters(), BenchWorkload.LearningRate, BenchWorkload.Momentum);
                for (int step = 0; step < 2; step++)
                {
                    using var scope = torch.NewDisposeScope();
                    foreach (var p in m.parameters()) p.grad = null;
                    nn.functional.cross_entropy(m.call(x), y).backward();
                    opt.step();
                }
            }
            var expected = contiguous.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (pname, p) in trained.named_parameters())
            {
                double scale = expected[pname].abs().max().item<double>();
                double diff = (expected[pname] - p).abs().max().item<double>();
                Assert.True(diff <= 1e-9 * scale + 1e-12, $"{name} {pname}: max |difference| {diff} over max |weight| {scale}");
            }
            // The steps kept the layout (in-place updates of the re-strided weights).
            Assert.All(convs, c => Assert.True(arch.Ir.TrainChannelsLast ? ChannelsLast.Is(c.weight!) : c.weight!.is_contiguous()));
        }
    }
}
