using System;
using System.Collections.Generic;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Data
{
    /// <summary>An image classification set that hands out batches by index.</summary>
    public interface IImageDataset
    {
        string Name { get; }

        int Count { get; }

        int Classes { get; }

        IReadOnlyList<string> ClassNames { get; }

        long Channels { get; }

        long Height { get; }

        long Width { get; }

        /// <summary>The images <paramref name="indices"/> as float32 (N, C, H, W), normalised per channel, and their
        /// labels as int64 (N), both on the CPU. The caller owns (disposes) both tensors.</summary>
        (Tensor Images, Tensor Labels) Batch(IReadOnlyList<int> indices);
    }

    /// <summary>
    /// A dataset whose images can be read one at a time, so that <see cref="TrainBatchStream"/> can decode and augment
    /// them in worker threads: the image folders and the in-memory sets. Every member is safe to call from several
    /// threads at once.
    /// </summary>
    internal interface ISampleSource : IImageDataset
    {
        /// <summary>Whether augment = auto means on (image folders) or off (in-memory sets).</summary>
        bool IsImageFolder { get; }

        /// <summary>The settings the dataset was opened with: its eval transform and normalisation.</summary>
        AugmentSettings Augment { get; }

        /// <summary>The output side (square images).</summary>
        int Size { get; }

        /// <summary>Image <paramref name="index"/> as stored (decoded, any size) and its label.</summary>
        /// <exception cref="System.IO.InvalidDataException">The file cannot be decoded; the message names it.</exception>
        (RgbImage Image, int Label) Load(int index);

        /// <summary>Image <paramref name="index"/> un-augmented, exactly as <see cref="IImageDataset.Batch"/> holds it,
        /// into <paramref name="destination"/> (C·H·W floats); returns the label.</summary>
        int WritePlain(int index, Span<float> destination);

        /// <summary>The dataset's own normalisation (used where the settings say auto).</summary>
        IReadOnlyList<float> Mean { get; }

        IReadOnlyList<float> Std { get; }
    }

    /// <summary>A training and a test split of one dataset, and a one-line description of both for reports.</summary>
    public sealed record DatasetPair(IImageDataset Train, IImageDataset Test, string Description);
}
