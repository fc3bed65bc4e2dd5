using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Tests;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// One SGD step (lr 0.1) in train mode, float64, against python/reference_byobnet.py train (timm's ByobNet layout with
    /// timm's HaloAttn / LambdaLayer): the generated module loads the reference's random state strictly through the
    /// 'timm' key map, and its loss, every parameter's update (lr x gradient) and every BatchNorm running statistic
    /// after the step match the reference's.
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class TrainingStepParityTests : IDisposable
    {
        private readonly string dir = Path.Combine(Path.GetTempPath(), "torchwright-train-step", Guid.NewGuid().ToString("N"));

        private readonly Xunit.Abstractions.ITestOutputHelper log;

        public TrainingStepParityTests(Xunit.Abstractions.ITestOutputHelper log)
        {
            this.log = log;
            Directory.CreateDirectory(dir);
        }

        public void Dispose()
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }

        /// <summary>Halo block 4, halo 1: both attention blocks strided (queries subsampled 2x).</summary>
        [Fact]
        public void A_halo_network_s_sgd_step_matches_the_reference() => Step(() => new HaloSmall(), "halo_small_64");

        /// <summary>Lambda r = 3 with its norm_q / norm_v BatchNorms (running statistics updated too) and the 2x2 pool after.</summary>
        [Fact]
        public void A_lambda_network_s_sgd_step_matches_the_reference() => Step(() => new LambdaSmall(), "lambda_small_64");

        private nn.Module<Tensor, Tensor> Load(Func<nn.Module<Tensor, Tensor>> create, string file)
        {
            var net = create();
            net.to(ScalarType.Float64);
            var report = net.LoadWeights(Path.Combine(dir, file), strict: true, keyMap: KeyMaps.Get("timm"));
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(report.Loaded.Count, report.SourceKeys.Count);
            return net;
        }

        private void Step(Func<nn.Module<Tensor, Tensor>> create, string name)
        {
            var (code, output) = PythonReference.RunScript($"reference_byobnet.py train \"{dir}\" {name}");
            Assert.True(code == 0, output);
            using var scope = NewDisposeScope();
            using var net = Load(create, name + ".train.before.safetensors");
            using var want = Load(create, name + ".train.after.safetensors");
            var before = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            using var io = TensorFiles.Read(Path.Combine(dir, name + ".train.io.safetensors"));

            net.train();
            var logits = net.call(io.Tensors["input"]);
            Assert.Equal(ScalarType.Float64, logits.dtype);
            var loss = nn.functional.cross_entropy(logits, io.Tensors["target"]);
            double wantLoss = io.Tensors["loss"].item<double>();
            Assert.True(Math.Abs(loss.item<double>() - wantLoss) <= 1e-9 * Math.Abs(wantLoss), $"loss {loss.item<double>():R} vs {wantLoss:R}");
            loss.backward();
            using (no_grad())
                foreach (var p in net.parameters())
                    if (p.grad is Tensor g) p.sub_(0.1 * g);

            var wanted = want.state_dict();
            int compared = 0;
            foreach (var (key, got) in net.state_dict())
            {
                var w = wanted[key];
                if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                {
                    Assert.Equal(w.item<long>(), got.item<long>());
                    continue;
                }
                // The change the step made (parameters: lr x gradient; BatchNorm: the momentum update of its statistics).
                var dGot = got - before[key];
                var dWant = w - before[key];
                double scale = dWant.abs().max().item<double>();
                double diff = (dGot - dWant).abs().max().item<double>();
                Assert.True(scale > 0, $"{name} {key}: the reference step changed nothing");
                Assert.True(diff <= 1e-6 * scale, $"{name} {key}: max |update diff| {diff:E3} vs max |update| {scale:E3}");
                compared++;
            }
            Assert.Equal(wanted.Count, net.state_dict().Count);
            log.WriteLine($"{name}: loss {wantLoss:F6}, {compared} tensors' updates match");
        }
    }
}
