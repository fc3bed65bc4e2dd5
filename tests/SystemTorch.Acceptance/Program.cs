using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SystemTorch.Acceptance
{
    /// <summary>A small conv / BN / LayerNorm / attention classifier, written as a TorchSharp user would.</summary>
    public sealed class Net : Module<Tensor, Tensor>
    {
        private readonly Conv2d stem;
        private readonly BatchNorm2d bn;
        private readonly LayerNorm norm;
        private readonly Linear qkv;
        private readonly Linear proj;
        private readonly Linear head;
        private const long Dim = 16, Heads = 2, HeadDim = 8;

        public Net() : base(nameof(Net))
        {
            stem = Conv2d(3, Dim, 3, stride: 1, padding: 1, bias: false);
            bn = BatchNorm2d(Dim);
            norm = LayerNorm(Dim);
            qkv = Linear(Dim, 3 * Dim);
            proj = Linear(Dim, Dim);
            head = Linear(Dim, 5);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var n = x.shape[0];
            var y = functional.relu(bn.forward(stem.forward(x)));
            var t = y.flatten(2).transpose(1, 2);                       // N, L, C
            var l = t.shape[1];
            var h = norm.forward(t);
            var qkvt = qkv.forward(h).view(n, l, 3, Heads, HeadDim).permute(2, 0, 3, 1, 4);
            var (q, k, v) = (qkvt[0], qkvt[1], qkvt[2]);
            var att = (torch.einsum("bhqd,bhkd->bhqk", q, k) * Math.Pow(HeadDim, -0.5)).softmax(-1);
            var o = torch.einsum("bhqk,bhkd->bhqd", att, v).transpose(1, 2).reshape(n, l, Dim);
            t = t + proj.forward(o);
            var pooled = t.mean(new long[] { 1 });
            return head.forward(pooled).MoveToOuterDisposeScope();
        }
    }

    public static class Program
    {
        public const int Steps = 4;

        /// <summary>Trains a few SGD steps and writes init state, data, losses and final state to dir.</summary>
        public static void Train(string dir)
        {
            Directory.CreateDirectory(dir);
            torch.manual_seed(2024);
            using var net = new Net();
            var init = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
            using var x = torch.randn(6, 3, 8, 8);
            using var target = torch.tensor(new long[] { 0, 1, 2, 3, 4, 1 });
            var data = new Dictionary<string, Tensor>(init.Select(kv => KeyValuePair.Create("sd." + kv.Key, kv.Value))) { ["x"] = x, ["target"] = target };
            Save(Path.Combine(dir, "init.safetensors"), data);

            var optimizer = torch.optim.SGD(net.parameters(), 0.05, momentum: 0.9, weight_decay: 1e-4);
            var losses = new List<float>();
            net.train();
            for (int step = 0; step < Steps; step++) {
                using var scope = torch.NewDisposeScope();
                optimizer.zero_grad();
                var logits = net.call(x);
                var loss = functional.cross_entropy(logits, target, label_smoothing: 0.1);
                loss.backward();
                optimizer.step();
                losses.Add(loss.item<float>());
            }
            net.eval();
            using (torch.no_grad()) {
                using var evalOut = net.call(x);
                var final = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
                final["__losses"] = torch.tensor(losses.ToArray());
                final["__eval_logits"] = evalOut;
                Save(Path.Combine(dir, "final.safetensors"), final);
            }
            File.WriteAllText(Path.Combine(dir, "keys.json"), JsonSerializer.Serialize(net.state_dict().Keys.ToList()));
            Console.WriteLine("losses: " + string.Join(", ", losses.Select(v => v.ToString("F5", System.Globalization.CultureInfo.InvariantCulture))));
        }

        /// <summary>Runs the PyTorch replica; returns (exit code, output).</summary>
        public static (int code, string output) Verify(string dir, string python = "/usr/bin/python3")
        {
            var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "acceptance_ref.py"));
            psi.ArgumentList.Add(dir);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output + err.Result);
        }

        public static int Main(string[] args)
        {
            var dir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "systemtorch-acceptance");
            Train(dir);
            var (code, output) = Verify(dir);
            Console.Write(output);
            return code;
        }

        private static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors)
        {
            var header = new Dictionary<string, object>();
            var chunks = new List<byte[]>();
            long off = 0;
            foreach (var (name, t0) in tensors) {
                using var t = t0.detach().cpu().contiguous();
                byte[] raw = t.dtype switch {
                    ScalarType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<float>().ToArray().AsSpan()).ToArray(),
                    ScalarType.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<long>().ToArray().AsSpan()).ToArray(),
                    _ => throw new NotSupportedException(t.dtype.ToString()),
                };
                header[name] = new Dictionary<string, object> { ["dtype"] = t.dtype == ScalarType.Float32 ? "F32" : "I64", ["shape"] = t.shape, ["data_offsets"] = new[] { off, off + raw.Length } };
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
    }
}
