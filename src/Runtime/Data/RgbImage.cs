using System;

namespace Torchwright.Runtime.Data
{
    /// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B): the form in which images are decoded
    /// and augmented, as PIL holds a mode-"RGB" image.</summary>
    internal sealed class RgbImage
    {
        public RgbImage(int width, int height) : this(width, height, new byte[checked(3 * width * height)]) { }

        public RgbImage(int width, int height, byte[] pixels)
        {
            if (width < 1 || height < 1) throw new ArgumentOutOfRangeException(nameof(width), $"an image needs a positive size, not {width}x{height}");
            if (pixels is null) throw new ArgumentNullException(nameof(pixels));
            if (pixels.Length != 3L * width * height)
                throw new ArgumentException($"a {width}x{height} RGB image has {3L * width * height} bytes, not {pixels.Length}", nameof(pixels));
            Width = width;
            Height = height;
            Pixels = pixels;
        }

        public int Width { get; }

        public int Height { get; }

        /// <summary>3·Width·Height bytes: (R, G, B) of pixel (x, y) at 3·(y·Width + x).</summary>
        public byte[] Pixels { get; }
    }
}
