using System;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>Random transforms (RandomResizedCrop parameters, auto-augment, erasing), Mixup/CutMix and the settings'
    /// catalog entries.</summary>
    public sealed class AugmentTests
    {
        [Fact]
        public void RandomResizedCropParametersStayInsideAndFollowScaleAndRatio()
        {
            var rng = new SplitMix64(5);
            for (var i = 0; i < 2000; i++)
            {
                var (top, left, h, w) = ImageTransform.RandomResizedCropParameters(120, 80, (0.08, 1.0), (0.75, 4.0 / 3.0), ref rng);
                Assert.InRange(top, 0, 80 - h);
                Assert.InRange(left, 0, 120 - w);
                // Sides are rounded: area and ratio hold up to one pixel on each side (or the fallback's whole image).
                var area = (double)h * w / (120 * 80);
                Assert.InRange(area, 0.08 * 0.8, 1.0);
                if (area < 1.0) Assert.InRange((double)w / h, 0.75 * 0.8, 4.0 / 3.0 * 1.25);
            }
            // An impossible ratio for a tall image: the fallback centre crop at the nearest allowed aspect.
            var fallback = ImageTransform.RandomResizedCropParameters(10, 100, (0.99, 1.0), (3.0, 4.0), ref rng);
            Assert.Equal((48, 0, 3, 10), fallback);   // h = round(10 / 3) = 3, top = (100 − 3) // 2
        }

        [Fact]
        public void AutoAugmentPoliciesParseAndKeepTheImageSize()
        {
            Assert.Null(AutoAugment.Parse("none"));
            var e = Assert.Throws<FormatException>(() => AutoAugment.Parse("rand-m31-n2"));
            Assert.Equal("auto_augment 'rand-m31-n2': the magnitude must be 0 to 30 (torchvision's 31 bins), not 31", e.Message);
            e = Assert.Throws<FormatException>(() => AutoAugment.Parse("autoaugment"));
            Assert.Equal("auto_augment takes none, trivial (TrivialAugmentWide) or rand-mM-nN (RandAugment, magnitude M of 0-30, N operations, e.g. rand-m9-n2), not 'autoaugment'", e.Message);
            var image = new RgbImage(33, 21);
            new Random(1).NextBytes(image.Pixels);
            foreach (var policy in new[] { "trivial", "rand-m9-n2", "rand-m30-n4" })
            {
                var changed = 0;
                for (ulong s = 0; s < 40; s++)
                {
                    var rng = new SplitMix64(s);
                    var output = AutoAugment.Parse(policy)!.Apply(image, ref rng);
                    Assert.Equal((33, 21), (output.Width, output.Height));
                    if (!output.Pixels.SequenceEqual(image.Pixels)) changed++;
                }
                // Identity is 1 of 14 operations: nearly every draw changes the image.
                Assert.InRange(changed, 30, 40);
            }
        }

        [Fact]
        public void RandomErasingWritesOneBoxOfTheConfiguredMode()
        {
            var image = new RgbImage(40, 40);
            Array.Fill(image.Pixels, (byte)200);
            var mean = new[] { 0f, 0f, 0f };
            var std = new[] { 1f, 1f, 1f };
            var settings = AugmentSettings.Default with { EraseProbability = 1, EraseMode = EraseMode.Const, HorizontalFlip = 0, Scale = (1, 1), Ratio = (1, 1) };
            var transform = new ImageTransform(settings, 40, mean, std);
            var output = new float[3 * 40 * 40];
            var rng = new SplitMix64(11);
            transform.Train(image, ref rng, output);
            var erased = output.Count(v => v == 0f) / 3;
            Assert.InRange(erased, (int)(0.02 * 1600 * 0.8), (int)(1600 / 3.0 * 1.2));
            Assert.All(output.Where(v => v != 0f), v => Assert.Equal(200f / 255f, v));
        }

        private static TrainSettings Mix(double mixup, double cutmix, double smoothing = 0.1, double prob = 1, double switchProb = 0.5) =>
            TrainSettings.Default with { Mixup = mixup, Cutmix = cutmix, LabelSmoothing = smoothing, MixupProb = prob, MixupSwitchProb = switchProb };

        /// <summary>Image i of a batch is the constant i + 1 everywhere.</summary>
        private static Tensor Constant(int n, int size) =>
            torch.arange(1, n + 1, dtype: ScalarType.Float32).reshape(n, 1, 1, 1).expand(n, 3, size, size).contiguous();

        [Fact]
        public void MixupTargetsSumToOneAndWeighTheImagesByLambda()
        {
            using var scope = torch.NewDisposeScope();
            var images = Constant(4, 8);
            var labels = torch.tensor(new long[] { 0, 1, 2, 1 });
            var (mixed, targets) = MixupCutmix.Apply(images, labels, 5, Mix(0.4, 0), seed: 1, step: 3);
            var (lambda, cutmix, _, _, _, _) = MixupCutmix.Draw(Mix(0.4, 0), 8, 8, 1, 3);
            Assert.False(cutmix);
            Assert.InRange(lambda, 0, 1);
            var t = targets.data<float>().ToArray();
            for (var i = 0; i < 4; i++) Assert.Equal(1.0, t.Skip(5 * i).Take(5).Sum(), 5);
            // Sample 0 (label 0) mixed with sample 3 (label 1): on = 0.9 + 0.02, off = 0.02.
            Assert.Equal(lambda * 0.92 + (1 - lambda) * 0.02, t[0], 5);
            Assert.Equal(lambda * 0.02 + (1 - lambda) * 0.92, t[1], 5);
            Assert.Equal(lambda * 1 + (1 - lambda) * 4, mixed[0, 0, 0, 0].ToSingle(), 5);
            // Deterministic in (seed, step); another step draws another lambda.
            Assert.Equal(mixed.data<float>().ToArray(), MixupCutmix.Apply(images, labels, 5, Mix(0.4, 0), 1, 3).Images.data<float>().ToArray());
            Assert.NotEqual(lambda, MixupCutmix.Draw(Mix(0.4, 0), 8, 8, 1, 4).Lambda);
        }

        [Fact]
        public void CutmixLambdaIsTheShareOfPixelsKept()
        {
            using var scope = torch.NewDisposeScope();
            var boxes = 0;
            for (var step = 0; step < 30; step++)
            {
                var images = Constant(2, 32);
                var labels = torch.tensor(new long[] { 0, 1 });
                var (mixed, targets) = MixupCutmix.Apply(images, labels, 2, Mix(0, 1.0, smoothing: 0), seed: 2, step: step);
                var values = mixed[0, 0].data<float>().ToArray();
                var kept = values.Count(v => v == 1f) / (32.0 * 32.0);
                var t = targets.data<float>().ToArray();
                Assert.Equal(kept, t[0], 6);       // lambda corrected to the box: exactly the share of own pixels
                Assert.Equal(1 - kept, t[1], 6);
                Assert.Equal(1.0, t[0] + t[1], 6);
                if (kept < 1) boxes++;
            }
            Assert.InRange(boxes, 25, 30);
        }

        [Fact]
        public void MixProbabilityZeroOrOffLeavesImagesAndSmoothsTargets()
        {
            using var scope = torch.NewDisposeScope();
            var images = Constant(2, 4);
            var labels = torch.tensor(new long[] { 1, 0 });
            Assert.False(MixupCutmix.Enabled(Mix(0, 0)));
            var (mixed, targets) = MixupCutmix.Apply(images, labels, 4, Mix(0.8, 1.0, prob: 0), 0, 0);
            Assert.Equal(images.data<float>().ToArray(), mixed.data<float>().ToArray());
            Assert.Equal(new[] { 0.025f, 0.925f, 0.025f, 0.025f, 0.925f, 0.025f, 0.025f, 0.025f }, targets.data<float>().ToArray());
        }

        [Fact]
        public void AugmentSettingsHaveOneCatalogEntryEachThatReadsBack()
        {
            var names = new[] { "augment", "rrc_scale", "rrc_ratio", "hflip", "auto_augment", "reprob", "remode", "crop_pct", "interpolation", "mean", "std" };
            Assert.Equal(names, AugmentSettings.Settings.Select(s => s.Name).ToArray());
            var values = new[] { "on", "0.25,0.9", "0.5,2", "0", "rand-m7-n3", "0.25", "const", "0.95", "bicubic", "0.5,0.4,0.3", "0.2,0.2,0.25" };
            var settings = TrainSettings.Default;
            for (var i = 0; i < names.Length; i++)
            {
                var entry = TrainSettings.Find(names[i])!;
                settings = entry.Apply(settings, values[i]);
                Assert.Equal(values[i], entry.Read(settings));
            }
            Assert.Equal(new AugmentSettings
            {
                Mode = AugmentMode.On, Scale = (0.25, 0.9), Ratio = (0.5, 2), HorizontalFlip = 0, AutoAugment = "rand-m7-n3", EraseProbability = 0.25,
                EraseMode = EraseMode.Const, CropPct = 0.95, Interpolation = Interpolation.Bicubic, Mean = (0.5, 0.4, 0.3), Std = (0.2, 0.2, 0.25),
            }, settings.Augment);
            Assert.Equal("auto", TrainSettings.Find("mean")!.DefaultText);
            Assert.Equal("0.08,1", TrainSettings.Find("rrc_scale")!.DefaultText);

            string Error(string name, string text) => Assert.Throws<FormatException>(() => TrainSettings.Find(name)!.Apply(TrainSettings.Default, text)).Message;
            Assert.Equal("rrc_scale: the first number must not exceed the second, not 0.9,0.2", Error("rrc_scale", "0.9,0.2"));
            Assert.Equal("rrc_scale must be in (0, 1], not 1.5", Error("rrc_scale", "0.5,1.5"));
            Assert.Equal("crop_pct must be in (0, 1], not 0", Error("crop_pct", "0"));
            Assert.Equal("std must be in (0, 1000000], not 0", Error("std", "0.2,0,0.2"));
            Assert.Equal("mean takes auto or three numbers r,g,b, not '0.5,0.5'", Error("mean", "0.5,0.5"));
            Assert.Equal("interpolation takes bilinear or bicubic, not 'nearest'", Error("interpolation", "nearest"));
            Assert.Equal("auto_augment takes none, trivial (TrivialAugmentWide) or rand-mM-nN (RandAugment, magnitude M of 0-30, N operations, e.g. rand-m9-n2), not 'rand'", Error("auto_augment", "rand"));
        }
    }
}
