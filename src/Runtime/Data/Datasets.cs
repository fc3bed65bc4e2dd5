using System;
using System.Collections.Generic;
using System.Globalization;

namespace Torchwright.Runtime.Data
{
    /// <summary>Opens a dataset from a command-line spec.</summary>
    public static class Datasets
    {
        public const string DefaultSpec = "shapes";

        public const string Usage =
            "use 'shapes[:SIZE][:n=TRAIN][:test=TEST]' (built in, no download; e.g. shapes, shapes:32, shapes:64:n=4096) " +
            "or 'cifar10:DIR' with DIR the cifar-10-batches-bin directory of the CIFAR-10 binary version, " +
            "or 'imagefolder:DIR' with DIR/train/CLASS/*.jpg and DIR/val/CLASS/*.jpg (torchvision's ImageFolder layout)";

        /// <summary>
        /// <c>shapes</c>: the procedural set (<see cref="ShapesDataset"/>), by default 64 px with 10,000 training and
        /// 1,000 test images; <c>shapes:32</c> sets the size, <c>n=</c> and <c>test=</c> the split sizes.
        /// <c>cifar10:DIR</c>: CIFAR-10's binary files in DIR (<see cref="Cifar10Dataset"/>).
        /// <c>imagefolder:DIR</c>: DIR/train and DIR/val in torchvision's ImageFolder layout (<see cref="ImageFolderDataset"/>),
        /// at <see cref="DatasetOptions.ImageSize"/>.
        /// With no options (or default ones) shapes and cifar10 batch exactly as they always have.
        /// </summary>
        /// <exception cref="ArgumentException">An unknown or malformed spec, missing files or folders, an empty class
        /// folder, or options that contradict the spec or would have no effect on this dataset.</exception>
        /// <exception cref="System.IO.InvalidDataException">A CIFAR-10 file is truncated or corrupt, or an image file
        /// cannot be decoded (without <see cref="DatasetOptions.SkipBadImages"/>).</exception>
        public static DatasetPair Open(string spec, DatasetOptions? options = null)
        {
            options ??= DatasetOptions.Default;
            if (string.IsNullOrWhiteSpace(spec))
                throw new ArgumentException($"no dataset given; {Usage}", nameof(spec));
            var colon = spec.IndexOf(':');
            var kind = colon < 0 ? spec : spec.Substring(0, colon);
            var rest = colon < 0 ? "" : spec.Substring(colon + 1);
            if (kind is "shapes" or "cifar10") CheckInMemory(spec, options);
            return kind switch
            {
                "shapes" => OpenShapes(spec, rest, options),
                "cifar10" => Cifar10Dataset.Open(rest, options),
                "imagefolder" => ImageFolderDataset.Open(rest, CheckImageFolder(spec, options)),
                _ => throw new ArgumentException($"unknown dataset '{kind}' in '{spec}'; {Usage}", nameof(spec)),
            };
        }

        /// <summary>Settings that only augmentation reads: set while augmentation is off, they would do nothing.</summary>
        private static IEnumerable<string> AugmentOnly(AugmentSettings a)
        {
            var d = AugmentSettings.Default;
            if (a.Scale != d.Scale) yield return "rrc_scale";
            if (a.Ratio != d.Ratio) yield return "rrc_ratio";
            if (a.HorizontalFlip != d.HorizontalFlip) yield return "hflip";
            if (a.AutoAugment != d.AutoAugment) yield return "auto_augment";
            if (a.EraseProbability != d.EraseProbability) yield return "reprob";
            if (a.EraseMode != d.EraseMode) yield return "remode";
        }

        private static void CheckInMemory(string spec, DatasetOptions options)
        {
            if (options.SkipBadImages)
                throw new ArgumentException(
                    $"dataset '{spec}': skipping bad images (--skip-bad-images) applies to imagefolder:DIR only; this set has no image files", nameof(spec));
            var a = options.Augment;
            if (a.AugmentsTraining(imageFolder: false)) return;
            var unused = new List<string>(AugmentOnly(a));
            if (a.CropPct != AugmentSettings.Default.CropPct) unused.Add("crop_pct");
            if (a.Interpolation != AugmentSettings.Default.Interpolation) unused.Add("interpolation");
            if (unused.Count > 0)
                throw new ArgumentException(
                    $"dataset '{spec}': {string.Join(", ", unused)} would have no effect: shapes and cifar10 are not augmented " +
                    $"unless augment = on (it is {a.Mode.ToString().ToLowerInvariant()})", nameof(spec));
        }

        private static DatasetOptions CheckImageFolder(string spec, DatasetOptions options)
        {
            var a = options.Augment;
            if (!a.AugmentsTraining(imageFolder: true))
            {
                var unused = new List<string>(AugmentOnly(a));
                if (unused.Count > 0)
                    throw new ArgumentException(
                        $"dataset '{spec}': {string.Join(", ", unused)} would have no effect with augment = off", nameof(spec));
            }
            AutoAugment.Parse(a.AutoAugment);
            return options;
        }

        /// <summary>The per-channel normalisation the settings ask for, or null for the set's own.</summary>
        internal static (float[]? Mean, float[]? Std) Normalisation(AugmentSettings a) =>
            (a.Mean is var (r, g, b) ? new[] { (float)r, (float)g, (float)b } : null,
             a.Std is var (sr, sg, sb) ? new[] { (float)sr, (float)sg, (float)sb } : null);

        private static DatasetPair OpenShapes(string spec, string options, DatasetOptions open)
        {
            int? size = null, train = null, test = null;
            foreach (var option in options.Length == 0 ? Array.Empty<string>() : options.Split(':'))
            {
                var equals = option.IndexOf('=');
                var key = equals < 0 ? null : option.Substring(0, equals);
                var value = equals < 0 ? option : option.Substring(equals + 1);
                var numeric = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number);
                if (key is not null and not ("n" or "train" or "test") || (key is null && !numeric))
                    throw new ArgumentException($"dataset '{spec}': unknown option '{option}'; {Usage}", nameof(spec));
                if (!numeric || number < 1)
                    throw new ArgumentException($"dataset '{spec}': '{option}' needs a positive whole number; {Usage}", nameof(spec));
                switch (key)
                {
                    case null when size is null: size = number; break;
                    case "n" or "train" when train is null: train = number; break;
                    case "test" when test is null: test = number; break;
                    default:
                        throw new ArgumentException($"dataset '{spec}': '{option}' repeats an option; {Usage}", nameof(spec));
                }
            }
            if (size is int given && open.ImageSize is int wanted && given != wanted)
                throw new ArgumentException($"dataset '{spec}': the images are {given} px but the architecture takes {wanted} px; use shapes:{wanted}", nameof(spec));
            var side = size ?? open.ImageSize ?? ShapesDataset.DefaultSize;
            if (side < ShapesDataset.MinSize || side > ShapesDataset.MaxSize)
                throw new ArgumentException($"dataset '{spec}': the shapes set is drawn at {ShapesDataset.MinSize} to {ShapesDataset.MaxSize} pixels, not {side}; {Usage}", nameof(spec));
            var (mean, std) = Normalisation(open.Augment);
            var trainSet = new ShapesDataset(DatasetSplit.Train, side, train, mean, std) { Augment = open.Augment };
            var testSet = new ShapesDataset(DatasetSplit.Test, side, test, mean, std) { Augment = open.Augment };
            return new DatasetPair(trainSet, testSet,
                $"shapes (built in, procedural): {trainSet.Classes} classes ({string.Join(", ", trainSet.ClassNames)}), " +
                $"3x{side}x{side}, train {trainSet.Count}, test {testSet.Count}");
        }
    }

    /// <summary>How <see cref="Datasets.Open"/> opens a dataset beyond its spec.</summary>
    public sealed record DatasetOptions
    {
        public static DatasetOptions Default { get; } = new DatasetOptions();

        /// <summary>The side of the (square) images the model takes: the architecture's input size. Required for image
        /// folders; for shapes the size when the spec gives none (and it must agree when it does); cifar10 is 32.</summary>
        public int? ImageSize { get; init; }

        /// <summary>The run's augmentation settings: image folders' eval transform and every set's normalisation come
        /// from them, and <see cref="TrainBatchStream"/> must be given the same.</summary>
        public AugmentSettings Augment { get; init; } = AugmentSettings.Default;

        /// <summary>Skip and count image files that cannot be decoded (the CLI's --skip-bad-images) instead of failing on
        /// the first.</summary>
        public bool SkipBadImages { get; init; }

        /// <summary>Threads that check image headers when opening and decode evaluation batches.</summary>
        public int Workers { get; init; } = Environment.ProcessorCount;
    }
}
