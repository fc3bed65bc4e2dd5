using System;
using System.IO;
using TorchSharp;
using Torchwright.Runtime.Tests;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// Peer-named checkpoints into the generated zoo modules. python/reference_byobnet.py (timm's ByobNet layout and
    /// state-dict names, written from timm's byobnet.py/byoanet.py) saves random float64 weights, an input and its logits;
    /// the generated module loads them strictly through the 'timm' key map (what <c>torchwright infer --weights-from timm</c>
    /// uses) and reproduces the logits to 1e-6 of the largest logit.
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class PeerCheckpointTests : IDisposable
    {
        private readonly string dir = Path.Combine(Path.GetTempPath(), "torchwright-peer-checkpoints", Guid.NewGuid().ToString("N"));

        public PeerCheckpointTests()
        {
            Directory.CreateDirectory(dir);
            var (code, output) = PythonReference.RunScript($"reference_byobnet.py cases \"{dir}\" botnet26t_256 eca_botnext26ts_256");
            Assert.True(code == 0, output);
        }

        public void Dispose()
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }

        [Fact]
        public void BotNet26t256_loads_timm_botnet26t_256_strictly_and_reproduces_its_logits() =>
            Check(new BotNet26t256(), "botnet26t_256", BotNet26t256.ParameterCount);

        /// <summary>Grouped 3x3 convs, SiLU everywhere, ECA after the 3x3 conv (attention_at = spatial), 16-wide q/k heads.</summary>
        [Fact]
        public void EcaBotNeXt26ts256_loads_timm_eca_botnext26ts_256_strictly_and_reproduces_its_logits() =>
            Check(new EcaBotNeXt26ts256(), "eca_botnext26ts_256", EcaBotNeXt26ts256.ParameterCount);

        private void Check(nn.Module<Tensor, Tensor> net, string timmName, long parameterCount)
        {
            using (net)
            {
                net.to(ScalarType.Float64);
                var report = net.LoadWeights(Path.Combine(dir, timmName + ".state.safetensors"), strict: true, keyMap: KeyMaps.Get("timm"));
                Assert.True(report.IsExact, report.ToString());
                Assert.Equal(report.Loaded.Count, report.SourceKeys.Count); // every timm key was renamed by a rule
                long loaded = 0;
                foreach (var (_, p) in net.named_parameters()) loaded += p.numel();
                Assert.Equal(parameterCount, loaded);
                net.eval();
                using var io = TensorFiles.Read(Path.Combine(dir, timmName + ".io.safetensors"));
                Tensor x = io.Tensors["input"], want = io.Tensors["logits"];
                using var _ = torch.no_grad();
                using var got = net.call(x);
                double maxAbs = want.abs().max().item<double>();
                double diff = (got - want).abs().max().item<double>();
                Assert.True(maxAbs > 0.1, $"reference logits too small to compare: {maxAbs}");
                Assert.True(diff <= 1e-6 * maxAbs, $"{timmName}: max |diff| {diff:E3} vs max |logit| {maxAbs:E3}");
            }
        }
    }
}
