using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;
using static Torchwright.Runtime.Tests.TorchSaveCases;

namespace Torchwright.Runtime.Tests
{
    /// <summary>Tensor files through TorchSharp.PyBridge: safetensors both ways, torch.save zip files in, by content.</summary>
    public sealed class TensorFilesTests : IClassFixture<TorchSaveCases>, IDisposable
    {
        private readonly TorchSaveCases _cases;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "torchwright-st-tests", Guid.NewGuid().ToString("N"));

        public TensorFilesTests(TorchSaveCases cases)
        {
            _cases = cases;
            Directory.CreateDirectory(_dir);
        }

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
                ["transposed"] = torch.arange(0, 12, 1, ScalarType.Float32).reshape(3, 4).t(),
            };
        }

        [Fact]
        public void Safetensors_round_trip_every_dtype_bit_exact_with_metadata()
        {
            var tensors = Sample();
            tensors["i8"] = torch.arange(-3, 3, 1, ScalarType.Int64).to(ScalarType.Int8);
            tensors["i16"] = torch.arange(-300, 300, 100, ScalarType.Int64).to(ScalarType.Int16);
            var path = PathOf("all.safetensors");
            TensorFiles.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "héllo" });
            Assert.Equal(TensorFileFormat.Safetensors, TensorFiles.Detect(path));
            var back = TensorFiles.Load(path);
            Assert.Equal(tensors.Keys.OrderBy(k => k), back.Keys.OrderBy(k => k));
            foreach (var (k, v) in tensors) AssertSame(v.contiguous(), back[k], k);
            var meta = TensorFiles.ReadMetadata(path);
            Assert.Equal("pt", meta["format"]);
            Assert.Equal("héllo", meta["note"]);
            // The data section starts 8-byte aligned, and rewriting a file with less leaves nothing of the old one
            // (PyBridge's Safetensors.SaveStateDict(path, ..) opens with File.OpenWrite, which does not truncate).
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(0, BitConverter.ToInt64(bytes, 0) % 8);
            TensorFiles.Save(path, new Dictionary<string, Tensor> { ["x"] = torch.ones(2) });
            Assert.Equal(8 + BitConverter.ToInt64(File.ReadAllBytes(path), 0) + 2 * 4, new FileInfo(path).Length);
            Assert.Empty(TensorFiles.ReadMetadata(path));
        }

        [Fact]
        public void Safetensors_interoperate_with_the_python_reader()
        {
            var tensors = Sample();
            var src = PathOf("to-python.safetensors");
            var dst = PathOf("from-python.safetensors");
            TensorFiles.Save(src, tensors, new Dictionary<string, string> { ["who"] = "csharp" });
            var (code, output) = PythonReference.RunScript($"st_echo.py \"{src}\" \"{dst}\"");
            Assert.True(code == 0, output);
            var back = TensorFiles.Load(dst);
            var meta = TensorFiles.ReadMetadata(dst);
            foreach (var (k, v) in tensors) AssertSame(v.contiguous(), back["py." + k], k);
            Assert.Contains("csharp", meta["echo"]);
            var dtypes = JsonSerializer.Deserialize<Dictionary<string, string>>(meta["dtypes"])!;
            Assert.Equal("torch.bfloat16", dtypes["bf16"]);
            Assert.Equal("torch.float16", dtypes["f16"]);
            Assert.Equal("torch.int64", dtypes["i64"]);
        }

        [Theory]
        [InlineData("dtypes.pt")]             // PyTorch 1.13's torch.save
        [InlineData("dtypes_2x_layout.pt")]   // the same records in PyTorch 2.x's zip layout
        public void A_torch_save_file_reads_every_dtype_as_pytorch_wrote_it(string file)
        {
            // dtypes.safetensors: the same dict, written by the project's Python safetensors writer.
            Assert.Equal(TensorFileFormat.TorchZip, TensorFiles.Detect(_cases[file]));
            var pt = TensorFiles.Load(_cases[file]);
            var st = TensorFiles.Load(_cases["dtypes.safetensors"]);
            Assert.Equal(st.Keys.OrderBy(k => k), pt.Keys.OrderBy(k => k));
            foreach (var (k, v) in st) AssertSame(v, pt[k], k);
            Assert.Equal(ScalarType.BFloat16, pt["bf16"].dtype);
            Assert.Equal(ScalarType.Float16, pt["f16"].dtype);
            Assert.Equal(ScalarType.Int64, pt["num_batches_tracked"].dtype);
            Assert.Equal(12345678901L, pt["num_batches_tracked"].item<long>());
            Assert.Empty(pt["scalar"].shape);
        }

        [Fact]
        public void The_format_is_told_by_content_not_by_extension()
        {
            var pthNamedSafetensors = PathOf("really-a-pth.safetensors");
            var safetensorsNamedPth = PathOf("really-safetensors.pth");
            File.Copy(_cases["plain.pth"], pthNamedSafetensors);
            File.Copy(_cases["plain.safetensors"], safetensorsNamedPth);
            Assert.Equal(TensorFileFormat.TorchZip, TensorFiles.Detect(pthNamedSafetensors));
            Assert.Equal(TensorFileFormat.Safetensors, TensorFiles.Detect(safetensorsNamedPth));
            Assert.Equal(TensorFileFormat.TorchLegacy, TensorFiles.Detect(_cases["legacy.pth"]));
            foreach (var path in new[] { pthNamedSafetensors, safetensorsNamedPth })
            {
                var t = TensorFiles.Load(path);
                foreach (var (k, v) in _cases.Source) AssertSame(v, t[k], $"{Path.GetFileName(path)}: {k}");
            }
        }

        [Fact]
        public void A_state_dict_nested_under_state_dict_or_model_is_taken_from_there()
        {
            using var timm = TensorFiles.Read(_cases["wrapped_state_dict.pth"]);   // also holds state_dict_ema, optimizer, args
            Assert.Equal("state_dict", timm.Wrapper);
            Assert.Equal(_cases.Source.Keys.OrderBy(k => k), timm.Tensors.Keys.OrderBy(k => k));
            foreach (var (k, v) in _cases.Source) AssertSame(v, timm.Tensors[k], k);
            using var official = TensorFiles.Read(_cases["wrapped_model.pth"]);
            Assert.Equal("model", official.Wrapper);
            Assert.Equal(_cases.Source.Count, official.Tensors.Count);
            using var plain = TensorFiles.Read(_cases["plain.pth"]);
            Assert.Null(plain.Wrapper);
        }

        [Fact]
        public void What_cannot_be_read_fails_in_one_line_naming_the_file_and_why()
        {
            string Fails<T>(string path) where T : Exception
            {
                var e = Assert.Throws<T>(() => TensorFiles.Read(path));
                Assert.Contains(path, e.Message);
                Assert.DoesNotContain("\n", e.Message);
                return e.Message;
            }

            Assert.Contains("legacy format", Fails<InvalidDataException>(_cases["legacy.pth"]));
            Assert.Contains("not contiguous (channels_last", Fails<InvalidDataException>(_cases["channels_last.pth"]));
            Assert.Contains("a view into a larger storage", Fails<InvalidDataException>(_cases["shared_storage.pth"]));
            var notStateDict = Fails<InvalidDataException>(_cases["not_a_state_dict.pth"]);
            Assert.Contains("non-tensor entries (args: argparse.Namespace, epoch: int, weights: list)", notStateDict);
            Assert.Contains("torch.save(model.state_dict(), path)", notStateDict);
            Assert.Contains("is a directory", Fails<IOException>(_dir));

            var path = PathOf("bad.safetensors");
            File.WriteAllBytes(path, Array.Empty<byte>());
            Assert.Contains("neither a safetensors file nor a PyTorch torch.save zip file (it starts with nothing", Fails<InvalidDataException>(path));
            File.WriteAllText(path, "hello, world");
            Assert.Contains("it starts with bytes 68 65 6c 6c 6f 2c 20 77", Fails<InvalidDataException>(path));
            WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", new byte[16]);
            Assert.Contains("mismatched # of elements", Fails<InvalidDataException>(path));
            WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", new byte[8]);
            Assert.Contains("not a readable safetensors file", Fails<InvalidDataException>(path));
            WriteRaw(path, "{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
            Assert.Contains("C64", Fails<InvalidDataException>(path));
            WriteRaw(path, "{not json", Array.Empty<byte>());
            Assert.Contains("not a readable safetensors file", Fails<InvalidDataException>(path));
            File.WriteAllBytes(path, File.ReadAllBytes(_cases["plain.pth"]).Take(4000).ToArray());
            Assert.Contains("torch.save zip file that TorchSharp.PyBridge 1.4.4 cannot read", Fails<InvalidDataException>(path));
        }

        private static void WriteRaw(string path, string header, byte[] data)
        {
            var h = Encoding.UTF8.GetBytes(header);
            File.WriteAllBytes(path, BitConverter.GetBytes((long)h.Length).Concat(h).Concat(data).ToArray());
        }
    }
}
