using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using SkiaSharp;
using Torchwright.Runtime.Data;

namespace Torchwright.Tests.Shared
{
    /// <summary>
    /// Writes the procedural shapes set as an image folder (DIR/train/CLASS/*, DIR/val/CLASS/*, torchvision's layout) for
    /// the image-folder tests: image i of a split is shapes image i of that split drawn at sizes[i / 8 mod sizes] px
    /// (so every class has every size), saved as JPEG (quality 95) or PNG alternately, both with SkiaSharp. With
    /// <c>oddFormats</c>, five files per split (<see cref="OddFiles"/>) are rewritten by PIL (/usr/bin/python3) as a CMYK
    /// JPEG, a grayscale JPEG, a grayscale PNG, a palette PNG and an RGBA PNG, the formats the loader converts to RGB.
    /// </summary>
    public static class ImageFolderWriter
    {
        public static string Python => Environment.GetEnvironmentVariable("TORCHWRIGHT_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

        /// <summary>The images of each split rewritten in another PIL mode (images 0-7 are JPEG, 8-15 PNG).</summary>
        public static readonly IReadOnlyList<(int Index, string Mode)> OddFiles = new[] { (0, "CMYK"), (1, "L"), (8, "L"), (9, "P"), (10, "RGBA") };

        /// <summary>Writes the folder; returns the path of every file written per split, in image order. With
        /// <paramref name="fullChroma"/> the JPEGs keep every pixel's colour (4:4:4) instead of the encoder's default 4:2:0,
        /// which on the shapes' per-pixel colour noise costs about 12 levels of mean absolute error against 3.</summary>
        public static IReadOnlyDictionary<string, IReadOnlyList<string>> WriteShapes(string directory, int trainCount, int valCount,
            IReadOnlyList<int>? sizes = null, bool oddFormats = true, bool fullChroma = false)
        {
            sizes ??= new[] { 48, 64, 80 };
            var written = new Dictionary<string, IReadOnlyList<string>>();
            var odd = new List<(string Path, string Mode)>();
            foreach (var (split, count, source) in new[] { ("train", trainCount, DatasetSplit.Train), ("val", valCount, DatasetSplit.Test) })
            {
                var sets = sizes.Select(s => new ShapesDataset(source, s, count)).ToArray();
                var files = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    var set = sets[i / 8 % sets.Length];
                    var pixels = new byte[set.ImageBytes];
                    var label = set.ReadImage(i, pixels);
                    var folder = Path.Combine(directory, split, set.ClassNames[label]);
                    Directory.CreateDirectory(folder);
                    var jpeg = i / 8 % 2 == 0;
                    var path = Path.Combine(folder, $"{i:D5}{(jpeg ? ".jpg" : ".png")}");
                    Save(pixels, (int)set.Width, path, jpeg, fullChroma);
                    files.Add(path);
                    foreach (var (index, mode) in OddFiles)
                        if (oddFormats && index == i) odd.Add((path, mode));
                }
                written[split] = files;
            }
            if (odd.Count > 0) Convert(odd);
            return written;
        }

        /// <summary>Planar RGB bytes (3, size, size) saved with SkiaSharp (JPEG: quality 95, 4:2:0 unless
        /// <paramref name="fullChroma"/>).</summary>
        public static void Save(byte[] planar, int size, string path, bool jpeg, bool fullChroma = false)
        {
            var plane = size * size;
            using var bitmap = new SKBitmap(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque));
            var rgba = new byte[4 * plane];
            for (var j = 0; j < plane; j++)
            {
                rgba[4 * j] = planar[j];
                rgba[4 * j + 1] = planar[plane + j];
                rgba[4 * j + 2] = planar[2 * plane + j];
                rgba[4 * j + 3] = 255;
            }
            System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
            using var pixmap = bitmap.PeekPixels();
            using var data = jpeg
                ? pixmap.Encode(new SKJpegEncoderOptions(95, fullChroma ? SKJpegEncoderDownsample.Downsample444 : SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore))
                : pixmap.Encode(SKEncodedImageFormat.Png, 95);
            using var file = File.Create(path);
            (data ?? throw new InvalidOperationException($"SkiaSharp could not encode {path}")).SaveTo(file);
        }

        /// <summary>Rewrites each file in the PIL mode given (keeping its name and format: CMYK only as JPEG).</summary>
        public static void Convert(IReadOnlyList<(string Path, string Mode)> files)
        {
            var script = string.Join("\n", new[]
            {
                "import sys",
                "from PIL import Image",
                "for line in sys.stdin.read().splitlines():",
                "    path, mode = line.rsplit('\\t', 1)",
                "    img = Image.open(path).convert('RGB')",
                "    if mode == 'P':",
                "        img = img.quantize(64)",
                "    elif mode == 'RGBA':",
                "        img.putalpha(Image.linear_gradient('L').resize(img.size))",
                "    else:",
                "        img = img.convert(mode)",
                "    if mode == 'CMYK' and not path.lower().endswith(('.jpg', '.jpeg')):",
                "        raise SystemExit(path + ': CMYK needs a JPEG file')",
                "    img.save(path, quality=95) if path.lower().endswith(('.jpg', '.jpeg')) else img.save(path)",
                "    stored = Image.open(path).mode",
                "    if stored != mode:",
                "        raise SystemExit(f'{path}: written as {mode} but reads back as {stored}')",
            });
            var psi = new ProcessStartInfo(Python, "-c \"" + script.Replace("\"", "\\\"") + "\"")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            foreach (var (path, mode) in files)
            {
                if (mode == "CMYK" && !path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase))
                    throw new ArgumentException($"{path}: CMYK is written as JPEG only");
                p.StandardInput.WriteLine(path + "\t" + mode);
            }
            p.StandardInput.Close();
            if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException("PIL conversion did not finish in 60 s"); }
            if (p.ExitCode != 0) throw new InvalidOperationException($"PIL conversion failed ({p.ExitCode}): {stdout.Result}{stderr.Result}");
        }
    }
}
