using System;
using System.Collections.Generic;
using Torchwright.Runtime.Training;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// The training batches of a run, in order: batch k (0-based) is a pure function of (dataset, seed, batch size, k,
    /// augmentation settings), whatever the worker count, so a resumed run starting at <c>firstBatch</c> sees exactly
    /// the batches an uninterrupted run would.
    /// CONTRACT STUB: sequential, no augmentation; the data work makes it decode and augment in parallel workers with a
    /// bounded prefetch queue.
    /// </summary>
    public sealed class TrainBatchStream : IDisposable
    {
        private readonly IImageDataset _data;
        private readonly ShuffledOrder _order;
        private readonly int[] _indices;

        /// <param name="data">The training split.</param>
        /// <param name="batch">Images per batch.</param>
        /// <param name="seed">The run's seed (data order and augmentation draws).</param>
        /// <param name="firstBatch">Batches already consumed (0 for a new run; the step count for a resumed one).</param>
        /// <param name="augment">Augmentation settings.</param>
        /// <param name="workers">Decoding/augmenting worker threads (≥ 1); the stream does not depend on it.</param>
        public TrainBatchStream(IImageDataset data, int batch, long seed, long firstBatch, AugmentSettings augment, int workers)
        {
            _data = data ?? throw new ArgumentNullException(nameof(data));
            if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch size must be at least 1");
            if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker");
            _order = new ShuffledOrder(data.Count, seed);
            _indices = new int[batch];
            for (long k = 0; k < firstBatch; k++) _order.Fill(_indices);
        }

        /// <summary>The next batch: images float32 (N, C, H, W) normalised, labels int64 (N), on the CPU; the caller
        /// disposes both.</summary>
        public (Tensor Images, Tensor Labels) Next()
        {
            _order.Fill(_indices);
            return _data.Batch(_indices);
        }

        public void Dispose() { }
    }
}
