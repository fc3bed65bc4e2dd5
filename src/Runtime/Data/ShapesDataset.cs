using System;
using System.Collections.Generic;

namespace Torchwright.Runtime.Data
{
    /// <summary>Which half of a dataset.</summary>
    public enum DatasetSplit
    {
        Train,
        Test,
    }

    /// <summary>
    /// The embedded default dataset: procedurally generated 3-channel images in 8 classes that differ by shape or by
    /// the orientation of a texture — disk, square, triangle, cross, ring, horizontal stripes, vertical stripes,
    /// checkerboard — each with random colours on a noisy random gradient, random position and scale, and random
    /// rotation where the class allows it. Colour statistics do not separate the classes; telling them apart takes
    /// spatial context (outline, corners, the hole of the ring, the direction of the bands). Image i is a pure
    /// function of (split, i, size): generated on demand, identical on every machine, and the train and test splits
    /// come from different generator streams. Labels cycle through the classes (label = i mod 8), so any count that is
    /// a multiple of 8 is exactly balanced.
    /// </summary>
    public sealed class ShapesDataset : ByteImageDataset
    {
        public const int DefaultSize = 64;
        public const int DefaultTrainCount = 10_000;
        public const int DefaultTestCount = 1_000;
        public const int MinSize = 16;
        public const int MaxSize = 512;

        // Per-channel mean and standard deviation of the pixels in [0, 1], measured over the first 4,096 training
        // images at 64 px; the generator treats R, G and B alike, so one value serves all three.
        private const float PixelMean = 0.5031f, PixelStd = 0.2928f;

        private readonly ulong _stream;

        /// <param name="split">Which split: train and test are disjoint streams of the same generator.</param>
        /// <param name="size">Image side in pixels.</param>
        /// <param name="count">Images in the split; by default <see cref="DefaultTrainCount"/> or <see cref="DefaultTestCount"/>.</param>
        /// <param name="mean">Per-channel normalisation mean; by default the set's measured one.</param>
        /// <param name="std">Per-channel normalisation standard deviation; by default the set's measured one.</param>
        public ShapesDataset(DatasetSplit split, int size = DefaultSize, int? count = null, IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null)
            : base($"shapes/{(split == DatasetSplit.Train ? "train" : "test")}",
                   count ?? (split == DatasetSplit.Train ? DefaultTrainCount : DefaultTestCount), ShapePainter.ClassNames, 3,
                   CheckSize(size), size, mean ?? new[] { PixelMean, PixelMean, PixelMean }, std ?? new[] { PixelStd, PixelStd, PixelStd })
        {
            Split = split;
            // Arbitrary distinct stream constants: the two splits never share a generator state.
            _stream = split == DatasetSplit.Train ? 0x5348_4150_4553_5452UL : 0x5348_4150_4553_5445UL;
        }

        public DatasetSplit Split { get; }

        protected override int Read(int index, Span<byte> destination)
        {
            var label = index % ShapePainter.ClassNames.Length;
            var rng = SplitMix64.ForItem(_stream, (ulong)index);
            ShapePainter.Paint(ref rng, label, (int)Width, destination);
            return label;
        }

        private static long CheckSize(int size)
        {
            if (size < MinSize || size > MaxSize)
                throw new ArgumentOutOfRangeException(nameof(size), size, $"the shapes set is drawn at {MinSize} to {MaxSize} pixels; got {size}");
            return size;
        }
    }
}
