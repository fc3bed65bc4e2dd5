using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// <c>torchwright bench</c> on a tiny ResNet (7,058 parameters at 3x32x32) with one warm-up and one timed iteration:
    /// every side runs (Torchwright, PyTorch eager, PyTorch best), the output has the documented shape. Speed itself is never asserted.
    /// </summary>
    public class BenchTests
    {
        /// <summary>MACs per image of <see cref="Tiny"/> (torchwright summary; the generated class's Macs).</summary>
        private const long TinyMacs = 358_784;

        private const string Tiny = @"
arch TinyBench : ResNet50 {
  input      = 3x32x32
  classes    = 10
  stem_width = 8
  depths     = [1, 1, 1, 1]
  widths     = [4, 8, 8, 8]
  outs       = [16, 16, 32, 32]
}
";

        /// <summary>bench on the tiny architecture; <paramref name="options"/> add to or override the fast defaults.</summary>
        private static CliRunner.Result Bench(TempDir dir, params string[] options)
        {
            var args = new List<string> { "bench", dir.Write("tiny.arch", Tiny) };
            foreach (var (option, value) in new[] { ("--name", "TinyBench"), ("--batch", "2"), ("--warmup", "1"), ("--iterations", "1"), ("--threads", "1") })
                if (!options.Contains(option)) args.AddRange(new[] { option, value });
            args.AddRange(options);
            return CliRunner.Run(args.ToArray());
        }

        [Theory]
        [InlineData("infer")]
        [InlineData("train")]
        public void Bench_runs_every_side_and_prints_the_ratios(string mode)
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--mode", mode);
            Assert.True(code == 0, stderr);
            Assert.Equal("", stderr);
            var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            Assert.Equal($"TinyBench ({mode}, fp32): input 2x3x32x32 on cpu, 1 thread on every side", lines[0]);
            // The engines, with the versions read at run time.
            Assert.Equal($"Torchwright: the emitted C# on TorchSharp 0.107.0 / libtorch {TorchSharp.torch.__version__.Substring(0, TorchSharp.torch.__version__.Length - 2)}", lines[1]);
            Assert.StartsWith("PyTorch:     the reference network on PyTorch 1.13", lines[2]);
            Assert.EndsWith("(Debian python3-torch: the system PyTorch, what this machine's users have) -- its own libtorch, not 2.10.0; eager, and the fastest of its own paths (PyTorch best)", lines[2]);
            Assert.Equal($"ISA: {Torchwright.Cli.Running.CpuIsa.Describe(Torchwright.Cli.Running.CpuIsa.Current())} (from /proc/cpuinfo flags)", lines[3]);
            Assert.Equal("1 warm-up + 1 timed iteration per side, sides alternating iteration by iteration; ms/batch is the median", lines[4]);
            var rows = lines.Where(l => l.StartsWith("Torchwright ") || (l.StartsWith("PyTorch ") && !l.StartsWith("PyTorch best ran "))).ToList();
            Assert.Equal(6, rows.Count);   // one row per side in each table
            string path = mode == "train" ? "(eager|channels_last)" : "(eager|channels_last|jit\\.freeze\\+optimize_for_inference(, channels_last)?|fx conv-bn fusion, channels_last)";
            // Training runs in the family's layout (ResNet: channels-last), and the row says so.
            string ours = mode == "train" ? @"Torchwright \(channels_last\)" : "Torchwright";
            Assert.Matches($@"^{ours} +\d+\.\d\d +\d+\.\d +\d+\.\d\.\.\d+\.\d +\d+\.\d\d MiB +\d+\.\d\d MiB$", rows[0]);
            Assert.Matches(@"^PyTorch eager +\d+\.\d\d +\d+\.\d +\d+\.\d\.\.\d+\.\d +\d+\.\d\d MiB +\d+\.\d\d MiB$", rows[1]);
            Assert.Matches($@"^PyTorch best \({path}\) +\d+\.\d\d +\d+\.\d +\d+\.\d\.\.\d+\.\d +\d+\.\d\d MiB +\d+\.\d\d MiB$", rows[2]);
            Assert.Matches(new Regex(@"^ratio \(Torchwright/PyTorch eager images/s\) = \d+\.\d\d$", RegexOptions.Multiline), stdout);
            Assert.Matches(new Regex(@"^ratio \(Torchwright/PyTorch best images/s\) = \d+\.\d\d$", RegexOptions.Multiline), stdout);
            // Each path: its median and timed trials; one that is clearly slower than the leader stops early and says so.
            string Tried(string p) => $@"{p} \d+\.\d ms x(5|[2-4] \(stopped at [2-4] of 5 trials: clearly slower \(its fastest, \d+\.\d ms, is over 1\.5x the median of {path}, \d+\.\d ms\)\))";
            string tried = mode == "train"
                ? $"{Tried("eager")}; {Tried("channels_last")}"
                : $@"{Tried("eager")}; {Tried(@"jit\.freeze\+optimize_for_inference, channels_last")}; {Tried(@"jit\.freeze\+optimize_for_inference")}; " +
                  $@"{Tried("channels_last")}; {Tried("fx conv-bn fusion, channels_last")}";
            Assert.Single(lines, l => Regex.IsMatch(l, $@"^PyTorch best ran {path}, the lowest median of up to 5 round-robin trial iterations per path within a 120 s budget \(the choice took \d+\.\d s\): {tried}$"));
            // GFLOP/s, % of the measured peak, page faults per iteration.
            Assert.Matches($@"^{ours} +\d+\.\d +\d+\.\d % +[\d,]+$", rows[3]);
            Assert.Matches(@"^PyTorch eager +\d+\.\d +\d+\.\d % +[\d,]+$", rows[4]);
            Assert.Matches($@"^PyTorch best \({path}\) +\d+\.\d +\d+\.\d % +[\d,]+$", rows[5]);
            string convention = mode == "train"
                ? "2.153 MFLOP per image = 3 x 2 x 358.784 kMACs per image: forward + backward counted as 3 x forward (loss and SGD update not counted)"
                : "717.568 kFLOP per image = 2 x 358.784 kMACs per image (forward)";
            Assert.Contains($"FLOPs: {convention}; GFLOP/s = FLOPs per image x images/s", lines);
            Assert.Single(lines, l => Regex.IsMatch(l, @"^measured peak \(fp32\): \d+\.\d GFLOP/s = best of \d+ 2048x2048 fp32 matmuls in TorchSharp on 1 thread$"));
            // bf16 is measured beside fp32 exactly where the CPU has bf16 dot products.
            bool bf16 = Torchwright.Cli.Running.CpuIsa.HasBf16(Torchwright.Cli.Running.CpuIsa.Current());
            Assert.Equal(bf16 ? 1 : 0, lines.Count(l => Regex.IsMatch(l, @"^measured peak \(bf16\): \d+\.\d GFLOP/s = best of \d+ 2048x2048 bf16 matmuls in TorchSharp on 1 thread$")));
            // Which way the derived peak is off is said from the two numbers of this run.
            double Gflops(string prefix) => double.Parse(Regex.Match(lines.Single(l => l.StartsWith(prefix)), @": (\d+\.\d) GFLOP/s").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            double derivedPeak = Gflops("derived peak (fp32)"), measuredPeak = Gflops("measured peak (fp32)");
            if (derivedPeak != measuredPeak)   // equal at one decimal: either is right
                Assert.Contains(derivedPeak < measuredPeak
                ? "% of measured peak: against the measured fp32 peak, not the derived one below (which assumes the nominal clock and understates it here)"
                : "% of measured peak: against the measured fp32 peak, not the derived one below (the matmul measured below it: the machine was busy while it ran, or runs below the clock cpuinfo gives)", lines);
            Assert.Single(lines, l => Regex.IsMatch(l, @"^derived peak \(fp32\): \d+\.\d GFLOP/s = 1 core x \d FMA units x (8|16) fp32 lanes x 2 FLOP x \d\.\d{3} GHz \("));
        }

        [Fact]
        public void Bench_json_names_every_side_and_pytorch_best_keeps_its_fastest_checked_path()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            var sides = root.GetProperty("sides").EnumerateArray().ToList();
            Assert.Equal(new[] { "Torchwright", "PyTorch eager", "PyTorch best" }, sides.Select(s => s.GetProperty("side").GetString()).ToArray());
            Assert.False(sides[0].TryGetProperty("path", out _));
            Assert.False(sides[1].TryGetProperty("path", out _));
            var best = sides[2];
            // Every inference path of PyTorch 1.13 builds this ResNet and matches eager's logits, so each was timed.
            var candidates = best.GetProperty("candidates").EnumerateArray().ToList();
            Assert.Equal(new[] { "eager", "jit.freeze+optimize_for_inference, channels_last", "jit.freeze+optimize_for_inference", "channels_last", "fx conv-bn fusion, channels_last" },
                candidates.Select(c => c.GetProperty("path").GetString()).ToArray());
            Assert.All(candidates, c => Assert.False(c.TryGetProperty("error", out _)));
            Assert.All(candidates, c => Assert.False(c.TryGetProperty("skipped", out _)));   // the tiny net is far inside the 120 s budget
            // Five trials each, or fewer for a path clearly slower than the leader; every path but eager with its parity.
            Assert.All(candidates, c => Assert.True(c.GetProperty("trials").GetInt32() == 5
                || c.GetProperty("stopped").GetString()!.StartsWith($"{c.GetProperty("trials").GetInt32()} of 5 trials: clearly slower"), c.ToString()));
            Assert.False(candidates[0].TryGetProperty("parity", out _));
            Assert.All(candidates.Skip(1), c => Assert.InRange(c.GetProperty("parity").GetDouble(), 0, 1e-3));
            Assert.Equal(120, best.GetProperty("selection_budget_s").GetDouble());
            Assert.InRange(best.GetProperty("selection_s").GetDouble(), 0, 120);
            var fastest = candidates.OrderBy(c => c.GetProperty("ms").GetDouble()).First();
            Assert.Equal(fastest.GetProperty("path").GetString(), best.GetProperty("path").GetString());
            Assert.Equal(sides[0].GetProperty("images_per_s").GetDouble() / best.GetProperty("images_per_s").GetDouble(), root.GetProperty("ratio_best").GetDouble(), 9);
            // The ISA list is cpuinfo's; the bf16 peak is measured exactly where it has bf16 dot products.
            var isa = root.GetProperty("isa").EnumerateArray().Select(e => e.GetString()!).ToArray();
            Assert.Equal(Torchwright.Cli.Running.CpuIsa.Current().ToArray(), isa);
            var peak = root.GetProperty("peak");
            Assert.Equal(peak.GetProperty("measured_fp32_gflops").GetDouble(), peak.GetProperty("measured_gflops").GetDouble());
            Assert.Equal(Torchwright.Cli.Running.CpuIsa.HasBf16(isa), peak.GetProperty("measured_bf16_gflops").ValueKind == JsonValueKind.Number);
        }

        [Fact]
        public void Bench_best_budget_0_times_eager_once_and_lists_every_other_path_as_not_built()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--best-budget", "0");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var best = doc.RootElement.GetProperty("sides").EnumerateArray().Single(s => s.GetProperty("side").GetString() == "PyTorch best");
            Assert.Equal("eager", best.GetProperty("path").GetString());
            Assert.Equal(0, best.GetProperty("selection_budget_s").GetDouble());
            var candidates = best.GetProperty("candidates").EnumerateArray().ToList();
            Assert.Equal(5, candidates.Count);
            // Eager is the baseline: timed once whatever the budget, then stopped by it.
            Assert.Equal(1, candidates[0].GetProperty("trials").GetInt32());
            Assert.True(candidates[0].GetProperty("ms").GetDouble() > 0);
            Assert.Matches(@"^1 of 5 trials: the next \(about \d+\.\d ms\) would end past the 0 s selection budget \(\d+\.\d s spent\)$", candidates[0].GetProperty("stopped").GetString());
            foreach (var c in candidates.Skip(1))
            {
                Assert.Equal(0, c.GetProperty("trials").GetInt32());
                Assert.False(c.TryGetProperty("ms", out _));
                Assert.False(c.TryGetProperty("parity", out _));
                Assert.Matches(@"^not built: \d+\.\d s of the 0 s selection budget were spent and a build costs about two eager iterations \(\d+\.\d ms each\)$", c.GetProperty("skipped").GetString());
            }

            (code, stdout, stderr) = Bench(dir, "--best-budget", "0");
            Assert.True(code == 0, stderr);
            Assert.Single(stdout.Split('\n'), l => Regex.IsMatch(l, @"^PyTorch best ran eager, the lowest median of up to 5 round-robin trial iterations per path within a 0 s budget \(the choice took \d+\.\d s\): " +
                @"eager \d+\.\d ms x1 \(stopped at 1 of 5 trials: the next \(about \d+\.\d ms\) would end past the 0 s selection budget \(\d+\.\d s spent\)\); " +
                @"jit\.freeze\+optimize_for_inference, channels_last not timed \(not built: \d+\.\d s of the 0 s selection budget were spent and a build costs about two eager iterations \(\d+\.\d ms each\)\); " +
                @"jit\.freeze\+optimize_for_inference not timed \(not built: "));
        }

        /// <summary>bench_reference.bounded_select on a fake clock (tests/Cli.Tests/python/bounded_select_cases.py): eager 125 ms,
        /// "fast" 93.75 ms, "slow" 500 ms a step, "broken" fails its parity check.</summary>
        [Fact]
        public void Bounded_selection_drops_a_clearly_slower_path_stops_at_the_budget_and_keeps_parity_errors()
        {
            using var doc = JsonDocument.Parse(PythonOutput("bounded_select_cases.py"));

            // Budget 3 s, at most 6 rounds, two untimed iterations each: slow is dropped after its second trial (1.5x rule);
            // eager and fast run until their next step would end past 3 s; broken keeps its parity error.
            var run = doc.RootElement.GetProperty("drop_and_budget");
            Assert.Equal("fast", run[0].GetString());
            Assert.Equal(3.0, run[2].GetDouble());
            var c = run[1].EnumerateArray().ToList();
            Assert.Equal("{\"path\": \"eager\", \"trials\": 3, \"stopped\": \"3 of 6 trials: the next (about 125.0 ms) would end past the 3 s selection budget (3.0 s spent)\", \"ms\": 125.0}", c[0].GetRawText());
            Assert.Equal("{\"path\": \"fast\", \"trials\": 2, \"parity\": 2.5e-07, \"stopped\": \"2 of 6 trials: the next (about 93.8 ms) would end past the 3 s selection budget (3.0 s spent)\", \"ms\": 93.75}", c[1].GetRawText());
            Assert.Equal("{\"path\": \"slow\", \"trials\": 2, \"parity\": 2.5e-07, \"stopped\": \"2 of 6 trials: clearly slower (its fastest, 500.0 ms, is over 1.5x the median of fast, 93.8 ms)\", \"ms\": 500.0}", c[2].GetRawText());
            Assert.Equal("{\"path\": \"broken\", \"trials\": 0, \"error\": \"RuntimeError: logits differ from eager by 0.16 relative (tolerance 0.001)\"}", c[3].GetRawText());

            // Budget 0.3 s: after eager's two warm-up iterations (0.25 s) no build fits (two eager iterations); eager is timed once and chosen.
            run = doc.RootElement.GetProperty("no_budget");
            Assert.Equal("eager", run[0].GetString());
            Assert.Equal(0.375, run[2].GetDouble());
            c = run[1].EnumerateArray().ToList();
            Assert.Equal("{\"path\": \"eager\", \"trials\": 1, \"stopped\": \"1 of 3 trials: the next (about 125.0 ms) would end past the 0.3 s selection budget (0.4 s spent)\", \"ms\": 125.0}", c[0].GetRawText());
            foreach (var (i, name) in new[] { (1, "fast"), (2, "slow") })
                Assert.Equal($"{{\"path\": \"{name}\", \"trials\": 0, \"skipped\": \"not built: 0.2 s of the 0.3 s selection budget were spent and a build costs about two eager iterations (125.0 ms each)\"}}", c[i].GetRawText());
        }

        /// <summary>stdout of a script of tests/Cli.Tests/python run by Debian's python3 with src/Cli/python on its path.</summary>
        private static string PythonOutput(string script)
        {
            var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(System.IO.Path.Combine(CliRunner.RepoRoot, "tests", "Cli.Tests", "python", script));
            psi.Environment["PYTHONPATH"] = System.IO.Path.Combine(CliRunner.RepoRoot, "src", "Cli", "python");
            using var p = System.Diagnostics.Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(120_000), $"{script} did not finish");
            Assert.True(p.ExitCode == 0, stderr.Result);
            return output;
        }

        [Theory]
        [InlineData("--no-best", "torchwright bench: --best-budget bounds how PyTorch best chooses its path, which --no-best leaves out: drop one of them")]
        [InlineData("--no-reference", "torchwright bench: --best-budget bounds how PyTorch best chooses its path, which --no-reference leaves out: drop one of them")]
        public void Bench_best_budget_without_pytorch_best_is_a_usage_error(string without, string message)
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--best-budget", "30", without);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Equal(message, stderr.Trim());
        }

        [Fact]
        public void Bench_no_best_runs_pytorch_eager_only()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--no-best");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            Assert.Equal(new[] { "Torchwright", "PyTorch eager" }, root.GetProperty("sides").EnumerateArray().Select(s => s.GetProperty("side").GetString()).ToArray());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("ratio_best").ValueKind);
            Assert.False(root.TryGetProperty("best_problem", out _));

            (code, stdout, stderr) = Bench(dir, "--no-best");
            Assert.True(code == 0, stderr);
            Assert.DoesNotContain("PyTorch best", stdout);
        }

        [Theory]
        [InlineData("fpu avx2 fma avx512f avx512_bf16 amx_bf16 amx_tile", new[] { "AVX2", "AVX-512", "AVX-512 BF16", "AMX" })]
        [InlineData("fpu avx2 fma avx512f avx512_bf16", new[] { "AVX2", "AVX-512", "AVX-512 BF16" })]
        [InlineData("fpu avx2 fma avx512f", new[] { "AVX2", "AVX-512" })]
        [InlineData("fpu avx2 fma", new[] { "AVX2" })]
        [InlineData("fpu avx2", new string[0])]      // AVX2 without FMA: not what libtorch's AVX2 kernels need
        [InlineData("fpu sse2", new string[0])]
        public void The_isa_comes_from_the_first_processors_cpuinfo_flags(string flags, string[] expected)
        {
            string cpuinfo = $"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: fpu\n\n";
            var isa = Torchwright.Cli.Running.CpuIsa.Of(cpuinfo);
            Assert.Equal(expected, isa);
            Assert.Equal(flags.Contains("bf16"), Torchwright.Cli.Running.CpuIsa.HasBf16(isa));
            Assert.Equal(expected.Length == 0 ? "none of AVX2, AVX-512, AVX-512 BF16, AMX" : string.Join(", ", expected), Torchwright.Cli.Running.CpuIsa.Describe(isa));
        }

        [Fact]
        public void Bench_bf16_casts_both_sides_and_says_it_is_not_autocast()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--precision", "bf16", "--format", "json");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            Assert.Equal("bf16", root.GetProperty("precision").GetString());
            Assert.Equal("bf16 (weights and activations cast, no autocast)", root.GetProperty("precision_label").GetString());
            Assert.Equal(3, root.GetProperty("sides").GetArrayLength());   // both PyTorch sides confirmed a bf16 model
            var peak = root.GetProperty("peak");
            Assert.EndsWith("bf16 matmuls in TorchSharp on 1 thread", peak.GetProperty("measured").GetString());
            // % of peak is against the bf16 matmul; the fp32 one is still measured beside it.
            Assert.Equal(peak.GetProperty("measured_bf16_gflops").GetDouble(), peak.GetProperty("measured_gflops").GetDouble());
            Assert.True(peak.GetProperty("measured_fp32_gflops").GetDouble() > 0);

            (code, stdout, stderr) = Bench(dir, "--precision", "bf16");
            Assert.True(code == 0, stderr);
            Assert.StartsWith("TinyBench (infer, bf16 (weights and activations cast, no autocast)): input 2x3x32x32", stdout);
        }

        [Theory]
        [InlineData("infer")]
        [InlineData("train")]
        public void Bench_bf16_mixed_adds_its_row_beside_fp32_and_names_the_bf16_instructions(string mode)
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--precision", "bf16-mixed", "--format", "json", "--mode", mode);
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            Assert.Equal("bf16-mixed", root.GetProperty("precision").GetString());
            Assert.Equal(new[] { "Torchwright", "Torchwright bf16-mixed", "PyTorch eager", "PyTorch best" },
                root.GetProperty("sides").EnumerateArray().Select(x => x.GetProperty("side").GetString()).ToArray());
            var sides = root.GetProperty("sides").EnumerateArray().ToList();
            double fp32 = sides[0].GetProperty("images_per_s").GetDouble(), mixed = sides[1].GetProperty("images_per_s").GetDouble();
            Assert.Equal(mixed / fp32, root.GetProperty("bf16_mixed_ratio").GetDouble(), 9);
            Assert.Equal(mixed / sides[2].GetProperty("images_per_s").GetDouble(), root.GetProperty("bf16_mixed_ratio_eager").GetDouble(), 9);
            Assert.Equal(mixed / sides[3].GetProperty("images_per_s").GetDouble(), root.GetProperty("bf16_mixed_ratio_best").GetDouble(), 9);
            Assert.Equal(1, sides[1].GetProperty("ms").GetArrayLength());
            Assert.True(sides[1].GetProperty("peak_rss_bytes").GetInt64() > 0);
            var cpuinfo = System.IO.File.ReadAllText("/proc/cpuinfo");
            Assert.Equal(cpuinfo.Contains(" avx512_bf16") || cpuinfo.Contains(" amx_bf16"),
                root.GetProperty("bf16_isa").GetString()!.EndsWith(": bf16 dot products in hardware"));
            // The PyTorch side stays fp32, and so does the measured peak.
            Assert.EndsWith("fp32 matmuls in TorchSharp on 1 thread", root.GetProperty("peak").GetProperty("measured").GetString());

            (code, stdout, stderr) = Bench(dir, "--precision", "bf16-mixed", "--no-reference", "--mode", mode);
            Assert.True(code == 0, stderr);
            Assert.Matches(new Regex(mode == "train" ? @"^Torchwright bf16-mixed \(channels_last\) +\d+\.\d\d +\d+\.\d " : @"^Torchwright bf16-mixed +\d+\.\d\d +\d+\.\d ", RegexOptions.Multiline), stdout);
            Assert.Matches(new Regex(@"^ratio \(Torchwright bf16-mixed/Torchwright fp32 images/s\) = \d+\.\d\d$", RegexOptions.Multiline), stdout);
            Assert.Matches(new Regex(@"^bf16 instructions: ", RegexOptions.Multiline), stdout);
        }

        [Fact]
        public void Bench_json_counts_flops_from_the_generated_macs_and_names_the_engines()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--mode", "train");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            long macs = root.GetProperty("macs_per_image").GetInt64();
            Assert.Equal(TinyMacs, macs);
            Assert.Equal(6 * macs, root.GetProperty("flops_per_image").GetInt64());
            var engines = root.GetProperty("engines");
            Assert.Equal("0.107.0", engines.GetProperty("torchsharp").GetString());
            Assert.StartsWith("2.10", engines.GetProperty("libtorch").GetString());
            Assert.StartsWith("1.13", engines.GetProperty("pytorch_version").GetString());
            Assert.True(engines.GetProperty("pytorch_debian").GetBoolean());
            var peak = root.GetProperty("peak");
            double measured = peak.GetProperty("measured_gflops").GetDouble();
            Assert.True(measured > 0);
            foreach (var s in root.GetProperty("sides").EnumerateArray())
            {
                double gflops = s.GetProperty("gflops").GetDouble();
                Assert.Equal(s.GetProperty("images_per_s").GetDouble() * 6 * macs / 1e9, gflops, 9);
                Assert.Equal(gflops / measured, s.GetProperty("fraction_of_measured_peak").GetDouble(), 9);
                Assert.Equal(s.GetProperty("faults").EnumerateArray().Select(f => (double)f.GetInt64()).Average(), s.GetProperty("faults_per_iteration").GetDouble(), 9);
            }
        }

        [Theory]
        [InlineData("AuthenticAMD", "25", "avx2 fma avx512f avx512_bf16", 2, 8)]      // Zen 4: AVX-512 on two 256-bit pipes
        [InlineData("GenuineIntel", "6", "avx2 fma avx512f", 2, 16)]
        [InlineData("GenuineIntel", "6", "avx2 fma", 2, 8)]
        public void The_derived_peak_is_cores_x_fma_units_x_lanes_x_2_x_clock(string vendor, string family, string flags, int units, int lanes)
        {
            string cpu(int i) => $"processor\t: {i}\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel name\t: Test CPU\n" +
                $"physical id\t: 0\ncore id\t: {i}\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu {flags}\n\n";
            var (gflops, how) = Torchwright.Cli.Running.CpuPeak.Derive(cpu(0) + cpu(1) + cpu(2) + cpu(3), threads: 2, cpufreqMaxKhz: null);
            Assert.Equal(2 * units * lanes * 2 * 2.5, gflops!.Value, 9);
            Assert.StartsWith($"2 cores x {units} FMA units x {lanes} fp32 lanes x 2 FLOP x 2.500 GHz (Test CPU; ", how);

            // Without AVX2+FMA there is no derived peak (only the measured one).
            var (none, why) = Torchwright.Cli.Running.CpuPeak.Derive(cpu(0).Replace(flags, "sse2"), threads: 1, cpufreqMaxKhz: null);
            Assert.Null(none);
            Assert.Contains("neither AVX-512F nor AVX2+FMA", why);
        }

        [Fact]
        public void Bench_heap_profile_adds_mallocs_peaks_to_every_side_and_only_with_the_option()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--no-best", "--mode", "train", "--precision", "bf16-mixed", "--heap-profile");
            Assert.True(code == 0, stderr);
            using (var doc = JsonDocument.Parse(stdout))
            {
                var sides = doc.RootElement.GetProperty("sides").EnumerateArray().ToList();
                Assert.Equal(new[] { "Torchwright", "Torchwright bf16-mixed", "PyTorch eager" }, sides.Select(s => s.GetProperty("side").GetString()).ToArray());
                foreach (var s in sides)
                {
                    // Both processes hold libtorch's and their runtime's native allocations: megabytes at least, and malloc
                    // holds at least what it has handed out.
                    long inUse = s.GetProperty("peak_heap_in_use_bytes").GetInt64(), held = s.GetProperty("peak_heap_held_bytes").GetInt64();
                    Assert.InRange(inUse, 1L << 20, held);
                    Assert.InRange(held, inUse, 100L << 30);
                    Assert.InRange(s.GetProperty("heap_in_use_at_start_bytes").GetInt64(), 1L << 20, inUse);
                }
            }

            (code, stdout, stderr) = Bench(dir, "--no-best", "--heap-profile");
            Assert.True(code == 0, stderr);
            Assert.Contains("peak heap in use", stdout);
            Assert.Contains("mallinfo2", stdout);

            (code, stdout, stderr) = Bench(dir, "--format", "json", "--no-best");
            Assert.True(code == 0, stderr);
            Assert.DoesNotContain("peak_heap", stdout);
        }

        [Fact]
        public void Bench_json_has_every_side_and_a_ratio_consistent_with_them()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--iterations", "3");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            Assert.Equal("TinyBench", root.GetProperty("name").GetString());
            Assert.Equal("infer", root.GetProperty("mode").GetString());
            Assert.Equal("cpu", root.GetProperty("device").GetString());
            Assert.Equal(new long[] { 2, 3, 32, 32 }, root.GetProperty("input").EnumerateArray().Select(e => e.GetInt64()).ToArray());
            Assert.Equal(2, root.GetProperty("batch").GetInt32());
            Assert.Equal(1, root.GetProperty("threads").GetInt32());
            Assert.Equal(1, root.GetProperty("warmup").GetInt32());
            Assert.Equal(3, root.GetProperty("iterations").GetInt32());
            var sides = root.GetProperty("sides").EnumerateArray().ToList();
            Assert.Equal(new[] { "Torchwright", "PyTorch eager", "PyTorch best" }, sides.Select(s => s.GetProperty("side").GetString()).ToArray());
            foreach (var s in sides)
            {
                var ms = s.GetProperty("ms").EnumerateArray().Select(e => e.GetDouble()).OrderBy(x => x).ToList();
                Assert.Equal(3, ms.Count);
                Assert.Equal(ms[1], s.GetProperty("ms_per_batch").GetDouble());
                Assert.Equal(2 * 1000.0 / ms[1], s.GetProperty("images_per_s").GetDouble(), 9);
                // Resident sets of processes that hold libtorch and a model: at least tens of MiB.
                Assert.InRange(s.GetProperty("setup_rss_bytes").GetInt64(), 10L << 20, 100L << 30);
                Assert.InRange(s.GetProperty("peak_rss_bytes").GetInt64(), 10L << 20, 100L << 30);
            }
            double ratio = root.GetProperty("ratio").GetDouble();
            Assert.Equal(sides[0].GetProperty("images_per_s").GetDouble() / sides[1].GetProperty("images_per_s").GetDouble(), ratio, 9);
        }

        [Fact]
        public void Bench_optimize_adds_the_optimised_side_between_torchwright_and_the_pytorch_sides_with_its_ratios()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--optimize");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            var sides = root.GetProperty("sides").EnumerateArray().ToList();
            Assert.Equal(new[] { "Torchwright", "Torchwright optimised", "PyTorch eager", "PyTorch best" }, sides.Select(s => s.GetProperty("side").GetString()).ToArray());
            double Ips(int i) => sides[i].GetProperty("images_per_s").GetDouble();
            Assert.Equal(Ips(0) / Ips(2), root.GetProperty("ratio").GetDouble(), 9);
            Assert.Equal(Ips(0) / Ips(3), root.GetProperty("ratio_best").GetDouble(), 9);
            Assert.Equal(Ips(1) / Ips(2), root.GetProperty("ratio_optimised").GetDouble(), 9);
            Assert.Equal(Ips(1) / Ips(3), root.GetProperty("ratio_optimised_best").GetDouble(), 9);
            Assert.Equal(Ips(1) / Ips(0), root.GetProperty("optimised_speedup").GetDouble(), 9);
            // One process holds both Torchwright sides.
            Assert.Equal(sides[0].GetProperty("peak_rss_bytes").GetInt64(), sides[1].GetProperty("peak_rss_bytes").GetInt64());
        }

        /// <summary>--optimize with --precision bf16-mixed: the folded module in bf16-mixed is a fourth Torchwright row,
        /// after the plain bf16-mixed one, with its ratios to the plain fp32 and the optimised fp32 rows.</summary>
        [Fact]
        public void Bench_optimize_with_bf16_mixed_adds_the_optimised_bf16_mixed_side()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--format", "json", "--optimize", "--precision", "bf16-mixed", "--no-reference");
            Assert.True(code == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            var sides = root.GetProperty("sides").EnumerateArray().ToList();
            Assert.Equal(new[] { "Torchwright", "Torchwright optimised", "Torchwright bf16-mixed", "Torchwright optimised bf16-mixed" },
                sides.Select(s => s.GetProperty("side").GetString()).ToArray());
            double Ips(int i) => sides[i].GetProperty("images_per_s").GetDouble();
            Assert.Equal(Ips(3) / Ips(0), root.GetProperty("optimised_bf16_mixed_speedup").GetDouble(), 9);
            Assert.Equal(Ips(3) / Ips(1), root.GetProperty("optimised_bf16_mixed_over_optimised").GetDouble(), 9);
            Assert.Equal(Ips(2) / Ips(0), root.GetProperty("bf16_mixed_ratio").GetDouble(), 9);
        }

        [Fact]
        public void Bench_optimize_in_train_mode_is_a_usage_error()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--optimize", "--mode", "train");
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Equal("torchwright bench: --optimize times the inference-optimised module, which cannot train (its norms are folded): use --mode infer", stderr.Trim());
        }

        [Fact]
        public void Bench_train_layout_outside_train_mode_is_a_usage_error()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--train-layout", "channels-last");
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Equal("torchwright bench: --train-layout channels-last sets the layout of training; use --mode train, or --optimize for the inference layout", stderr.Trim());
        }

        [Fact]
        public void Bench_without_python_reports_the_torchwright_side_and_says_why()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--python", "/nonexistent/python3");
            Assert.Equal(0, code);
            // Said once: the best side would fail on the same python.
            Assert.Single(stderr.Split('\n'), l => l.StartsWith("torchwright bench: PyTorch side not run: /nonexistent/python3 not found"));
            Assert.Contains("ratio (Torchwright/PyTorch eager images/s) = n/a (/nonexistent/python3 not found", stdout);
            Assert.Contains("ratio (Torchwright/PyTorch best images/s) = n/a (/nonexistent/python3 not found", stdout);
            // One Torchwright row in each table (speed, compute) and no PyTorch row.
            Assert.Equal(2, stdout.Split('\n').Count(l => l.StartsWith("Torchwright ")));
            Assert.DoesNotContain("\nPyTorch ", stdout);
        }

        [Theory]
        [InlineData("--device", "tpu", "torchwright bench: bad --device 'tpu'")]
        [InlineData("--device", "meta", "torchwright bench: bad --device 'meta': not a device; use cpu, cuda or cuda:<index>")]
        [InlineData("--device", "0", "torchwright bench: bad --device '0': not a device")]
        [InlineData("--device", "cpu,cuda", "torchwright bench: bad --device 'cpu,cuda': not a device")]
        [InlineData("--batch", "0", "torchwright bench: --batch must be at least 1 (got 0)")]
        [InlineData("--precision", "junk", "Argument 'junk' not recognized. Must be one of:")]
        [InlineData("--precision", "fp16", "Argument 'fp16' not recognized. Must be one of:")]
        [InlineData("--iterations", "0", "torchwright bench: --iterations must be at least 1 (got 0)")]
        [InlineData("--best-budget", "-1", "torchwright bench: --best-budget must be a number of seconds, 0 or more (got -1)")]
        [InlineData("--best-budget", "NaN", "torchwright bench: --best-budget must be a number of seconds, 0 or more (got NaN)")]
        public void Bench_rejects_bad_options_with_exit_code_2(string option, string value, string message)
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, option, value);
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Contains(message, stderr);
        }

        [Fact]
        public void Bench_of_an_unknown_name_lists_the_declared_ones()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--name", "Nope");
            Assert.Equal(2, code);
            Assert.Equal("", stdout);
            Assert.Contains("torchwright bench: no architecture 'Nope' in ", stderr);
            Assert.Contains("tiny.arch; it declares TinyBench", stderr);
        }

        [Fact]
        public void Bench_on_cuda_without_a_cuda_libtorch_says_so()
        {
            if (TorchSharp.torch.cuda.is_available()) return; // the message is about machines without CUDA
            using var dir = new TempDir();
            var (code, _, stderr) = Bench(dir, "--device", "cuda");
            Assert.Equal(2, code);
            Assert.Contains("--device cuda: device cuda was asked for, but this build uses the CPU-only TorchSharp-cpu package; for CUDA build with -p:TorchCuda=true, which uses TorchSharp-cuda-linux", stderr);
        }

        [Fact]
        public void Bench_of_a_missing_file_exits_2()
        {
            var (code, _, stderr) = CliRunner.Run("bench", "/nonexistent/x.arch");
            Assert.Equal(2, code);
            Assert.Contains("torchwright bench: file or directory not found: /nonexistent/x.arch", stderr);
        }
    }
}
