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
