using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Win32.SafeHandles;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// CIFAR-10 in its binary distribution (cifar-10-binary.tar.gz → cifar-10-batches-bin/): data_batch_1.bin …
    /// data_batch_5.bin (training) and test_batch.bin, each a sequence of 3,073-byte records — one label byte (0–9), then
    /// 1,024 red, 1,024 green and 1,024 blue bytes of a 32×32 image, rows top to bottom. Opening checks every file's size
    /// and reads every label (60 kB); pixels are read from disk per batch, so the set costs no resident memory.
    /// Class names come from batches.meta.txt when present.
    /// </summary>
    public sealed class Cifar10Dataset : ByteImageDataset
    {
        public const int ImageSide = 32;
        public const int PixelBytes = 3 * ImageSide * ImageSide;
        public const int RecordBytes = 1 + PixelBytes;

        public static readonly IReadOnlyList<string> TrainFiles = new[]
        {
            "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
        };

        public const string TestFile = "test_batch.bin";
        public const string MetaFile = "batches.meta.txt";

        public static readonly IReadOnlyList<string> StandardClassNames = new[]
        {
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
        };

        /// <summary>Per-channel mean and standard deviation of the 50,000 training images' pixels in [0, 1] (the
        /// constants in common use for CIFAR-10).</summary>
        public static readonly IReadOnlyList<float> ChannelMean = new[] { 0.4914f, 0.4822f, 0.4465f };

        public static readonly IReadOnlyList<float> ChannelStd = new[] { 0.2470f, 0.2435f, 0.2616f };

        private const string Fix = "the directory must be cifar-10-batches-bin as extracted from the binary version of CIFAR-10 " +
                                   "(https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz), not the Python or MATLAB version";

        private readonly string[] _paths;
        private readonly int[] _firstRecord;   // index of each file's first record in the split
        private readonly byte[] _labels;

        private Cifar10Dataset(string name, IReadOnlyList<string> classNames, string[] paths, int[] firstRecord, byte[] labels,
            IReadOnlyList<float>? mean, IReadOnlyList<float>? std)
            : base(name, labels.Length, classNames, 3, ImageSide, ImageSide, mean ?? ChannelMean, std ?? ChannelStd)
        {
            _paths = paths;
            _firstRecord = firstRecord;
            _labels = labels;
        }

        /// <summary>Opens both splits from <paramref name="directory"/>.</summary>
        /// <exception cref="ArgumentException">The directory or one of its six files is missing.</exception>
        /// <exception cref="InvalidDataException">A file is empty, truncated, or has a label outside 0–9, or
        /// batches.meta.txt does not list 10 names.</exception>
        public static DatasetPair Open(string directory) => Open(directory, DatasetOptions.Default);

        internal static DatasetPair Open(string directory, DatasetOptions options)
        {
            if (string.IsNullOrWhiteSpace(directory))
                throw new ArgumentException($"cifar10: give the directory, e.g. cifar10:/data/cifar-10-batches-bin; {Fix}", nameof(directory));
            if (!Directory.Exists(directory))
                throw new ArgumentException($"cifar10: directory '{directory}' does not exist; {Fix}", nameof(directory));
            if (options.ImageSize is int size && size != ImageSide)
                throw new ArgumentException($"cifar10: the images are {ImageSide}x{ImageSide} but the architecture takes {size} px; declare input 3x{ImageSide}x{ImageSide}");
            var names = ReadClassNames(Path.Combine(directory, MetaFile));
            var (mean, std) = Datasets.Normalisation(options.Augment);
            var train = Load("cifar10/train", names, TrainFiles.Select(f => Path.Combine(directory, f)).ToArray(), mean, std, options.Augment);
            var test = Load("cifar10/test", names, new[] { Path.Combine(directory, TestFile) }, mean, std, options.Augment);
            return new DatasetPair(train, test,
                $"CIFAR-10 from {Path.GetFullPath(directory)}: {names.Count} classes, 3x{ImageSide}x{ImageSide}, train {train.Count}, test {test.Count}");
        }

        protected override int Read(int index, Span<byte> destination)
        {
            var file = Array.BinarySearch(_firstRecord, index);
            if (file < 0) file = ~file - 1;
            var path = _paths[file];
            var offset = (long)(index - _firstRecord[file]) * RecordBytes;
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var read = 0;
            while (read < PixelBytes)
            {
                var n = RandomAccess.Read(handle, destination.Slice(read), offset + 1 + read);
                if (n == 0)
                    throw new InvalidDataException(
                        $"{path}: record {index - _firstRecord[file]} at offset {offset} ends after {1 + read} of {RecordBytes} bytes; " +
                        "the file shrank after it was opened — copy or extract it again");
                read += n;
            }
            return _labels[index];
        }

        private static Cifar10Dataset Load(string name, IReadOnlyList<string> classNames, string[] paths,
            IReadOnlyList<float>? mean, IReadOnlyList<float>? std, AugmentSettings augment)
        {
            var firstRecord = new int[paths.Length];
            var labels = new List<byte>();
            var buffer = new byte[RecordBytes * 1024];
            for (var f = 0; f < paths.Length; f++)
            {
                var path = paths[f];
                if (!File.Exists(path))
                    throw new ArgumentException($"cifar10: {path} is missing; {Fix} (it holds {string.Join(", ", TrainFiles)} and {TestFile})");
                firstRecord[f] = labels.Count;
                using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                var length = RandomAccess.GetLength(handle);
                if (length == 0)
                    throw new InvalidDataException($"{path} is empty; {Fix}");
                if (length % RecordBytes != 0)
                {
                    var whole = length / RecordBytes;
                    throw new InvalidDataException(
                        $"{path}: {length} bytes is not a whole number of {RecordBytes}-byte records — record {whole} at offset " +
                        $"{whole * RecordBytes} has only {length - whole * RecordBytes} of its {RecordBytes} bytes; the file is " +
                        "truncated, extract cifar-10-binary.tar.gz again");
                }
                if (labels.Count + length / RecordBytes > int.MaxValue)
                    throw new InvalidDataException($"{path}: too many records for one dataset");
                for (long offset = 0; offset < length;)
                {
                    var chunk = (int)Math.Min(buffer.Length, length - offset);
                    var got = 0;
                    while (got < chunk)
                    {
                        var n = RandomAccess.Read(handle, buffer.AsSpan(got, chunk - got), offset + got);
                        if (n == 0) throw new InvalidDataException($"{path}: could read only {offset + got} of its {length} bytes");
                        got += n;
                    }
                    for (var r = 0; r < chunk; r += RecordBytes)
                    {
                        var label = buffer[r];
                        if (label >= classNames.Count)
                        {
                            var record = (offset + r) / RecordBytes;
                            throw new InvalidDataException(
                                $"{path}: record {record} (offset {offset + r}) has label {label}, but CIFAR-10 labels are 0-9; " +
                                $"{Fix} (CIFAR-100's binary records start with 2 label bytes)");
                        }
                        labels.Add(label);
                    }
                    offset += chunk;
                }
            }
            return new Cifar10Dataset(name, classNames, paths, firstRecord, labels.ToArray(), mean, std) { Augment = augment };
        }

        private static IReadOnlyList<string> ReadClassNames(string path)
        {
            if (!File.Exists(path)) return StandardClassNames;
            var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (names.Length != StandardClassNames.Count)
                throw new InvalidDataException(
                    $"{path}: expected {StandardClassNames.Count} class names, one per line, but found {names.Length}; " +
                    "restore the file from the archive or delete it to use the standard names");
            return names;
        }
    }
}
