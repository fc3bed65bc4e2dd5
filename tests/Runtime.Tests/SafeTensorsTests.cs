using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    public sealed class SafeTensorsTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "torchwright-st-tests", Guid.NewGuid().ToString("N"));

        public SafeTensorsTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private string PathOf(string name) => Path.Combine(_dir, name);

        internal static Dictionary<string, Tensor> Sample()
        {
            torch.manual_seed(7);
            return new Dictionary<string, Tensor>
            {
                ["f32"] = torch.randn(new long[] { 3, 4 }),
                ["f16"] = torch.randn(new long[] { 2, 5 }).to(ScalarType.Float16),
                ["bf16"] = torch.randn(new long[] { 5, 2 }).to(ScalarType.BFloat16),
                ["i64"] = torch.arange(-3, 9, 1, ScalarType.Int64).reshape(3, 4),
                ["f64"] = torch.randn(new long[] { 4 }, ScalarType.Float64),
                ["i32"] = torch.arange(0, 6, 1, ScalarType.Int32),
                ["u8"] = torch.arange(250, 256, 1, ScalarType.Int64).to(ScalarType.Byte),
                ["bool"] = torch.randn(new long[] { 7 }).gt(0),
                ["scalar"] = torch.tensor(3.5f),
                ["empty"] = torch.zeros(new long[] { 0, 3 }),
            };
        }

        private static void AssertSame(Tensor expected, Tensor actual, string name)
        {
            Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype}, expected {expected.dtype}");
            Assert.True(expected.shape.SequenceEqual(actual.shape), $"{name}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name}: values differ");
        }

        [Fact]
        public void RoundTripsEveryDtypeBitExactWithMetadata()
        {
            var tensors = Sample();
            var path = PathOf("all.safetensors");
            SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo" });
            var back = SafeTensors.Load(path, out var meta);
            Assert.Equal(tensors.Keys.OrderBy(k => k), back.Keys.OrderBy(k => k));
            foreach (var (k, v) in tensors) AssertSame(v, back[k], k);
            Assert.Equal("pt", meta["format"]);
            Assert.Equal("héllo", meta["note"]);

            var header = SafeTensors.ReadHeader(path, out _);
            Assert.Contains(header, h => h.Name == "bf16" && h.DType == "BF16" && h.Shape.SequenceEqual(new long[] { 5, 2 }));
            Assert.Contains(header, h => h.Name == "scalar" && h.Shape.Length == 0);
            // The data section starts 8-byte aligned.
            long headerLength = BitConverter.ToInt64(File.ReadAllBytes(path), 0);
            Assert.Equal(0, headerLength % 8);
        }

        [Fact]
        public void InteroperatesWithThePythonReader()
        {
            var tensors = Sample();
            var src = PathOf("to-python.safetensors");
            var dst = PathOf("from-python.safetensors");
            SafeTensors.Save(src, tensors, new Dictionary<string, string> { ["who"] = "csharp" });
            var (code, output) = PythonReference.RunScript($"st_echo.py \"{src}\" \"{dst}\"");
            Assert.True(code == 0, output);
            var back = SafeTensors.Load(dst, out var meta);
            foreach (var (k, v) in tensors) AssertSame(v, back["py." + k], k);
            Assert.Contains("csharp", meta["echo"]);
            var dtypes = JsonSerializer.Deserialize<Dictionary<string, string>>(meta["dtypes"])!;
            Assert.Equal("torch.bfloat16", dtypes["bf16"]);
            Assert.Equal("torch.float16", dtypes["f16"]);
            Assert.Equal("torch.int64", dtypes["i64"]);
        }

        [Fact]
        public void RejectsCorruptFilesWithTheTensorName()
        {
            var path = PathOf("bad.safetensors");
            File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
            Assert.Contains("shorter", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);

            File.WriteAllBytes(path, BitConverter.GetBytes(1L << 40).Concat(new byte[16]).ToArray());
            Assert.Contains("header length", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);

            WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[16]);
            var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
            Assert.Contains("'w'", ex.Message);
            Assert.Contains("needs 16", ex.Message);

            WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", new byte[8]);
            Assert.Contains("data section", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);

            WriteRaw(path, "{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
            Assert.Contains("unsupported dtype 'C64'", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);

            WriteRaw(path, "{not json", new byte[0]);
            Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);
        }

        private static void WriteRaw(string path, string header, byte[] data)
        {
            var h = Encoding.UTF8.GetBytes(header);
            File.WriteAllBytes(path, BitConverter.GetBytes((long)h.Length).Concat(h).Concat(data).ToArray());
        }

        [Fact]
        public void ModuleWeightsRoundTripAStateDict()
        {
            torch.manual_seed(1);
            using var a = new Bottleneck("a", 16, 8, 32, 2, 1, ShortcutKind.AvgDown);
            ParityHarness.Randomize(a);
            var path = PathOf("block.safetensors");
            a.SaveSafetensors(path);
            torch.manual_seed(2);
            using var b = new Bottleneck("b", 16, 8, 32, 2, 1, ShortcutKind.AvgDown);
            var report = b.LoadSafetensors(path);
            Assert.True(report.IsExact, report.ToString());
            var sa = a.state_dict();
            var sb = b.state_dict();
            Assert.Equal(sa.Count, report.Loaded.Count);
            foreach (var (k, v) in sa) AssertSame(v, sb[k], k);
        }

        [Fact]
        public void StrictLoadListsEveryMismatchAndLoadsNothing()
        {
            var path = PathOf("conv-shortcut.safetensors");
            using (var src = new Bottleneck("src", 16, 8, 32, 2, 1, ShortcutKind.Conv))
                src.SaveSafetensors(path);

            // AvgDown names its shortcut conv downsample.1 and BN downsample.2; width 16 changes every inner shape.
            using var dst = new Bottleneck("dst", 16, 16, 32, 2, 1, ShortcutKind.AvgDown);
            var before = dst.state_dict()["conv1.weight"].clone();
            var ex = Assert.Throws<InvalidDataException>(() => dst.LoadSafetensors(path));
            Assert.Contains("downsample.2.running_mean", ex.Message);   // missing from the file
            Assert.Contains("downsample.1.running_var", ex.Message);    // unexpected in the file
            Assert.Contains("conv1.weight: module [16, 16, 1, 1] vs file [8, 16, 1, 1]", ex.Message);
            Assert.True(before.eq(dst.state_dict()["conv1.weight"]).all().item<bool>(), "a failed strict load must not change the module");

            var report = dst.LoadSafetensors(path, strict: false);
            Assert.False(report.IsExact);
            Assert.Contains("downsample.2.weight", report.Missing);
            Assert.Contains("downsample.1.num_batches_tracked", report.Unexpected);
            Assert.Contains(report.ShapeMismatched, m => m.StartsWith("conv2.weight:", StringComparison.Ordinal));
            Assert.Contains("bn3.weight", report.Loaded);
        }
    }
}
