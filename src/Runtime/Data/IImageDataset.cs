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

    /// <summary>A training and a test split of one dataset, and a one-line description of both for reports.</summary>
    public sealed record DatasetPair(IImageDataset Train, IImageDataset Test, string Description);
}
