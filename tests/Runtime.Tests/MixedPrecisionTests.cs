using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>bf16-mixed (<see cref="MixedPrecision"/>): agreement with fp32 on every block of the zoo, where each
    /// operation runs, fp32 master weights, training, and the fp16 loss scaler's CPU logic.</summary>
    [Collection(TorchRngCollection.Name)]
    public sealed class MixedPrecisionTests
    {
        /// <summary>
        /// bf16 keeps 8 significant bits (unit roundoff 2^-9 ≈ 0.2 %). A block rounds its input, weights and each
        /// convolution's output, so its output may be off by several roundoffs; 3 % relative L2 (about 15 roundoffs)
        /// bounds every zoo block with margin (they measure 0.02–1.2 %, Halo with qk_ratio 0.5 the most), while a wrong cast, layout or dropped term gives
        /// errors of order 100 %.
        /// </summary>
        private const double Tolerance = 0.03;

        public static TheoryData<string> Blocks()
        {
            var data = new TheoryData<string>();
            foreach (var c in AllCases) data.Add(c.Name);
            return data;
        }

        private static IEnumerable<BlockCase> AllCases =>
            BlockCases.All.Concat(AttentionSlotParityTests.Cases.Select(c => c.Case))
                .Where(c => !c.Kind.Contains("Norm", StringComparison.Ordinal))   // the norm cases have no convolution
                .GroupBy(c => c.Name).Select(g => g.First());

        [Theory, MemberData(nameof(Blocks))]
        public void Bf16MixedAgreesWithFp32WithinBf16Tolerance(string name)
        {
            var c = AllCases.Single(x => x.Name == name);
            torch.manual_seed(3);
            using var block = c.Build();
            c.Init(block);
            block.eval();
            using var input = torch.randn(c.InputShape);
            using var noGrad = torch.no_grad();
            using var expected = block.call(input);
            Tensor actual;
            using (MixedPrecision.Enter(Precision.Bf16Mixed)) actual = block.call(input);
            using (actual)
            {
                Assert.Equal(expected.shape, actual.shape);
                using var asFloat = actual.to(ScalarType.Float32);
                double error = (asFloat - expected).norm().ToDouble() / expected.norm().ToDouble();
                Assert.True(error <= Tolerance, $"{name}: relative L2 error {error:0.0000} > {Tolerance}");
                // The mixed path did run in bf16: the outputs are not bit-identical to fp32.
                Assert.True((asFloat - expected).abs().max().ToDouble() > 0, $"{name}: bit-identical to fp32: the block did not run in bf16");
            }
        }

        /// <summary>Every convolution and linear of every block runs through the policy (none is called as a module, which
        /// would run it in fp32), and every normalisation layer gets its input in fp32.</summary>
        [Theory, MemberData(nameof(Blocks))]
        public void ConvolutionsRunInBf16AndNormsInFp32(string name)
        {
            var c = AllCases.Single(x => x.Name == name);
            torch.manual_seed(3);
            using var block = c.Build();
            c.Init(block);
            block.train();
            var calledAsModule = new List<string>();
            var normInputs = new List<(string Name, ScalarType Type)>();
            foreach (var (path, m) in block.named_modules())
            {
                if (m is not nn.Module<Tensor, Tensor> layer) continue;
                if (m is Convolution or Linear)
                    layer.register_forward_pre_hook((_, x) => { calledAsModule.Add(path); return x; });
                else if (m is NormBase or GroupNorm or LayerNorm or FrozenBatchNorm2d)
                    layer.register_forward_pre_hook((_, x) => { normInputs.Add((path, x.dtype)); return x; });
            }
            using var input = torch.randn(c.InputShape);
            using (MixedPrecision.Enter(Precision.Bf16Mixed))
            using (var output = block.call(input))
            {
                Assert.Empty(calledAsModule);
                Assert.All(normInputs, n => Assert.True(n.Type == ScalarType.Float32, $"{name}: {n.Name} got {n.Type}"));
            }
            // In fp32 the same hooks see every convolution called as a module, so the check above can fail.
            normInputs.Clear();
            using (var output = block.call(input))
                Assert.NotEmpty(calledAsModule);
        }

        [Fact]
        public void ThePolicyGivesEachOperationItsType()
        {
            torch.manual_seed(1);
            using var conv = nn.Conv2d(4, 8, 3, padding: 1);
            using var linear = nn.Linear(8, 5);
            using var norm = nn.BatchNorm2d(8);
            using var x = torch.randn(2, 4, 6, 6);
            using var a = torch.randn(3, 4, 7);
            using var b = torch.randn(3, 7, 2);
            Assert.Equal(Precision.Fp32, MixedPrecision.Current);
            using (MixedPrecision.Enter(Precision.Bf16Mixed))
            {
                Assert.Equal(Precision.Bf16Mixed, MixedPrecision.Current);
                using var y = MixedPrecision.Call(conv, x);
                Assert.Equal(ScalarType.BFloat16, y.dtype);
                using var n = MixedPrecision.Call(norm, y);
                Assert.Equal(ScalarType.Float32, n.dtype);
                using var pooled = n.mean(new long[] { 2, 3 });
                using var l = MixedPrecision.Call(linear, pooled);
                Assert.Equal(ScalarType.BFloat16, l.dtype);
                using var logits = MixedPrecision.Logits(linear, pooled);
                Assert.Equal(ScalarType.Float32, logits.dtype);
                using var s = MixedPrecision.Softmax(l, -1);
                Assert.Equal(ScalarType.Float32, s.dtype);
                using var m = MixedPrecision.MatMul(a, b);
                Assert.Equal(ScalarType.BFloat16, m.dtype);
                // The loss is taken from fp32 logits, so it is fp32.
                using var loss = nn.functional.cross_entropy(logits, torch.tensor(new long[] { 0, 4 }));
                Assert.Equal(ScalarType.Float32, loss.dtype);
                using (MixedPrecision.Enter(Precision.Fp32))
                using (var inner = MixedPrecision.Call(conv, x))
                    Assert.Equal(ScalarType.Float32, inner.dtype);
                using (MixedPrecision.Enter(null)) Assert.Equal(Precision.Bf16Mixed, MixedPrecision.Current);
            }
            Assert.Equal(Precision.Fp32, MixedPrecision.Current);
            using var plain = MixedPrecision.Call(conv, x);
            using var reference = conv.call(x);
            Assert.Equal(ScalarType.Float32, plain.dtype);
            Assert.Equal(0.0, (plain - reference).abs().max().ToDouble());
        }

        private static nn.Module<Tensor, Tensor> SmallNet(int classes) => new Chain("net",
            nn.Conv2d(3, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding: 1, bias: false), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding: 1, bias: false), nn.BatchNorm2d(32), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, classes));

        [Fact]
        public void GradientsReachTheFp32MasterWeights()
        {
            torch.manual_seed(2);
            using var net = SmallNet(4);
            using var x = torch.randn(4, 3, 8, 8);
            using var labels = torch.tensor(new long[] { 0, 1, 2, 3 });
            Tensor logits;
            using (MixedPrecision.Enter(Precision.Bf16Mixed)) logits = MixedPrecision.Float(net.call(x));
            using var loss = nn.functional.cross_entropy(logits, labels);
            loss.backward();
            foreach (var (name, p) in net.named_parameters())
            {
                Assert.Equal(ScalarType.Float32, p.dtype);
                Assert.NotNull(p.grad);
                Assert.True(p.grad!.dtype == ScalarType.Float32, $"{name}: gradient {p.grad.dtype}");
                Assert.True(p.grad.abs().sum().ToDouble() > 0, $"{name}: zero gradient");
            }
        }

        [Fact]
        public void Bf16MixedTrainingConvergesLikeFp32WithFp32Weights()
        {
            var data = Datasets.Open("shapes:16:n=1024:test=128");
            var settings = TrainSettings.Default with { Steps = 300, Batch = 32, Seed = 5, LearningRate = 0.1 };
            var run = new TrainRun { Threads = 1, LossCurveEvery = 50 };
            var fp32 = Trainer.Run(() => SmallNet(8), data, settings, run);
            using var model = Trainer.CreateModel(() => SmallNet(8), settings with { Precision = Precision.Bf16Mixed });
            var mixed = Trainer.Train(model, data, settings with { Precision = Precision.Bf16Mixed }, run);
            Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
            // Chance is ln 8 = 2.08. fp32 ends at 0.94 (54.7 %), bf16-mixed at 0.87 (59.4 %): both well below chance,
            // within 0.2 of each other, and not the same run.
            var curves = $"fp32 {string.Join(", ", fp32.LossCurve)}; bf16-mixed {string.Join(", ", mixed.LossCurve)}";
            Assert.True(mixed.LossCurve[0].Loss > 1.9, curves);
            Assert.True(mixed.TrainLoss < 1.2, curves);
            Assert.True(Math.Abs(mixed.TrainLoss - fp32.TrainLoss) < 0.2, curves);
            Assert.NotEqual(fp32.LossCurve, mixed.LossCurve);
            Assert.True(mixed.EvalAccuracy > 0.45, $"accuracy {mixed.EvalAccuracy} (fp32 {fp32.EvalAccuracy})");
        }

        [Fact]
        public void PrecisionIsATrainingSettingAndFp16IsRefusedOnTheCpu()
        {
            Assert.Equal(Precision.Bf16Mixed, TrainSettings.Default.With(new[] { KeyValuePair.Create("precision", "bf16-mixed") }).Precision);
            Assert.Contains(new KeyValuePair<string, string>("precision", "fp32"), TrainSettings.Default.ToPairs());
            var e = Assert.Throws<ArgumentException>(() => TrainSettings.Default.With(new[] { KeyValuePair.Create("precision", "bf16") }));
            Assert.Equal("precision takes fp32, bf16-mixed or fp16-mixed (bf16_mixed, fp16_mixed in .arch files), not 'bf16' (Parameter 'pairs')", e.Message);
            Assert.Equal(Precision.Bf16Mixed, TrainSettings.Default.With(new[] { KeyValuePair.Create("precision", "bf16_mixed") }).Precision);
            var data = Datasets.Open("shapes:16:n=64:test=16");
            e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => SmallNet(8), data,
                TrainSettings.Default with { Steps = 1, Precision = Precision.Fp16Mixed }, new TrainRun { Threads = 1 }));
            Assert.Equal("precision fp16-mixed is for CUDA devices (float16 with dynamic loss scaling); on the CPU use bf16-mixed (Parameter 'settings')", e.Message);
        }

        [Fact]
        public void TheLossScalerSkipsNonFiniteStepsBacksOffAndGrows()
        {
            var scaler = new DynamicLossScaler(initialScale: 1024, growthInterval: 3);
            using var p = new Parameter(torch.ones(3));
            using (var loss = (p * 2).sum())
            using (var scaled = scaler.ScaleLoss(loss))
            {
                Assert.Equal(6.0 * 1024, scaled.ToDouble());
                scaled.backward();
            }
            // d(2·Σp)/dp = 2, scaled by 1024, unscaled back to 2.
            Assert.True(scaler.Unscale(new[] { p }));
            Assert.Equal(new float[] { 2, 2, 2 }, p.grad!.data<float>().ToArray());
            scaler.Update(true);
            scaler.Update(true);
            Assert.Equal((1024.0, 2), (scaler.Scale, scaler.GrowthTracker));
            scaler.Update(true);
            Assert.Equal((2048.0, 0), (scaler.Scale, scaler.GrowthTracker));

            using (torch.no_grad()) p.grad!.copy_(torch.tensor(new float[] { 1, float.PositiveInfinity, 1 }));
            Assert.False(scaler.Unscale(new[] { p }));
            scaler.Update(false);
            Assert.Equal((1024.0, 0, 1), (scaler.Scale, scaler.GrowthTracker, scaler.SkippedSteps));
            using (torch.no_grad()) p.grad!.copy_(torch.tensor(new float[] { float.NaN, 0, 0 }));
            Assert.False(scaler.Unscale(new[] { p }));
            Assert.Throws<ArgumentOutOfRangeException>(() => new DynamicLossScaler(backoffFactor: 1));
        }
    }
}
