using System;
using System.IO;
using SkiaSharp;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// Decodes image files with SkiaSharp (libjpeg-turbo, libpng, libwebp, Skia's BMP codec) to 8-bit RGB, as
    /// torchvision's ImageFolder loader does with PIL's <c>convert("RGB")</c>: grayscale is replicated, palettes expanded,
    /// CMYK converted, and alpha dropped (unpremultiplied colours kept, not composited). EXIF orientation is not applied,
    /// as PIL's loader does not apply it either.
    /// </summary>
    internal static class ImageDecoder
    {
        /// <summary>Reads only the header: null if Skia recognises a decodable image, otherwise the reason.</summary>
        public static string? Probe(string path)
        {
            try
            {
                using var codec = SKCodec.Create(path, out var result);
                if (codec is null) return Unrecognised(result);
                var info = codec.Info;
                if (info.Width < 1 || info.Height < 1) return $"it has no pixels ({info.Width}x{info.Height})";
                if (4L * info.Width * info.Height > int.MaxValue) return $"{info.Width}x{info.Height} is too large to decode";
                return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return e.Message;
            }
        }

        /// <summary>The whole image as RGB.</summary>
        /// <exception cref="InvalidDataException">The file cannot be read or decoded (or is truncated); the message is one
        /// line, "PATH: cannot be decoded: REASON".</exception>
        public static unsafe RgbImage Decode(string path)
        {
            SKCodec? codec;
            SKCodecResult result;
            try
            {
                codec = SKCodec.Create(path, out result);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Bad(path, e.Message);
            }
            if (codec is null) throw Bad(path, Unrecognised(result));
            using (codec)
            {
                var (width, height) = (codec.Info.Width, codec.Info.Height);
                if (width < 1 || height < 1 || 4L * width * height > int.MaxValue)
                    throw Bad(path, $"{width}x{height} is not a decodable size");
                var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                var rgba = new byte[4 * width * height];
                fixed (byte* p = rgba)
                {
                    result = codec.GetPixels(info, (IntPtr)p);
                }
                if (result != SKCodecResult.Success) throw Bad(path, Reason(result));
                var rgb = new byte[3 * width * height];
                for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
                {
                    rgb[i] = rgba[j];
                    rgb[i + 1] = rgba[j + 1];
                    rgb[i + 2] = rgba[j + 2];
                }
                return new RgbImage(width, height, rgb);
            }
        }

        private static InvalidDataException Bad(string path, string reason) => new InvalidDataException($"{path}: cannot be decoded: {reason}");

        // SKCodec.Create fails with IncompleteInput as well as InvalidInput on content no codec recognises.
        private static string Unrecognised(SKCodecResult result) => result switch
        {
            SKCodecResult.IncompleteInput or SKCodecResult.InvalidInput or SKCodecResult.Unimplemented =>
                "not a JPEG, PNG, WebP or BMP image, or its header is cut short",
            _ => Reason(result),
        };

        private static string Reason(SKCodecResult result) => result switch
        {
            SKCodecResult.IncompleteInput => "the file is truncated (incomplete image data)",
            SKCodecResult.ErrorInInput => "the image data is corrupt",
            SKCodecResult.Unimplemented => "an unsupported variant of its format",
            SKCodecResult.InvalidInput => "the image data is invalid",
            SKCodecResult.InvalidConversion => "its pixel format cannot be converted to RGB",
            SKCodecResult.InternalError => "the decoder failed (out of memory?)",
            _ => $"the decoder reported {result}",
        };
    }
}
