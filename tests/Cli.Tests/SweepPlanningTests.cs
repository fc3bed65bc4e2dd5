using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Torchwright.Cli.Planning;
using Torchwright.Dsl;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>Sampling a sweep's grid (--sample) and excluding variants by their exact costs (--max-params, --max-macs).</summary>
    public class SweepPlanningTests
    {
        // ---- Sobol: the sequence torch.quasirandom.SobolEngine(d, scramble=False) draws --------------------------

        [Theory]
        [InlineData(1)]
        [InlineData(3)]
        [InlineData(8)]
        [InlineData(GridSample.MaxSobolAxes)]
        public void Sobol_points_equal_torchs_SobolEngine_without_scrambling(int dimensions)
        {
            const int n = 300;
            var script = "import torch\n"
                + $"e = torch.quasirandom.SobolEngine({dimensions}, scramble=False)\n"
                + $"p = e.draw({n}, dtype=torch.float64)\n"
                + "print('\\n'.join(' '.join(repr(float(v)) for v in row) for row in p.tolist()))\n";
            var expected = Python(script).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
            Assert.Equal(n, expected.Length);
            var sobol = new SobolSequence(dimensions);
            for (var i = 0; i < n; i++)
            {
                var point = sobol.Next();
                for (var k = 0; k < dimensions; k++)
                    Assert.True(point[k] / 4294967296.0 == expected[i][k], $"point {i}, dimension {k + 1}: ours {point[k] / 4294967296.0}, torch {expected[i][k]}");
            }
        }

        [Fact]
        public void A_sobol_sample_is_distinct_seeded_and_covers_every_value_of_every_axis()
        {
            var sizes = new[] { 4, 3, 2, 5, 7 };
            var a = GridSample.Draw(sizes, 40, seed: 1, SampleMethod.Sobol);
            Assert.Equal(40, a.Distinct().Count());
            Assert.Equal(a.OrderBy(x => x), a);
            Assert.Equal(a, GridSample.Draw(sizes, 40, seed: 1, SampleMethod.Sobol));
            Assert.NotEqual(a, GridSample.Draw(sizes, 40, seed: 2, SampleMethod.Sobol));
            for (var k = 0; k < sizes.Length; k++)
                Assert.Equal(Enumerable.Range(0, sizes[k]), a.Select(i => Torchwright.Dsl.Resolution.GridPoint.Decode(i, sizes)[k]).Distinct().OrderBy(x => x));
        }

        [Fact]
        public void A_random_sample_is_distinct_seeded_and_uniform()
        {
            var sizes = new[] { 10, 10, 10 };
            var counts = new int[1000];
            for (var seed = 0; seed < 400; seed++)
            {
                var draw = GridSample.Draw(sizes, 50, seed, SampleMethod.Random);
                Assert.Equal(50, draw.Distinct().Count());
                Assert.All(draw, i => Assert.InRange(i, 0, 999));
                foreach (var i in draw) counts[i]++;
            }
            // 400 draws of 50 of 1000: each point is drawn 20 times on average (binomial sd 4.4); all within 20 ± 5.5 sd.
            Assert.InRange(counts.Min(), 1, 20);
            Assert.InRange(counts.Max(), 20, 45);
            Assert.Equal(GridSample.Draw(sizes, 50, 7, SampleMethod.Random), GridSample.Draw(sizes, 50, 7, SampleMethod.Random));
        }

        [Fact]
        public void A_sample_as_large_as_the_grid_is_the_grid_and_a_larger_one_is_refused()
        {
            Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), GridSample.Draw(new[] { 3, 4 }, 12, 0, SampleMethod.Sobol));
            Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), GridSample.Draw(new[] { 3, 4 }, 12, 0, SampleMethod.Random));
            var e = Assert.Throws<ArgumentException>(() => GridSample.Draw(new[] { 3, 4 }, 13, 0, SampleMethod.Random));
            Assert.StartsWith("--sample 13 asks for more variants than the grid has (12)", e.Message);
        }

        // ---- the grid of a sweep too large to build whole -------------------------------------------------------

        private const string BigSweep = "sweep Big : ResNet50 {\n  input = 3x64x64\n  width = 0.25, 0.5\n  c2.depth = 1, 2, 3\n"
            + "  c3.depth = 1, 2, 3, 4\n  c4.depth = 1, 2, 3, 4, 5, 6\n  c5.depth = 1, 2, 3\n  train.lr = 0.01, 0.02, 0.05, 0.1, 0.2\n"
            + "  train.opt = sgd, adamw\n  classes = 8, 10\n}\n";

        [Fact]
        public void A_grid_over_the_cap_is_refused_whole_but_can_be_sampled()
        {
            var files = new[] { Torchwright.Dsl.Syntax.ArchParser.Parse("big.arch", BigSweep, new List<Torchwright.Dsl.Diagnostics.Diagnostic>()) };
            var whole = ArchCompiler.Compile(files, new List<Torchwright.Dsl.Diagnostics.Diagnostic>());
            var refusal = Assert.Single(whole.Diagnostics, d => d.Id == "TW0016");
            Assert.Contains("Sweep 'Big': variants = 8640 (more than 4096)", refusal.Message);
            Assert.Contains("--sample N", refusal.Message);

            var grid = ArchCompiler.SweepGrid(files, "Big", new List<Torchwright.Dsl.Diagnostics.Diagnostic>())!;
            Assert.Equal(new[] { 1, 2, 3, 4, 6, 3, 5, 2, 2 }, grid.AxisSizes.ToArray()); // input is a one-value axis
            Assert.Equal(8640, grid.GridSize);

            var indices = GridSample.Draw(grid.AxisSizes.ToArray(), 16, seed: 3, SampleMethod.Sobol);
            var sampled = ArchCompiler.Compile(files, new List<Torchwright.Dsl.Diagnostics.Diagnostic>(),
                new Torchwright.Dsl.Resolution.SweepSample("Big", Torchwright.Dsl.EquatableArray.From(indices)));
            Assert.Empty(sampled.Diagnostics);
            var sweep = Assert.Single(sampled.Sweeps);
            Assert.Equal(16, sweep.Variants.Count);
            Assert.Equal(indices, sweep.Variants.Select(v => (long)v.Variant!.Index));
            // A sampled variant is the grid point its index names: the name decodes the index, odometer order.
            foreach (var v in sweep.Variants)
            {
                var at = Torchwright.Dsl.Resolution.GridPoint.Decode(v.Variant!.Index, grid.AxisSizes.ToArray());
                var widths = new[] { "0.25", "0.5" };
                Assert.StartsWith($"Big/input=3x64x64/width={widths[at[1]]}/c2.depth={at[2] + 1}/c3.depth={at[3] + 1}/c4.depth={at[4] + 1}/c5.depth={at[5] + 1}/", v.Name);
                Assert.Equal(at[4] + 1, v.Ir.Stages[2].Blocks.Count);
            }
        }

        // ---- budgets ----------------------------------------------------------------------------------------------

        [Fact]
        public void Budgets_exclude_exactly_the_variants_over_their_limits()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("b.arch",
                "sweep W : ResNet50 {\n  input = 3x64x64\n  width = 0.25, 0.5, 1.0\n}\n") });
            var variants = Assert.Single(result.Sweeps).Variants;
            var (small, mid, full) = (variants[0], variants[1], variants[2]);
            var budget = new SweepBudget(MaxParams: mid.Costs.Params, MaxMacs: null);
            Assert.Null(budget.Exclusion(small));
            Assert.Null(budget.Exclusion(mid)); // at the limit: kept
            Assert.Equal($"params {full.Costs.Params:N0} > --max-params {mid.Costs.Params:N0}", budget.Exclusion(full));
            var macs = new SweepBudget(MaxParams: null, MaxMacs: small.Costs.Macs);
            Assert.Null(macs.Exclusion(small));
            Assert.StartsWith($"MACs {mid.Costs.Macs:N0} > --max-macs", macs.Exclusion(mid));
            var both = new SweepBudget(small.Costs.Params, small.Costs.Macs);
            Assert.Contains(" and MACs ", both.Exclusion(full));
        }

        [Theory]
        [InlineData("25000000", 25_000_000L)]
        [InlineData("25M", 25_000_000L)]
        [InlineData("4.5G", 4_500_000_000L)]
        [InlineData("300k", 300_000L)]
        [InlineData("2.5e7", 25_000_000L)]
        public void Counts_read_with_metric_suffixes(string text, long expected)
        {
            Assert.Equal(expected, SweepBudget.ParseCount("--max-params", text, out var error));
            Assert.Null(error);
        }

        [Theory]
        [InlineData("lots", "--max-params lots: give a count such as 25000000, 25M or 4.5G")]
        [InlineData("0", "--max-params 0: the limit must be a whole count of at least 1 (got 0)")]
        [InlineData("1.5", "--max-params 1.5: the limit must be a whole count of at least 1 (got 1.5)")]
        [InlineData("1e400", "--max-params 1e400: give a count")]
        public void Bad_counts_say_what_to_write(string text, string message)
        {
            Assert.Null(SweepBudget.ParseCount("--max-params", text, out var error));
            Assert.StartsWith(message, error);
        }

        // ---- the sweep command: --sample and budgets end to end ------------------------------------------------------

        /// <summary>2 x 16 x 16 x 9 = 4,608 grid points of the tiny network: more than a whole grid may have.</summary>
        private const string WideSweep = "arch Tiny : ResNet50 {\n  input = 3x32x32\n  width = 0.125\n  depths = [1, 1, 1, 1]\n  classes = 8\n}\n"
            + "sweep Wide : Tiny {\n  c5.mhsa = [0], [1]\n"
            + "  train.lr = 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16\n"
            + "  train.weight_decay = 0, 0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.0006, 0.0007, 0.0008, 0.0009, 0.001, 0.0011, 0.0012, 0.0013, 0.0014, 0.0015\n"
            + "  train.warmup = 0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08\n}\n";

        private static readonly int[] WideSizes = { 2, 16, 16, 9 };

        /// <summary>The variant name of grid point <paramref name="index"/> of <see cref="WideSweep"/> (odometer order).</summary>
        private static string WideName(long index)
        {
            var at = Torchwright.Dsl.Resolution.GridPoint.Decode(index, WideSizes);
            string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            return $"Wide/c5.mhsa=[{at[0]}]/train.lr={F((at[1] + 1) / 100.0)}/train.weight_decay={F(at[2] / 10000.0)}/train.warmup={F(at[3] / 100.0)}";
        }

        [Fact]
        public void A_sample_of_a_grid_over_4096_points_trains_the_drawn_points_and_resume_continues_that_sample()
        {
            using var dir = new TempDir();
            var arch = dir.Write("wide.arch", WideSweep);
            var db = System.IO.Path.Combine(dir.Path, "wide.db");
            string[] Args(params string[] extra) => new[] { "sweep", arch, "--db", db, "--dataset", "shapes:32:n=32:test=8", "--steps", "1", "--batch", "8",
                "--threads", "1", "--progress", "plain" }.Concat(extra).ToArray();

            var whole = CliRunner.Run(Args("--dry-run"));
            Assert.Equal(1, whole.ExitCode);
            Assert.Contains("Sweep 'Wide': variants = 4608 (more than 4096)", whole.Error);

            var drawn = GridSample.Draw(WideSizes, 4, seed: 5, SampleMethod.Sobol);
            var (code, stdout, stderr) = CliRunner.Run(Args("--sample", "4", "--sample-seed", "5"));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("sweep Wide: sampled 4 grid points of 4,608 (sobol, seed 5), 4 runnable, 4 in shard 1/1; ", stdout);
            Assert.Contains("; 1 steps of batch 8, sgd, lr, weight_decay and warmup per variant, seed 0, cpu", stdout);
            using (var store = Torchwright.Sweeps.ResultsDb.OpenReadOnly(db))
            {
                var rows = store.ReadAll();
                Assert.Equal(drawn.Select(WideName).OrderBy(n => n, StringComparer.Ordinal), rows.Select(r => r.Variant).OrderBy(n => n, StringComparer.Ordinal));
                Assert.Equal(drawn, rows.Select(r => (long)r.Index).OrderBy(i => i));
                Assert.All(rows, r => Assert.Equal("done", r.Status));
                using var run = System.Text.Json.JsonDocument.Parse(store.RunJson!);
                Assert.Equal((4, "sobol", 5L, 4608L), (run.RootElement.GetProperty("sample").GetInt32(), run.RootElement.GetProperty("sample_method").GetString(),
                    run.RootElement.GetProperty("sample_seed").GetInt64(), run.RootElement.GetProperty("grid_points").GetInt64()));
            }

            var resumed = CliRunner.Run(Args("--sample", "4", "--sample-seed", "5", "--resume"));
            Assert.True(resumed.ExitCode == 0, resumed.Error);
            Assert.Contains("4 runs planned, 4 already done, 0 to run", resumed.Out);
            var other = CliRunner.Run(Args("--sample", "4", "--sample-seed", "6", "--resume"));
            Assert.Equal(2, other.ExitCode);
            Assert.Equal($"torchwright sweep: {db} holds a sample of 4 of 4,608 grid points (sobol, seed 5), not a sample of 4 of 4,608 grid points (sobol, seed 6); "
                + "resume it with --sample 4 --sample-method sobol --sample-seed 5, or give a new --db\n", other.Error);

            // Shards split the sample by place: each gets two of the four points, together all of them.
            var random = GridSample.Draw(WideSizes, 4, seed: 0, SampleMethod.Random);
            var shards = new[] { "1/2", "2/2" }.Select(shard =>
            {
                var r = CliRunner.Run(Args("--sample", "4", "--sample-method", "random", "--shard", shard, "--dry-run"));
                Assert.True(r.ExitCode == 0, r.Error);
                Assert.Contains($"sampled 4 grid points of 4,608 (random, seed 0), 4 runnable, 2 in shard {shard}", r.Out);
                return r.Out.Split('\n').Where(l => l.StartsWith("  Wide/", StringComparison.Ordinal)).Select(l => l.Trim().Split("  ")[0]).ToList();
            }).ToList();
            Assert.Equal(new[] { WideName(random[0]), WideName(random[2]) }, shards[0]);
            Assert.Equal(new[] { WideName(random[1]), WideName(random[3]) }, shards[1]);

            var lone = CliRunner.Run(Args("--sample-seed", "3", "--dry-run"));
            Assert.Equal(2, lone.ExitCode);
            Assert.Equal("torchwright sweep: --sample-seed applies to a sample; give --sample N too\n", lone.Error);
        }

        [Fact]
        public void Sweep_budgets_exclude_exactly_the_variants_whose_summary_counts_exceed_them_and_the_report_lists_them()
        {
            using var dir = new TempDir();
            var arch = dir.Write("w.arch", "arch Tiny : ResNet50 {\n  input = 3x32x32\n  depths = [1, 1, 1, 1]\n  classes = 8\n}\n"
                + "sweep W : Tiny {\n  width = 0.0625, 0.125, 0.25\n  c5.mhsa = [0], [1]\n}\n");
            var summary = CliRunner.Run("summary", arch, "--name", "W", "--format", "json");
            Assert.True(summary.ExitCode == 0, summary.Error);
            var counts = System.Text.Json.JsonDocument.Parse(summary.Out).RootElement.EnumerateArray()
                .ToDictionary(e => e.GetProperty("name").GetString()!, e => (Params: e.GetProperty("params").GetInt64(), Macs: e.GetProperty("macs").GetInt64()));
            Assert.Equal(6, counts.Count);
            // Limits at a variant's exact counts: that variant is kept (at the limit), anything above is left out.
            var maxParams = counts["W/width=0.125/c5.mhsa=[0]"].Params;
            var maxMacs = counts["W/width=0.125/c5.mhsa=[1]"].Macs;
            var over = counts.Where(c => c.Value.Params > maxParams || c.Value.Macs > maxMacs).Select(c => c.Key).OrderBy(n => n, StringComparer.Ordinal).ToList();
            var kept = counts.Keys.Except(over).OrderBy(n => n, StringComparer.Ordinal).ToList();
            Assert.InRange(over.Count, 1, 5);

            var db = System.IO.Path.Combine(dir.Path, "w.db");
            var (code, stdout, stderr) = CliRunner.Run("sweep", arch, "--db", db, "--dataset", "shapes:32:n=32:test=8", "--steps", "1", "--batch", "8",
                "--threads", "1", "--progress", "plain", "--max-params", maxParams.ToString(CultureInfo.InvariantCulture), "--max-macs", maxMacs.ToString(CultureInfo.InvariantCulture));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains($"sweep W: 6 grid points, {over.Count} over budget, {kept.Count} runnable, {kept.Count} in shard 1/1; ", stdout);
            string Why(string name)
            {
                var reasons = new List<string>();
                if (counts[name].Params > maxParams) reasons.Add($"params {counts[name].Params:N0} > --max-params {maxParams:N0}");
                if (counts[name].Macs > maxMacs) reasons.Add($"MACs {counts[name].Macs:N0} > --max-macs {maxMacs:N0}");
                return string.Join(" and ", reasons);
            }
            var listed = $"sweep: excluded by budget ({over.Count}, not trained):\n" + string.Concat(counts.Keys.Where(over.Contains).Select(n => $"  {n}: {Why(n)}\n"));
            Assert.Contains(listed, stdout);
            using (var store = Torchwright.Sweeps.ResultsDb.OpenReadOnly(db))
                Assert.Equal(kept, store.ReadAll().Select(r => r.Variant).OrderBy(n => n, StringComparer.Ordinal));

            var text = CliRunner.Run("report", db);
            Assert.Equal(0, text.ExitCode);
            Assert.Contains("Excluded by budget (not trained)", text.Out);
            foreach (var name in over) Assert.Matches($"{System.Text.RegularExpressions.Regex.Escape(name)} +{counts[name].Params:N0} .*{System.Text.RegularExpressions.Regex.Escape(Why(name))}", text.Out);
            var html = CliRunner.Run("report", db, "--format", "html");
            Assert.Equal(0, html.ExitCode);
            var table = html.Out.Substring(html.Out.IndexOf("<table id=\"excluded\">", StringComparison.Ordinal));
            table = table.Substring(0, table.IndexOf("</table>", StringComparison.Ordinal));
            Assert.Equal(over, System.Text.RegularExpressions.Regex.Matches(table, "<tr><td class=\"variant\">([^<]+)</td>").Select(m => System.Net.WebUtility.HtmlDecode(m.Groups[1].Value)));
            var json = CliRunner.Run("report", db, "--format", "json");
            using var doc = System.Text.Json.JsonDocument.Parse(json.Out);
            var run = doc.RootElement[0].GetProperty("run");
            Assert.Equal((maxParams, maxMacs), (run.GetProperty("max_params").GetInt64(), run.GetProperty("max_macs").GetInt64()));
            Assert.Equal(over, run.GetProperty("excluded").EnumerateArray().Select(e => e.GetProperty("variant").GetString()).OrderBy(n => n, StringComparer.Ordinal));
            Assert.All(run.GetProperty("excluded").EnumerateArray(), e => Assert.Equal(
                (counts[e.GetProperty("variant").GetString()!].Params, counts[e.GetProperty("variant").GetString()!].Macs, Why(e.GetProperty("variant").GetString()!)),
                (e.GetProperty("params").GetInt64(), e.GetProperty("macs").GetInt64(), e.GetProperty("reason").GetString())));

            var all = CliRunner.Run("sweep", arch, "--db", System.IO.Path.Combine(dir.Path, "none.db"), "--dataset", "shapes:32:n=32:test=8", "--max-params", "1k", "--dry-run");
            Assert.Equal(2, all.ExitCode);
            Assert.EndsWith("torchwright sweep: every variant of W is over the budget (listed above); raise --max-params / --max-macs\n", all.Error);
        }

        private static string Python(string script)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
            psi.ArgumentList.Add("-");
            using var p = Process.Start(psi)!;
            p.StandardInput.Write(script);
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err.Result);
            return output;
        }
    }
}
