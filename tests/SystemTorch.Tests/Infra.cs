using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace SystemTorch.Tests
{
    /// <summary>Minimal safetensors reader/writer (the Python side is pyref.py).</summary>
    public static class SafeTensors
    {
        private static string Code(ScalarType t) => t switch {
            ScalarType.Float32 => "F32",
            ScalarType.Float64 => "F64",
            ScalarType.Int64 => "I64",
            ScalarType.Int32 => "I32",
            ScalarType.Bool => "BOOL",
            ScalarType.Byte => "U8",
            _ => throw new NotSupportedException(t.ToString()),
        };

        public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors)
        {
            var header = new Dictionary<string, object>();
            var chunks = new List<byte[]>();
            long off = 0;
            foreach (var (name, t0) in tensors) {
                using var t = t0.detach().cpu().contiguous();
                byte[] raw = t.dtype switch {
                    ScalarType.Float32 => Bytes(t.data<float>().ToArray()),
                    ScalarType.Float64 => Bytes(t.data<double>().ToArray()),
                    ScalarType.Int64 => Bytes(t.data<long>().ToArray()),
                    ScalarType.Int32 => Bytes(t.data<int>().ToArray()),
                    ScalarType.Bool => t.data<bool>().ToArray().Select(b => b ? (byte)1 : (byte)0).ToArray(),
                    ScalarType.Byte => t.data<byte>().ToArray(),
                    _ => throw new NotSupportedException(t.dtype.ToString()),
                };
                header[name] = new Dictionary<string, object> {
                    ["dtype"] = Code(t.dtype),
                    ["shape"] = t.shape,
                    ["data_offsets"] = new[] { off, off + raw.Length },
                };
                chunks.Add(raw);
                off += raw.Length;
            }
            var h = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
            var pad = (8 - h.Length % 8) % 8;
            using var f = File.Create(path);
            f.Write(BitConverter.GetBytes((ulong)(h.Length + pad)));
            f.Write(h);
            for (int i = 0; i < pad; i++) f.WriteByte((byte)' ');
            foreach (var c in chunks) f.Write(c);
        }

        private static byte[] Bytes<T>(T[] a) where T : unmanaged
        {
            var span = System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan());
            return span.ToArray();
        }

        public static Dictionary<string, Tensor> Load(string path)
        {
            var data = File.ReadAllBytes(path);
            var n = (int)BitConverter.ToUInt64(data, 0);
            using var doc = JsonDocument.Parse(data.AsMemory(8, n));
            var body = 8 + n;
            var res = new Dictionary<string, Tensor>();
            foreach (var p in doc.RootElement.EnumerateObject()) {
                if (p.Name == "__metadata__") continue;
                var dt = p.Value.GetProperty("dtype").GetString();
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var bytes = data.AsSpan(body + (int)offs[0], (int)(offs[1] - offs[0]));
                Tensor t = dt switch {
                    "F32" => torch.tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(), shape),
                    "F64" => torch.tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray(), shape),
                    "I64" => torch.tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(), shape),
                    "I32" => torch.tensor(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray(), shape),
                    "BOOL" => torch.tensor(bytes.ToArray().Select(b => b != 0).ToArray(), shape),
                    "U8" => torch.tensor(bytes.ToArray(), shape),
                    _ => throw new NotSupportedException(dt),
                };
                res[p.Name] = t.DetachFromDisposeScope();
            }
            return res;
        }
    }

    /// <summary>One reference case: inputs, the PyTorch code, and the SystemTorch computation.</summary>
    public sealed record RefCase(string Name, Dictionary<string, Tensor> Inputs, string Py, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> Cs, double Tol = 1e-5);

    /// <summary>Runs every registered case through one Python process and keeps the results.</summary>
    public sealed class PyReference
    {
        public Dictionary<string, Dictionary<string, Tensor>> Outputs { get; } = new();
        public Dictionary<string, JsonElement> Meta { get; } = new();

        public static string Python => Environment.GetEnvironmentVariable("SYSTEMTORCH_PYTHON") ?? "/usr/bin/python3";

        public PyReference(IEnumerable<RefCase> cases)
        {
            var dir = Path.Combine(Path.GetTempPath(), "systemtorch-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try {
                var list = new List<object>();
                foreach (var c in cases) {
                    var input = Path.Combine(dir, c.Name + ".in.safetensors");
                    SafeTensors.Save(input, c.Inputs);
                    list.Add(new { name = c.Name, input, output = Path.Combine(dir, c.Name + ".out.safetensors"), code = c.Py });
                }
                var manifest = Path.Combine(dir, "manifest.json");
                var metaPath = Path.Combine(dir, "meta.json");
                File.WriteAllText(manifest, JsonSerializer.Serialize(new { cases = list, meta = metaPath, threads = 1 }));
                Run(Path.Combine(AppContext.BaseDirectory, "pyref.py"), manifest);
                using var doc = JsonDocument.Parse(File.ReadAllText(metaPath));
                foreach (var p in doc.RootElement.EnumerateObject()) Meta[p.Name] = p.Value.Clone();
                foreach (var c in cases) Outputs[c.Name] = SafeTensors.Load(Path.Combine(dir, c.Name + ".out.safetensors"));
            } finally {
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
        }

        public static void Run(string script, params string[] args)
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(script);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var outp = p.StandardOutput.ReadToEndAsync();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"python failed ({p.ExitCode}): {err.Result}\n{outp.Result}");
        }
    }

    public static class Check
    {
        public static void Close(Tensor expected, Tensor actual, double tol, string what)
        {
            Assert.True(expected.shape.SequenceEqual(actual.shape), $"{what}: shape [{string.Join(",", actual.shape)}] != expected [{string.Join(",", expected.shape)}]");
            Assert.True(expected.dtype == actual.dtype || (expected.is_floating_point() && actual.is_floating_point()), $"{what}: dtype {actual.dtype} != {expected.dtype}");
            if (expected.numel() == 0) return;
            using var e = expected.to_type(ScalarType.Float64);
            using var a = actual.detach().cpu().to_type(ScalarType.Float64);
            using var diff = (e - a).abs();
            using var scale = e.abs().clamp(1.0, null);
            using var rel = diff / scale;
            var maxErr = rel.max().ToDouble();
            Assert.True(maxErr <= tol, $"{what}: max error {maxErr:G4} > {tol:G4}");
        }
    }
}
