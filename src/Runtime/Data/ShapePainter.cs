using System;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// Draws one image of the procedural shapes set: a noisy two-colour gradient background and one object of the class,
    /// with random colour, position, scale and (where the class allows) rotation. Only IEEE-exact operations
    /// (+ − × ÷, sqrt, floor) touch pixel values, so the bytes are identical on every machine; rotations use the rational
    /// parametrisation cos = (1−t²)/(1+t²), sin = 2t/(1+t²) instead of sin/cos, whose last bits differ between libms.
    /// </summary>
    internal static class ShapePainter
    {
        public static readonly string[] ClassNames =
        {
            "disk", "square", "triangle", "cross", "ring", "horizontal-stripes", "vertical-stripes", "checkerboard",
        };

        private const int Disk = 0, Square = 1, Triangle = 2, Cross = 3, Ring = 4, HorizontalStripes = 5, VerticalStripes = 6, Checkerboard = 7;

        // tan(θ/2) for the largest rotation each class gets: ±45° covers every orientation of a square or a cross,
        // ±60° every orientation of an equilateral triangle; stripes and checkerboards tilt by at most ±15° so that
        // horizontal and vertical stay distinct.
        private const double Tan22_5 = 0.41421356237309503, Tan30 = 0.57735026918962584, Tan7_5 = 0.13165249758739583;

        private const double NoiseAmplitude = 20;       // uniform ±20 grey levels per pixel and channel
        private const double BackgroundSpread = 80;     // the gradient's far colour differs by up to ±80 per channel
        private const double MinContrast = 150;         // L1 distance (of 765) between object and background colours

        private static readonly double Sqrt3Over2 = Math.Sqrt(3) / 2;

        private enum Region { Disk, Box }

        /// <summary>Paints class <paramref name="label"/> at <paramref name="size"/>×<paramref name="size"/> into
        /// <paramref name="rgb"/> (planar R, G, B), drawing every random choice from <paramref name="rng"/>.</summary>
        public static void Paint(ref SplitMix64 rng, int label, int size, Span<byte> rgb)
        {
            var s = (double)size;
            Span<double> near = stackalloc double[3], far = stackalloc double[3], ink = stackalloc double[3], ink2 = stackalloc double[3];
            for (var c = 0; c < 3; c++)
            {
                near[c] = rng.Uniform(0, 256);
                far[c] = Math.Clamp(near[c] + rng.Uniform(-BackgroundSpread, BackgroundSpread), 0, 255);
            }
            var (gx, gy) = Rotation(ref rng, 1);
            if (rng.NextDouble() < 0.5) { gx = -gx; gy = -gy; }

            Span<double> middle = stackalloc double[3];
            for (var c = 0; c < 3; c++) middle[c] = (near[c] + far[c]) / 2;
            Contrasting(ref rng, middle, ink);
            Contrasting(ref rng, ink, ink2);

            // Object geometry in pixels: a signed distance (negative inside) in the object's own frame (u, v).
            double a = 0, b = 0, extent;
            var region = Region.Disk;
            double tilt;
            switch (label)
            {
                case Disk:
                    a = rng.Uniform(0.14, 0.32) * s;
                    extent = a;
                    tilt = 0;
                    break;
                case Square:
                    a = rng.Uniform(0.12, 0.27) * s;
                    extent = a * Math.Sqrt(2);
                    tilt = Tan22_5;
                    break;
                case Triangle:
                    a = rng.Uniform(0.20, 0.38) * s;     // circumradius
                    extent = a;
                    tilt = Tan30;
                    break;
                case Cross:
                    a = rng.Uniform(0.18, 0.34) * s;     // arm half-length
                    b = a * rng.Uniform(0.28, 0.42);     // arm half-width
                    extent = Math.Sqrt(a * a + b * b);
                    tilt = Tan22_5;
                    break;
                case Ring:
                    var outer = rng.Uniform(0.20, 0.36) * s;
                    b = outer * rng.Uniform(0.15, 0.25); // half thickness
                    a = outer - b;                       // centre-line radius
                    extent = outer;
                    tilt = 0;
                    break;
                case HorizontalStripes:
                case VerticalStripes:
                case Checkerboard:
                    region = rng.NextDouble() < 0.5 ? Region.Disk : Region.Box;
                    a = rng.Uniform(0.20, 0.30) * s;     // patch radius or half side
                    b = rng.Uniform(Math.Max(4, s / 12), Math.Max(6, s / 6)) / 2;   // half period: one band
                    extent = region == Region.Box ? a * Math.Sqrt(2) : a;
                    tilt = Tan7_5;
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(label), label, $"the shapes set has {ClassNames.Length} classes");
            }
            var (cos, sin) = Rotation(ref rng, tilt);
            var cx = rng.Uniform(extent + 1, s - extent - 1);
            var cy = rng.Uniform(extent + 1, s - extent - 1);
            var phaseU = rng.Uniform(0, 2 * b);
            var phaseV = rng.Uniform(0, 2 * b);

            var plane = size * size;
            for (var y = 0; y < size; y++)
            {
                var py = y + 0.5 - cy;
                for (var x = 0; x < size; x++)
                {
                    var px = x + 0.5 - cx;
                    var u = cos * px + sin * py;
                    var v = cos * py - sin * px;
                    var distance = label switch
                    {
                        Disk => Math.Sqrt(u * u + v * v) - a,
                        Square => Box(u, v, a, a),
                        Triangle => EquilateralTriangle(u, v, a),
                        Cross => Math.Min(Box(u, v, a, b), Box(u, v, b, a)),
                        Ring => Math.Abs(Math.Sqrt(u * u + v * v) - a) - b,
                        _ => region == Region.Box ? Box(u, v, a, a) : Math.Sqrt(u * u + v * v) - a,
                    };
                    // Area coverage of the pixel, approximated from the distance to the edge: anti-aliased outlines.
                    var coverage = Math.Clamp(0.5 - distance, 0, 1);
                    var second = label switch
                    {
                        HorizontalStripes => Band(v, phaseV, b),
                        VerticalStripes => Band(u, phaseU, b),
                        Checkerboard => Band(u, phaseU, b) != Band(v, phaseV, b),
                        _ => false,
                    };
                    var gradient = Math.Clamp(0.5 + (gx * (x + 0.5 - s / 2) + gy * (y + 0.5 - s / 2)) / s, 0, 1);
                    for (var c = 0; c < 3; c++)
                    {
                        var background = near[c] + (far[c] - near[c]) * gradient;
                        var value = background + ((second ? ink2[c] : ink[c]) - background) * coverage
                                    + rng.Uniform(-NoiseAmplitude, NoiseAmplitude);
                        rgb[c * plane + y * size + x] = (byte)Math.Clamp(Math.Floor(value + 0.5), 0, 255);
                    }
                }
            }
        }

        /// <summary>Axis-aligned box of half sizes (hu, hv): the larger of the two slab distances (sharp corners).</summary>
        private static double Box(double u, double v, double hu, double hv) => Math.Max(Math.Abs(u) - hu, Math.Abs(v) - hv);

        /// <summary>Equilateral triangle of circumradius r pointing to −v: the largest distance to its three edge lines,
        /// which lie r/2 (the inradius) from the centre.</summary>
        private static double EquilateralTriangle(double u, double v, double r)
        {
            var edge0 = v;
            var edge1 = Sqrt3Over2 * u - 0.5 * v;
            var edge2 = -Sqrt3Over2 * u - 0.5 * v;
            return Math.Max(edge0, Math.Max(edge1, edge2)) - r / 2;
        }

        /// <summary>Whether coordinate w falls in an odd band of width <paramref name="halfPeriod"/>.</summary>
        private static bool Band(double w, double phase, double halfPeriod) => ((long)Math.Floor((w + phase) / halfPeriod) & 1) != 0;

        /// <summary>(cos θ, sin θ) for θ = 2·atan(t), t uniform in [−maxT, maxT].</summary>
        private static (double Cos, double Sin) Rotation(ref SplitMix64 rng, double maxT)
        {
            if (maxT == 0) return (1, 0);
            var t = rng.Uniform(-maxT, maxT);
            var d = 1 + t * t;
            return ((1 - t * t) / d, 2 * t / d);
        }

        /// <summary>A random colour at least <see cref="MinContrast"/> (L1) from <paramref name="other"/>; after 64
        /// misses, the channel-wise extreme opposite, which always qualifies.</summary>
        private static void Contrasting(ref SplitMix64 rng, ReadOnlySpan<double> other, Span<double> colour)
        {
            for (var attempt = 0; attempt < 64; attempt++)
            {
                var distance = 0.0;
                for (var c = 0; c < 3; c++)
                {
                    colour[c] = rng.Uniform(0, 256);
                    distance += Math.Abs(colour[c] - other[c]);
                }
                if (distance >= MinContrast) return;
            }
            for (var c = 0; c < 3; c++) colour[c] = other[c] < 128 ? 255 : 0;
        }
    }
}
