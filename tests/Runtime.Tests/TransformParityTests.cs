using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Torchwright.Runtime.Data;
using Torchwright.Tests.Shared;
using Xunit;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// The deterministic transforms against torchvision 0.14 on PIL images (tests/Runtime.Tests/python/transforms_reference.py,
    /// one Python run for all cases). torchvision on PIL always antialiases (Pillow's resize widens the filter when
    /// shrinking), and so does ImageOps: resize, crops, flip and RGB conversion must give the same bytes (tolerance 0
    /// grey levels), normalisation the same float32 values (tolerance 0), and so must each RandAugment/TrivialAugment
    /// operation at a given magnitude. Decoding (SkiaSharp against PIL) must give the
    /// same RGB bytes too — JPEG (both libjpeg-turbo, default IDCT), PNG, and the CMYK, grayscale, palette and RGBA files
    /// that PIL converts with convert("RGB") — and so the whole eval pipeline the same floats.
    /// </summary>
    public sealed class TransformParityTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "tw-transforms-" + Guid.NewGuid().ToString("N"));
        private readonly List<Dictionary<string, object>> _cases = new();
        private readonly Dictionary<string, Func<(byte[]? Bytes, int Width, int Height, float[]? Floats)>> _ours = new();

        public TransformParityTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static RgbImage Noise(int width, int height, int seed)
        {
            // Smooth gradients plus noise: resampling errors show on both.
            var random = new Random(seed);
            var image = new RgbImage(width, height);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    for (var c = 0; c < 3; c++)
                        image.Pixels[3 * (y * width + x) + c] = (byte)Math.Clamp((c + 1) * 60 * x / width + 90 * y / height + random.Next(-40, 41), 0, 255);
            return image;
        }

        private void Input(string name, RgbImage image) => File.WriteAllBytes(Path.Combine(_dir, name + ".rgb"), image.Pixels);

        private void Case(string name, RgbImage input, string inputName, object parameters, Func<RgbImage> ours)
        {
            var c = Parameters(name, parameters);
            c["input"] = inputName;
            c["width"] = input.Width;
            c["height"] = input.Height;
            _cases.Add(c);
            _ours[name] = () => { var r = ours(); return (r.Pixels, r.Width, r.Height, null); };
        }

        private static Dictionary<string, object> Parameters(string name, object parameters)
        {
            var c = JsonSerializer.Deserialize<Dictionary<string, object>>(JsonSerializer.Serialize(parameters))!;
            c["name"] = name;
            return c;
        }

        private void Run()
        {
            File.WriteAllText(Path.Combine(_dir, "cases.json"), JsonSerializer.Serialize(_cases));
            var (code, output) = PythonReference.RunScript($"transforms_reference.py \"{_dir}\"");
            Assert.True(code == 0, output);
        }

        private (int MaxDiff, int Count) Compare(string name)
        {
            var (bytes, width, height, floats) = _ours[name]();
            var path = Path.Combine(_dir, name);
            if (floats is not null)
            {
                var reference = File.ReadAllBytes(path + ".out");
                var theirs = new float[reference.Length / 4];
                Buffer.BlockCopy(reference, 0, theirs, 0, reference.Length);
                Assert.Equal(theirs.Length, floats.Length);
                var max = 0.0;
                for (var i = 0; i < floats.Length; i++) max = Math.Max(max, Math.Abs(floats[i] - theirs[i]));
                return (max == 0 ? 0 : (int)Math.Ceiling(max * 1e7), floats.Length);   // float cases: in units of 1e-7
            }
            var size = File.ReadAllText(path + ".size").Split(' ').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal((size[0], size[1]), (width, height));
            var expected = File.ReadAllBytes(path + ".out");
            Assert.Equal(expected.Length, bytes!.Length);
            var worst = 0;
            for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - bytes[i]));
            return (worst, expected.Length);
        }

        [Fact]
        public void ResizeCropFlipAndNormaliseMatchTorchvision()
        {
            var image = Noise(97, 61, 1);
            Input("a", image);
            foreach (var (mode, filter) in new[] { ("bilinear", Interpolation.Bilinear), ("bicubic", Interpolation.Bicubic) })
            {
                Case($"down-{mode}", image, "a", new { op = "resize", w = 40, h = 23, interpolation = mode }, () => ImageOps.Resize(image, 40, 23, filter));
                Case($"up-{mode}", image, "a", new { op = "resize", w = 150, h = 130, interpolation = mode }, () => ImageOps.Resize(image, 150, 130, filter));
                Case($"mixed-{mode}", image, "a", new { op = "resize", w = 200, h = 20, interpolation = mode }, () => ImageOps.Resize(image, 200, 20, filter));
                Case($"shorter-{mode}", image, "a", new { op = "resize_shorter", size = 50, interpolation = mode }, () => ImageOps.ResizeShorter(image, 50, filter));
                Case($"rrc-{mode}", image, "a", new { op = "resized_crop", top = 5, left = 7, h = 40, w = 55, size = 32, interpolation = mode },
                    () => ImageOps.ResizedCrop(image, 5, 7, 40, 55, 32, 32, filter));
                Case($"rrc-up-{mode}", image, "a", new { op = "resized_crop", top = 20, left = 3, h = 9, w = 13, size = 48, interpolation = mode },
                    () => ImageOps.ResizedCrop(image, 20, 3, 9, 13, 48, 48, filter));
            }
            // (61 − 34) / 2 = 13.5 and (97 − 50) / 2 = 23.5: Python's round goes to the even 14 and 24.
            Case("center", image, "a", new { op = "center_crop", w = 50, h = 34 }, () => ImageOps.CenterCrop(image, 34, 50));
            Case("flip", image, "a", new { op = "hflip" }, () =>
            {
                var copy = new RgbImage(image.Width, image.Height, (byte[])image.Pixels.Clone());
                ImageOps.FlipHorizontal(copy);
                return copy;
            });
            var mean = new[] { 0.485f, 0.456f, 0.406f };
            var std = new[] { 0.229f, 0.224f, 0.225f };
            _cases.Add(Parameters("normalize", new { op = "normalize", input = "a", width = 97, height = 61, mean, std }));
            _ours["normalize"] = () =>
            {
                var floats = new float[3 * 97 * 61];
                ImageOps.Normalize(image, mean, std, floats);
                return (null, 0, 0, floats);
            };
            Run();
            foreach (var name in _ours.Keys)
            {
                var (worst, count) = Compare(name);
                Assert.True(worst == 0, $"{name}: {count} values differ from torchvision by up to {worst}");
            }
        }

        [Fact]
        public void AutoAugmentOperationsMatchTorchvision()
        {
            var image = Noise(45, 37, 2);
            Input("b", image);
            var cases = new (AutoAugment.Op Op, double Magnitude)[]
            {
                (AutoAugment.Op.Identity, 0), (AutoAugment.Op.ShearX, 0.3), (AutoAugment.Op.ShearX, -0.99), (AutoAugment.Op.ShearY, 0.21),
                (AutoAugment.Op.TranslateX, 9.7), (AutoAugment.Op.TranslateY, -20.4), (AutoAugment.Op.Rotate, 30), (AutoAugment.Op.Rotate, -13.5),
                (AutoAugment.Op.Rotate, 90), (AutoAugment.Op.Brightness, 0.6), (AutoAugment.Op.Brightness, -0.9), (AutoAugment.Op.Color, 0.9),
                (AutoAugment.Op.Color, -0.45), (AutoAugment.Op.Contrast, 0.3), (AutoAugment.Op.Contrast, -0.99), (AutoAugment.Op.Sharpness, 0.9),
                (AutoAugment.Op.Sharpness, -0.5), (AutoAugment.Op.Posterize, 4), (AutoAugment.Op.Posterize, 2), (AutoAugment.Op.Solarize, 127.5),
                (AutoAugment.Op.AutoContrast, 0), (AutoAugment.Op.Equalize, 0),
            };
            foreach (var (op, magnitude) in cases)
            {
                var name = $"{op}-{magnitude.ToString(CultureInfo.InvariantCulture)}";
                Case(name, image, "b", new { op = "auto_augment_op", aug = op.ToString(), magnitude }, () => AutoAugment.ApplyOp(image, op, magnitude));
            }
            Run();
            var failures = _ours.Keys.Select(name => (name, Compare(name))).Where(r => r.Item2.MaxDiff != 0)
                .Select(r => $"{r.name}: differs from torchvision by up to {r.Item2.MaxDiff}").ToList();
            Assert.True(failures.Count == 0, string.Join("; ", failures));
        }

        [Fact]
        public void DecodingAndTheEvalPipelineMatchTorchvisionImageFolder()
        {
            // The shapes folder: SkiaSharp-written JPEG/PNG, PIL-written CMYK/grayscale/palette/RGBA files.
            var files = ImageFolderWriter.WriteShapes(_dir, 16, 0);
            var mean = new[] { 0.485f, 0.456f, 0.406f };
            var std = new[] { 0.229f, 0.224f, 0.225f };
            var names = new List<string>();
            for (var i = 0; i < 16; i++)
            {
                var file = files["train"][i];
                var mode = ImageFolderWriter.OddFiles.Where(o => o.Index == i).Select(o => o.Mode).FirstOrDefault() ?? (i < 8 ? "jpeg" : "png");
                var name = $"rgb-{i}-{mode}";
                names.Add(name);
                var c = Parameters(name, new { op = "rgb" });
                c["file"] = file;
                _cases.Add(c);
                _ours[name] = () => { var r = ImageDecoder.Decode(file); return (r.Pixels, r.Width, r.Height, null); };
                var eval = $"eval-{i}-{mode}";
                names.Add(eval);
                c = Parameters(eval, new { op = "eval", size = 56, crop_pct = 0.875, interpolation = "bicubic", mean, std });
                c["file"] = file;
                _cases.Add(c);
                var transform = new ImageTransform(AugmentSettings.Default with { Interpolation = Interpolation.Bicubic }, 56, mean, std);
                _ours[eval] = () =>
                {
                    var floats = new float[3 * 56 * 56];
                    transform.Eval(ImageDecoder.Decode(file), floats);
                    return (null, 0, 0, floats);
                };
            }
            Run();
            foreach (var name in names)
            {
                var (worst, count) = Compare(name);
                Assert.True(worst == 0, $"{name}: {count} values differ from torchvision by up to {worst}");
            }
        }
    }
}
