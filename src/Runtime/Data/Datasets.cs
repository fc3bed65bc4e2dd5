using System;
using System.Globalization;

namespace Torchwright.Runtime.Data
{
    /// <summary>Opens a dataset from a command-line spec.</summary>
    public static class Datasets
    {
        public const string DefaultSpec = "shapes";

        public const string Usage =
            "use 'shapes[:SIZE][:n=TRAIN][:test=TEST]' (built in, no download; e.g. shapes, shapes:32, shapes:64:n=4096) " +
            "or 'cifar10:DIR' with DIR the cifar-10-batches-bin directory of the CIFAR-10 binary version";

        /// <summary>
        /// <c>shapes</c>: the procedural set (<see cref="ShapesDataset"/>), by default 64 px with 10,000 training and
        /// 1,000 test images; <c>shapes:32</c> sets the size, <c>n=</c> and <c>test=</c> the split sizes.
        /// <c>cifar10:DIR</c>: CIFAR-10's binary files in DIR (<see cref="Cifar10Dataset"/>).
        /// </summary>
        /// <exception cref="ArgumentException">An unknown or malformed spec, or missing CIFAR-10 files.</exception>
        /// <exception cref="System.IO.InvalidDataException">A CIFAR-10 file is truncated or corrupt.</exception>
        public static DatasetPair Open(string spec)
        {
            if (string.IsNullOrWhiteSpace(spec))
                throw new ArgumentException($"no dataset given; {Usage}", nameof(spec));
            var colon = spec.IndexOf(':');
            var kind = colon < 0 ? spec : spec.Substring(0, colon);
            var rest = colon < 0 ? "" : spec.Substring(colon + 1);
            return kind switch
            {
                "shapes" => OpenShapes(spec, rest),
                "cifar10" => Cifar10Dataset.Open(rest),
                _ => throw new ArgumentException($"unknown dataset '{kind}' in '{spec}'; {Usage}", nameof(spec)),
            };
        }

        private static DatasetPair OpenShapes(string spec, string options)
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
            var side = size ?? ShapesDataset.DefaultSize;
            if (side < ShapesDataset.MinSize || side > ShapesDataset.MaxSize)
                throw new ArgumentException($"dataset '{spec}': the shapes set is drawn at {ShapesDataset.MinSize} to {ShapesDataset.MaxSize} pixels, not {side}; {Usage}", nameof(spec));
            var trainSet = new ShapesDataset(DatasetSplit.Train, side, train);
            var testSet = new ShapesDataset(DatasetSplit.Test, side, test);
            return new DatasetPair(trainSet, testSet,
                $"shapes (built in, procedural): {trainSet.Classes} classes ({string.Join(", ", trainSet.ClassNames)}), " +
                $"3x{side}x{side}, train {trainSet.Count}, test {testSet.Count}");
        }
    }
}
