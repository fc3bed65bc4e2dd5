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
        /// would run it in fp32); every BatchNorm and GroupNorm gets its input uncast, in bf16 (each follows a convolution,
        /// a linear or the bf16 block input; VAN's norm2 the stream its fp32 layer scale promoted), with fp32 parameters and running statistics that move in fp32 (train mode); LayerNorm, frozen
        /// BatchNorm and InstanceNorm get theirs in fp32.</summary>
        [Theory, MemberData(nameof(Blocks))]
        public void ConvolutionsRunInBf16AndNormsTakeBf16WithFp32Statistics(string name)
        {
            var c = AllCases.Single(x => x.Name == name);
            torch.manual_seed(3);
            using var block = c.Build();
            c.Init(block);
            block.train();
            var calledAsModule = new List<string>();
            var normInputs = new List<(string Name, nn.Module Norm, ScalarType Type)>();
            foreach (var (path, m) in block.named_modules())
            {
                if (m is not nn.Module<Tensor, Tensor> layer) continue;
                if (m is Convolution or Linear)
                    layer.register_forward_pre_hook((_, x) => { calledAsModule.Add(path); return x; });
                else if (m is NormBase or GroupNorm or LayerNorm or FrozenBatchNorm2d)
                    layer.register_forward_pre_hook((_, x) => { normInputs.Add((path, m, x.dtype)); return x; });
            }
            var statistics = block.named_buffers().Where(b => b.name.EndsWith("running_mean", StringComparison.Ordinal) || b.name.EndsWith("running_var", StringComparison.Ordinal))
                .Select(b => (b.name, b.buffer, Before: b.buffer.clone())).ToList();
            // bf16, as a block gets it from the block before it in a bf16-mixed network (a norm may come first: VAN's norm1).
            using var input = torch.randn(c.InputShape).to(ScalarType.BFloat16);
            using (MixedPrecision.Enter(Precision.Bf16Mixed))
            using (var output = block.call(input))
            {
                Assert.Empty(calledAsModule);
                foreach (var (path, norm, type) in normInputs)
                {
                    // VAN's norm2 reads the residual stream after the fp32 layer scale, which promotes it to fp32 (as autocast would).
                    bool promoted = name.StartsWith("Van ", StringComparison.Ordinal) && path == "norm2";
                    var expected = norm is BatchNorm or GroupNorm && !promoted ? ScalarType.BFloat16 : ScalarType.Float32;
                    Assert.True(type == expected, $"{name}: {path} ({norm.GetType().Name}) got {type}, not {expected}");
                    Assert.All(norm.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
                    Assert.All(norm.buffers().Where(b => b.is_floating_point()), b => Assert.Equal(ScalarType.Float32, b.dtype));
                }
                foreach (var (path, buffer, before) in statistics)
                {
                    Assert.Equal(ScalarType.Float32, buffer.dtype);
                    if (normInputs.Any(n => path.StartsWith(n.Name + ".", StringComparison.Ordinal) && n.Norm is BatchNorm))
                        Assert.False(buffer.allclose(before, 0, 0), $"{name}: {path} did not move in train mode");
                }
            }
            // In fp32 the same hooks see every convolution called as a module, so the check above can fail.
            normInputs.Clear();
            using (var input32 = input.to(ScalarType.Float32))
            using (var output = block.call(input32))
                Assert.NotEmpty(calledAsModule);
        }

        public static TheoryData<string, bool> NormKinds()
        {
            var data = new TheoryData<string, bool>();
            foreach (var kind in new[] { "BatchNorm2d", "GroupNorm" })
            {
                data.Add(kind, true);
                data.Add(kind, false);
            }
            return data;
        }

        private static nn.Module<Tensor, Tensor> Norm(string kind) => kind switch
        {
            "BatchNorm2d" => nn.BatchNorm2d(8),
            "GroupNorm" => nn.GroupNorm(4, 8),
            _ => nn.LayerNorm(new long[] { 5 }),
        };

        /// <summary>
        /// libtorch's mixed-type CPU BatchNorm and GroupNorm, which the policy relies on: a bf16 input with fp32 weight, bias and running
        /// statistics, forward and backward, in train and eval mode, against the same norm in fp32 on the same
        /// bf16-rounded input and the same bf16-rounded output gradient. The output is bf16, so it may differ by its
        /// rounding (unit roundoff 2^-9): 2^-8 relative L2 for the output and the input gradient. The statistics,
        /// the weight and bias gradients and the running statistics are accumulated in fp32 from the same numbers, so
        /// they agree to 1e-5 relative; the running statistics stay fp32 and move.
        /// </summary>
        [Theory, MemberData(nameof(NormKinds))]
        public void NormsTakeBf16InputWithFp32ParametersAndStatistics(string kind, bool training)
        {
            torch.manual_seed(4);
            using var mixed = Norm(kind);
            using var reference = Norm(kind);
            using (torch.no_grad())
            {
                foreach (var (_, p) in mixed.named_parameters()) p.copy_(torch.randn(p.shape) * 0.5 + 1);
                foreach (var (name, b) in mixed.named_buffers())
                    if (b.is_floating_point()) b.copy_(name.EndsWith("var", StringComparison.Ordinal) ? torch.rand(b.shape) + 0.5 : torch.randn(b.shape));
            }
            reference.load_state_dict(mixed.state_dict());
            mixed.train(training);
            reference.train(training);
            var before = mixed.named_buffers().Where(b => b.buffer.is_floating_point()).ToDictionary(b => b.name, b => b.buffer.clone());

            var shape = kind == "LayerNorm" ? new long[] { 4, 6, 5 } : new long[] { 4, 8, 5, 5 };
            using var x = (torch.randn(shape) * 3 + 1).to(ScalarType.BFloat16).requires_grad_();
            using var x32 = x.detach().to(ScalarType.Float32).requires_grad_();
            using var g = torch.randn(shape).to(ScalarType.BFloat16).to(ScalarType.Float32);
            Tensor y;
            using (MixedPrecision.Enter(Precision.Bf16Mixed)) y = MixedPrecision.Call(mixed, x);
            using (y)
            using (var y32 = reference.call(x32))
            {
                Assert.Equal(ScalarType.BFloat16, y.dtype);
                using var yf = y.to(ScalarType.Float32);
                Assert.True(RelativeError(yf, y32) <= 1.0 / 256, $"{kind}: output off by {RelativeError(yf, y32)}");
                using (var loss = (yf * g).sum()) loss.backward();
                using (var loss32 = (y32 * g).sum()) loss32.backward();
            }
            Assert.Equal(ScalarType.BFloat16, x.grad!.dtype);
            using (var grad = x.grad.to(ScalarType.Float32))
                Assert.True(RelativeError(grad, x32.grad!) <= 1.0 / 256, $"{kind}: input gradient off by {RelativeError(grad, x32.grad!)}");
            var referenceParameters = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in mixed.named_parameters())
            {
                Assert.Equal(ScalarType.Float32, p.dtype);
                Assert.Equal(ScalarType.Float32, p.grad!.dtype);
                Assert.True(RelativeError(p.grad, referenceParameters[name].grad!) <= 1e-5, $"{kind}: {name} gradient off by {RelativeError(p.grad, referenceParameters[name].grad!)}");
            }
            var referenceBuffers = reference.named_buffers().ToDictionary(b => b.name, b => b.buffer);
            foreach (var (name, b) in mixed.named_buffers().Where(b => b.buffer.is_floating_point()))
            {
                Assert.Equal(ScalarType.Float32, b.dtype);
                Assert.True(RelativeError(b, referenceBuffers[name]) <= 1e-5, $"{kind}: {name} off by {RelativeError(b, referenceBuffers[name])}");
                // Train mode updates the running statistics (in fp32), eval mode leaves them as they were.
                Assert.Equal(!training, b.allclose(before[name], 0, 0));
            }
            Assert.Equal(kind == "BatchNorm2d", before.Count == 2);
        }

        /// <summary>
        /// Why LayerNorm keeps an fp32 input: libtorch 2.10's mixed-type CPU layer_norm backward returns weight and bias
        /// gradients that are not fp32-accurate (0.49 % and 0.24 % relative L2 off the fp32 computation on the same
        /// bf16 numbers here, where BatchNorm's and GroupNorm's agree to 2e-7), so the policy casts its input to fp32.
        /// When a libtorch update fixes the kernel this test fails: then LayerNorm can join BatchNorm and GroupNorm.
        /// </summary>
        [Fact]
        public void LayerNormTakesFp32BecauseLibtorchsMixedBackwardIsNotFp32Accurate()
        {
            torch.manual_seed(4);
            using var mixed = Norm("LayerNorm");
            using var reference = Norm("LayerNorm");
            using (torch.no_grad())
                foreach (var (_, p) in mixed.named_parameters()) p.copy_(torch.randn(p.shape) * 0.5 + 1);
            reference.load_state_dict(mixed.state_dict());
            using var x = (torch.randn(4, 6, 5) * 3 + 1).to(ScalarType.BFloat16);
            using var x32 = x.to(ScalarType.Float32);
            using var g = torch.randn(4, 6, 5).to(ScalarType.BFloat16).to(ScalarType.Float32);
            using (var y = mixed.call(x))
            using (var yf = y.to(ScalarType.Float32))
            using (var loss = (yf * g).sum())
                loss.backward();
            using (var y32 = reference.call(x32))
            using (var loss32 = (y32 * g).sum())
                loss32.backward();
            double error = RelativeError(mixed.named_parameters().Single(p => p.name == "weight").parameter.grad!,
                reference.named_parameters().Single(p => p.name == "weight").parameter.grad!);
            Assert.True(error > 1e-3, $"libtorch's mixed layer_norm weight gradient is now off by only {error}: let LayerNorm take bf16");
            using (MixedPrecision.Enter(Precision.Bf16Mixed))
            using (var viaPolicy = MixedPrecision.Call(mixed, x))
                Assert.Equal(ScalarType.Float32, viaPolicy.dtype);
        }

        private static double RelativeError(Tensor actual, Tensor expected)
        {
            using var diff = actual - expected;
            return diff.norm().ToDouble() / expected.norm().ToDouble();
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
                Assert.Equal(ScalarType.BFloat16, n.dtype);
                using var pooled = n.mean(new long[] { 2, 3 }, type: ScalarType.Float32);
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
            // Chance is ln 8 = 2.08. fp32 ends at 0.94 (54.7 %), bf16-mixed at 0.88 (55.5 %): both well below chance,
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
