using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;
using static Torchwright.Runtime.Tests.TorchSaveCases;

namespace Torchwright.Runtime.Tests
{
    /// <summary>Strict loading of checkpoints (PyTorch torch.save files and safetensors) into a module's state dict.</summary>
    public sealed class ModuleWeightsTests : IClassFixture<TorchSaveCases>, IDisposable
    {
        private readonly TorchSaveCases _cases;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "torchwright-mw-tests", Guid.NewGuid().ToString("N"));

        public ModuleWeightsTests(TorchSaveCases cases)
        {
            _cases = cases;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static readonly string[] Counters =
            { "bn1.num_batches_tracked", "bn2.num_batches_tracked", "bn3.num_batches_tracked", "downsample.1.num_batches_tracked" };

        private void AssertLoadedSource(Bottleneck block, IEnumerable<string>? except = null)
        {
            var skip = new HashSet<string>(except ?? Array.Empty<string>());
            foreach (var (k, v) in block.state_dict())
                if (!skip.Contains(k))
                    AssertSame(_cases.Source[k], v, k);
        }

        [Theory]
        [InlineData("plain.pth")]            // torch.save, zip format
        [InlineData("plain.safetensors")]    // the Python safetensors writer
        [InlineData("dataparallel.pth")]     // every key prefixed "module."
        [InlineData("wrapped_state_dict.pth")]
        [InlineData("wrapped_model.pth")]
        public void A_pytorch_checkpoint_loads_exactly(string file)
        {
            torch.manual_seed(3);
            using var block = NewBlock("dst");
            var report = block.LoadWeights(_cases[file]);
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(block.state_dict().Count, report.Loaded.Count);
            Assert.Empty(report.Kept);
            Assert.Equal(file == "dataparallel.pth" ? "module." : null, report.StrippedPrefix);
            Assert.Equal(file switch { "wrapped_state_dict.pth" => "state_dict", "wrapped_model.pth" => "model", _ => null }, report.Wrapper);
            AssertLoadedSource(block);
        }

        [Fact]
        public void A_checkpoint_without_num_batches_tracked_loads_and_the_counters_keep_their_value()
        {
            // PyTorch itself accepts it under strict=True (the script checks with its own BatchNorm2d).
            Assert.Equal("<All keys matched successfully>", _cases.PyTorchSays.GetProperty("strictWithoutCounter").GetString());
            using var block = NewBlock("dst");
            using (torch.no_grad())
                foreach (var k in Counters) block.state_dict()[k].fill_(7);
            var report = block.LoadWeights(_cases["no_counters.pt"], strict: true);
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(Counters, report.Kept);
            Assert.Contains("4 num_batches_tracked buffers not in the file, kept", report.Summary);
            foreach (var k in Counters) Assert.Equal(7L, block.state_dict()[k].item<long>());
            AssertLoadedSource(block, except: Counters);
        }

        [Fact]
        public void A_strict_load_lists_every_missing_unexpected_and_reshaped_key_and_loads_nothing()
        {
            using var block = NewBlock("dst");
            var before = block.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            var path = _cases["mismatch.pth"];
            var e = Assert.Throws<CheckpointMismatchException>(() => block.LoadWeights(path));
            Assert.Equal(new[] { "bn3.bias", "conv1.weight" }, e.Report.Missing);          // num_batches_tracked is absent too: not missing
            Assert.Equal(new[] { "fc.weight" }, e.Report.Unexpected);
            Assert.Equal(new[] { "bn2.weight: module [8] vs file [3]" }, e.Report.ShapeMismatched);
            Assert.Empty(e.Report.DTypeMismatched);
            Assert.Equal(Counters, e.Report.Kept);
            Assert.StartsWith($"Checkpoint '{path}' does not match module 'dst' (2 missing, 1 unexpected, 1 shape mismatched; nothing was loaded):\n", e.Message);
            Assert.Contains("\n  missing from the file (2): bn3.bias, conv1.weight\n", e.Message);
            Assert.Contains("\n  unexpected in the file (1): fc.weight\n", e.Message);
            Assert.Contains("\n  shape mismatches (1): bn2.weight: module [8] vs file [3]\n", e.Message);
            foreach (var (k, v) in block.state_dict()) AssertSame(before[k], v, k);   // a failed strict load changes nothing

            var report = block.LoadWeights(path, strict: false);
            Assert.False(report.IsExact);
            Assert.Contains("bn2.bias", report.Loaded);
            Assert.DoesNotContain("bn2.weight", report.Loaded);
            AssertLoadedSource(block, except: Counters.Concat(new[] { "bn3.bias", "conv1.weight", "bn2.weight" }));
        }

        [Fact]
        public void Every_name_is_listed_however_many_there_are()
        {
            // A state dict of another shortcut and width (written by C#): dozens of problems, none elided.
            var path = Path.Combine(_dir, "avgdown-w16.safetensors");
            using (var other = new Bottleneck("other", 16, 16, 32, 2, 1, ShortcutKind.AvgDown))
                other.SaveSafetensors(path);
            using var block = NewBlock("dst");
            var e = Assert.Throws<CheckpointMismatchException>(() => block.LoadWeights(path));
            // Conv shortcut: downsample.0 conv, downsample.1 BN; AvgDown: downsample.0 pool, downsample.1 conv, downsample.2 BN.
            Assert.Equal(new[] { "downsample.0.weight", "downsample.1.bias", "downsample.1.running_mean", "downsample.1.running_var" }, e.Report.Missing);
            Assert.Equal(new[] { "downsample.2.bias", "downsample.2.num_batches_tracked", "downsample.2.running_mean", "downsample.2.running_var", "downsample.2.weight" },
                e.Report.Unexpected);
            Assert.Equal(new[]
            {
                "bn1.bias: module [8] vs file [16]", "bn1.running_mean: module [8] vs file [16]", "bn1.running_var: module [8] vs file [16]", "bn1.weight: module [8] vs file [16]",
                "bn2.bias: module [8] vs file [16]", "bn2.running_mean: module [8] vs file [16]", "bn2.running_var: module [8] vs file [16]", "bn2.weight: module [8] vs file [16]",
                "conv1.weight: module [8, 16, 1, 1] vs file [16, 16, 1, 1]", "conv2.weight: module [8, 8, 3, 3] vs file [16, 16, 3, 3]",
                "conv3.weight: module [32, 8, 1, 1] vs file [32, 16, 1, 1]",
                "downsample.1.weight: module [32] vs file [32, 16, 1, 1]",
            }, e.Report.ShapeMismatched);
            foreach (var name in e.Report.Missing.Concat(e.Report.Unexpected).Concat(e.Report.ShapeMismatched))
                Assert.Contains(name, e.Message);
        }

        [Fact]
        public void Precision_converts_within_a_kind_and_another_kind_is_a_dtype_mismatch()
        {
            using var block = NewBlock("dst");
            var report = block.LoadWeights(_cases["half.pth"]);       // every floating tensor float16 in the file
            Assert.True(report.IsExact, report.ToString());
            foreach (var (k, v) in block.state_dict())
            {
                var src = _cases.Source[k];
                AssertSame(src.is_floating_point() ? src.to(ScalarType.Float16).to(src.dtype) : src, v, k);
            }

            var e = Assert.Throws<CheckpointMismatchException>(() => block.LoadWeights(_cases["dtype_kinds.pth"]));
            Assert.Equal(new[] { "bn1.running_mean: module Float32 vs file Int64", "bn2.num_batches_tracked: module Int64 vs file Float32" },
                e.Report.DTypeMismatched);
            Assert.Empty(e.Report.Missing);
            Assert.Empty(e.Report.Unexpected);
            Assert.Empty(e.Report.ShapeMismatched);
            Assert.Contains("(2 dtype mismatched; nothing was loaded)", e.Message);
            Assert.Contains("\n  dtype mismatches (2): bn1.running_mean: module Float32 vs file Int64, bn2.num_batches_tracked: module Int64 vs file Float32\n", e.Message);
        }

        [Fact]
        public void A_module_round_trips_through_safetensors()
        {
            torch.manual_seed(1);
            using var a = new Bottleneck("a", 16, 8, 32, 2, 1, ShortcutKind.AvgDown);
            ParityHarness.Randomize(a);
            var path = Path.Combine(_dir, "block.safetensors");
            a.SaveSafetensors(path);
            torch.manual_seed(2);
            using var b = new Bottleneck("b", 16, 8, 32, 2, 1, ShortcutKind.AvgDown);
            var report = b.LoadWeights(path);
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(a.state_dict().Count, report.Loaded.Count);
            foreach (var (k, v) in a.state_dict()) AssertSame(v, b.state_dict()[k], k);
        }
    }
}
