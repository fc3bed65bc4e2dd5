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

        /// <summary>
        /// Issue 24: <c>{'state_dict': sd, 'state_dict_ema': dict(sd)}</c> pickles the same tensors under both entries;
        /// disposing the entry not taken disposed the chosen one's tensors ("Tensor invalid -- empty handle").
        /// </summary>
        [Fact]
        public void Entries_that_share_tensors_load_the_chosen_one_intact()
        {
            using var file = TensorFiles.Read(_cases["shared_ema.pth"]);
            Assert.Equal("state_dict", file.Wrapper);
            Assert.Equal(new[] { "state_dict_ema" }, file.OtherStateDicts);
            Assert.Equal(_cases.Source.Keys.OrderBy(k => k), file.Tensors.Keys.OrderBy(k => k));
            foreach (var (k, v) in _cases.Source) AssertSame(v, file.Tensors[k], k);

            using var ema = TensorFiles.Read(_cases["shared_ema.pth"], entry: "state_dict_ema");
            Assert.Equal("state_dict_ema", ema.Wrapper);
            Assert.Equal(new[] { "state_dict" }, ema.OtherStateDicts);
            foreach (var (k, v) in _cases.Source) AssertSame(v, ema.Tensors[k], k);
        }

        [Fact]
        public void An_entry_is_taken_on_request_and_an_unknown_one_lists_the_state_dicts_there_are()
        {
            using var ema = TensorFiles.Read(_cases["wrapped_state_dict.pth"], entry: "state_dict_ema");   // zeros there
            Assert.Equal("state_dict_ema", ema.Wrapper);
            foreach (var (k, v) in _cases.Source) AssertSame(torch.zeros_like(v), ema.Tensors[k], k);

            var e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(_cases["wrapped_state_dict.pth"], entry: "ema"));
            Assert.Equal($"'{_cases["wrapped_state_dict.pth"]}' has no entry 'ema' holding a state dict; the entries that hold one: state_dict, state_dict_ema.", e.Message);
            e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(_cases["plain.pth"], entry: "state_dict"));
            Assert.Equal($"'{_cases["plain.pth"]}' is a state dict itself (a dict of tensors by name), with no entry 'state_dict' to choose.", e.Message);
            e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(_cases["plain.safetensors"], entry: "state_dict"));
            Assert.Equal($"'{_cases["plain.safetensors"]}' is a safetensors file, a flat state dict with no entry 'state_dict' to choose.", e.Message);
        }

        /// <summary>Issue 24: <c>torch.save(x)</c> of a bare tensor failed with "Unable to cast object of type 'Tensor' to type 'Hashtable'".</summary>
        [Fact]
        public void A_bare_tensor_file_reads_as_its_tensor_and_is_refused_as_a_state_dict()
        {
            using var expected = TensorFiles.Load(_cases["bare_tensor.safetensors"])["x"];
            using var bare = TensorFiles.ReadTensor(_cases["bare_tensor.pt"], "input");
            AssertSame(expected, bare, "bare tensor");
            using var named = TensorFiles.ReadTensor(_cases["bare_tensor.safetensors"], "x");
            AssertSame(expected, named, "named tensor");
            var e = Assert.Throws<InvalidDataException>(() => TensorFiles.ReadTensor(_cases["bare_tensor.safetensors"], "input"));
            Assert.Equal($"'{_cases["bare_tensor.safetensors"]}' has no tensor named 'input' (it has: x).", e.Message);
            e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(_cases["bare_tensor.pt"]));
            Assert.Equal($"'{_cases["bare_tensor.pt"]}' holds a single tensor (torch.save(tensor)), not a state dict; save a dict of tensors by name: torch.save(model.state_dict(), path).", e.Message);
        }

        /// <summary>Issue 24: a FIFO named as a tensor file blocked the reader forever; it is refused as a directory is.</summary>
        [Fact]
        public async System.Threading.Tasks.Task A_fifo_is_refused_without_blocking()
        {
            var fifo = PathOf("pipe.safetensors");
            using (var mk = System.Diagnostics.Process.Start("mkfifo", fifo)) await mk.WaitForExitAsync();
            var read = System.Threading.Tasks.Task.Run(() => TensorFiles.Read(fifo));
            if (await System.Threading.Tasks.Task.WhenAny(read, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(20))) != read)
            {
                using (var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write)) { } // unblock the reader
                Assert.Fail("reading a FIFO blocked");
            }
            var e = await Assert.ThrowsAsync<IOException>(() => read);
            Assert.Equal($"'{fifo}' is a FIFO (named pipe), not a tensor file.", e.Message);
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
            Assert.Contains("tensor 'w' has data_offsets [0, 12] (12 bytes) but F32 shape [2, 2] takes 16 bytes", Fails<InvalidDataException>(path));
            WriteRaw(path, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", new byte[8]);
            Assert.Contains("tensor 'w' has data_offsets [0, 16] outside the 8 data bytes of the file (truncated?)", Fails<InvalidDataException>(path));
            WriteRaw(path, "{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]);
            Assert.Contains("C64", Fails<InvalidDataException>(path));
            WriteRaw(path, "{not json", Array.Empty<byte>());
            Assert.Contains("its header is not valid JSON", Fails<InvalidDataException>(path));
            File.WriteAllBytes(path, File.ReadAllBytes(_cases["plain.pth"]).Take(4000).ToArray());
            Assert.Contains("torch.save zip file that TorchSharp.PyBridge 1.4.4 cannot read", Fails<InvalidDataException>(path));
        }

        [Theory]
        [InlineData("{\"input\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "tensor 'input' has shape [1.5]: 1.5 is not a non-negative 64-bit integer")]
        [InlineData("{\"input\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}", 4, "tensor 'input' has shape [1e30]: 1e30 is not a non-negative 64-bit integer")]
        [InlineData("{\"input\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "tensor 'input' has shape [-1]: -1 is not a non-negative 64-bit integer")]
        [InlineData("{\"input\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]}}", 4, "tensor 'input' has data_offsets [0.5,4]: 0.5 is not a non-negative 64-bit integer")]
        [InlineData("{\"input\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 4, "tensor 'input' has shape [1099511627776, 1099511627776], whose size overflows 64 bits")]
        [InlineData("{\"input\":{\"dtype\":\"F32\",\"shape\":[805306368],\"data_offsets\":[0,3221225472]}}", 4, "outside the 4 data bytes of the file")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a' is declared twice in the header")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensors 'a' and 'b' overlap in the data")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a' has no 'data_offsets' array")]
        [InlineData("{\"a\":[1,2]}", 0, "tensor 'a' is a JSON Array, not an object with dtype, shape and data_offsets")]
        public void A_malformed_safetensors_header_fails_in_one_line_naming_the_file_the_tensor_and_the_field(string header, int dataBytes, string expected)
        {
            var path = PathOf("malformed.safetensors");
            WriteRaw(path, header, new byte[dataBytes]);
            var e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(path));
            Assert.StartsWith($"'{path}' is not a valid safetensors file: ", e.Message);
            Assert.Contains(expected, e.Message);
            Assert.DoesNotContain("\n", e.Message);
        }

        [Fact]
        public void A_tensor_over_2_GiB_is_refused_before_PyBridge_reads_it()
        {
            // A sparse file: 3 GiB of data on disk cost nothing.
            var path = PathOf("huge.safetensors");
            var h = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[805306368],\"data_offsets\":[0,3221225472]}}");
            using (var fs = File.Create(path))
            {
                fs.Write(BitConverter.GetBytes((long)h.Length));
                fs.Write(h);
                fs.SetLength(8 + h.Length + 3221225472L);
            }
            var e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(path));
            Assert.Contains("tensor 'w' takes 3221225472 bytes, over the 2 GiB per tensor that TorchSharp.PyBridge 1.4.4 reads", e.Message);
        }

        [Fact]
        public void A_header_that_is_not_UTF8_names_the_file()
        {
            var path = PathOf("latin1.safetensors");
            var h = Encoding.UTF8.GetBytes("{\"in?\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
            h[4] = 0xFF;
            File.WriteAllBytes(path, BitConverter.GetBytes((long)h.Length).Concat(h).Concat(new byte[4]).ToArray());
            var e = Assert.Throws<InvalidDataException>(() => TensorFiles.Read(path));
            Assert.Contains($"'{path}' is not a valid safetensors file: its header is not valid UTF-8 (byte 4 of the header)", e.Message);
        }

        /// <summary>
        /// Random corruptions of valid files (bit flips, byte overwrites, truncation, extension, header-number edits), a
        /// fixed seed: every read is a one-line InvalidDataException naming the file, or a result that saves and reads
        /// back bit-exactly with the names, dtypes and shapes its header declares. 400 cases (300 safetensors, 100 torch.save).
        /// </summary>
        [Fact]
        public void Fuzz_corrupted_weights_files_fail_cleanly_or_read_correctly()
        {
            var source = PathOf("valid.safetensors");
            var sample = Sample();
            sample.Remove("transposed");
            TensorFiles.Save(source, sample);
            var originals = new[] { (File.ReadAllBytes(source), 300), (File.ReadAllBytes(_cases["plain.pth"]), 100) };
            var rng = new Random(1414);
            int clean = 0, read = 0;
            var path = PathOf("fuzz.bin");
            foreach (var (bytes, count) in originals)
                for (int i = 0; i < count; i++)
                {
                    File.WriteAllBytes(path, Corrupt(bytes, rng));
                    TensorFile? file = null;
                    try
                    {
                        file = TensorFiles.Read(path);
                    }
                    catch (InvalidDataException e)
                    {
                        Assert.Contains(path, e.Message);
                        Assert.DoesNotContain("\n", e.Message);
                        clean++;
                        continue;
                    }
                    using (file)
                    {
                        var copy = PathOf("fuzz-copy.safetensors");
                        TensorFiles.Save(copy, file.Tensors);
                        using var back = TensorFiles.Read(copy);
                        Assert.Equal(file.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal), back.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
                        foreach (var (k, v) in file.Tensors) AssertBitExact(v, back.Tensors[k], k);
                        read++;
                    }
                }
            Assert.Equal(400, clean + read);
            Assert.True(clean > 100 && read > 10, $"{clean} clean errors, {read} reads: the corruptions should exercise both");
        }

        /// <summary>Same dtype, shape and bytes (corrupted data may hold NaNs, which <c>eq</c> would call different).</summary>
        private static void AssertBitExact(Tensor expected, Tensor actual, string name)
        {
            Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype}, expected {expected.dtype}");
            Assert.True(expected.shape.SequenceEqual(actual.shape), $"{name}: shape [{string.Join(", ", actual.shape)}]");
            Assert.True(expected.contiguous().bytes.ToArray().SequenceEqual(actual.contiguous().bytes.ToArray()), $"{name}: bytes differ");
        }

        private static byte[] Corrupt(byte[] original, Random rng)
        {
            var b = (byte[])original.Clone();
            int headerEnd = b.Length > 8 && b[8] == (byte)'{' ? 8 + (int)Math.Min(BitConverter.ToInt64(b, 0), b.Length - 8) : b.Length;
            switch (rng.Next(6))
            {
                case 0: // flip bits anywhere
                    for (int k = rng.Next(1, 4); k > 0; k--) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                    return b;
                case 1: // a random byte in the header (or the zip directory)
                    b[rng.Next(Math.Min(headerEnd, b.Length))] = (byte)rng.Next(256);
                    return b;
                case 2: // truncate
                    return b.Take(rng.Next(b.Length)).ToArray();
                case 3: // append garbage
                    return b.Concat(Enumerable.Range(0, rng.Next(1, 64)).Select(_ => (byte)rng.Next(256))).ToArray();
                case 4: // a digit of the header becomes another number
                {
                    var digits = Enumerable.Range(8, Math.Max(0, headerEnd - 8)).Where(j => b[j] >= '0' && b[j] <= '9').ToList();
                    if (digits.Count > 0) b[digits[rng.Next(digits.Count)]] = (byte)"0123456789.-e"[rng.Next(13)];
                    return b;
                }
                default: // data bytes only: must still read, with other values
                    for (int k = rng.Next(1, 8); k > 0; k--)
                        if (b.Length > headerEnd) b[rng.Next(headerEnd, b.Length)] = (byte)rng.Next(256);
                    return b;
            }
        }

        private static void WriteRaw(string path, string header, byte[] data)
        {
            var h = Encoding.UTF8.GetBytes(header);
            File.WriteAllBytes(path, BitConverter.GetBytes((long)h.Length).Concat(h).Concat(data).ToArray());
        }
    }
}
