using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
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

        private const int Steps = 300, Batch = 32;

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
        /// test-split images. The folder run's accuracy must lie in the 99 % Wilson interval of the in-memory run's
        /// (binomial, n = 600 evaluation images).
        /// </summary>
        [Fact]
        public void Training_on_an_image_folder_of_the_shapes_reaches_the_in_memory_sets_accuracy()
        {
            var folder = Path.Combine(_dir.Path, "shapes-folder");
            var clock = Stopwatch.StartNew();
            var written = ImageFolderWriter.WriteShapes(folder, TrainCount, ValCount, sizes: new[] { 32, 48, 64 });
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
            _output.WriteLine($"wrote {files.Length} files in {writeSeconds:0.0} s; trained both in {trainSeconds:0.0} s; image folder: acc {fromFolder.Accuracy:0.0000}; "
                + $"in memory: acc {inMemory.Accuracy:0.0000}, 99 % interval [{low:0.0000}, {high:0.0000}]");
            Assert.Contains($"image folder {folder}: 8 classes, 3x32x32, train {TrainCount}, val {ValCount};", fromFolder.Stdout);
            Assert.True(inMemory.Accuracy >= 0.5, $"in-memory accuracy {inMemory.Accuracy} (chance 0.125): the run must learn for the comparison to mean anything");
            Assert.InRange(fromFolder.Accuracy, low, high);
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
