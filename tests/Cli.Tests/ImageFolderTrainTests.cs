using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Tests.Shared;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Training on one's own images, end to end: the shapes set written as an image folder (JPEG and PNG at mixed sizes,
    /// plus CMYK, grayscale, palette and RGBA files) and trained on by a <c>torchwright train</c> process reaches the
    /// accuracy the in-memory shapes set reaches with the same settings.
    /// </summary>
    public sealed class ImageFolderTrainTests : IDisposable
    {
        private const int TrainCount = 3000, ValCount = 600;

        private const int Steps = 700, Batch = 32;

        /// <summary>A small ResNet for 32 px images: a deep stem (to 8 px) and three one-block bottleneck stages.</summary>
        private static string SmallArch => "import \"" + CliRunner.Arch("resnet50.arch").Replace("\\", "/") + "\"\n" + @"arch Small : ResNet50 {
  input       = 3x32x32
  stem        = deep
  stem_widths = [16, 16, 32]
  depths      = [1, 1, 1]
  widths      = [16, 32, 64]
  outs        = [64, 128, 256]
  strides     = [1, 2, 2]
  classes     = 8
}
";

        private readonly TempDir _dir = new TempDir();
        private readonly ITestOutputHelper _output;

        public ImageFolderTrainTests(ITestOutputHelper output) => _output = output;

        public void Dispose() => _dir.Dispose();

        /// <summary>
        /// Comparable inputs: augmentation off, the same normalisation (the shapes set's own constants, given explicitly
        /// for both), and for the folder crop_pct 1, so that its eval transform (shorter side resized to 32 / crop_pct,
        /// centre crop 32) and its augment-off train transform are one antialiased resize of each file to 32 px — the
        /// in-memory set draws the same images at 32 px directly (and takes no crop_pct: it has nothing to crop). The
        /// folder's images are shapes image i of each split drawn at 32, 48 or 64 px; the evaluation sets are the same 600
        /// test-split images; JPEGs keep full chroma (4:4:4; see the test below). The two accuracies, each a binomial
        /// proportion of n = 600 evaluation images, must agree within the 99 % interval of their difference
        /// (z·√(p₁(1−p₁)/n + p₂(1−p₂)/n), z = 2.576). Both runs are deterministic (CPU, one libtorch thread; the batches
        /// do not depend on --workers); measured: 91.33 % from the folder, 94.00 % in memory (interval ±3.51 points).
        /// </summary>
        [Fact]
        public void Training_on_an_image_folder_of_the_shapes_reaches_the_in_memory_sets_accuracy()
        {
            var folder = Path.Combine(_dir.Path, "shapes-folder");
            var clock = Stopwatch.StartNew();
            var written = ImageFolderWriter.WriteShapes(folder, TrainCount, ValCount, sizes: new[] { 32, 48, 64 }, fullChroma: true);
            var writeSeconds = clock.Elapsed.TotalSeconds;
            Assert.Equal((TrainCount, ValCount), (written["train"].Count, written["val"].Count));
            Assert.Equal(8, Directory.GetDirectories(Path.Combine(folder, "train")).Length);
            var files = Directory.GetFiles(folder, "*", SearchOption.AllDirectories);
            Assert.Equal(TrainCount + ValCount, files.Length);
            // Image i of a split is a JPEG when i / 8 is even, else a PNG.
            static int Jpegs(int count) => Enumerable.Range(0, count).Count(i => i / 8 % 2 == 0);
            var jpegs = Jpegs(TrainCount) + Jpegs(ValCount);
            Assert.Equal((jpegs, TrainCount + ValCount - jpegs),
                (files.Count(f => f.EndsWith(".jpg", StringComparison.Ordinal)), files.Count(f => f.EndsWith(".png", StringComparison.Ordinal))));

            var arch = _dir.Write("small.arch", SmallArch);
            string[] Common(string dataset, string output) => new[]
            {
                "train", arch, "--name", "Small", "--dataset", dataset, "--out", output, "--steps", Steps.ToString(), "--batch", Batch.ToString(),
                "--eval-every", Steps.ToString(), "--opt", "adamw", "--lr", "0.01", "--warmup", "0.05", "--augment", "off",
                "--mean", "0.5031,0.5031,0.5031", "--std", "0.2928,0.2928,0.2928", "--threads", "1", "--progress", "plain",
            };
            // The two runs (one libtorch thread each) run side by side.
            clock.Restart();
            var folderRun = Start(Common("imagefolder:" + folder, Path.Combine(_dir.Path, "folder")).Concat(new[] { "--crop-pct", "1", "--workers", "2" }).ToArray());
            var memoryRun = Start(Common($"shapes:32:n={TrainCount}:test={ValCount}", Path.Combine(_dir.Path, "memory")));
            var fromFolder = folderRun();
            var inMemory = memoryRun();
            var trainSeconds = clock.Elapsed.TotalSeconds;

            var (low, high) = Wilson(inMemory.Accuracy, ValCount, 2.576);
            var margin = 2.576 * Math.Sqrt(fromFolder.Accuracy * (1 - fromFolder.Accuracy) / ValCount + inMemory.Accuracy * (1 - inMemory.Accuracy) / ValCount);
            _output.WriteLine($"wrote {files.Length} files in {writeSeconds:0.0} s; trained both in {trainSeconds:0.0} s; image folder: acc {fromFolder.Accuracy:0.0000}; "
                + $"in memory: acc {inMemory.Accuracy:0.0000}, 99 % Wilson interval [{low:0.0000}, {high:0.0000}]; difference {fromFolder.Accuracy - inMemory.Accuracy:+0.0000;-0.0000}, 99 % margin {margin:0.0000}");
            Assert.Contains($"image folder {folder}: 8 classes, 3x32x32, train {TrainCount}, val {ValCount};", fromFolder.Stdout);
            Assert.True(inMemory.Accuracy >= 0.9, $"in-memory accuracy {inMemory.Accuracy} (chance 0.125): the runs must learn for the comparison to mean anything");
            Assert.True(Math.Abs(fromFolder.Accuracy - inMemory.Accuracy) <= margin,
                $"image folder {fromFolder.Accuracy:0.0000} vs in memory {inMemory.Accuracy:0.0000}: the difference exceeds the 99 % margin {margin:0.0000}");
        }

        /// <summary>
        /// What the folder run's inputs are: shapes images written at 32 px and read through the folder's path (augment
        /// off, crop_pct 1, the shapes' mean/std) are the in-memory set's tensors — exactly for PNG files, and within
        /// JPEG's loss (quality 95, SkiaSharp's encoder) for JPEG files, whose chroma is subsampled.
        /// </summary>
        [Fact]
        public void A_32_px_file_read_through_the_folder_path_is_the_in_memory_image()
        {
            var folder = Path.Combine(_dir.Path, "f32");
            var written = ImageFolderWriter.WriteShapes(folder, 16, 16, sizes: new[] { 32 }, oddFormats: false, fullChroma: true);
            var augment = TrainSettings.Default.Augment with { Mode = AugmentMode.Off, Mean = (0.5031, 0.5031, 0.5031), Std = (0.2928, 0.2928, 0.2928) };
            var files = Datasets.Open("imagefolder:" + folder, new DatasetOptions { ImageSize = 32, Augment = augment with { CropPct = 1 }, Workers = 1 });
            var shapes = Datasets.Open("shapes:32:n=16:test=16", new DatasetOptions { Augment = augment });
            var val = (ImageFolderDataset)files.Test;
            var jpegError = new System.Collections.Generic.List<double>();
            for (var i = 0; i < 16; i++)
            {
                var index = Enumerable.Range(0, val.Count).Single(k => val.PathOf(k) == written["val"][i]);
                var (fromFile, fileLabel) = val.Batch(new[] { index });
                var (inMemory, label) = shapes.Test.Batch(new[] { i });
                // Class indices are the sorted folder names (torchvision), a permutation of the shapes' order.
                Assert.Equal(shapes.Test.ClassNames[(int)label.item<long>()], val.ClassNames[(int)fileLabel.item<long>()]);
                var diff = (fromFile - inMemory).abs();
                if (written["val"][i].EndsWith(".png", StringComparison.Ordinal))
                    Assert.True(diff.max().item<float>() <= 1e-6f, $"{written["val"][i]}: max |diff| {diff.max().item<float>()}");
                else
                    jpegError.Add(diff.mean().item<float>() * 0.2928 * 255);
            }
            // JPEG: mean absolute error in 8-bit levels.
            _output.WriteLine($"JPEG mean |error| {jpegError.Average():0.00} levels (max over images {jpegError.Max():0.00})");
            Assert.Equal(8, jpegError.Count);
            Assert.True(jpegError.Max() < 4, $"JPEG mean |error| up to {jpegError.Max():0.00} levels");
        }

        /// <summary>Starts a <c>torchwright train</c> process; the function returned waits for it and reads its last evaluation.</summary>
        private Func<(double Accuracy, string Stdout)> Start(string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "torchwright.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            var process = Process.Start(psi)!;
            var stderrText = process.StandardError.ReadToEndAsync();
            var stdoutText = process.StandardOutput.ReadToEndAsync();
            return () =>
            {
                using (process) return Finish(process, args, stdoutText.Result, stderrText);
            };
        }

        private (double Accuracy, string Stdout) Finish(Process process, string[] args, string stdout, System.Threading.Tasks.Task<string> stderr)
        {
            Assert.True(process.WaitForExit(300_000), "train did not finish in 5 minutes");
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {stderr.Result}{stdout}");
            _output.WriteLine(stdout);
            var output = args[Array.IndexOf(args, "--out") + 1];
            using var log = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "log.json")));
            var last = log.RootElement.GetProperty("eval").EnumerateArray().Last();
            Assert.Equal(Steps, last.GetProperty("step").GetInt32());
            return (last.GetProperty("accuracy").GetDouble(), stdout);
        }

        /// <summary>The Wilson score interval of a binomial proportion <paramref name="p"/> of <paramref name="n"/> at z.</summary>
        private static (double Low, double High) Wilson(double p, int n, double z)
        {
            var z2 = z * z;
            var centre = (p + z2 / (2 * n)) / (1 + z2 / n);
            var half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
            return (centre - half, centre + half);
        }
    }
}
