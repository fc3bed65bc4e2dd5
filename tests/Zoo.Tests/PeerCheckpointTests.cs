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
    /// uses) and reproduces the logits to 1e-6 of the largest logit. torchvision's resnet18/resnet34 (torchvision 0.14
    /// itself, float64, random BatchNorm statistics) load with no key map: their names are the generated module's.
    /// Each test writes its own network's files (reference_byobnet.py cases DIR NET).
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class PeerCheckpointTests : IDisposable
    {
        private readonly string dir = Path.Combine(Path.GetTempPath(), "torchwright-peer-checkpoints", Guid.NewGuid().ToString("N"));

        private readonly Xunit.Abstractions.ITestOutputHelper log;

        public PeerCheckpointTests(Xunit.Abstractions.ITestOutputHelper log)
        {
            this.log = log;
            Directory.CreateDirectory(dir);
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

        /// <summary>Halo attention: block 8, halo 2, 8 heads; layer4.0 subsamples its queries (stride 2).</summary>
        [Fact]
        public void HaloNet26t_loads_timm_halonet26t_strictly_and_reproduces_its_logits() =>
            Check(new HaloNet26t(), "halonet26t", HaloNet26t.ParameterCount);

        /// <summary>Halo with 16-wide q/k heads, grouped 3x3 convs, ECA, SiLU.</summary>
        [Fact]
        public void EcaHaloNeXt26ts_loads_timm_eca_halonext26ts_strictly_and_reproduces_its_logits() =>
            Check(new EcaHaloNeXt26ts(), "eca_halonext26ts", EcaHaloNeXt26ts.ParameterCount);

        /// <summary>Halo 3 on windows of 14, c3's own 4 heads, interleaved placement, SiLU.</summary>
        [Fact]
        public void HaloNet50ts_loads_timm_halonet50ts_strictly_and_reproduces_its_logits() =>
            Check(new HaloNet50ts(), "halonet50ts", HaloNet50ts.ParameterCount);

        /// <summary>Lambda layers with the local r = 9 position conv; layer4.0 pools 2x2 after.</summary>
        [Fact]
        public void LambdaResNet26t_loads_timm_lambda_resnet26t_strictly_and_reproduces_its_logits() =>
            Check(new LambdaResNet26t(), "lambda_resnet26t", LambdaResNet26t.ParameterCount);

        /// <summary>Lambda layers with fixed-size relative positions (lambda_r = none: pos_emb tables).</summary>
        [Fact]
        public void LambdaResNet26rpt256_loads_timm_lambda_resnet26rpt_256_strictly_and_reproduces_its_logits() =>
            Check(new LambdaResNet26rpt256(), "lambda_resnet26rpt_256", LambdaResNet26rpt256.ParameterCount);

        [Fact]
        public void LambdaResNet50ts_loads_timm_lambda_resnet50ts_strictly_and_reproduces_its_logits() =>
            Check(new LambdaResNet50ts(), "lambda_resnet50ts", LambdaResNet50ts.ParameterCount);

        [Fact]
        public void BotNet50ts256_loads_timm_botnet50ts_256_strictly_and_reproduces_its_logits() =>
            Check(new BotNet50ts256(), "botnet50ts_256", BotNet50ts256.ParameterCount);

        /// <summary>Pool-less tiered stem (its last conv strided), SE after the 3x3 conv, SiLU, BoT in c3..c5 and the final
        /// 1x1 conv to 1280 (timm final_conv.conv/.bn -> final_conv.0/.1).</summary>
        [Fact]
        public void SeBotNet33ts256_loads_timm_sebotnet33ts_256_strictly_and_reproduces_its_logits() =>
            Check(new SeBotNet33ts256(), "sebotnet33ts_256", SeBotNet33ts256.ParameterCount);

        /// <summary>SeBotNet33ts256's network with halo attention (block 8, halo 3, 8 heads).</summary>
        [Fact]
        public void SeHaloNet33ts_loads_timm_sehalonet33ts_strictly_and_reproduces_its_logits() =>
            Check(new SeHaloNet33ts(), "sehalonet33ts", SeHaloNet33ts.ParameterCount);

        /// <summary>Halo in c3 and c4, BoT in c5, per stage; the pool-less stem.</summary>
        [Fact]
        public void Halo2BotNet50ts256_loads_timm_halo2botnet50ts_256_strictly_and_reproduces_its_logits() =>
            Check(new Halo2BotNet50ts256(), "halo2botnet50ts_256", Halo2BotNet50ts256.ParameterCount);

        /// <summary>Lambda (r = 13) in c3, halo in c4, BoT in c5, per stage; the pool-less stem.</summary>
        [Fact]
        public void LamHaloBotNet50ts256_loads_timm_lamhalobotnet50ts_256_strictly_and_reproduces_its_logits() =>
            Check(new LamHaloBotNet50ts256(), "lamhalobotnet50ts_256", LamHaloBotNet50ts256.ParameterCount);

        [Fact]
        public void ResNet18_loads_torchvision_resnet18_strictly_and_reproduces_its_logits() =>
            Check(new ResNet18(), "resnet18", ResNet18.ParameterCount, keyMap: null);

        [Fact]
        public void ResNet34_loads_torchvision_resnet34_strictly_and_reproduces_its_logits() =>
            Check(new ResNet34(), "resnet34", ResNet34.ParameterCount, keyMap: null);

        // One network per test: the float64 state dicts are up to 180 MB each.
        private void Check(nn.Module<Tensor, Tensor> net, string timmName, long parameterCount, string? keyMap = "timm")
        {
            var (code, output) = PythonReference.RunScript($"reference_byobnet.py cases \"{dir}\" {timmName}");
            Assert.True(code == 0, output);
            using (net)
            {
                net.to(ScalarType.Float64);
                var report = net.LoadWeights(Path.Combine(dir, timmName + ".state.safetensors"), strict: true, keyMap: keyMap == null ? null : KeyMaps.Get(keyMap));
                Assert.True(report.IsExact, report.ToString());
                if (keyMap != null)
                    Assert.Equal(report.Loaded.Count, report.SourceKeys.Count); // every timm key was renamed by a rule
                else
                    Assert.Equal(net.state_dict().Count, report.Loaded.Count); // torchvision's names are the module's own
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
                log.WriteLine($"{timmName}: max |diff| {diff:E3}, max |logit| {maxAbs:E3}");
            }
        }
    }
}
