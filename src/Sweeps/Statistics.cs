using System;
using System.Collections.Generic;
using System.Linq;

namespace Torchwright.Sweeps
{
    /// <summary>Mean, sample standard deviation and a two-sided confidence interval of the mean of n runs.</summary>
    /// <remarks>
    /// The interval is Student's t interval, mean ± t(1 - α/2, n - 1) · sd / √n; with one run it has no width to
    /// estimate, so <see cref="StdDev"/> and the interval bounds are NaN (reports print "—", never a fake 0).
    /// </remarks>
    public sealed record SampleSummary(int Count, double Mean, double StdDev, double Level, double Low, double High)
    {
        public double HalfWidth => (High - Low) / 2;
    }

    /// <summary>Welch's unequal-variances t-test of two samples' means: t, the Welch–Satterthwaite degrees of freedom and the two-sided p-value.</summary>
    public sealed record WelchResult(double T, double DegreesOfFreedom, double PValue);

    /// <summary>
    /// The statistics of a seed-replicated sweep: per-variant summaries, Welch's t-test against a baseline, and Holm's
    /// step-down correction for testing several variants against the same baseline. Written here rather than taken
    /// from a package because the registry serves no statistics library for .NET; the special functions are the
    /// standard ones (regularised incomplete beta by Lentz's continued fraction, log-gamma by Lanczos), tested
    /// against published t tables.
    /// </summary>
    public static class Statistics
    {
        /// <summary>Summarises a sample; <paramref name="level"/> is the confidence level of the interval (default 95 %).</summary>
        public static SampleSummary Summarize(IReadOnlyList<double> values, double level = 0.95)
        {
            if (values.Count == 0) throw new ArgumentException("a summary needs at least one value", nameof(values));
            if (!(level > 0 && level < 1)) throw new ArgumentOutOfRangeException(nameof(level), level, "the confidence level must be in (0, 1)");
            int n = values.Count;
            double mean = values.Average();
            if (n == 1) return new SampleSummary(1, mean, double.NaN, level, double.NaN, double.NaN);
            double sd = Math.Sqrt(Variance(values, mean));
            double half = StudentTQuantile(1 - (1 - level) / 2, n - 1) * sd / Math.Sqrt(n);
            return new SampleSummary(n, mean, sd, level, mean - half, mean + half);
        }

        /// <summary>
        /// Welch's t-test of mean(a) - mean(b) = 0. Needs at least two values in each sample. When both samples have
        /// zero variance the test is undefined unless the means are equal (then p = 1); with different means and no
        /// spread at all it returns t = ±∞, p = 0.
        /// </summary>
        public static WelchResult Welch(IReadOnlyList<double> a, IReadOnlyList<double> b)
        {
            if (a.Count < 2 || b.Count < 2) throw new ArgumentException($"Welch's t-test needs at least 2 runs per sample (got {a.Count} and {b.Count})");
            double ma = a.Average(), mb = b.Average();
            double va = Variance(a, ma) / a.Count, vb = Variance(b, mb) / b.Count;
            double se2 = va + vb;
            if (se2 == 0)
                return ma == mb ? new WelchResult(0, double.NaN, 1) : new WelchResult(ma > mb ? double.PositiveInfinity : double.NegativeInfinity, double.NaN, 0);
            double t = (ma - mb) / Math.Sqrt(se2);
            double df = se2 * se2 / (va * va / (a.Count - 1) + vb * vb / (b.Count - 1));
            double p = 2 * StudentTUpperTail(Math.Abs(t), df);
            return new WelchResult(t, df, Math.Min(1, p));
        }

        /// <summary>
        /// Holm's step-down adjustment of m p-values (family-wise error control for m comparisons against one
        /// baseline): the i-th smallest p becomes max over j ≤ i of min(1, (m - j + 1) · p(j)). Returns the adjusted
        /// p-values in the input order; a comparison is significant at α when its adjusted p is below α.
        /// </summary>
        public static double[] Holm(IReadOnlyList<double> pValues)
        {
            int m = pValues.Count;
            var order = Enumerable.Range(0, m).OrderBy(i => pValues[i]).ThenBy(i => i).ToArray();
            var adjusted = new double[m];
            double running = 0;
            for (int rank = 0; rank < m; rank++)
            {
                int i = order[rank];
                running = Math.Max(running, Math.Min(1, (m - rank) * pValues[i]));
                adjusted[i] = running;
            }
            return adjusted;
        }

        /// <summary>P(T ≤ t) for Student's t with <paramref name="df"/> degrees of freedom (df may be fractional, as Welch's is).</summary>
        public static double StudentTCdf(double t, double df)
        {
            if (!(df > 0)) throw new ArgumentOutOfRangeException(nameof(df), df, "degrees of freedom must be positive");
            if (double.IsNaN(t)) return double.NaN;
            double upper = StudentTUpperTail(Math.Abs(t), df);
            return t >= 0 ? 1 - upper : upper;
        }

        /// <summary>The p-quantile of Student's t (the inverse of <see cref="StudentTCdf"/>), by bisection to full double precision.</summary>
        public static double StudentTQuantile(double p, double df)
        {
            if (!(p > 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "the probability must be in (0, 1)");
            if (!(df > 0)) throw new ArgumentOutOfRangeException(nameof(df), df, "degrees of freedom must be positive");
            if (p == 0.5) return 0;
            if (p < 0.5) return -StudentTQuantile(1 - p, df);
            // The upper tail decreases in t: find a bracket, then bisect (df = 1 at p = 0.9999 needs t ≈ 3183).
            double lo = 0, hi = 1;
            while (StudentTUpperTail(hi, df) > 1 - p) { lo = hi; hi *= 2; }
            for (int i = 0; i < 200 && hi - lo > 1e-15 * Math.Max(1, hi); i++)
            {
                double mid = (lo + hi) / 2;
                if (StudentTUpperTail(mid, df) > 1 - p) lo = mid; else hi = mid;
            }
            return (lo + hi) / 2;
        }

        private static double Variance(IReadOnlyList<double> values, double mean)
        {
            double sum = 0;
            foreach (var v in values) sum += (v - mean) * (v - mean);
            return sum / (values.Count - 1);
        }

        /// <summary>P(T &gt; t) for t ≥ 0: ½ · I_{df/(df+t²)}(df/2, ½).</summary>
        private static double StudentTUpperTail(double t, double df)
        {
            if (double.IsPositiveInfinity(t)) return 0;
            return 0.5 * RegularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
        }

        /// <summary>I_x(a, b), by the continued fraction on whichever side converges (x &lt; (a+1)/(a+b+2)).</summary>
        private static double RegularizedIncompleteBeta(double x, double a, double b)
        {
            if (x <= 0) return 0;
            if (x >= 1) return 1;
            double front = Math.Exp(LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x));
            if (x < (a + 1) / (a + b + 2)) return front * BetaContinuedFraction(x, a, b) / a;
            return 1 - front * BetaContinuedFraction(1 - x, b, a) / b;
        }

        /// <summary>The incomplete beta continued fraction, evaluated by the modified Lentz method.</summary>
        private static double BetaContinuedFraction(double x, double a, double b)
        {
            const double tiny = 1e-300, eps = 1e-16;
            double c = 1, d = 1 - (a + b) * x / (a + 1);
            if (Math.Abs(d) < tiny) d = tiny;
            d = 1 / d;
            double h = d;
            for (int m = 1; m <= 10_000; m++)
            {
                int m2 = 2 * m;
                double even = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
                d = 1 + even * d; if (Math.Abs(d) < tiny) d = tiny;
                c = 1 + even / c; if (Math.Abs(c) < tiny) c = tiny;
                d = 1 / d; h *= d * c;
                double odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
                d = 1 + odd * d; if (Math.Abs(d) < tiny) d = tiny;
                c = 1 + odd / c; if (Math.Abs(c) < tiny) c = tiny;
                d = 1 / d;
                double step = d * c;
                h *= step;
                if (Math.Abs(step - 1) < eps) return h;
            }
            return h;
        }

        /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, 9 terms: about 15 significant digits).</summary>
        private static double LogGamma(double x)
        {
            if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
            ReadOnlySpan<double> c = stackalloc double[]
            {
                0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
                12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
            };
            x -= 1;
            double sum = c[0];
            for (int i = 1; i < c.Length; i++) sum += c[i] / (x + i);
            double t = x + 7.5;
            return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
        }
    }
}
