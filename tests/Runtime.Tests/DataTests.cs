using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Data;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    public sealed class ShapesDataTests
    {
        private static ulong Fnv1a(ReadOnlySpan<byte> bytes, ulong hash = 14695981039346656037UL)
        {
            foreach (var b in bytes) hash = (hash ^ b) * 1099511628211UL;
            return hash;
        }

        private static ulong Checksum(ShapesDataset set, IEnumerable<int> indices)
        {
            var pixels = new byte[set.ImageBytes];
            var hash = 14695981039346656037UL;
            foreach (var i in indices)
            {
                set.ReadImage(i, pixels);
                hash = Fnv1a(pixels, hash);
            }
            return hash;
        }

        private static float[] Floats(Tensor t) => t.data<float>().ToArray();

        [Fact]
        public void PixelsAreAFixedFunctionOfSplitIndexAndSize()
        {
            // These constants pin the generator: any change to the drawing code or the PRNG changes them, and so does
            // any platform difference (the painter uses only IEEE-exact arithmetic, so there should be none).
            var train64 = new ShapesDataset(DatasetSplit.Train, 64, 10_000);
            var test32 = new ShapesDataset(DatasetSplit.Test, 32, 1_000);
            Assert.Equal(11777516399555268316UL, Checksum(train64, new[] { 0, 1, 2, 3, 4, 5, 6, 7, 9_999 }));
            Assert.Equal(11368649357778488963UL, Checksum(test32, new[] { 0, 7, 500, 999 }));
        }

        [Fact]
        public void ImagesDoNotDependOnReadOrderOrInstance()
        {
            var a = Datasets.Open("shapes:32:n=64:test=16");
            var b = Datasets.Open("shapes:32:n=64:test=16");
            var (xa, ya) = a.Train.Batch(new[] { 5, 40, 63 });
            _ = b.Train.Batch(new[] { 63, 1, 2 });
            var (xb, yb) = b.Train.Batch(new[] { 5, 40, 63 });
            Assert.Equal(Floats(xa), Floats(xb));
            Assert.Equal(ya.data<long>().ToArray(), yb.data<long>().ToArray());
        }

        [Fact]
        public void BatchesAreNormalisedFloatImagesWithInt64Labels()
        {
            var set = new ShapesDataset(DatasetSplit.Train, 32, 100);
            var (images, labels) = set.Batch(new[] { 3, 17 });
            Assert.Equal(new long[] { 2, 3, 32, 32 }, images.shape);
            Assert.Equal(ScalarType.Float32, images.dtype);
            Assert.Equal(new long[] { 2 }, labels.shape);
            Assert.Equal(ScalarType.Int64, labels.dtype);
            Assert.Equal(new long[] { 3, 1 }, labels.data<long>().ToArray());

            Assert.Equal(new[] { 0.5031f, 0.5031f, 0.5031f }, set.Mean);
            Assert.Equal(new[] { 0.2928f, 0.2928f, 0.2928f }, set.Std);
            var pixels = new byte[set.ImageBytes];
            Assert.Equal(1, set.ReadImage(17, pixels));
            var floats = Floats(images);
            for (var j = 0; j < pixels.Length; j += 97)
                Assert.Equal((pixels[j] / 255.0 - 0.5031) / 0.2928, floats[set.ImageBytes + j], 5);
        }

        [Fact]
        public void ClassesAreBalancedAndLabelsInRange()
        {
            var pair = Datasets.Open("shapes:16:n=800:test=80");
            Assert.Equal(8, pair.Train.Classes);
            Assert.Equal(new[] { "disk", "square", "triangle", "cross", "ring", "horizontal-stripes", "vertical-stripes", "checkerboard" },
                pair.Train.ClassNames);
            foreach (var split in new[] { pair.Train, pair.Test })
            {
                var (_, labels) = split.Batch(Enumerable.Range(0, split.Count).ToArray());
                var counts = labels.data<long>().ToArray().GroupBy(l => l).OrderBy(g => g.Key).Select(g => (g.Key, g.Count())).ToArray();
                Assert.Equal(Enumerable.Range(0, 8).Select(k => ((long)k, split.Count / 8)).ToArray(), counts);
            }
        }

        [Fact]
        public void TrainAndTestAreDifferentStreams()
        {
            var train = new ShapesDataset(DatasetSplit.Train, 32, 64);
            var test = new ShapesDataset(DatasetSplit.Test, 32, 64);
            var a = new byte[train.ImageBytes];
            var b = new byte[test.ImageBytes];
            for (var i = 0; i < 16; i++)
            {
                Assert.Equal(train.ReadImage(i, a), test.ReadImage(i, b));
                Assert.NotEqual(a, b);
            }
        }

        [Fact]
        public void EveryClassKeepsTheSameColourStatistics()
        {
            // Random colours on random backgrounds: the mean pixel of each class is within a few grey levels of the
            // others (the spread is 7.5 of 255 here), so a classifier has to look at shapes, not colours.
            var set = new ShapesDataset(DatasetSplit.Train, 32, 8 * 200);
            var pixels = new byte[set.ImageBytes];
            var means = new double[8];
            for (var i = 0; i < set.Count; i++)
            {
                var label = set.ReadImage(i, pixels);
                means[label] += pixels.Average(p => (double)p) / 200;
            }
            Assert.InRange(means.Max() - means.Min(), 0, 12);
        }

        [Fact]
        public void SpecsChooseSizeAndSplitSizes()
        {
            var defaults = Datasets.Open("shapes");
            Assert.Equal((10_000, 1_000, 64L, 64L, 3L), (defaults.Train.Count, defaults.Test.Count, defaults.Train.Height, defaults.Train.Width, defaults.Train.Channels));
            Assert.Equal("shapes/train", defaults.Train.Name);
            Assert.Equal("shapes/test", defaults.Test.Name);
            var custom = Datasets.Open("shapes:32:n=4096:test=512");
            Assert.Equal((4096, 512, 32L), (custom.Train.Count, custom.Test.Count, custom.Test.Height));
            Assert.Equal("shapes (built in, procedural): 8 classes (disk, square, triangle, cross, ring, horizontal-stripes, " +
                         "vertical-stripes, checkerboard), 3x32x32, train 4096, test 512", custom.Description);
        }

        [Theory]
        [InlineData("", "no dataset given")]
        [InlineData("mnist", "unknown dataset 'mnist' in 'mnist'")]
        [InlineData("shapes:big", "dataset 'shapes:big': unknown option 'big'")]
        [InlineData("shapes:32:m=5", "unknown option 'm=5'")]
        [InlineData("shapes:n=-4", "'n=-4' needs a positive whole number")]
        [InlineData("shapes:32:48", "'48' repeats an option")]
        [InlineData("shapes:8", "drawn at 16 to 512 pixels, not 8")]
        public void BadSpecsSayWhatIsWrongAndTheGrammar(string spec, string expected)
        {
            var e = Assert.Throws<ArgumentException>(() => Datasets.Open(spec));
            Assert.Contains(expected, e.Message);
            Assert.Contains("shapes[:SIZE][:n=TRAIN][:test=TEST]", e.Message);
        }

        [Fact]
        public void IndicesOutsideTheSetAreRejected()
        {
            var set = new ShapesDataset(DatasetSplit.Test, 16, 10);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => set.Batch(new[] { 0, 10 }));
            Assert.Contains("shapes/test has 10 images (indices 0..9)", e.Message);
        }
    }

    public sealed class Cifar10DataTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "torchwright-cifar-tests", Guid.NewGuid().ToString("N"));

        public Cifar10DataTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        /// <summary>Record r of file f: label (f + r) mod 10, pixel p = (f·31 + r·7 + p) mod 256.</summary>
        private static byte[] Records(int file, int count)
        {
            var bytes = new byte[count * Cifar10Dataset.RecordBytes];
            for (var r = 0; r < count; r++)
            {
                var start = r * Cifar10Dataset.RecordBytes;
                bytes[start] = (byte)((file + r) % 10);
                for (var p = 0; p < Cifar10Dataset.PixelBytes; p++)
                    bytes[start + 1 + p] = (byte)((file * 31 + r * 7 + p) % 256);
            }
            return bytes;
        }

        private void WriteSet(int recordsPerFile = 2, int testRecords = 3)
        {
            for (var f = 0; f < 5; f++)
                File.WriteAllBytes(Path.Combine(_dir, $"data_batch_{f + 1}.bin"), Records(f, recordsPerFile));
            File.WriteAllBytes(Path.Combine(_dir, "test_batch.bin"), Records(5, testRecords));
        }

        [Fact]
        public void ReadsPixelsAndLabelsOfEveryFile()
        {
            WriteSet();
            var pair = Datasets.Open("cifar10:" + _dir);
            var train = Assert.IsType<Cifar10Dataset>(pair.Train);
            Assert.Equal((10, 3, 10, 3L, 32L, 32L), (train.Count, pair.Test.Count, train.Classes, train.Channels, train.Height, train.Width));
            Assert.Equal(Cifar10Dataset.StandardClassNames, train.ClassNames);
            Assert.Equal("cifar10/train", train.Name);

            // Index 7 of the training split is record 1 of data_batch_4.bin.
            var pixels = new byte[train.ImageBytes];
            Assert.Equal(4, train.ReadImage(7, pixels));
            Assert.Equal(Records(3, 2).AsSpan(Cifar10Dataset.RecordBytes + 1).ToArray(), pixels);

            var (images, labels) = pair.Test.Batch(new[] { 2, 0 });
            Assert.Equal(new long[] { 7, 5 }, labels.data<long>().ToArray());
            Assert.Equal(new long[] { 2, 3, 32, 32 }, images.shape);
            var floats = images.data<float>().ToArray();
            // Test record 2: pixel p = (155 + 14 + p) mod 256; channel c starts at p = 1024·c.
            var mean = new[] { 0.4914, 0.4822, 0.4465 };
            var std = new[] { 0.2470, 0.2435, 0.2616 };
            foreach (var p in new[] { 0, 1, 1023, 1024, 2047, 2048, 3071 })
            {
                var c = p / 1024;
                Assert.Equal(((169 + p) % 256 / 255.0 - mean[c]) / std[c], floats[p], 5);
            }
            Assert.Equal(new[] { 0.4914f, 0.4822f, 0.4465f }, Cifar10Dataset.ChannelMean);
            Assert.Equal(new[] { 0.2470f, 0.2435f, 0.2616f }, Cifar10Dataset.ChannelStd);
        }

        [Fact]
        public void ClassNamesComeFromTheMetaFile()
        {
            WriteSet();
            var names = Enumerable.Range(0, 10).Select(i => "class" + i).ToArray();
            File.WriteAllText(Path.Combine(_dir, "batches.meta.txt"), string.Join("\n", names) + "\n\n");
            Assert.Equal(names, Datasets.Open("cifar10:" + _dir).Test.ClassNames);

            File.WriteAllText(Path.Combine(_dir, "batches.meta.txt"), string.Join("\n", names.Take(9)));
            var e = Assert.Throws<InvalidDataException>(() => Datasets.Open("cifar10:" + _dir));
            Assert.Contains("batches.meta.txt: expected 10 class names, one per line, but found 9", e.Message);
        }

        [Fact]
        public void RejectsATruncatedFileNamingTheRecord()
        {
            WriteSet();
            var path = Path.Combine(_dir, "test_batch.bin");
            File.WriteAllBytes(path, Records(5, 3).AsSpan(0, 2 * Cifar10Dataset.RecordBytes + 100).ToArray());
            var e = Assert.Throws<InvalidDataException>(() => Datasets.Open("cifar10:" + _dir));
            Assert.Equal(
                $"{path}: 6246 bytes is not a whole number of 3073-byte records — record 2 at offset 6146 has only 100 of its " +
                "3073 bytes; the file is truncated, extract cifar-10-binary.tar.gz again", e.Message);
        }

        [Fact]
        public void RejectsALabelOutsideCifar10()
        {
            WriteSet();
            var bytes = Records(1, 2);
            bytes[Cifar10Dataset.RecordBytes] = 42;
            var path = Path.Combine(_dir, "data_batch_2.bin");
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => Datasets.Open("cifar10:" + _dir));
            Assert.StartsWith($"{path}: record 1 (offset 3073) has label 42, but CIFAR-10 labels are 0-9;", e.Message);
            Assert.Contains("CIFAR-100", e.Message);
        }

        [Fact]
        public void NamesAMissingFileOrDirectory()
        {
            WriteSet();
            File.Delete(Path.Combine(_dir, "data_batch_3.bin"));
            var e = Assert.Throws<ArgumentException>(() => Datasets.Open("cifar10:" + _dir));
            Assert.StartsWith($"cifar10: {Path.Combine(_dir, "data_batch_3.bin")} is missing;", e.Message);
            Assert.Contains("cifar-10-binary.tar.gz", e.Message);

            var missing = Path.Combine(_dir, "nowhere");
            e = Assert.Throws<ArgumentException>(() => Datasets.Open("cifar10:" + missing));
            Assert.StartsWith($"cifar10: directory '{missing}' does not exist;", e.Message);
            e = Assert.Throws<ArgumentException>(() => Datasets.Open("cifar10"));
            Assert.Contains("give the directory, e.g. cifar10:/data/cifar-10-batches-bin", e.Message);
        }
    }
}
