using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// One split of an image folder in torchvision's ImageFolder layout: DIR/SPLIT/CLASS/FILE, the class index being the
    /// position of the class folder's name in ordinal sort order, files with the extensions .jpg, .jpeg, .png, .webp and
    /// .bmp (any case) taken in ordinal order of their paths, every other file ignored. Images are decoded on demand;
    /// <see cref="Batch"/> gives them through the eval transform (resize the shorter side to size / crop_pct, centre crop,
    /// normalise), <see cref="TrainBatchStream"/> through the train transform.
    /// </summary>
    public sealed class ImageFolderDataset : IImageDataset, ISampleSource
    {
        public static readonly IReadOnlyList<string> Extensions = new[] { ".jpg", ".jpeg", ".png", ".webp", ".bmp" };

        private static readonly IReadOnlyList<float> ImageNetMean = Floats(AugmentSettings.ImageNetMean);
        private static readonly IReadOnlyList<float> ImageNetStd = Floats(AugmentSettings.ImageNetStd);

        private static float[] Floats((double R, double G, double B) v) => new[] { (float)v.R, (float)v.G, (float)v.B };

        private readonly string[] _paths;
        private readonly int[] _labels;
        private readonly bool _skipBad;
        private readonly int _workers;
        private readonly ImageTransform _eval;
        private readonly ConcurrentDictionary<string, string> _failedAtDecode = new ConcurrentDictionary<string, string>();

        private ImageFolderDataset(string name, IReadOnlyList<string> classNames, string[] paths, int[] labels, int size,
            AugmentSettings augment, bool skipBad, int workers, IReadOnlyList<(string Path, string Reason)> skippedAtOpen)
        {
            Name = name;
            ClassNames = classNames;
            _paths = paths;
            _labels = labels;
            Size = size;
            Augment = augment;
            _skipBad = skipBad;
            _workers = workers;
            SkippedAtOpen = skippedAtOpen;
            _eval = new ImageTransform(augment, size, ImageNetMean, ImageNetStd);
        }

        public string Name { get; }

        public int Count => _paths.Length;

        public int Classes => ClassNames.Count;

        public IReadOnlyList<string> ClassNames { get; }

        public long Channels => 3;

        public long Height => Size;

        public long Width => Size;

        /// <summary>The output side: the architecture's input size.</summary>
        public int Size { get; }

        /// <summary>The file of image <paramref name="index"/>.</summary>
        public string PathOf(int index) => _paths[index];

        /// <summary>Files left out when the split was opened because their header could not be read (with
        /// <see cref="DatasetOptions.SkipBadImages"/>; without it opening fails on the first).</summary>
        public IReadOnlyList<(string Path, string Reason)> SkippedAtOpen { get; }

        /// <summary>Files whose header was readable but whose pixels were not, met while decoding (with
        /// <see cref="DatasetOptions.SkipBadImages"/>: each was replaced by the next decodable image of the split).</summary>
        public IReadOnlyCollection<KeyValuePair<string, string>> SkippedAtDecode => _failedAtDecode.ToArray();

        internal AugmentSettings Augment { get; }

        AugmentSettings ISampleSource.Augment => Augment;

        bool ISampleSource.IsImageFolder => true;

        IReadOnlyList<float> ISampleSource.Mean => ImageNetMean;

        IReadOnlyList<float> ISampleSource.Std => ImageNetStd;

        /// <summary>The images through the eval transform, decoded by up to <see cref="DatasetOptions.Workers"/> threads.</summary>
        public (Tensor Images, Tensor Labels) Batch(IReadOnlyList<int> indices)
        {
            if (indices is null) throw new ArgumentNullException(nameof(indices));
            if (indices.Count == 0) throw new ArgumentException($"{Name}: a batch needs at least one index", nameof(indices));
            foreach (var i in indices) CheckIndex(i);
            var imageFloats = 3 * Size * Size;
            var images = new float[(long)indices.Count * imageFloats];
            var labels = new long[indices.Count];
            try
            {
                Parallel.For(0, indices.Count, new ParallelOptions { MaxDegreeOfParallelism = _workers },
                    i => labels[i] = WritePlain(indices[i], images.AsSpan(i * imageFloats, imageFloats)));
            }
            catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault(x => x is InvalidDataException) is { } bad)
            {
                throw new InvalidDataException(bad.Message, bad);
            }
            return (torch.tensor(images, new long[] { indices.Count, 3, Size, Size }), torch.tensor(labels, new long[] { indices.Count }));
        }

        (RgbImage Image, int Label) ISampleSource.Load(int index) => Load(index);

        int ISampleSource.WritePlain(int index, Span<float> destination) => WritePlain(index, destination);

        private int WritePlain(int index, Span<float> destination)
        {
            var (image, label) = Load(index);
            _eval.Eval(image, destination);
            return label;
        }

        /// <summary>Decodes image <paramref name="index"/>; with skip-bad, a file that fails is replaced by the next
        /// decodable one of the split (a fixed function of the files, so streams stay deterministic).</summary>
        internal (RgbImage Image, int Label) Load(int index)
        {
            CheckIndex(index);
            for (var tried = 0; tried < Count; tried++)
            {
                var at = (index + tried) % Count;
                var path = _paths[at];
                if (_skipBad && _failedAtDecode.ContainsKey(path)) continue;
                try
                {
                    return (ImageDecoder.Decode(path), _labels[at]);
                }
                catch (InvalidDataException e) when (_skipBad)
                {
                    _failedAtDecode.TryAdd(path, e.Message);
                }
            }
            throw new InvalidDataException($"{Name}: none of its {Count} images can be decoded (the first: {_failedAtDecode.Values.First()})");
        }

        private void CheckIndex(int index)
        {
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {Count} images (indices 0..{Count - 1})");
        }

        /// <summary>Opens DIR/train and DIR/val (see <see cref="Datasets.Open"/>).</summary>
        internal static DatasetPair Open(string directory, DatasetOptions options)
        {
            const string Layout = "an image folder holds DIR/train/CLASS/*.jpg and DIR/val/CLASS/*.jpg (torchvision's ImageFolder layout; .jpg, .jpeg, .png, .webp, .bmp)";
            if (string.IsNullOrWhiteSpace(directory))
                throw new ArgumentException($"imagefolder: give the directory, e.g. imagefolder:/data/pets; {Layout}");
            if (!Directory.Exists(directory))
                throw new ArgumentException($"imagefolder: directory '{directory}' does not exist; {Layout}");
            if (options.ImageSize is not int size)
                throw new ArgumentException($"imagefolder:{directory}: the image size is not set; it is the architecture's input size (DatasetOptions.ImageSize)");
            if (size < 8 || size > 4096)
                throw new ArgumentException($"imagefolder:{directory}: image size {size} is outside 8 to 4096 pixels");
            var trainClasses = ClassFolders(directory, "train", Layout);
            var valClasses = ClassFolders(directory, "val", Layout);
            if (!trainClasses.SequenceEqual(valClasses, StringComparer.Ordinal))
            {
                var onlyTrain = trainClasses.Except(valClasses, StringComparer.Ordinal).ToArray();
                var onlyVal = valClasses.Except(trainClasses, StringComparer.Ordinal).ToArray();
                throw new ArgumentException(
                    $"imagefolder:{directory}: train and val must have the same class folders" +
                    (onlyTrain.Length > 0 ? $"; only in train: {string.Join(", ", onlyTrain.Take(5))}{(onlyTrain.Length > 5 ? ", ..." : "")}" : "") +
                    (onlyVal.Length > 0 ? $"; only in val: {string.Join(", ", onlyVal.Take(5))}{(onlyVal.Length > 5 ? ", ..." : "")}" : ""));
            }
            var workers = Math.Max(1, options.Workers);
            var train = OpenSplit(directory, "train", trainClasses, size, options, workers);
            var val = OpenSplit(directory, "val", trainClasses, size, options, workers);
            var skipped = train.SkippedAtOpen.Count + val.SkippedAtOpen.Count;
            return new DatasetPair(train, val,
                $"image folder {Path.GetFullPath(directory)}: {trainClasses.Length} classes, 3x{size}x{size}, train {train.Count}, val {val.Count}" +
                (skipped > 0 ? $", {skipped} undecodable file{(skipped == 1 ? "" : "s")} skipped" : ""));
        }

        private static string[] ClassFolders(string directory, string split, string layout)
        {
            var root = Path.Combine(directory, split);
            if (!Directory.Exists(root))
                throw new ArgumentException($"imagefolder:{directory}: the '{split}' split is missing (no folder {root}); {layout}");
            var classes = Directory.GetDirectories(root).Select(Path.GetFileName).Select(n => n!).OrderBy(n => n, StringComparer.Ordinal).ToArray();
            if (classes.Length == 0)
                throw new ArgumentException($"imagefolder:{directory}: {root} has no class folders; {layout}");
            return classes;
        }

        private static ImageFolderDataset OpenSplit(string directory, string split, string[] classes, int size, DatasetOptions options, int workers)
        {
            var files = new List<(string Path, int Label)>();
            for (var c = 0; c < classes.Length; c++)
            {
                var folder = Path.Combine(directory, split, classes[c]);
                var images = Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                    .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .OrderBy(f => f, StringComparer.Ordinal).ToArray();
                if (images.Length == 0)
                    throw new ArgumentException(
                        $"imagefolder:{directory}: class folder {folder} has no images (.jpg, .jpeg, .png, .webp or .bmp); remove the folder or add images");
                files.AddRange(images.Select(f => (f, c)));
            }
            // Headers only (a few bytes per file): a file that is not an image fails here, before any training.
            var reasons = new string?[files.Count];
            Parallel.For(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = workers }, i => reasons[i] = ImageDecoder.Probe(files[i].Path));
            var bad = Enumerable.Range(0, files.Count).Where(i => reasons[i] is not null).ToArray();
            if (bad.Length > 0 && !options.SkipBadImages)
                throw new InvalidDataException(
                    $"{files[bad[0]].Path}: cannot be decoded: {reasons[bad[0]]}" +
                    (bad.Length > 1 ? $" ({bad.Length - 1} more undecodable file{(bad.Length == 2 ? "" : "s")} in {split})" : "") +
                    "; fix or remove it, or skip such files with --skip-bad-images");
            var kept = Enumerable.Range(0, files.Count).Where(i => reasons[i] is null).ToArray();
            if (kept.Length == 0)
                throw new ArgumentException($"imagefolder:{directory}: none of the {files.Count} files of '{split}' can be decoded");
            return new ImageFolderDataset($"imagefolder/{split}", classes, kept.Select(i => files[i].Path).ToArray(),
                kept.Select(i => files[i].Label).ToArray(), size, options.Augment, options.SkipBadImages, workers,
                bad.Select(i => (files[i].Path, reasons[i]!)).ToArray());
        }
    }
}
