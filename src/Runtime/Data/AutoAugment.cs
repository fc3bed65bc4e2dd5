using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// torchvision 0.14's RandAugment (Cubuk et al. 2020) and TrivialAugmentWide (Müller &amp; Hutter 2021) on PIL images:
    /// the same 14 operations, magnitude bins (31) and signs, the same PIL semantics per operation (nearest-neighbour
    /// geometry filled with black, ImageEnhance blends truncated as PIL's blend does, ImageOps LUTs), with the random draws
    /// from the sample's SplitMix64 instead of torch's generator.
    /// </summary>
    internal sealed class AutoAugment
    {
        public const int MagnitudeBins = 31;

        private static readonly Regex RandPattern = new Regex(@"^rand-m(\d+)-n(\d+)$", RegexOptions.CultureInvariant);

        internal enum Op { Identity, ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize }

        private readonly bool _trivial;
        private readonly int _magnitude, _ops;

        private AutoAugment(bool trivial, int magnitude, int ops)
        {
            _trivial = trivial;
            _magnitude = magnitude;
            _ops = ops;
        }

        /// <summary>The policy named by <paramref name="text"/>: null for <c>none</c>, <c>trivial</c>, or
        /// <c>rand-mM-nN</c> (magnitude bin M of 0..30, N operations per image).</summary>
        /// <exception cref="FormatException">Any other text; the message says what is accepted.</exception>
        public static AutoAugment? Parse(string text)
        {
            var t = text.Trim();
            if (t == "none") return null;
            if (t == "trivial") return new AutoAugment(true, 0, 1);
            var m = RandPattern.Match(t);
            if (m.Success && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var magnitude)
                && int.TryParse(m.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var ops))
            {
                if (magnitude >= MagnitudeBins)
                    throw new FormatException($"auto_augment '{t}': the magnitude must be 0 to {MagnitudeBins - 1} (torchvision's {MagnitudeBins} bins), not {magnitude}");
                if (ops < 1 || ops > 10)
                    throw new FormatException($"auto_augment '{t}': the number of operations must be 1 to 10, not {ops}");
                return new AutoAugment(false, magnitude, ops);
            }
            throw new FormatException($"auto_augment takes none, trivial (TrivialAugmentWide) or rand-mM-nN (RandAugment, magnitude M of 0-30, N operations, e.g. rand-m9-n2), not '{text}'");
        }

        public RgbImage Apply(RgbImage image, ref SplitMix64 rng)
        {
            for (var i = 0; i < _ops; i++)
            {
                var op = (Op)rng.NextInt(14);
                double magnitude;
                bool signed;
                if (_trivial)
                {
                    (magnitude, signed) = WideMagnitude(op, rng.NextInt(MagnitudeBins));
                }
                else
                {
                    (magnitude, signed) = RandMagnitude(op, _magnitude, image.Width, image.Height);
                }
                if (signed && rng.NextInt(2) == 1) magnitude = -magnitude;
                image = ApplyOp(image, op, magnitude);
            }
            return image;
        }

        // torch.linspace(start, end, 31)[bin] in float32.
        private static double Bin(double start, double end, int bin) => (float)(start + (end - start) * bin / (MagnitudeBins - 1));

        private static (double, bool) RandMagnitude(Op op, int bin, int width, int height) => op switch
        {
            Op.ShearX or Op.ShearY => (Bin(0, 0.3, bin), true),
            Op.TranslateX => (Bin(0, 150.0 / 331.0 * width, bin), true),
            Op.TranslateY => (Bin(0, 150.0 / 331.0 * height, bin), true),
            Op.Rotate => (Bin(0, 30, bin), true),
            Op.Brightness or Op.Color or Op.Contrast or Op.Sharpness => (Bin(0, 0.9, bin), true),
            Op.Posterize => (8 - (int)Math.Round(bin / ((MagnitudeBins - 1) / 4.0), MidpointRounding.ToEven), false),
            Op.Solarize => (Bin(255, 0, bin), false),
            _ => (0, false),
        };

        private static (double, bool) WideMagnitude(Op op, int bin) => op switch
        {
            Op.ShearX or Op.ShearY => (Bin(0, 0.99, bin), true),
            Op.TranslateX or Op.TranslateY => (Bin(0, 32, bin), true),
            Op.Rotate => (Bin(0, 135, bin), true),
            Op.Brightness or Op.Color or Op.Contrast or Op.Sharpness => (Bin(0, 0.99, bin), true),
            Op.Posterize => (8 - (int)Math.Round(bin / ((MagnitudeBins - 1) / 6.0), MidpointRounding.ToEven), false),
            Op.Solarize => (Bin(255, 0, bin), false),
            _ => (0, false),
        };

        /// <summary>One operation at one signed magnitude (torchvision's _apply_op with NEAREST and fill 0).</summary>
        internal static RgbImage ApplyOp(RgbImage image, Op op, double m)
        {
            switch (op)
            {
                case Op.ShearX:
                    return Affine(image, InverseAffine(0, 0, 0, 0, 0, Degrees(Math.Atan(m)), 0));
                case Op.ShearY:
                    return Affine(image, InverseAffine(0, 0, 0, 0, 0, 0, Degrees(Math.Atan(m))));
                case Op.TranslateX:
                    return Affine(image, InverseAffine(image.Width * 0.5, image.Height * 0.5, 0, (int)m, 0, 0, 0));
                case Op.TranslateY:
                    return Affine(image, InverseAffine(image.Width * 0.5, image.Height * 0.5, 0, 0, (int)m, 0, 0));
                case Op.Rotate:
                    return Rotate(image, m);
                case Op.Brightness:
                    return Blend(image, (_, _) => 0, 1 + m);
                case Op.Color:
                    {
                        var grey = Grey(image);
                        return Blend(image, (i, _) => grey[i], 1 + m);
                    }
                case Op.Contrast:
                    {
                        var grey = Grey(image);
                        long sum = 0;
                        foreach (var g in grey) sum += g;
                        var mean = (byte)(int)((double)sum / grey.Length + 0.5);
                        return Blend(image, (_, _) => mean, 1 + m);
                    }
                case Op.Sharpness:
                    {
                        var smooth = Smooth(image);
                        return Blend(image, (i, c) => smooth.Pixels[3 * i + c], 1 + m);
                    }
                case Op.Posterize:
                    {
                        var mask = (byte)~((1 << (8 - (int)m)) - 1);
                        return Lut(image, _ => v => (byte)(v & mask));
                    }
                case Op.Solarize:
                    return Lut(image, _ => v => v < m ? v : (byte)(255 - v));
                case Op.AutoContrast:
                    return Lut(image, c => AutoContrastLut(image, c));
                case Op.Equalize:
                    return Lut(image, c => EqualizeLut(image, c));
                default:
                    return image;
            }
        }

        private static double Degrees(double radians) => radians * 180 / Math.PI;

        /// <summary>torchvision's _get_inverse_affine_matrix(center, angle, translate, scale = 1, shear).</summary>
        private static double[] InverseAffine(double cx, double cy, double angle, double tx, double ty, double shearX, double shearY)
        {
            var rot = angle * Math.PI / 180;
            var sx = shearX * Math.PI / 180;
            var sy = shearY * Math.PI / 180;
            var a = Math.Cos(rot - sy) / Math.Cos(sy);
            var b = -Math.Cos(rot - sy) * Math.Tan(sx) / Math.Cos(sy) - Math.Sin(rot);
            var c = Math.Sin(rot - sy) / Math.Cos(sy);
            var d = -Math.Sin(rot - sy) * Math.Tan(sx) / Math.Cos(sy) + Math.Cos(rot);
            var m = new[] { d, -b, 0.0, -c, a, 0.0 };
            m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
            m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
            m[2] += cx;
            m[5] += cy;
            return m;
        }

        /// <summary>PIL's <c>Image.rotate(angle)</c> (counter-clockwise degrees, about the centre, same size).</summary>
        private static RgbImage Rotate(RgbImage image, double angle)
        {
            angle %= 360.0;
            if (angle < 0) angle += 360;
            if (angle == 0) return image;
            var (cx, cy) = (image.Width / 2.0, image.Height / 2.0);
            var r = -angle * Math.PI / 180;
            var m = new[] { Math.Round(Math.Cos(r), 15), Math.Round(Math.Sin(r), 15), 0.0, Math.Round(-Math.Sin(r), 15), Math.Round(Math.Cos(r), 15), 0.0 };
            m[2] = m[0] * -cx + m[1] * -cy + cx;
            m[5] = m[3] * -cx + m[4] * -cy + cy;
            return Affine(image, m);
        }

        /// <summary>PIL's <c>Image.transform(size, AFFINE, m, NEAREST, fillcolor=0)</c>: output pixel (x, y) takes the
        /// input pixel containing (m0·(x+½) + m1·(y+½) + m2, m3·(x+½) + m4·(y+½) + m5), black outside — computed as
        /// Pillow's Geometry.c does (ImagingScaleAffine without shear, else affine_fixed's 16.16 fixed point), so the
        /// pixels where the position falls exactly on a boundary go the same way (images here are at most 4096 px, inside
        /// the range where Pillow takes the fixed-point path).</summary>
        private static RgbImage Affine(RgbImage image, double[] m)
        {
            int w = image.Width, h = image.Height;
            var output = new RgbImage(w, h);
            byte[] src = image.Pixels, dst = output.Pixels;
            void Copy(int x, int y, int xin, int yin)
            {
                var from = 3 * (yin * w + xin);
                var to = 3 * (y * w + x);
                dst[to] = src[from];
                dst[to + 1] = src[from + 1];
                dst[to + 2] = src[from + 2];
            }
            static int Coord(double v) => v < 0 ? -1 : (int)v;
            if (m[1] == 0 && m[3] == 0)
            {
                var xin = new int[w];
                var xo = m[2] + m[0] * 0.5;
                for (var x = 0; x < w; x++, xo += m[0]) xin[x] = Coord(xo);
                var yo = m[5] + m[4] * 0.5;
                for (var y = 0; y < h; y++, yo += m[4])
                {
                    var yin = Coord(yo);
                    if (yin < 0 || yin >= h) continue;
                    for (var x = 0; x < w; x++)
                        if (xin[x] >= 0 && xin[x] < w) Copy(x, y, xin[x], yin);
                }
                return output;
            }
            static int Fix(double v) => v < 0 ? (int)Math.Floor(v * 65536.0 + 0.5) : (int)(v * 65536.0 + 0.5);
            int a0 = Fix(m[0]), a1 = Fix(m[1]), a3 = Fix(m[3]), a4 = Fix(m[4]);
            int a2 = Fix(m[2] + m[0] * 0.5 + m[1] * 0.5), a5 = Fix(m[5] + m[3] * 0.5 + m[4] * 0.5);
            for (var y = 0; y < h; y++, a2 += a1, a5 += a4)
            {
                int xx = a2, yy = a5;
                for (var x = 0; x < w; x++, xx += a0, yy += a3)
                {
                    int xin = xx >> 16, yin = yy >> 16;
                    if (xin >= 0 && xin < w && yin >= 0 && yin < h) Copy(x, y, xin, yin);
                }
            }
            return output;
        }

        /// <summary>PIL's Image.blend(degenerate, image, factor): degenerate + factor·(image − degenerate) in float32,
        /// truncated and clipped to 0..255.</summary>
        private static RgbImage Blend(RgbImage image, Func<int, int, byte> degenerate, double factor)
        {
            var alpha = (float)factor;
            var output = new RgbImage(image.Width, image.Height);
            var plane = image.Width * image.Height;
            for (var i = 0; i < plane; i++)
                for (var c = 0; c < 3; c++)
                {
                    int d = degenerate(i, c), v = image.Pixels[3 * i + c];
                    var t = d + alpha * (v - d);
                    output.Pixels[3 * i + c] = t <= 0 ? (byte)0 : t >= 255 ? (byte)255 : (byte)t;
                }
            return output;
        }

        /// <summary>PIL's convert("L"): (19595 R + 38470 G + 7471 B + 2^15) >> 16.</summary>
        private static byte[] Grey(RgbImage image)
        {
            var grey = new byte[image.Width * image.Height];
            var p = image.Pixels;
            for (var i = 0; i < grey.Length; i++) grey[i] = (byte)((p[3 * i] * 19595 + p[3 * i + 1] * 38470 + p[3 * i + 2] * 7471 + 0x8000) >> 16);
            return grey;
        }

        /// <summary>PIL's ImageFilter.SMOOTH (3×3 kernel 1 1 1 / 1 5 1 / 1 1 1 over 13); the border pixels are kept.</summary>
        private static RgbImage Smooth(RgbImage image)
        {
            var output = new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone());
            int w = image.Width, h = image.Height;
            var p = image.Pixels;
            for (var y = 1; y < h - 1; y++)
                for (var x = 1; x < w - 1; x++)
                    for (var c = 0; c < 3; c++)
                    {
                        var sum = 0f;
                        for (var dy = -1; dy <= 1; dy++)
                            for (var dx = -1; dx <= 1; dx++)
                                sum += p[3 * ((y + dy) * w + x + dx) + c] * (dx == 0 && dy == 0 ? 5f : 1f);
                        var v = sum / 13f + 0.5f;
                        output.Pixels[3 * (y * w + x) + c] = v >= 255 ? (byte)255 : (byte)v;
                    }
            return output;
        }

        private static RgbImage Lut(RgbImage image, Func<int, Func<byte, byte>> perChannel)
        {
            var tables = new byte[3][];
            for (var c = 0; c < 3; c++)
            {
                var f = perChannel(c);
                tables[c] = new byte[256];
                for (var v = 0; v < 256; v++) tables[c][v] = f((byte)v);
            }
            var output = new RgbImage(image.Width, image.Height);
            for (var i = 0; i < image.Pixels.Length; i++) output.Pixels[i] = tables[i % 3][image.Pixels[i]];
            return output;
        }

        private static int[] Histogram(RgbImage image, int channel)
        {
            var h = new int[256];
            for (var i = channel; i < image.Pixels.Length; i += 3) h[image.Pixels[i]]++;
            return h;
        }

        /// <summary>ImageOps.autocontrast(cutoff=0): the channel's range stretched to 0..255.</summary>
        private static Func<byte, byte> AutoContrastLut(RgbImage image, int channel)
        {
            var h = Histogram(image, channel);
            int lo = Array.FindIndex(h, n => n > 0), hi = Array.FindLastIndex(h, n => n > 0);
            if (hi <= lo) return v => v;
            var scale = 255.0 / (hi - lo);
            var offset = -lo * scale;
            return v => (byte)Math.Clamp((int)(v * scale + offset), 0, 255);
        }

        /// <summary>ImageOps.equalize: the channel's cumulative histogram as the LUT.</summary>
        private static Func<byte, byte> EqualizeLut(RgbImage image, int channel)
        {
            var h = Histogram(image, channel);
            var total = 0;
            var last = 0;
            var used = 0;
            foreach (var n in h)
                if (n > 0) { total += n; last = n; used++; }
            if (used <= 1) return v => v;
            var step = (total - last) / 255;
            if (step == 0) return v => v;
            var lut = new byte[256];
            var acc = step / 2;
            for (var i = 0; i < 256; i++)
            {
                lut[i] = (byte)Math.Min(255, acc / step);
                acc += h[i];
            }
            return v => lut[v];
        }
    }
}
