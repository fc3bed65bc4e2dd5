using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using TorchSharp;
using Torchwright.Runtime.Training;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// The training batches of a run, in order: batch k (0-based) is a pure function of (dataset, seed, batch size, k,
    /// augmentation settings), whatever the worker count or timing, so a resumed run starting at <c>firstBatch</c> sees
    /// exactly the batches an uninterrupted run would. The order is <see cref="ShuffledOrder"/>'s; sample j of batch k is
    /// decoded and augmented with its own SplitMix64 drawn from (seed, k·batch + j). A feeder thread lays out batches
    /// ahead, at most <see cref="PrefetchBatches"/> of them, and <c>workers</c> threads decode and augment their samples
    /// in any order; <see cref="Next"/> hands them out in order.
    /// </summary>
    public sealed class TrainBatchStream : IDisposable
    {
        // Distinct from ShuffledOrder's use of the seed: augmentation draws are not correlated with the data order.
        private const ulong AugmentStream = 0x4155_474D_454E_5421UL;

        private readonly IImageDataset _data;
        private readonly ISampleSource? _source;
        private readonly ImageTransform? _train;
        private readonly ShuffledOrder _order;
        private readonly int _batch;
        private readonly long _seed;
        private readonly int _imageFloats;
        private readonly BlockingCollection<Pending> _ready;
        private readonly BlockingCollection<(Pending Batch, int Position)> _work = new BlockingCollection<(Pending, int)>();
        private readonly ConcurrentBag<float[]> _buffers = new ConcurrentBag<float[]>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly List<Thread> _threads = new List<Thread>();
        private long _next;
        private bool _disposed;

        /// <param name="data">The training split.</param>
        /// <param name="batch">Images per batch.</param>
        /// <param name="seed">The run's seed (data order and augmentation draws).</param>
        /// <param name="firstBatch">Batches already consumed (0 for a new run; the step count for a resumed one).</param>
        /// <param name="augment">Augmentation settings: the ones the dataset was opened with (<see cref="DatasetOptions.Augment"/>).</param>
        /// <param name="workers">Decoding/augmenting worker threads (≥ 1); the stream does not depend on it.</param>
        /// <exception cref="ArgumentException">The settings differ from the dataset's, or ask to augment a dataset
        /// that cannot be read image by image.</exception>
        public TrainBatchStream(IImageDataset data, int batch, long seed, long firstBatch, AugmentSettings augment, int workers)
        {
            _data = data ?? throw new ArgumentNullException(nameof(data));
            if (augment is null) throw new ArgumentNullException(nameof(augment));
            if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch size must be at least 1");
            if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "at least one worker");
            if (firstBatch < 0) throw new ArgumentOutOfRangeException(nameof(firstBatch), firstBatch, "the first batch is 0 or later");
            _source = data as ISampleSource;
            if (_source is not null && _source.Augment != augment)
                throw new ArgumentException($"{data.Name} was opened with other augmentation settings than the stream's; give Datasets.Open " +
                                            "(DatasetOptions.Augment) and TrainBatchStream the same", nameof(augment));
            if (_source is null && augment.Mode == AugmentMode.On)
                throw new ArgumentException($"{data.Name} cannot be augmented: it does not give its images one by one", nameof(augment));
            if (_source is not null && augment.AugmentsTraining(_source.IsImageFolder))
                _train = new ImageTransform(augment, _source.Size, _source.Mean, _source.Std);
            _batch = batch;
            _seed = seed;
            _imageFloats = checked((int)(data.Channels * data.Height * data.Width));
            _order = new ShuffledOrder(data.Count, seed);
            var skip = new int[batch];
            for (long k = 0; k < firstBatch; k++) _order.Fill(skip);
            _next = firstBatch;
            PrefetchBatches = Math.Max(2, workers);
            _ready = new BlockingCollection<Pending>(PrefetchBatches);
            if (_source is null) return;   // not decodable one by one: Next() batches synchronously through IImageDataset.Batch

            var feeder = new Thread(Feed) { IsBackground = true, Name = "TrainBatchStream feeder" };
            _threads.Add(feeder);
            for (var w = 0; w < workers; w++)
                _threads.Add(new Thread(Work) { IsBackground = true, Name = $"TrainBatchStream worker {w}" });
            foreach (var t in _threads) t.Start();
        }

        /// <summary>How many batches are prepared ahead of <see cref="Next"/> at most.</summary>
        public int PrefetchBatches { get; }

        /// <summary>The index of the batch the next <see cref="Next"/> returns.</summary>
        public long NextBatch => _next;

        /// <summary>The next batch: images float32 (N, C, H, W) normalised, labels int64 (N), on the CPU; the caller
        /// disposes both.</summary>
        /// <exception cref="InvalidDataException">An image of the batch could not be decoded (the message names the file).</exception>
        public (Tensor Images, Tensor Labels) Next()
        {
            if (_disposed) throw new ObjectDisposedException(nameof(TrainBatchStream));
            if (_source is null)
            {
                var indices = new int[_batch];
                _order.Fill(indices);
                _next++;
                return _data.Batch(indices);
            }
            var pending = _ready.Take(_stop.Token);
            pending.Done.Wait(_stop.Token);
            if (pending.Error is { } error)
                throw error is InvalidDataException ? new InvalidDataException(error.Message, error)
                    : new InvalidOperationException($"{_data.Name}: preparing batch {pending.Index} failed: {error.Message}", error);
            _next++;
            var images = torch.tensor(pending.Images, new long[] { _batch, _data.Channels, _data.Height, _data.Width });
            var labels = torch.tensor(pending.Labels, new long[] { _batch });
            _buffers.Add(pending.Images);
            return (images, labels);
        }

        private void Feed()
        {
            try
            {
                for (var k = _next; !_stop.IsCancellationRequested; k++)
                {
                    var indices = new int[_batch];
                    _order.Fill(indices);
                    var images = _buffers.TryTake(out var reused) ? reused : new float[(long)_batch * _imageFloats];
                    var pending = new Pending(k, indices, images, _batch);
                    _ready.Add(pending, _stop.Token);   // blocks while PrefetchBatches batches wait: the bound
                    for (var j = 0; j < _batch; j++) _work.Add((pending, j), _stop.Token);
                }
            }
            catch (OperationCanceledException) { }
        }

        private void Work()
        {
            try
            {
                foreach (var (pending, j) in _work.GetConsumingEnumerable(_stop.Token))
                {
                    try
                    {
                        if (pending.Error is null) Prepare(pending, j);
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref pending.Error, e, null);
                    }
                    if (Interlocked.Decrement(ref pending.Remaining) == 0) pending.Done.Set();
                }
            }
            catch (OperationCanceledException) { }
        }

        private void Prepare(Pending pending, int j)
        {
            var destination = pending.Images.AsSpan(j * _imageFloats, _imageFloats);
            var index = pending.Indices[j];
            if (_train is null)
            {
                pending.Labels[j] = _source!.WritePlain(index, destination);
                return;
            }
            var rng = SplitMix64.ForItem((ulong)_seed ^ AugmentStream, (ulong)(pending.Index * _batch + j));
            var (image, label) = _source!.Load(index);
            _train.Train(image, ref rng, destination);
            pending.Labels[j] = label;
        }

        /// <summary>Stops the feeder and the workers and waits for them.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            _stop.Cancel();
            foreach (var t in _threads) t.Join();
            _stop.Dispose();
            _ready.Dispose();
            _work.Dispose();
        }

        private sealed class Pending
        {
            public readonly long Index;
            public readonly int[] Indices;
            public readonly float[] Images;
            public readonly long[] Labels;
            public readonly ManualResetEventSlim Done = new ManualResetEventSlim(false);
            public int Remaining;
            public Exception? Error;

            public Pending(long index, int[] indices, float[] images, int batch)
            {
                Index = index;
                Indices = indices;
                Images = images;
                Labels = new long[batch];
                Remaining = batch;
            }
        }
    }
}
