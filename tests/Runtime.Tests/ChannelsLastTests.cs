using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    [Collection(TorchRngCollection.Name)]
    public sealed class ChannelsLastTests
    {
        private static nn.Module<Tensor, Tensor> SmallCnn() => nn.Sequential(
            nn.Conv2d(3, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding: 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding: 1, groups: 16, bias: false), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 8));

        private static nn.Module<Tensor, Tensor> Restrided(nn.Module<Tensor, Tensor> m)
        {
            ChannelsLast.Restride(m);
            return m;
        }

        [Fact]
        public void RestrideKeepsValuesAndMakesEveryConvWeightChannelsLast()
        {
            torch.manual_seed(3);
            using var model = SmallCnn();
            var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
            ChannelsLast.Restride(model);
            var convs = model.modules().OfType<Conv2d>().ToList();
            Assert.Equal(3, convs.Count);
            Assert.All(convs, c => Assert.True(ChannelsLast.Is(c.weight!)));
            Assert.Equal(new long[] { 27, 1, 9, 3 }, convs[0].weight!.stride());   // 8x3x3x3 over NHWC storage
            Assert.Equal(new long[] { 72, 1, 24, 8 }, convs[1].weight!.stride());
            Assert.Equal(new long[] { 9, 9, 3, 1 }, convs[2].weight!.stride());   // depthwise (16x1x3x3): already both layouts, kept
            foreach (var (name, p) in model.named_parameters())
                Assert.True(before[name].allclose(p, rtol: 0, atol: 0), name);
            Assert.Equal(before.Keys, model.named_parameters().Select(p => p.name));   // registered in place, in order
            // A second call changes nothing: the same Parameter objects stay registered.
            var weights = convs.Select(c => c.weight).ToList();
            ChannelsLast.Restride(model);
            Assert.Equal(weights, model.modules().OfType<Conv2d>().Select(c => c.weight));
        }

        [Fact]
        public void GradientsTakeTheWeightsLayoutAndActivationsFollowIt()
        {
            torch.manual_seed(4);
            using var model = Restrided(SmallCnn());
            using var x = torch.randn(4, 3, 16, 16);
            var conv1 = model.modules().OfType<Conv2d>().First();
            using (var y = conv1.call(x)) Assert.True(ChannelsLast.Is(y));   // libtorch's convolution follows the weight
            using var loss = model.call(x).sum();
            loss.backward();
            Assert.All(model.modules().OfType<Conv2d>(), c => Assert.True(ChannelsLast.Is(c.weight!.grad!)));
        }

        /// <summary>The trainer (SGD, momentum, weight decay, evaluation) on channels-last weights computes what it
        /// computes on contiguous ones, up to the float rounding of the convolutions' other summation order, and the
        /// weights are still channels-last at the end (the optimizer's in-place updates keep their strides).</summary>
        [Fact]
        public void ATrainingRunMatchesTheContiguousOneWithinFloatTolerance()
        {
            var data = Datasets.Open("shapes:16:n=128:test=32");
            var settings = TrainSettings.Default with { Steps = 6, Batch = 16, LearningRate = 0.05, Seed = 5, Warmup = 0 };
            var run = new TrainRun { Threads = 1, LossCurveEvery = 1 };
            using var contiguous = Trainer.CreateModel(SmallCnn, settings);
            using var channelsLast = Trainer.CreateModel(() => Restrided(SmallCnn()), settings);
            var a = Trainer.Train(contiguous, data, settings, run);
            var b = Trainer.Train(channelsLast, data, settings, run);
            Assert.Equal(6, a.LossCurve.Count);
            for (int i = 0; i < a.LossCurve.Count; i++)
                Assert.True(System.Math.Abs(a.LossCurve[i].Loss - b.LossCurve[i].Loss) <= 1e-5 * System.Math.Abs(a.LossCurve[i].Loss),
                    $"step {i + 1}: {a.LossCurve[i].Loss} vs {b.LossCurve[i].Loss}");
            Assert.Equal(a.EvalAccuracy, b.EvalAccuracy);
            var pa = contiguous.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in channelsLast.named_parameters())
            {
                var scale = pa[name].abs().max().item<float>();
                var diff = (pa[name] - p).abs().max().item<float>();
                // rtol 1e-5 and atol 1e-7: a norm's bias of 2e-3 moves by 2e-8 under the other summation order.
                Assert.True(diff <= 1e-5 * scale + 1e-7, $"{name}: max |difference| {diff} over max |weight| {scale}");
            }
            Assert.All(channelsLast.modules().OfType<Conv2d>(), c => Assert.True(ChannelsLast.Is(c.weight!)));
            Assert.All(contiguous.modules().OfType<Conv2d>(), c => Assert.True(c.weight!.is_contiguous()));
        }
    }
}
