using System;
using System.Collections.Generic;

namespace Torchwright.Runtime.Data
{
    /// <summary>Resampling filter of a resize, as PIL names them.</summary>
    public enum Interpolation
    {
        /// <summary>PIL's BILINEAR: a triangle filter widened by the scale factor when shrinking (antialiased).</summary>
        Bilinear,

        /// <summary>PIL's BICUBIC: Keys' cubic with a = −0.5, widened by the scale factor when shrinking.</summary>
        Bicubic,
    }

    /// <summary>
    /// The deterministic image operations of the input pipeline, written to give the bytes torchvision 0.14 gives on a PIL
    /// image: resize is Pillow's two-pass separable resampling (horizontal pass first, 8-bit intermediate, 22-bit fixed-point
    /// coefficients, filter support scaled by the shrink factor — i.e. always antialiased, as torchvision on PIL is), crops
    /// and flips copy bytes, and normalisation is ToTensor (v / 255 in float32) then Normalize ((x − mean) / std in float32).
    /// </summary>
    internal static class ImageOps
    {
        private const int PrecisionBits = 32 - 8 - 2;

        /// <summary>PIL's <c>img.crop((left, top, left+width, top+height)).resize((outWidth, outHeight), filter)</c>;
        /// the crop lies inside the image.</summary>
        public static RgbImage ResizedCrop(RgbImage image, int top, int left, int height, int width, int outWidth, int outHeight, Interpolation filter)
        {
            if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > image.Height || left + width > image.Width)
                throw new ArgumentOutOfRangeException(nameof(top), $"crop ({left}, {top}) {width}x{height} lies outside the {image.Width}x{image.Height} image");
            return Resize(Crop(image, top, left, height, width), outWidth, outHeight, filter);
        }

        /// <summary>Pillow's <c>Image.resize((width, height), filter)</c> of an RGB image.</summary>
        public static RgbImage Resize(RgbImage image, int width, int height, Interpolation filter)
        {
            if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"cannot resize to {width}x{height}");
            if (width == image.Width && height == image.Height) return new RgbImage(width, height, (byte[])image.Pixels.Clone());
            var (support, kernel) = filter == Interpolation.Bicubic ? (2.0, (Func<double, double>)Bicubic) : (1.0, Triangle);
            var (horizontalBounds, horizontalK, horizontalSize) = Coefficients(image.Width, width, support, kernel);
            var (verticalBounds, verticalK, verticalSize) = Coefficients(image.Height, height, support, kernel);
            var needHorizontal = width != image.Width;
            var needVertical = height != image.Height;
            var source = image;
            if (needHorizontal)
            {
                // Only the source rows the vertical pass reads are resampled horizontally.
                var first = verticalBounds[0];
                var last = verticalBounds[2 * height - 2] + verticalBounds[2 * height - 1];
                if (!needVertical) { first = 0; last = image.Height; }
                var temp = new RgbImage(width, last - first);
                Horizontal(image, first, temp, horizontalBounds, horizontalK, horizontalSize);
                if (needVertical) for (var i = 0; i < height; i++) verticalBounds[2 * i] -= first;
                source = temp;
            }
            if (!needVertical) return source;
            var output = new RgbImage(width, height);
            Vertical(source, output, verticalBounds, verticalK, verticalSize);
            return output;
        }

        /// <summary>torchvision's <c>Resize(size)</c> with an int: the shorter side becomes <paramref name="size"/>, the
        /// longer <c>int(size · long / short)</c>.</summary>
        public static RgbImage ResizeShorter(RgbImage image, int size, Interpolation filter)
        {
            var (w, h) = (image.Width, image.Height);
            var (shortSide, longSide) = w <= h ? (w, h) : (h, w);
            if (shortSide == size) return image;
            var newLong = (int)((double)size * longSide / shortSide);
            return w <= h ? Resize(image, size, newLong, filter) : Resize(image, newLong, size, filter);
        }

        /// <summary>torchvision's <c>CenterCrop(size)</c> (the image is at least that large): offsets
        /// <c>int(round((H − size) / 2))</c>, rounding halves to even as Python does.</summary>
        public static RgbImage CenterCrop(RgbImage image, int height, int width)
        {
            if (height > image.Height || width > image.Width)
                throw new ArgumentOutOfRangeException(nameof(height), $"a {width}x{height} centre crop does not fit the {image.Width}x{image.Height} image");
            var top = (int)Math.Round((image.Height - height) / 2.0, MidpointRounding.ToEven);
            var left = (int)Math.Round((image.Width - width) / 2.0, MidpointRounding.ToEven);
            return Crop(image, top, left, height, width);
        }

        public static RgbImage Crop(RgbImage image, int top, int left, int height, int width)
        {
            if (top == 0 && left == 0 && height == image.Height && width == image.Width) return image;
            var output = new RgbImage(width, height);
            for (var y = 0; y < height; y++)
                Buffer.BlockCopy(image.Pixels, 3 * ((top + y) * image.Width + left), output.Pixels, 3 * y * width, 3 * width);
            return output;
        }

        /// <summary>Mirrors the image left to right in place.</summary>
        public static void FlipHorizontal(RgbImage image)
        {
            var p = image.Pixels;
            for (var y = 0; y < image.Height; y++)
            {
                var row = 3 * y * image.Width;
                for (int a = 0, b = image.Width - 1; a < b; a++, b--)
                    for (var c = 0; c < 3; c++)
                        (p[row + 3 * a + c], p[row + 3 * b + c]) = (p[row + 3 * b + c], p[row + 3 * a + c]);
            }
        }

        /// <summary>ToTensor then Normalize: <c>(v / 255 − mean[c]) / std[c]</c> in float32, written planar (C, H, W).</summary>
        public static void Normalize(RgbImage image, IReadOnlyList<float> mean, IReadOnlyList<float> std, Span<float> destination)
        {
            var plane = image.Width * image.Height;
            if (destination.Length != 3 * plane)
                throw new ArgumentException($"a {image.Width}x{image.Height} image needs {3 * plane} floats, the destination has {destination.Length}");
            var p = image.Pixels;
            for (var c = 0; c < 3; c++)
            {
                float m = mean[c], s = std[c];
                var output = destination.Slice(c * plane, plane);
                for (var i = 0; i < plane; i++) output[i] = ((float)p[3 * i + c] / 255f - m) / s;
            }
        }

        // ---- Pillow's Resample.c -----------------------------------------------------------------------------------

        private static double Triangle(double x)
        {
            if (x < 0) x = -x;
            return x < 1 ? 1 - x : 0;
        }

        private static double Bicubic(double x)
        {
            const double a = -0.5;
            if (x < 0) x = -x;
            if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
            if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
            return 0;
        }

        /// <summary>precompute_coeffs + normalize_coeffs_8bpc: per output pixel, its first input pixel and count, and its
        /// fixed-point weights (kernel size entries each).</summary>
        private static (int[] Bounds, int[] Weights, int KernelSize) Coefficients(int inSize, int outSize, double filterSupport, Func<double, double> filter)
        {
            var scale = (double)inSize / outSize;
            var filterScale = Math.Max(scale, 1.0);
            var support = filterSupport * filterScale;
            var kernelSize = (int)Math.Ceiling(support) * 2 + 1;
            var bounds = new int[2 * outSize];
            var weights = new int[outSize * kernelSize];
            var k = new double[kernelSize];
            for (var xx = 0; xx < outSize; xx++)
            {
                var center = (xx + 0.5) * scale;
                var ss = 1.0 / filterScale;
                var xmin = (int)(center - support + 0.5);
                if (xmin < 0) xmin = 0;
                var xmax = (int)(center + support + 0.5);
                if (xmax > inSize) xmax = inSize;
                xmax -= xmin;
                double ww = 0;
                for (var x = 0; x < xmax; x++)
                {
                    var w = filter((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (var x = 0; x < xmax; x++)
                {
                    var v = ww != 0 ? k[x] / ww : k[x];
                    weights[xx * kernelSize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
                }
                bounds[2 * xx] = xmin;
                bounds[2 * xx + 1] = xmax;
            }
            return (bounds, weights, kernelSize);
        }

        private static byte Clip8(int value)
        {
            var v = value >> PrecisionBits;
            return v < 0 ? (byte)0 : v > 255 ? (byte)255 : (byte)v;
        }

        private static void Horizontal(RgbImage input, int firstRow, RgbImage output, int[] bounds, int[] weights, int kernelSize)
        {
            byte[] src = input.Pixels, dst = output.Pixels;
            for (var y = 0; y < output.Height; y++)
            {
                var srcRow = 3 * (y + firstRow) * input.Width;
                var dstRow = 3 * y * output.Width;
                for (var x = 0; x < output.Width; x++)
                {
                    int xmin = bounds[2 * x], count = bounds[2 * x + 1], kOffset = x * kernelSize;
                    int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                    for (var i = 0; i < count; i++)
                    {
                        var w = weights[kOffset + i];
                        var at = srcRow + 3 * (xmin + i);
                        s0 += src[at] * w;
                        s1 += src[at + 1] * w;
                        s2 += src[at + 2] * w;
                    }
                    dst[dstRow + 3 * x] = Clip8(s0);
                    dst[dstRow + 3 * x + 1] = Clip8(s1);
                    dst[dstRow + 3 * x + 2] = Clip8(s2);
                }
            }
        }

        private static void Vertical(RgbImage input, RgbImage output, int[] bounds, int[] weights, int kernelSize)
        {
            byte[] src = input.Pixels, dst = output.Pixels;
            var stride = 3 * input.Width;
            for (var y = 0; y < output.Height; y++)
            {
                int ymin = bounds[2 * y], count = bounds[2 * y + 1], kOffset = y * kernelSize;
                var dstRow = 3 * y * output.Width;
                for (var x = 0; x < stride; x++)
                {
                    var s = 1 << (PrecisionBits - 1);
                    for (var i = 0; i < count; i++) s += src[(ymin + i) * stride + x] * weights[kOffset + i];
                    dst[dstRow + x] = Clip8(s);
                }
            }
        }
    }
}
