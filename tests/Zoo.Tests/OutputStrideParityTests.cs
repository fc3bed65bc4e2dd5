using System;
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
    /// output_stride and out_indices against the references (python/reference_byobnet.py, float64 random weights and
    /// randomised BatchNorm statistics, loaded strictly): torchvision's dilated resnet50 and timm's botnet50ts layout at
    /// output stride 8 reproduce their logits, and feature backbones (torchvision's ResNet-50 layers, timm's
    /// lamhalobotnet50ts stages through the 'timm' key map) reproduce every returned map, at output stride 32 and 16,
    /// to 1e-6 of the map's largest value.
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class OutputStrideParityTests : IDisposable
    {
        private const double Tolerance = 1e-6;

        private readonly string dir = Path.Combine(Path.GetTempPath(), "torchwright-output-stride", Guid.NewGuid().ToString("N"));

        private readonly Xunit.Abstractions.ITestOutputHelper log;

        public OutputStrideParityTests(Xunit.Abstractions.ITestOutputHelper log)
        {
            this.log = log;
            Directory.CreateDirectory(dir);
        }

        public void Dispose()
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }

        /// <summary>torchvision resnet50(replace_stride_with_dilation=[False, True, True]), at 64.</summary>
        [Fact]
        public void ResNet50_at_output_stride_8_reproduces_torchvision_s_dilated_resnet50() =>
            Logits(new ResNet50Os8(), "resnet50_os8", ResNet50Os8.ParameterCount, keyMap: null);

        [Fact]
        public void BotNet50ts_at_output_stride_8_reproduces_the_byobnet_reference() =>
            Logits(new BotNet50tsOs8(), "botnet50ts_os8_128", BotNet50tsOs8.ParameterCount, keyMap: "timm");

        /// <summary>torchvision's resnet50 and resnet50(replace_stride_with_dilation=[False, False, True]): layer1..4 at 64.</summary>
        [Fact]
        public void ResNet50_features_are_torchvision_s_layer_outputs_at_output_stride_32_and_16()
        {
            Generate("features", "resnet50", "resnet50_os16");
            Maps(new FeatResNet50(), f => new[] { f.C2, f.C3, f.C4, f.C5 }, "resnet50", null, new long[] { 16, 8, 4, 2 });
            Maps(new FeatResNet50Os16(), f => new[] { f.C2, f.C3, f.C4, f.C5 }, "resnet50_os16", null, new long[] { 16, 8, 4, 4 });
        }

        /// <summary>Lambda (r = 13) in c3, halo in c4, BoT in c5; at output stride 16 c5's BoT attends over 8x8 at stride 1.</summary>
        [Fact]
        public void LamHaloBotNet50ts_features_are_the_byobnet_stage_outputs_at_output_stride_32_and_16()
        {
            Generate("features", "lamhalobotnet50ts_128", "lamhalobotnet50ts_os16_128");
            Maps(new FeatLamHaloBotNet50ts(), f => new[] { f.C2, f.C3, f.C4, f.C5 }, "lamhalobotnet50ts_128", "timm", new long[] { 32, 16, 8, 4 });
            Maps(new FeatLamHaloBotNet50tsOs16(), f => new[] { f.C2, f.C3, f.C4, f.C5 }, "lamhalobotnet50ts_os16_128", "timm", new long[] { 32, 16, 8, 8 });
        }

        private void Generate(string command, params string[] names)
        {
            var (code, output) = PythonReference.RunScript($"reference_byobnet.py {command} \"{dir}\" {string.Join(" ", names)}");
            Assert.True(code == 0, output);
        }

        private void Load(nn.Module net, string file, string? keyMap)
        {
            net.to(ScalarType.Float64);
            var report = net.LoadWeights(Path.Combine(dir, file), strict: true, keyMap: keyMap == null ? null : KeyMaps.Get(keyMap));
            Assert.True(report.IsExact, report.ToString());
            if (keyMap != null)
                Assert.Equal(report.Loaded.Count, report.SourceKeys.Count); // every timm key was renamed by a rule
            else
                Assert.Equal(net.state_dict().Count, report.Loaded.Count); // torchvision's names are the module's own
        }

        private void Compare(string what, Tensor got, Tensor want)
        {
            Assert.Equal(want.shape, got.shape);
            Assert.Equal(ScalarType.Float64, got.dtype);
            double maxAbs = want.abs().max().item<double>();
            double diff = (got - want).abs().max().item<double>();
            Assert.True(maxAbs > 0.1, $"{what}: reference values too small to compare: {maxAbs}");
            Assert.True(diff <= Tolerance * maxAbs, $"{what}: max |diff| {diff:E3} vs max |value| {maxAbs:E3}");
            log.WriteLine($"{what}: max |diff| {diff:E3}, max |value| {maxAbs:E3}");
        }

        private void Logits(nn.Module<Tensor, Tensor> net, string name, long parameterCount, string? keyMap)
        {
            Generate("cases", name);
            using (net)
            {
                Load(net, name + ".state.safetensors", keyMap);
                Assert.Equal(parameterCount, net.parameters().Sum(p => p.numel()));
                net.eval();
                using var io = TensorFiles.Read(Path.Combine(dir, name + ".io.safetensors"));
                using var _ = torch.no_grad();
                using var got = net.call(io.Tensors["input"]);
                Compare(name + " logits", got, io.Tensors["logits"]);
            }
        }

        private void Maps<TFeatures>(nn.Module<Tensor, TFeatures> net, Func<TFeatures, Tensor[]> maps, string name, string? keyMap, long[] sizes)
        {
            using (net)
            {
                Load(net, name + ".features.state.safetensors", keyMap);
                net.eval();
                using var io = TensorFiles.Read(Path.Combine(dir, name + ".features.io.safetensors"));
                using var scope = NewDisposeScope();
                using var _ = torch.no_grad();
                var got = maps(net.call(io.Tensors["input"]));
                Assert.Equal(sizes, got.Select(t => t.shape[2]).ToArray());
                for (int i = 0; i < got.Length; i++)
                    Compare($"{name} feature {i + 1}", got[i], io.Tensors[$"feature{i + 1}"]);
            }
        }
    }
}
