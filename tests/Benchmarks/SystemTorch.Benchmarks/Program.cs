using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace SystemTorch.Benchmarks
{
    /// <summary>
    /// Per-call overhead of SystemTorch vs PyTorch eager on the same libtorch (Stopwatch harness: warmup,
    /// median of repeats). Usage: SystemTorch.Benchmarks [threads=1] [scale=1.0] [python=/usr/bin/python3] [rounds=3]
    /// </summary>
    public static class Program
    {
        private static double Bench(Action fn, int iters, int repeats = 7, int? warmup = null)
        {
            for (int i = 0, w = warmup ?? Math.Max(iters / 5, 3); i < w; i++) fn();
            var samples = new List<double>();
            for (int r = 0; r < repeats; r++) {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < iters; i++) fn();
                sw.Stop();
                samples.Add(sw.Elapsed.TotalMilliseconds * 1000.0 / iters);
            }
            samples.Sort();
            return samples[samples.Count / 2];
        }

        public static int Main(string[] args)
        {
            int threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1;
            double scale = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0;
            string python = args.Length > 2 ? args[2] : "/usr/bin/python3";
            torch.set_num_threads(threads);

            using var a = torch.randn(1, 1);
            using var b = torch.randn(1, 1);
            using var r1 = torch.randn(1, 1);
            using var m1 = torch.randn(64, 64);
            using var m2 = torch.randn(64, 64);
            var layers = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; i < 3; i++) {
                layers.Add(nn.Conv2d(32, 32, 3, padding: 1, bias: false));
                layers.Add(nn.BatchNorm2d(32));
                layers.Add(nn.ReLU());
            }
            using var net = nn.Sequential(layers.ToArray());
            net.train();
            using var x = torch.randn(8, 32, 32, 32);
            using var xg = x.clone().requires_grad_(true);

            int rounds = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
            Dictionary<string, double> RunOurs() => new Dictionary<string, double> {
                ["add 1x1"] = Bench(() => { using var c = a + b; }, (int)(20000 * scale)),
                ["relu 1x1"] = Bench(() => { using var c = torch.nn.functional.relu(r1); }, (int)(20000 * scale)),
                ["add 1x1 + scalar"] = Bench(() => { using var c = a + 1.5; }, (int)(20000 * scale)),
                ["matmul 64x64"] = Bench(() => { using var c = m1.matmul(m2); }, (int)(5000 * scale)),
                ["conv/BN/ReLU x3 fwd (8x32x32x32)"] = Bench(() => {
                    using var ng = torch.no_grad();
                    using var y = net.call(x);
                }, Math.Max((int)(20 * scale), 3), 5),
                ["conv/BN/ReLU x3 fwd+bwd"] = Bench(() => {
                    using var scope = torch.NewDisposeScope();
                    net.zero_grad();
                    net.call(xg).sum().backward();
                }, Math.Max((int)(10 * scale), 2), 5),
            };

            (string version, Dictionary<string, double> res)? RunTheirs()
            {
                var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
                psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bench_pytorch.py"));
                psi.ArgumentList.Add(threads.ToString(CultureInfo.InvariantCulture));
                psi.ArgumentList.Add(scale.ToString(CultureInfo.InvariantCulture));
                using var p = Process.Start(psi)!;
                var stderrTask = p.StandardError.ReadToEndAsync();
                var stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0) {
                    Console.Error.WriteLine("PyTorch side failed: " + stderrTask.Result);
                    return null;
                }
                using var doc = JsonDocument.Parse(stdout);
                return (doc.RootElement.GetProperty("torch").GetString() ?? "?",
                        doc.RootElement.GetProperty("results").EnumerateObject().ToDictionary(e => e.Name, e => e.Value.GetDouble()));
            }

            // Alternate the two sides for several rounds and keep each workload's best median (robust to load).
            var ours = new Dictionary<string, double>();
            var theirs = new Dictionary<string, double>();
            string version = "?";
            for (int round = 0; round < rounds; round++) {
                foreach (var (k, v) in RunOurs()) ours[k] = ours.TryGetValue(k, out var o) ? Math.Min(o, v) : v;
                var t = RunTheirs();
                if (t is null) return 1;
                version = t.Value.version;
                foreach (var (k, v) in t.Value.res) theirs[k] = theirs.TryGetValue(k, out var o) ? Math.Min(o, v) : v;
            }

            Console.WriteLine($"SystemTorch vs PyTorch {version} eager, same libtorch, threads={threads}, best of {rounds} alternating rounds (median us/call; ratio = PyTorch / SystemTorch, >1 means SystemTorch is faster)");
            Console.WriteLine($"{"workload",-36} {"SystemTorch us",15} {"PyTorch us",12} {"ratio",7}");
            foreach (var (k, v) in ours) {
                var t = theirs[k];
                Console.WriteLine($"{k,-36} {v,15:F2} {t,12:F2} {t / v,7:F2}");
            }
            return 0;
        }
    }
}
