using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// A dataset whose images are 8-bit planar pixels (C, H, W), normalised per channel as
    /// <c>(value / 255 - Mean[c]) / Std[c]</c> when batched. Subclasses supply the pixels and labels of one image.
    /// </summary>
    public abstract class ByteImageDataset : IImageDataset, ISampleSource
    {
        // lookup[c * 256 + value]: the normalised float of every byte value, so batching is a table read per pixel.
        private readonly float[] _lookup;

        protected ByteImageDataset(string name, int count, IReadOnlyList<string> classNames, long channels, long height, long width,
            IReadOnlyList<float> mean, IReadOnlyList<float> std)
        {
            if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "a dataset cannot have a negative number of images");
            if (mean.Count != channels || std.Count != channels)
                throw new ArgumentException($"{name}: {channels} channels need {channels} means and standard deviations (got {mean.Count} and {std.Count})");
            Name = name;
            Count = count;
            ClassNames = classNames.ToArray();
            Channels = channels;
            Height = height;
            Width = width;
            Mean = mean.ToArray();
            Std = std.ToArray();
            _lookup = new float[channels * 256];
            for (var c = 0; c < channels; c++)
                for (var v = 0; v < 256; v++)
                    _lookup[c * 256 + v] = (float)((v / 255.0 - Mean[c]) / Std[c]);
        }

        public string Name { get; }

        public int Count { get; }

        public int Classes => ClassNames.Count;

        public IReadOnlyList<string> ClassNames { get; }

        public long Channels { get; }

        public long Height { get; }

        public long Width { get; }

        /// <summary>Per-channel mean of the pixel values scaled to [0, 1].</summary>
        public IReadOnlyList<float> Mean { get; }

        /// <summary>Per-channel standard deviation of the pixel values scaled to [0, 1].</summary>
        public IReadOnlyList<float> Std { get; }

        /// <summary>Bytes per image: C·H·W.</summary>
        public int ImageBytes => checked((int)(Channels * Height * Width));

        /// <summary>Writes image <paramref name="index"/> as planar bytes (C, H, W) into <paramref name="destination"/>
        /// (length <see cref="ImageBytes"/>) and returns its label.</summary>
        public int ReadImage(int index, Span<byte> destination)
        {
            CheckIndex(index);
            if (destination.Length != ImageBytes)
                throw new ArgumentException($"{Name}: an image needs {ImageBytes} bytes, the destination has {destination.Length}", nameof(destination));
            return Read(index, destination);
        }

        /// <summary>The augmentation settings the set was opened with (<see cref="Datasets.Open"/>); when they augment,
        /// <see cref="Batch"/> applies their eval transform (resize to size / crop_pct, centre crop) to the stored pixels.</summary>
        internal AugmentSettings Augment { get; init; } = AugmentSettings.Default;

        private ImageTransform? _eval;

        private ImageTransform? EvalTransform =>
            Augment.AugmentsTraining(imageFolder: false) ? _eval ??= new ImageTransform(Augment, checked((int)Width), Mean, Std) : null;

        public (Tensor Images, Tensor Labels) Batch(IReadOnlyList<int> indices)
        {
            if (indices is null) throw new ArgumentNullException(nameof(indices));
            if (indices.Count == 0) throw new ArgumentException($"{Name}: a batch needs at least one index", nameof(indices));
            var imageBytes = ImageBytes;
            var images = new float[(long)indices.Count * imageBytes];
            var labels = new long[indices.Count];
            for (var i = 0; i < indices.Count; i++)
                labels[i] = WritePlain(indices[i], images.AsSpan(i * imageBytes, imageBytes));
            return (torch.tensor(images, new[] { indices.Count, Channels, Height, Width }),
                    torch.tensor(labels, new long[] { indices.Count }));
        }

        bool ISampleSource.IsImageFolder => false;

        AugmentSettings ISampleSource.Augment => Augment;

        int ISampleSource.Size => checked((int)Width);

        int ISampleSource.WritePlain(int index, Span<float> destination) => WritePlain(index, destination);

        (RgbImage Image, int Label) ISampleSource.Load(int index)
        {
            CheckIndex(index);
            if (Channels != 3) throw new InvalidOperationException($"{Name}: only 3-channel images can be augmented");
            var planar = new byte[ImageBytes];
            var label = Read(index, planar);
            var plane = (int)(Height * Width);
            var image = new RgbImage((int)Width, (int)Height);
            for (var c = 0; c < 3; c++)
                for (var j = 0; j < plane; j++)
                    image.Pixels[3 * j + c] = planar[c * plane + j];
            return (image, label);
        }

        /// <summary>Image <paramref name="index"/> as evaluation sees it, normalised into <paramref name="destination"/>
        /// (C·H·W floats); returns its label.</summary>
        private int WritePlain(int index, Span<float> destination)
        {
            CheckIndex(index);
            if (EvalTransform is { } eval)
            {
                var (image, label) = ((ISampleSource)this).Load(index);
                eval.Eval(image, destination);
                return label;
            }
            var pixels = new byte[ImageBytes];
            var result = Read(index, pixels);
            var plane = (int)(Height * Width);
            for (var c = 0; c < Channels; c++)
            {
                var table = c * 256;
                var start = c * plane;
                for (var j = start; j < start + plane; j++)
                    destination[j] = _lookup[table + pixels[j]];
            }
            return result;
        }

        /// <summary>Pixels and label of image <paramref name="index"/> (already range-checked); the span has exactly
        /// <see cref="ImageBytes"/> bytes.</summary>
        protected abstract int Read(int index, Span<byte> destination);

        private void CheckIndex(int index)
        {
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"{Name} has {Count} images (indices 0..{Count - 1})");
        }
    }
}
