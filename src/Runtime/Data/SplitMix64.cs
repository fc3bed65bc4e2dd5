using System;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit integer generator whose output is fully specified, so datasets
    /// and data order derived from it are identical on every machine and runtime (System.Random's algorithm is not
    /// specified, and torch's RNG would couple the data to the model's initialisation).
    /// </summary>
    internal struct SplitMix64
    {
        private ulong _state;

        public SplitMix64(ulong seed) => _state = seed;

        /// <summary>A generator for item <paramref name="index"/> of the stream <paramref name="stream"/>: independent
        /// of how many items were drawn before, which is what lets images be generated on the fly in any order.</summary>
        public static SplitMix64 ForItem(ulong stream, ulong index) => new SplitMix64(Finalize(Finalize(stream) ^ index));

        public ulong NextUInt64()
        {
            _state += 0x9E3779B97F4A7C15UL;
            return Finalize(_state);
        }

        /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
        public double Uniform(double low, double high) => low + (high - low) * NextDouble();

        /// <summary>Standard normal (Box–Muller, one value per two uniforms).</summary>
        public double NextGaussian()
        {
            var u1 = 1.0 - NextDouble();   // (0, 1]: the logarithm stays finite
            var u2 = NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        }

        /// <summary>Uniform integer in [0, <paramref name="bound"/>), unbiased (Lemire's multiply-shift with rejection).</summary>
        public int NextInt(int bound)
        {
            if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "the bound must be positive");
            var b = (ulong)bound;
            var threshold = (0UL - b) % b;
            while (true)
            {
                var product = Math.BigMul(NextUInt64(), b, out var low);
                if (low >= threshold) return (int)product;
            }
        }

        /// <summary>Uniform integer in [0, <paramref name="bound"/>), unbiased (rejection of the top partial range).</summary>
        public long NextLong(long bound)
        {
            if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "the bound must be positive");
            var b = (ulong)bound;
            var limit = ulong.MaxValue - ulong.MaxValue % b;
            while (true)
            {
                var x = NextUInt64();
                if (x < limit) return (long)(x % b);
            }
        }

        private static ulong Finalize(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
