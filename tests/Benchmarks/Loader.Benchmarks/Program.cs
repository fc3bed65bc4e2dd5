using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Torchwright.Runtime.Data;
using Torchwright.Tests.Shared;

namespace Torchwright.Loader.Benchmarks
{
    /// <summary>
    /// Usage: Loader.Benchmarks DIR [images] [batches] [workers...]. Writes DIR (the shapes set as an image folder at
    /// 320-500 px, half JPEG and half PNG) unless it exists, then times TrainBatchStream at 224 px with the default train
    /// transform (RandomResizedCrop, flip, ImageNet normalisation; batch 32) for each worker count: one warm-up batch,
    /// then the given number of batches. Prints one line per worker count: "workers W: X images/s".
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            if (args.Length < 1)
            {
                Console.Error.WriteLine("usage: Loader.Benchmarks DIR [images (default 640)] [batches (default 12)] [workers... (default 1 2 N)]");
                return 2;
            }
            var dir = args[0];
            var images = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 640;
            var batches = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 12;
            var workerCounts = args.Length > 3 ? args.Skip(3).Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToArray()
                : new[] { 1, 2, Environment.ProcessorCount }.Distinct().ToArray();
            if (!Directory.Exists(dir))
            {
                var clock = Stopwatch.StartNew();
                ImageFolderWriter.WriteShapes(dir, images, 80, sizes: new[] { 320, 400, 500 }, oddFormats: false);
                Console.WriteLine($"wrote {images} training images (320-500 px, JPEG and PNG) to {dir} in {clock.Elapsed.TotalSeconds:F1} s");
            }
            Breakdown(dir);
            const int Batch = 32;
            foreach (var workers in workerCounts)
            {
                var pair = Datasets.Open("imagefolder:" + dir, new DatasetOptions { ImageSize = 224, Workers = workers });
                using var stream = new TrainBatchStream(pair.Train, Batch, 0, 0, AugmentSettings.Default, workers);
                using (var warm = stream.Next().Images) { }
                var clock = Stopwatch.StartNew();
                for (var b = 0; b < batches; b++)
                {
                    var (x, y) = stream.Next();
                    x.Dispose();
                    y.Dispose();
                }
                var rate = batches * Batch / clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"torchwright workers {workers}: {rate:F1} images/s"));
            }
            return 0;
        }

        /// <summary>One thread, the first 64 training images: milliseconds per image to decode, and to transform.</summary>
        private static void Breakdown(string dir)
        {
            var pair = Datasets.Open("imagefolder:" + dir, new DatasetOptions { ImageSize = 224, Workers = 1 });
            var folder = (ImageFolderDataset)pair.Train;
            var count = Math.Min(64, folder.Count);
            var decoded = new RgbImage[count];
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++) decoded[i] = folder.Load(i).Image;
            var decode = clock.Elapsed.TotalMilliseconds / count;
            var transform = new ImageTransform(AugmentSettings.Default, 224, new[] { 0.485f, 0.456f, 0.406f }, new[] { 0.229f, 0.224f, 0.225f });
            var output = new float[3 * 224 * 224];
            clock.Restart();
            for (var i = 0; i < count; i++)
            {
                var rng = new SplitMix64((ulong)i);
                transform.Train(decoded[i], ref rng, output);
            }
            var augment = clock.Elapsed.TotalMilliseconds / count;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"torchwright one thread: decode {decode:F2} ms/image, train transform {augment:F2} ms/image"));
        }
    }
}
