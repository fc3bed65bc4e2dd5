using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Runtime.Data;

namespace Torchwright.Cli.Planning
{
    /// <summary>How <c>sweep --sample N</c> draws grid points.</summary>
    public enum SampleMethod
    {
        /// <summary>Uniformly without replacement (Floyd's algorithm over the grid indices).</summary>
        Random,

        /// <summary>
        /// A Sobol sequence (Joe–Kuo direction numbers, as torch.quasirandom.SobolEngine without scrambling) shifted by a
        /// seeded random digital shift; each point picks one value per axis, and points that land on a grid point
        /// already drawn are skipped, so the N points are distinct and spread over every axis.
        /// </summary>
        Sobol,
    }

    /// <summary>
    /// Draws N distinct grid points of a sweep, a pure function of (axis sizes, N, seed, method), so <c>--resume</c>
    /// with the same options continues the same sample. The points come back in grid order.
    /// </summary>
    public static class GridSample
    {
        /// <summary>Sobol points are drawn for grids of at most this many axes (the direction numbers below).</summary>
        public const int MaxSobolAxes = 21;

        /// <exception cref="ArgumentException">N &lt; 1, N larger than the grid, too many axes for Sobol, or a grid
        /// whose points Sobol cannot spread N ways within its draw budget; the message says what to do.</exception>
        public static long[] Draw(IReadOnlyList<int> axisSizes, int n, long seed, SampleMethod method)
        {
            if (axisSizes.Any(s => s < 1)) throw new ArgumentException("every axis needs at least one value", nameof(axisSizes));
            long total = 1;
            foreach (var s in axisSizes) total = checked(total * s);
            if (n < 1) throw new ArgumentException($"--sample must be at least 1 (got {n})", nameof(n));
            if (n > total) throw new ArgumentException($"--sample {n} asks for more variants than the grid has ({total}); leave out --sample to train them all", nameof(n));
            var points = method == SampleMethod.Sobol ? DrawSobol(axisSizes, n, seed) : DrawRandom(total, n, seed);
            Array.Sort(points);
            return points;
        }

        private static long[] DrawRandom(long total, int n, long seed)
        {
            // Floyd: for j = total - n .. total - 1, take t uniform in [0, j]; add t, or j when t is taken. Exactly n draws.
            var rng = new SplitMix64((ulong)seed ^ 0x5341_4D50_4C45_0001UL);
            var chosen = new HashSet<long>();
            for (long j = total - n; j < total; j++)
            {
                var t = rng.NextLong(j + 1);
                chosen.Add(chosen.Contains(t) ? j : t);
            }
            return chosen.ToArray();
        }

        private static long[] DrawSobol(IReadOnlyList<int> axisSizes, int n, long seed)
        {
            var d = axisSizes.Count;
            if (d > MaxSobolAxes)
                throw new ArgumentException($"a Sobol sample covers at most {MaxSobolAxes} axes and this sweep has {d}; use --sample-method random", nameof(axisSizes));
            var sobol = new SobolSequence(Math.Max(d, 1));
            var rng = new SplitMix64((ulong)seed ^ 0x534F_424F_4C00_0001UL);
            var shift = new uint[sobol.Dimensions];
            for (var k = 0; k < shift.Length; k++) shift[k] = (uint)rng.NextLong(1L << 32);
            var chosen = new HashSet<long>();
            var counters = new int[d];
            // Every grid cell is reached: a budget of draws far beyond what spreading n points needs.
            var budget = Math.Max(1L << 16, 64L * n);
            for (long drawn = 0; chosen.Count < n; drawn++)
            {
                if (drawn == budget)
                    throw new ArgumentException($"a Sobol sample of {n} did not find {n} distinct grid points in {budget} draws; use --sample-method random", nameof(n));
                var point = sobol.Next();
                for (var k = 0; k < d; k++)
                    counters[k] = (int)(((ulong)(point[k] ^ shift[k]) * (ulong)axisSizes[k]) >> 32);
                chosen.Add(Torchwright.Dsl.Resolution.GridPoint.Encode(counters, axisSizes));
            }
            return chosen.ToArray();
        }
    }

    /// <summary>
    /// The Sobol sequence in up to <see cref="GridSample.MaxSobolAxes"/> dimensions as 32-bit fractions, point 0 first
    /// (all zeros), Gray-code order (Antonov–Saleev), with the Joe–Kuo (2008, new-joe-kuo-6.21201) direction numbers:
    /// the sequence torch.quasirandom.SobolEngine(d, scramble=False) draws (tests compare them).
    /// </summary>
    internal sealed class SobolSequence
    {
        private const int Bits = 32;

        // Per dimension from the second: degree s of the primitive polynomial, its coefficients a, initial m_1..m_s.
        private static readonly (int S, int A, int[] M)[] JoeKuo =
        {
            (1, 0, new[] { 1 }),
            (2, 1, new[] { 1, 3 }),
            (3, 1, new[] { 1, 3, 1 }),
            (3, 2, new[] { 1, 1, 1 }),
            (4, 1, new[] { 1, 1, 3, 3 }),
            (4, 4, new[] { 1, 3, 5, 13 }),
            (5, 2, new[] { 1, 1, 5, 5, 17 }),
            (5, 4, new[] { 1, 1, 5, 5, 5 }),
            (5, 7, new[] { 1, 1, 7, 11, 19 }),
            (5, 11, new[] { 1, 1, 5, 1, 1 }),
            (5, 13, new[] { 1, 1, 1, 3, 11 }),
            (5, 14, new[] { 1, 3, 5, 5, 31 }),
            (6, 1, new[] { 1, 3, 3, 9, 7, 49 }),
            (6, 13, new[] { 1, 1, 1, 15, 21, 21 }),
            (6, 16, new[] { 1, 3, 1, 13, 27, 49 }),
            (6, 19, new[] { 1, 1, 1, 15, 7, 5 }),
            (6, 22, new[] { 1, 3, 1, 15, 13, 25 }),
            (6, 25, new[] { 1, 1, 5, 5, 19, 61 }),
            (7, 1, new[] { 1, 3, 7, 11, 23, 15, 103 }),
            (7, 4, new[] { 1, 3, 7, 13, 13, 15, 69 }),
        };

        private readonly uint[,] _v;
        private readonly uint[] _x;
        private long _index;

        public SobolSequence(int dimensions)
        {
            if (dimensions < 1 || dimensions > JoeKuo.Length + 1)
                throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, $"1 to {JoeKuo.Length + 1} dimensions");
            Dimensions = dimensions;
            _v = new uint[dimensions, Bits];
            for (var k = 0; k < Bits; k++) _v[0, k] = 1u << (Bits - 1 - k);
            for (var j = 1; j < dimensions; j++)
            {
                var (s, a, m0) = JoeKuo[j - 1];
                var m = new uint[Bits];
                for (var k = 0; k < s; k++) m[k] = (uint)m0[k];
                for (var k = s; k < Bits; k++)
                {
                    // m_k = 2 a_1 m_{k-1} ^ 4 a_2 m_{k-2} ^ ... ^ 2^(s-1) a_(s-1) m_(k-s+1) ^ 2^s m_(k-s) ^ m_(k-s)
                    var value = m[k - s] ^ (m[k - s] << s);
                    for (var i = 1; i < s; i++)
                        if (((a >> (s - 1 - i)) & 1) != 0) value ^= m[k - i] << i;
                    m[k] = value;
                }
                for (var k = 0; k < Bits; k++) _v[j, k] = m[k] << (Bits - 1 - k);
            }
            _x = new uint[dimensions];
        }

        public int Dimensions { get; }

        /// <summary>The next point as 32-bit fractions (value / 2^32).</summary>
        public uint[] Next()
        {
            var point = (uint[])_x.Clone();
            // Gray code: point n+1 = point n XOR v[c], c the lowest zero bit of n.
            var c = 0;
            for (var n = _index; (n & 1) == 1; n >>= 1) c++;
            for (var j = 0; j < Dimensions; j++) _x[j] ^= _v[j, c];
            _index++;
            return point;
        }
    }
}
