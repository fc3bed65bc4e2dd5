using System;
using Torchwright.Sweeps;
using Xunit;

namespace Torchwright.Sweeps.Tests
{
    public class StatisticsTests
    {
        // Student t quantiles to 12 significant digits (standard tables; df = 1, 2, 3, 5 also follow from the closed-form
        // CDFs of integer df, e.g. F(t) = 1/2 + (θ + sinθ cosθ (1 + 2/3 cos²θ)) / π with θ = atan(t/√5) for df = 5).
        [Theory]
        [InlineData(0.975, 1, 12.7062047362)]
        [InlineData(0.975, 2, 4.30265272975)]
        [InlineData(0.975, 3, 3.18244630528)]
        [InlineData(0.975, 5, 2.57058183564)]
        [InlineData(0.975, 10, 2.22813885196)]
        [InlineData(0.975, 30, 2.04227245630)]
        [InlineData(0.975, 120, 1.97993040505)]
        [InlineData(0.995, 5, 4.03214298356)]
        [InlineData(0.95, 10, 1.81246112281)]
        public void Quantiles_match_the_t_table(double p, double df, double expected)
        {
            Assert.Equal(expected, Statistics.StudentTQuantile(p, df), 9);
            Assert.Equal(p, Statistics.StudentTCdf(expected, df), 10);
            Assert.Equal(-expected, Statistics.StudentTQuantile(1 - p, df), 9);
        }

        [Fact]
        public void Large_degrees_of_freedom_approach_the_normal_quantile()
            => Assert.Equal(1.959963984540, Statistics.StudentTQuantile(0.975, 1e9), 6);

        [Fact]
        public void Summary_is_the_t_interval_of_the_mean()
        {
            var s = Statistics.Summarize(new[] { 0.90, 0.92, 0.94 });
            Assert.Equal(3, s.Count);
            Assert.Equal(0.92, s.Mean, 12);
            Assert.Equal(0.02, s.StdDev, 12);
            // 4.30265272975 * 0.02 / sqrt(3)
            Assert.Equal(0.0496827, s.HalfWidth, 6);
            Assert.Equal(s.Mean - s.HalfWidth, s.Low, 12);
        }

        [Fact]
        public void One_run_has_no_spread_rather_than_a_zero_one()
        {
            var s = Statistics.Summarize(new[] { 0.5 });
            Assert.Equal(0.5, s.Mean);
            Assert.True(double.IsNaN(s.StdDev) && double.IsNaN(s.Low) && double.IsNaN(s.High));
        }

        // Reference: tests/Sweeps.Tests/python/welch_reference.py (t and df by the formulas, p by Simpson integration
        // of the t density — an independent path from the incomplete beta function used here).
        [Fact]
        public void Welch_matches_an_independent_reference()
        {
            var a = new[] { 0.912, 0.905, 0.921, 0.899, 0.917 };
            var b = new[] { 0.871, 0.889, 0.880, 0.902, 0.866, 0.875 };
            var w = Statistics.Welch(a, b);
            Assert.Equal(4.532496226222913, w.T, 10);
            Assert.Equal(8.714116049110151, w.DegreesOfFreedom, 10);
            Assert.Equal(0.0015428420113521464, w.PValue, 9);
            var flipped = Statistics.Welch(b, a);
            Assert.Equal(-w.T, flipped.T, 12);
            Assert.Equal(w.PValue, flipped.PValue, 12);
        }

        [Fact]
        public void Welch_of_constant_samples_is_decided_by_the_means()
        {
            Assert.Equal(1, Statistics.Welch(new[] { 1.0, 1.0 }, new[] { 1.0, 1.0, 1.0 }).PValue);
            var w = Statistics.Welch(new[] { 2.0, 2.0 }, new[] { 1.0, 1.0 });
            Assert.Equal(0, w.PValue);
            Assert.True(double.IsPositiveInfinity(w.T));
            Assert.Throws<ArgumentException>(() => Statistics.Welch(new[] { 1.0 }, new[] { 1.0, 2.0 }));
        }

        [Fact]
        public void Holm_adjusts_step_down_and_keeps_the_input_order()
        {
            // sorted 0.01, 0.02, 0.04 -> 3*0.01 = 0.03, max(0.03, 2*0.02) = 0.04, max(0.04, 1*0.04) = 0.04
            var adjusted = Statistics.Holm(new[] { 0.04, 0.01, 0.02 });
            Assert.Equal(new[] { 0.04, 0.03, 0.04 }, adjusted);
            Assert.Equal(new[] { 1.0, 1.0 }, Statistics.Holm(new[] { 0.6, 0.9 }));
            Assert.Empty(Statistics.Holm(Array.Empty<double>()));
        }
    }
}
