using System.Diagnostics;
using System.IO;
using System.Linq;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// tests/Benchmarks/Table/table.py, the formatter of the bench table driver, on two hand-written bench JSON files and
    /// a failed run: its rows, the ratios within a run, the geometric mean of optimised / eager and the failure line.
    /// (The driver itself runs bench, minutes even in --fast; docs/cli.md, "The bench table".)
    /// </summary>
    public class BenchTableTests
    {
        private static string Side(string name, double ips, double gflops, double fraction, long peakMiB, string extra = "") =>
            $"{{\"side\": \"{name}\", {extra}\"images_per_s\": {ips}, \"gflops\": {gflops}, \"fraction_of_measured_peak\": {fraction}, \"peak_rss_bytes\": {peakMiB << 20}}}";

        private static string Run(string name, params string[] sides) =>
            $"{{\"name\": \"{name}\", \"input\": [8, 3, 224, 224], \"threads\": 2, \"isa\": [\"AVX2\", \"AVX-512\"], \"bf16_isa\": \"none\", " +
            "\"peak\": {\"measured_fp32_gflops\": 190.5, \"measured_bf16_gflops\": null}, " +
            "\"engines\": {\"torchwright\": \"TorchSharp 0.107.0 / libtorch 2.10.0\", \"pytorch\": \"PyTorch 1.13.0a0\"}, " +
            $"\"sides\": [{string.Join(", ", sides)}]}}";

        private static string Best(double ips) => Side("PyTorch best", ips, 6, 0.03, 300,
            "\"path\": \"channels_last\", \"selection_budget_s\": 120, \"selection_s\": 12.25, \"candidates\": [" +
            "{\"path\": \"eager\", \"trials\": 5, \"ms\": 800.0}, {\"path\": \"channels_last\", \"trials\": 3, \"ms\": 533.3, \"stopped\": \"3 of 5 trials: budget\"}, " +
            "{\"path\": \"fx conv-bn fusion, channels_last\", \"trials\": 0, \"error\": \"TraceError: Proxy object cannot be iterated\"}], ");

        [Fact]
        public void The_table_has_a_row_per_side_with_ratios_within_the_run_and_the_geometric_mean_of_optimised_over_eager()
        {
            using var dir = new TempDir();
            dir.Write("A.infer.json", Run("A", Side("Torchwright", 12, 4.5, 0.025, 700), Side("Torchwright optimised", 20, 7.5, 0.04, 700),
                Side("PyTorch eager", 10, 3.75, 0.02, 350), Best(15)));
            dir.Write("B.infer.json", Run("B", Side("Torchwright", 8, 3, 0.015, 600), Side("Torchwright optimised", 8, 3, 0.015, 600),
                Side("PyTorch eager", 10, 3.75, 0.02, 350), Best(10)));
            dir.Write("B.train.json", "");
            dir.Write("B.train.err", "torchwright bench: B failed: out of memory\n");
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(Path.Combine(CliRunner.RepoRoot, "tests", "Benchmarks", "Table", "table.py"));
            psi.ArgumentList.Add(dir.Path);
            psi.ArgumentList.Add("A");
            psi.ArgumentList.Add("B");
            var (code, stdout, stderr) = RunProcess(psi);
            Assert.True(code == 0, stderr);
            var lines = stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            Assert.Equal("| model | mode | side | images/s | / PyTorch eager | / PyTorch best | GFLOP/s | % of measured peak | peak RSS |", lines[0]);
            Assert.Equal(new[]
            {
                "| A | infer | Torchwright | 12.00 | 1.20 | 0.80 | 4.5 | 2.5 % | 700 MiB |",
                "| A | infer | Torchwright optimised | 20.00 | 2.00 | 1.33 | 7.5 | 4.0 % | 700 MiB |",
                "| A | infer | PyTorch eager | 10.00 | n/a | 0.67 | 3.8 | 2.0 % | 350 MiB |",
                "| A | infer | PyTorch best (channels_last) | 15.00 | 1.50 | n/a | 6.0 | 3.0 % | 300 MiB |",
                "| B | infer | Torchwright | 8.00 | 0.80 | 0.80 | 3.0 | 1.5 % | 600 MiB |",
                "| B | infer | Torchwright optimised | 8.00 | 0.80 | 0.80 | 3.0 | 1.5 % | 600 MiB |",
                "| B | infer | PyTorch eager | 10.00 | n/a | 1.00 | 3.8 | 2.0 % | 350 MiB |",
                "| B | infer | PyTorch best (channels_last) | 10.00 | 1.00 | n/a | 6.0 | 3.0 % | 300 MiB |",
                "| B | train | failed: torchwright bench: B failed: out of memory | | | | | | |",
            }, lines.Skip(2).Take(9).ToArray());
            Assert.Contains("ISA: AVX2, AVX-512 (from /proc/cpuinfo flags); bf16 instructions: none", lines);
            Assert.Contains("- A infer: A input 8x3x224x224, 2 threads; measured peak fp32 190.5 GFLOP/s; TorchSharp 0.107.0 / libtorch 2.10.0 vs PyTorch 1.13.0a0", lines);
            // sqrt(2.0 x 0.8) = 1.2649...
            Assert.Contains("geometric mean of Torchwright optimised / PyTorch eager (infer) over 2 of 2 models: 1.26 (A 2.00, B 0.80)", lines);
            Assert.Contains("Torchwright optimised / PyTorch best (infer): A 1.33, B 0.80; lowest 0.80", lines);
            Assert.Contains("- A infer: PyTorch best chose channels_last in 12.2 of 120 s: eager: 800.0 ms x5; channels_last: 533.3 ms x3 (stopped at 3 of 5 trials: budget); " +
                "fx conv-bn fusion, channels_last: not possible (TraceError: Proxy object cannot be iterated)", lines);
        }

        private static (int Code, string Stdout, string Stderr) RunProcess(ProcessStartInfo psi)
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(60_000), "table.py did not finish");
            return (p.ExitCode, stdout, stderr.Result);
        }
    }
}
