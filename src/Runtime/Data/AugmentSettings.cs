using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Runtime.Training;
using static Torchwright.Runtime.Training.TrainSettingCatalog;

namespace Torchwright.Runtime.Data
{
    /// <summary>Whether training images are augmented.</summary>
    public enum AugmentMode
    {
        /// <summary>On for image folders, off for the in-memory sets (shapes, CIFAR-10), which then batch exactly as
        /// before augmentation existed.</summary>
        Auto,

        /// <summary>Train: RandomResizedCrop, flip, auto-augment, normalise, random erasing; eval: resize the shorter side
        /// to size / crop_pct, centre crop, normalise.</summary>
        On,

        /// <summary>Train like eval: image folders resize + centre crop + normalise; in-memory sets their stored pixels.</summary>
        Off,
    }

    /// <summary>What random erasing writes into the erased box (timm's RandomErasing modes).</summary>
    public enum EraseMode
    {
        /// <summary>Zeros (the normalised mean).</summary>
        Const,

        /// <summary>An independent standard normal value per pixel and channel (timm's default for training).</summary>
        Pixel,
    }

    /// <summary>
    /// Per-image preprocessing and augmentation of a training run (part of <see cref="TrainSettings"/>): train-time
    /// crops, flips, auto-augmentation and erasing; eval-time resize and centre crop; normalisation. Semantics are
    /// torchvision 0.14's and timm's (docs/training.md, "Data and augmentation").
    /// </summary>
    public sealed record AugmentSettings
    {
        public static AugmentSettings Default { get; } = new AugmentSettings();

        public static readonly (double R, double G, double B) ImageNetMean = (0.485, 0.456, 0.406);

        public static readonly (double R, double G, double B) ImageNetStd = (0.229, 0.224, 0.225);

        /// <summary><c>augment</c>: whether training images are augmented (auto: image folders yes, in-memory sets no).</summary>
        public AugmentMode Mode { get; init; } = AugmentMode.Auto;

        /// <summary><c>rrc_scale</c>: RandomResizedCrop's range of the crop's area as a fraction of the image's.</summary>
        public (double Min, double Max) Scale { get; init; } = (0.08, 1.0);

        /// <summary><c>rrc_ratio</c>: RandomResizedCrop's range of the crop's width / height (drawn log-uniformly).</summary>
        public (double Min, double Max) Ratio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);

        /// <summary><c>hflip</c>: probability of a horizontal flip.</summary>
        public double HorizontalFlip { get; init; } = 0.5;

        /// <summary><c>auto_augment</c>: none, trivial (TrivialAugmentWide) or rand-mM-nN (RandAugment), torchvision's
        /// operation sets and 31 magnitude bins.</summary>
        public string AutoAugment { get; init; } = "none";

        /// <summary><c>reprob</c>: probability of random erasing (timm's RandomErasing, one box of 2–33 % of the image,
        /// aspect 0.3–3.3), applied after normalisation.</summary>
        public double EraseProbability { get; init; }

        /// <summary><c>remode</c>: what the erased box is filled with.</summary>
        public EraseMode EraseMode { get; init; } = EraseMode.Pixel;

        /// <summary><c>crop_pct</c>: eval resizes the shorter side to floor(size / crop_pct), then centre-crops size.</summary>
        public double CropPct { get; init; } = 0.875;

        /// <summary><c>interpolation</c>: the resampling filter of every resize.</summary>
        public Interpolation Interpolation { get; init; } = Interpolation.Bilinear;

        /// <summary><c>mean</c>: per-channel mean of pixels in [0, 1]; null (auto): the dataset's own (ImageNet's for image
        /// folders, the set's measured constants for shapes and CIFAR-10).</summary>
        public (double R, double G, double B)? Mean { get; init; }

        /// <summary><c>std</c>: per-channel standard deviation of pixels in [0, 1]; null (auto): the dataset's own.</summary>
        public (double R, double G, double B)? Std { get; init; }

        /// <summary>Whether training images of a dataset are augmented: <see cref="Mode"/>, with auto resolved by the
        /// dataset kind (on for image folders).</summary>
        public bool AugmentsTraining(bool imageFolder) => Mode == AugmentMode.On || (Mode == AugmentMode.Auto && imageFolder);

        /// <summary>The catalog entries of these settings (snake_case names, one per field), appended to
        /// <see cref="TrainSettings.Catalog"/>.</summary>
        internal static IReadOnlyList<TrainSetting> Settings { get; } = new List<TrainSetting>
        {
            Word("augment", "augment training images: auto (image folders yes, shapes and cifar10 no), on or off",
                new[] { "auto", "on", "off" },
                (s, w) => With(s, a => a with { Mode = w == "on" ? AugmentMode.On : w == "off" ? AugmentMode.Off : AugmentMode.Auto }),
                s => s.Augment.Mode.ToString().ToLowerInvariant()),
            Range("rrc_scale", "RandomResizedCrop's range of the crop area as a fraction of the image", 0, 1,
                (a, v) => a with { Scale = v }, a => a.Scale),
            Range("rrc_ratio", "RandomResizedCrop's range of the crop's aspect ratio (width / height)", 0, 100,
                (a, v) => a with { Ratio = v }, a => a.Ratio),
            Number("hflip", "probability of a horizontal flip of a training image", 0, true, 1,
                (s, v) => With(s, a => a with { HorizontalFlip = v }), s => s.Augment.HorizontalFlip),
            new TrainSetting("auto_augment", "torchvision's RandAugment (rand-mM-nN) or TrivialAugmentWide (trivial) on training images, or none",
                "none | trivial | rand-mM-nN (e.g. rand-m9-n2)",
                (s, t) => { Data.AutoAugment.Parse(t); return With(s, a => a with { AutoAugment = t.Trim() }); },
                s => s.Augment.AutoAugment),
            Number("reprob", "probability of random erasing (timm's RandomErasing) of a training image", 0, true, 1,
                (s, v) => With(s, a => a with { EraseProbability = v }), s => s.Augment.EraseProbability),
            Word("remode", "what random erasing fills the box with: pixel (per-pixel normal noise) or const (zeros)",
                new[] { "pixel", "const" },
                (s, w) => With(s, a => a with { EraseMode = w == "const" ? EraseMode.Const : EraseMode.Pixel }),
                s => s.Augment.EraseMode == EraseMode.Const ? "const" : "pixel"),
            Number("crop_pct", "eval: resize the shorter side to size / crop_pct, then centre-crop", 0, false, 1,
                (s, v) => With(s, a => a with { CropPct = v }), s => s.Augment.CropPct),
            Word("interpolation", "resampling filter of every resize (PIL's, antialiased)", new[] { "bilinear", "bicubic" },
                (s, w) => With(s, a => a with { Interpolation = w == "bicubic" ? Interpolation.Bicubic : Interpolation.Bilinear }),
                s => s.Augment.Interpolation == Interpolation.Bicubic ? "bicubic" : "bilinear"),
            Triple("mean", "per-channel mean of pixels in [0, 1] (auto: ImageNet's for image folders, the set's own for shapes and cifar10)",
                0, false, (a, v) => a with { Mean = v }, a => a.Mean),
            Triple("std", "per-channel standard deviation of pixels in [0, 1] (auto: as mean)",
                0, true, (a, v) => a with { Std = v }, a => a.Std),
        };

        private static TrainSettings With(TrainSettings s, Func<AugmentSettings, AugmentSettings> change) => s with { Augment = change(s.Augment) };

        private static TrainSetting Range(string name, string description, double min, double max,
            Func<AugmentSettings, (double, double), AugmentSettings> set, Func<AugmentSettings, (double, double)> get) =>
            new TrainSetting(name, description, $"two numbers a,b with {Text(min)} < a <= b <= {Text(max)}",
                (s, t) =>
                {
                    var parts = t.Trim().Trim('[', ']', '(', ')').Split(',');
                    if (parts.Length != 2) throw new FormatException($"{name} takes two numbers a,b, not '{t}'");
                    var a = ParseNumber(name, parts[0], min, false, max, true);
                    var b = ParseNumber(name, parts[1], min, false, max, true);
                    if (a > b) throw new FormatException($"{name}: the first number must not exceed the second, not {t.Trim()}");
                    return With(s, x => set(x, (a, b)));
                },
                s => { var (a, b) = get(s.Augment); return Text(a) + "," + Text(b); });

        private static TrainSetting Triple(string name, string description, double min, bool positive,
            Func<AugmentSettings, (double, double, double)?, AugmentSettings> set, Func<AugmentSettings, (double, double, double)?> get) =>
            new TrainSetting(name, description, positive ? "auto, or three numbers r,g,b > 0" : "auto, or three numbers r,g,b in [0, 1]",
                (s, t) =>
                {
                    if (t.Trim() == "auto") return With(s, x => set(x, null));
                    var parts = t.Trim().Trim('[', ']', '(', ')').Split(',');
                    if (parts.Length != 3) throw new FormatException($"{name} takes auto or three numbers r,g,b, not '{t}'");
                    var v = parts.Select(p => ParseNumber(name, p, min, !positive, positive ? 1e6 : 1, true)).ToArray();
                    return With(s, x => set(x, (v[0], v[1], v[2])));
                },
                s => get(s.Augment) is var (r, g, b) ? $"{Text(r)},{Text(g)},{Text(b)}" : "auto");
    }
}
