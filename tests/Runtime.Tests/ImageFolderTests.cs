using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Tests.Shared;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>Scanning an image folder, its error messages, bad files, and the training batch stream over it.</summary>
    public sealed class ImageFolderTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "tw-imagefolder-" + Guid.NewGuid().ToString("N"));

        public ImageFolderTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private static DatasetOptions Options(int size = 32, AugmentSettings? augment = null, bool skip = false, int workers = 2) =>
            new DatasetOptions { ImageSize = size, Augment = augment ?? AugmentSettings.Default, SkipBadImages = skip, Workers = workers };

        private string File(string relative, byte[]? content = null)
        {
            var path = Path.Combine(_dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (content is null)
            {
                var pixels = new byte[3 * 20 * 20];
                new Random(relative.Length).NextBytes(pixels);
                ImageFolderWriter.Save(pixels, 20, path, relative.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || relative.EndsWith(".JPG", StringComparison.Ordinal));
            }
            else
            {
                System.IO.File.WriteAllBytes(path, content);
            }
            return path;
        }

        private static float[] Floats(Tensor t) => t.data<float>().ToArray();

        [Fact]
        public void ClassesAreSortedFolderNamesAndOnlyImageExtensionsCount()
        {
            // Ordinal order: "B" < "a" < "c"; any case of the extension; other files ignored; sub-folders walked.
            File("train/c/1.png");
            File("train/a/x.JPG");
            File("train/a/deeper/y.png");
            File("train/a/notes.txt", new byte[] { 1, 2, 3 });
            File("train/B/z.Png");
            File("val/a/1.png");
            File("val/B/1.jpg");
            File("val/c/1.png");
            var pair = Datasets.Open("imagefolder:" + _dir, Options());
            Assert.Equal(new[] { "B", "a", "c" }, pair.Train.ClassNames);
            Assert.Equal(4, pair.Train.Count);
            Assert.Equal(3, pair.Test.Count);
            var (images, labels) = pair.Train.Batch(new[] { 0, 1, 2, 3 });
            Assert.Equal(new long[] { 4, 3, 32, 32 }, images.shape);
            Assert.Equal(new long[] { 0, 1, 1, 2 }, labels.data<long>().ToArray());
            var folder = (ImageFolderDataset)pair.Train;
            Assert.Equal(Path.Combine(_dir, "train/a/deeper/y.png"), folder.PathOf(1));
            Assert.Equal($"image folder {_dir}: 3 classes, 3x32x32, train 4, val 3", pair.Description);
        }

        [Fact]
        public void LayoutErrorsAreOneClearLineEach()
        {
            string Error(DatasetOptions? options = null) =>
                Assert.Throws<ArgumentException>(() => Datasets.Open("imagefolder:" + _dir, options ?? Options())).Message;
            const string Layout = "an image folder holds DIR/train/CLASS/*.jpg and DIR/val/CLASS/*.jpg (torchvision's ImageFolder layout; .jpg, .jpeg, .png, .webp, .bmp)";

            Assert.Equal($"imagefolder:{_dir}: the 'train' split is missing (no folder {_dir}/train); {Layout}", Error());
            Directory.CreateDirectory(Path.Combine(_dir, "train"));
            Assert.Equal($"imagefolder:{_dir}: {_dir}/train has no class folders; {Layout}", Error());
            File("train/cat/1.png");
            File("train/dog/1.png");
            Assert.Equal($"imagefolder:{_dir}: the 'val' split is missing (no folder {_dir}/val); {Layout}", Error());
            File("val/cat/1.png");
            File("val/fox/1.png");
            Assert.Equal($"imagefolder:{_dir}: train and val must have the same class folders; only in train: dog; only in val: fox", Error());
            Directory.Delete(Path.Combine(_dir, "val/fox"), true);
            Directory.CreateDirectory(Path.Combine(_dir, "val/dog"));
            File("val/dog/readme.txt", new byte[] { 65 });
            Assert.Equal($"imagefolder:{_dir}: class folder {_dir}/val/dog has no images (.jpg, .jpeg, .png, .webp or .bmp); remove the folder or add images", Error());
            File("val/dog/1.png");
            Assert.Equal($"imagefolder:{_dir}: the image size is not set; it is the architecture's input size (DatasetOptions.ImageSize)",
                Error(new DatasetOptions()));
            Assert.Equal($"imagefolder: directory '{_dir}/nope' does not exist; {Layout}",
                Assert.Throws<ArgumentException>(() => Datasets.Open($"imagefolder:{_dir}/nope", Options())).Message);
            Assert.Equal($"imagefolder:{_dir}: image size 4097 is outside 8 to 4096 pixels", Error(Options(4097)));
            Assert.Equal(2, Datasets.Open("imagefolder:" + _dir, Options()).Test.Count);
        }

        [Fact]
        public void AnUndecodableFileIsOneLineOrSkippedAndCounted()
        {
            File("train/a/1.png");
            File("train/a/2.png");
            File("train/b/1.png");
            var garbage = File("train/b/2.jpg", System.Text.Encoding.ASCII.GetBytes("this is not a JPEG at all"));
            var empty = File("train/b/3.png", Array.Empty<byte>());
            File("val/a/1.png");
            File("val/b/1.png");
            var e = Assert.Throws<InvalidDataException>(() => Datasets.Open("imagefolder:" + _dir, Options()));
            Assert.Equal($"{garbage}: cannot be decoded: not a JPEG, PNG, WebP or BMP image, or its header is cut short (1 more undecodable file in train); " +
                         "fix or remove it, or skip such files with --skip-bad-images", e.Message);

            var pair = Datasets.Open("imagefolder:" + _dir, Options(skip: true));
            var train = (ImageFolderDataset)pair.Train;
            Assert.Equal(3, train.Count);
            Assert.Equal(new[] { garbage, empty }, train.SkippedAtOpen.Select(s => s.Path).ToArray());
            Assert.EndsWith(", 2 undecodable files skipped", pair.Description);

            System.IO.File.WriteAllBytes(Path.Combine(_dir, "val/a/1.png"), new byte[] { 0x89, 0x50 });
            System.IO.File.WriteAllBytes(Path.Combine(_dir, "val/b/1.png"), new byte[] { 0xFF, 0xD8 });
            var none = Assert.Throws<ArgumentException>(() => Datasets.Open("imagefolder:" + _dir, Options(skip: true)));
            Assert.Equal($"imagefolder:{_dir}: none of the 2 files of 'val' can be decoded", none.Message);
        }

        [Fact]
        public void ATruncatedImageFailsWhenDecodedNamingTheFileOrIsReplacedWithSkipBad()
        {
            File("train/a/1.png");
            var whole = System.IO.File.ReadAllBytes(File("train/a/2.jpg"));
            var truncated = File("train/a/2.jpg", whole.Take(whole.Length / 2).ToArray());
            File("train/b/1.png");
            File("val/a/1.png");
            File("val/b/1.png");
            var pair = Datasets.Open("imagefolder:" + _dir, Options());   // the header is intact: opening succeeds
            var e = Assert.Throws<InvalidDataException>(() => pair.Train.Batch(new[] { 1 }));
            Assert.Equal($"{truncated}: cannot be decoded: the file is truncated (incomplete image data)", e.Message);
            using (var stream = new TrainBatchStream(pair.Train, 3, 0, 0, AugmentSettings.Default, 2))
                Assert.Equal(e.Message, Assert.Throws<InvalidDataException>(() => stream.Next()).Message);

            var skipping = Datasets.Open("imagefolder:" + _dir, Options(skip: true));
            var (images, labels) = skipping.Train.Batch(new[] { 1, 2 });
            var (next, _) = skipping.Train.Batch(new[] { 2 });
            Assert.Equal(new long[] { 1, 1 }, labels.data<long>().ToArray());   // image 1 replaced by image 2 (class b)
            Assert.Equal(Floats(next), Floats(images[0]));
            Assert.Equal(truncated, Assert.Single(((ImageFolderDataset)skipping.Train).SkippedAtDecode).Key);
        }

        [Fact]
        public void TheStreamDoesNotDependOnWorkersAndResumesAtAnyBatch()
        {
            ImageFolderWriter.WriteShapes(_dir, 24, 8, oddFormats: false);
            var augment = AugmentSettings.Default with { AutoAugment = "rand-m9-n2", EraseProbability = 0.5 };
            var pair = Datasets.Open("imagefolder:" + _dir, Options(40, augment));
            float[][] Batches(int workers, int first, int count)
            {
                using var stream = new TrainBatchStream(pair.Train, 5, 7, first, augment, workers);
                // All batches are taken before any is read: a batch must not share memory with the stream's buffers.
                var batches = Enumerable.Range(0, count).Select(_ => stream.Next()).ToList();
                return batches.Select(b => Floats(b.Images).Concat(b.Labels.data<long>().ToArray().Select(v => (float)v)).ToArray()).ToArray();
            }
            var one = Batches(1, 0, 6);
            var three = Batches(3, 0, 6);
            var resumed = Batches(3, 4, 2);
            for (var k = 0; k < 6; k++) Assert.Equal(one[k], three[k]);
            Assert.Equal(one[4], resumed[0]);
            Assert.Equal(one[5], resumed[1]);
            Assert.NotEqual(one[0], one[5]);
            // Augmented: the same image twice in the stream (epochs of 24 in batches of 5) is not the same tensor twice,
            // and a different seed gives different batches.
            using var other = new TrainBatchStream(pair.Train, 5, 8, 0, augment, 2);
            Assert.NotEqual(one[0], Floats(other.Next().Images).Concat(new float[5]).ToArray());
        }

        [Fact]
        public void InMemorySetsStreamExactlyTheirBatchesByDefault()
        {
            var pair = Datasets.Open("shapes:16:n=40:test=8");
            var order = new ShuffledOrder(40, 3);
            using var stream = new TrainBatchStream(pair.Train, 6, 3, 0, AugmentSettings.Default, 3);
            for (var k = 0; k < 9; k++)
            {
                var indices = new int[6];
                order.Fill(indices);
                var (expected, expectedLabels) = pair.Train.Batch(indices);
                var (images, labels) = stream.Next();
                Assert.Equal(Floats(expected), Floats(images));
                Assert.Equal(expectedLabels.data<long>().ToArray(), labels.data<long>().ToArray());
            }
        }

        [Fact]
        public void AugmentOnAppliesToShapesAndItsEvalResizesAndCrops()
        {
            var on = AugmentSettings.Default with { Mode = AugmentMode.On, CropPct = 0.5 };
            var pair = Datasets.Open("shapes:32:n=16:test=8", new DatasetOptions { Augment = on });
            var plain = Datasets.Open("shapes:32:n=16:test=8");
            var (evalImages, _) = pair.Test.Batch(new[] { 0 });
            var (plainImages, _) = plain.Test.Batch(new[] { 0 });
            // crop_pct 0.5: resize to 64 px, centre crop 32: the middle of the image at twice the scale.
            var pixels = new byte[3 * 32 * 32];
            ((ShapesDataset)plain.Test).ReadImage(0, pixels);
            var rgb = new RgbImage(32, 32);
            for (var j = 0; j < 32 * 32; j++)
                for (var c = 0; c < 3; c++) rgb.Pixels[3 * j + c] = pixels[c * 32 * 32 + j];
            var expected = new float[3 * 32 * 32];
            var mean = ((ShapesDataset)plain.Test).Mean;
            var std = ((ShapesDataset)plain.Test).Std;
            ImageOps.Normalize(ImageOps.CenterCrop(ImageOps.Resize(rgb, 64, 64, Interpolation.Bilinear), 32, 32), mean, std, expected);
            Assert.Equal(expected, Floats(evalImages));
            Assert.NotEqual(Floats(plainImages), Floats(evalImages));

            using var stream = new TrainBatchStream(pair.Train, 4, 0, 0, on, 1);
            Assert.Equal(new long[] { 4, 3, 32, 32 }, stream.Next().Images.shape);
            var e = Assert.Throws<ArgumentException>(() => new TrainBatchStream(pair.Train, 4, 0, 0, AugmentSettings.Default, 1));
            Assert.StartsWith("shapes/train was opened with other augmentation settings than the stream's", e.Message);
        }

        [Fact]
        public void SettingsThatWouldDoNothingAreErrors()
        {
            var e = Assert.Throws<ArgumentException>(() => Datasets.Open("shapes:16", new DatasetOptions { Augment = AugmentSettings.Default with { HorizontalFlip = 0, CropPct = 0.9 } }));
            Assert.StartsWith("dataset 'shapes:16': hflip, crop_pct would have no effect: shapes and cifar10 are not augmented unless augment = on (it is auto)", e.Message);
            e = Assert.Throws<ArgumentException>(() => Datasets.Open("shapes:16", new DatasetOptions { ImageSize = 32 }));
            Assert.StartsWith("dataset 'shapes:16': the images are 16 px but the architecture takes 32 px; use shapes:32", e.Message);
            Assert.Equal(24, Datasets.Open("shapes", new DatasetOptions { ImageSize = 24 }).Train.Width);
            File("train/a/1.png");
            File("val/a/1.png");
            e = Assert.Throws<ArgumentException>(() => Datasets.Open("imagefolder:" + _dir,
                Options(augment: AugmentSettings.Default with { Mode = AugmentMode.Off, AutoAugment = "trivial" })));
            Assert.StartsWith($"dataset 'imagefolder:{_dir}': auto_augment would have no effect with augment = off", e.Message);
        }

        [Fact]
        public void DisposeStopsTheWorkersAndNextThenFails()
        {
            ImageFolderWriter.WriteShapes(_dir, 8, 8, oddFormats: false);
            var pair = Datasets.Open("imagefolder:" + _dir, Options(24));
            var stream = new TrainBatchStream(pair.Train, 4, 0, 0, AugmentSettings.Default, 3);
            var (first, _) = stream.Next();
            var snapshot = Floats(first);
            for (var k = 0; k < 6; k++) stream.Next();   // the stream's buffers are reused meanwhile
            Assert.Equal(snapshot, Floats(first));
            Assert.Equal(7, stream.NextBatch);
            stream.Dispose();
            stream.Dispose();
            Assert.Throws<ObjectDisposedException>(() => stream.Next());
        }
    }
}
