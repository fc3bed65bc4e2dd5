using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// <c>torchwright bench</c> on a tiny ResNet (7,058 parameters at 3x32x32) with one warm-up and one timed iteration:
    /// both sides run, the output has the documented shape. Speed itself is never asserted.
    /// </summary>
    public class BenchTests
    {
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
        public void Bench_runs_both_sides_and_prints_the_ratio(string mode)
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--mode", mode);
            Assert.True(code == 0, stderr);
            Assert.Equal("", stderr);
            var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            Assert.StartsWith($"TinyBench ({mode}): input 2x3x32x32 on cpu, 1 thread on both sides; PyTorch 1.13", lines[0]);
            Assert.Equal("1 warm-up + 1 timed iteration per side, sides alternating iteration by iteration; ms/batch is the median", lines[1]);
            Assert.Matches(@"^Torchwright +\d+\.\d\d +\d+\.\d +\d+\.\d\.\.\d+\.\d +\d+\.\d\d MiB +\d+\.\d\d MiB$", lines.Single(l => l.StartsWith("Torchwright ")));
            Assert.Matches(@"^PyTorch +\d+\.\d\d +\d+\.\d +\d+\.\d\.\.\d+\.\d +\d+\.\d\d MiB +\d+\.\d\d MiB$", lines.Single(l => l.StartsWith("PyTorch ")));
            Assert.Matches(new Regex(@"^ratio \(Torchwright/PyTorch images/s\) = \d+\.\d\d$", RegexOptions.Multiline), stdout);
        }

        [Fact]
        public void Bench_json_has_both_sides_and_a_ratio_consistent_with_them()
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
            Assert.Equal(new[] { "Torchwright", "PyTorch" }, sides.Select(s => s.GetProperty("side").GetString()).ToArray());
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
        public void Bench_without_python_reports_the_torchwright_side_and_says_why()
        {
            using var dir = new TempDir();
            var (code, stdout, stderr) = Bench(dir, "--python", "/nonexistent/python3");
            Assert.Equal(0, code);
            Assert.Contains("torchwright bench: PyTorch side not run: /nonexistent/python3 not found", stderr);
            Assert.Contains("ratio (Torchwright/PyTorch images/s) = n/a (/nonexistent/python3 not found", stdout);
            Assert.Single(stdout.Split('\n'), l => l.StartsWith("Torchwright "));
            Assert.DoesNotContain("\nPyTorch ", stdout);
        }

        [Theory]
        [InlineData("--device", "tpu", "torchwright bench: bad --device 'tpu'")]
        [InlineData("--device", "meta", "torchwright bench: bad --device 'meta': not a device; use cpu, cuda or cuda:<index>")]
        [InlineData("--device", "0", "torchwright bench: bad --device '0': not a device")]
        [InlineData("--device", "cpu,cuda", "torchwright bench: bad --device 'cpu,cuda': not a device")]
        [InlineData("--batch", "0", "torchwright bench: --batch must be at least 1 (got 0)")]
        [InlineData("--iterations", "0", "torchwright bench: --iterations must be at least 1 (got 0)")]
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
