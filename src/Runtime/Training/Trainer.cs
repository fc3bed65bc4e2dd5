using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using TorchSharp;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Measurement;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// Trains one classifier from a fixed seed with SGD (momentum, weight decay, linear warm-up then cosine decay) and
    /// cross-entropy, then evaluates it on the whole test split.
    /// </summary>
    public static class Trainer
    {
        /// <summary>
        /// Seeds torch with <see cref="TrainOptions.Seed"/>, creates the model (so every model built for the same seed
        /// starts from the same initialisation stream), trains <see cref="TrainOptions.Steps"/> steps on
        /// <see cref="DatasetPair.Train"/> in a seed-determined order, and evaluates on <see cref="DatasetPair.Test"/> in
        /// eval mode without gradients. The model is disposed at the end. Every step's tensors live in their own dispose
        /// scope, so memory stays flat over any number of steps.
        /// </summary>
        /// <exception cref="TrainingDivergedException">A training loss was NaN or infinite.</exception>
        /// <exception cref="ArgumentException">Invalid options, mismatched splits, or a model whose output is not
        /// (N, classes).</exception>
        public static TrainResult Run(Func<nn.Module<Tensor, Tensor>> createModel, DatasetPair data, TrainOptions options,
            IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
        {
            if (createModel is null) throw new ArgumentNullException(nameof(createModel));
            Validate(data, options);
            var previousThreads = torch.get_num_threads();
            if (options.Threads is int threads) torch.set_num_threads(threads);
            try
            {
                return RunSeeded(createModel, data, options, progress, cancel);
            }
            finally
            {
                if (options.Threads is not null) torch.set_num_threads(previousThreads);
            }
        }

        /// <summary>Steps that cover <paramref name="epochs"/> passes over <paramref name="trainCount"/> images in
        /// batches of <paramref name="batch"/> (the last batch completed from the next pass).</summary>
        public static int StepsForEpochs(int epochs, int trainCount, int batch)
        {
            if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "epochs must be at least 1");
            if (trainCount < 1) throw new ArgumentOutOfRangeException(nameof(trainCount), trainCount, "the training split has no images");
            if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch size must be at least 1");
            var steps = ((long)epochs * trainCount + batch - 1) / batch;
            if (steps > int.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"{epochs} epochs of {trainCount} images in batches of {batch} is more than {int.MaxValue} steps");
            return (int)steps;
        }

        /// <summary>The learning rate at 1-based <paramref name="step"/>: a linear ramp over the warm-up steps
        /// (LearningRate·step/W), then a cosine from LearningRate down towards 0 over the remaining steps.</summary>
        public static double LearningRateAt(int step, TrainOptions options)
        {
            if (options is null) throw new ArgumentNullException(nameof(options));
            if (step < 1 || step > options.Steps)
                throw new ArgumentOutOfRangeException(nameof(step), step, $"steps run from 1 to {options.Steps}");
            var warmup = WarmupSteps(options);
            if (step <= warmup) return options.LearningRate * step / warmup;
            var progress = (double)(step - warmup - 1) / (options.Steps - warmup);
            return options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
        }

        private static int WarmupSteps(TrainOptions options) =>
            Math.Min(options.Steps - 1, (int)Math.Round(options.Steps * options.WarmupFraction, MidpointRounding.AwayFromZero));

        private static TrainResult RunSeeded(Func<nn.Module<Tensor, Tensor>> createModel, DatasetPair data, TrainOptions options,
            IProgress<TrainProgress>? progress, CancellationToken cancel)
        {
            var clock = Stopwatch.StartNew();
            PeakMemory.Reset();
            torch.manual_seed(options.Seed);
            nn.Module<Tensor, Tensor> built;
            // Every TorchSharp call runs under a FinalizerPause (TorchSharp 0.107.0's implicit Scalars: see there).
            using (FinalizerPause.Begin())
            {
                built = createModel() ?? throw new ArgumentException("createModel returned null", nameof(createModel));
                if (options.ZeroInitResidual) Init.ZeroResidualBranches(built);
                built.to(options.Device);
            }
            using var model = built;

            // Two optimizers rather than parameter groups: the same SGD update, weight decay only where it belongs.
            var trainable = model.parameters().Where(p => p.requires_grad).ToList();
            var optimizers = new List<optim.Optimizer>();
            var decayed = trainable.Where(p => p.dim() >= 2).ToList();
            var undecayed = trainable.Where(p => p.dim() < 2).ToList();
            if (decayed.Count > 0) optimizers.Add(optim.SGD(decayed, options.LearningRate, options.Momentum, weight_decay: options.WeightDecay));
            if (undecayed.Count > 0) optimizers.Add(optim.SGD(undecayed, options.LearningRate, options.Momentum));
            if (optimizers.Count == 0) throw new ArgumentException("the model has no trainable parameters", nameof(createModel));
            try
            {
                var (curve, imagesPerSecond) = Train(model, optimizers, data, options, progress, cancel);
                var (evalLoss, evalAccuracy) = Evaluate(model, data, options, progress, cancel);
                return new TrainResult(curve, curve[^1].Loss, evalLoss, evalAccuracy, imagesPerSecond, PeakMemory.PeakBytes(), clock.Elapsed);
            }
            finally
            {
                foreach (var optimizer in optimizers) optimizer.Dispose();
            }
        }

        private static (List<LossPoint> Curve, double ImagesPerSecond) Train(nn.Module<Tensor, Tensor> model, List<optim.Optimizer> optimizers,
            DatasetPair data, TrainOptions options, IProgress<TrainProgress>? progress, CancellationToken cancel)
        {
            model.train();
            var order = new ShuffledOrder(data.Train.Count, options.Seed);
            var indices = new int[options.Batch];
            var curve = new List<LossPoint>();
            double windowSum = 0;
            var windowSteps = 0;
            var stepClock = Stopwatch.StartNew();
            var sinceFirst = new Stopwatch();
            var imagesPerSecond = 0.0;
            for (var step = 1; step <= options.Steps; step++)
            {
                cancel.ThrowIfCancellationRequested();
                order.Fill(indices);
                var learningRate = LearningRateAt(step, options);
                foreach (var optimizer in optimizers)
                    foreach (var group in optimizer.ParamGroups)
                        group.LearningRate = learningRate;

                double loss;
                using (FinalizerPause.Begin())
                using (torch.NewDisposeScope())
                {
                    var (images, labels) = data.Train.Batch(indices);
                    var logits = model.call(images.to(options.Device));
                    if (step == 1) CheckOutput(logits, options.Batch, data.Train);
                    var lossTensor = nn.functional.cross_entropy(logits, labels.to(options.Device));
                    loss = lossTensor.ToDouble();
                    if (!double.IsFinite(loss)) throw new TrainingDivergedException(step, options.Steps, loss, learningRate, options.LearningRate);
                    foreach (var optimizer in optimizers) optimizer.zero_grad();
                    lossTensor.backward();
                    foreach (var optimizer in optimizers) optimizer.step();
                }

                // Throughput excludes step 1 (allocator warm-up, kernel selection) unless it is the only step.
                if (step == 1)
                {
                    imagesPerSecond = options.Batch / stepClock.Elapsed.TotalSeconds;
                    sinceFirst.Start();
                }
                else
                {
                    imagesPerSecond = (double)(step - 1) * options.Batch / sinceFirst.Elapsed.TotalSeconds;
                }

                windowSum += loss;
                windowSteps++;
                if (windowSteps == options.LossCurveEvery || step == options.Steps)
                {
                    curve.Add(new LossPoint(step, windowSum / windowSteps));
                    windowSum = 0;
                    windowSteps = 0;
                }
                progress?.Report(new TrainProgress(step, options.Steps, loss, imagesPerSecond, "train"));
            }
            return (curve, imagesPerSecond);
        }

        private static (double Loss, double Accuracy) Evaluate(nn.Module<Tensor, Tensor> model, DatasetPair data, TrainOptions options,
            IProgress<TrainProgress>? progress, CancellationToken cancel)
        {
            model.eval();
            var test = data.Test;
            var batches = (test.Count + options.EvalBatch - 1) / options.EvalBatch;
            double lossSum = 0;
            long correct = 0;
            var seen = 0;
            var clock = Stopwatch.StartNew();
            using var noGrad = torch.no_grad();
            for (var b = 0; b < batches; b++)
            {
                cancel.ThrowIfCancellationRequested();
                var first = b * options.EvalBatch;
                var indices = Enumerable.Range(first, Math.Min(options.EvalBatch, test.Count - first)).ToArray();
                using (FinalizerPause.Begin())
                using (torch.NewDisposeScope())
                {
                    var (images, labels) = test.Batch(indices);
                    labels = labels.to(options.Device);
                    var logits = model.call(images.to(options.Device));
                    if (b == 0) CheckOutput(logits, indices.Length, test);
                    lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
                    correct += logits.argmax(1).eq(labels).sum().ToInt64();
                }
                seen += indices.Length;
                progress?.Report(new TrainProgress(b + 1, batches, lossSum / seen, seen / clock.Elapsed.TotalSeconds, "eval"));
            }
            return (lossSum / test.Count, (double)correct / test.Count);
        }

        private static void CheckOutput(Tensor logits, int batch, IImageDataset dataset)
        {
            var shape = logits.shape;
            if (shape.Length == 2 && shape[0] == batch && shape[1] == dataset.Classes) return;
            var actual = "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";
            throw new ArgumentException(
                $"the model returned {actual} for a batch of {batch} images, but {dataset.Name} has {dataset.Classes} classes, " +
                $"so the output must be ({batch}, {dataset.Classes}): set the architecture's `classes` to {dataset.Classes}");
        }

        private static void Validate(DatasetPair data, TrainOptions options)
        {
            if (data is null) throw new ArgumentNullException(nameof(data));
            if (options is null) throw new ArgumentNullException(nameof(options));
            static void Require(bool ok, string message)
            {
                if (!ok) throw new ArgumentException(message, nameof(options));
            }
            var o = options;
            Require(o.Steps >= 1, $"steps must be at least 1 (got {o.Steps})");
            Require(o.Batch >= 1, $"the batch size must be at least 1 (got {o.Batch})");
            Require(o.LearningRate > 0 && double.IsFinite(o.LearningRate), $"the learning rate must be a positive number (got {o.LearningRate})");
            Require(o.Momentum >= 0 && o.Momentum < 1, $"momentum must be in [0, 1) (got {o.Momentum})");
            Require(o.WeightDecay >= 0 && double.IsFinite(o.WeightDecay), $"weight decay must be zero or positive (got {o.WeightDecay})");
            Require(o.WarmupFraction >= 0 && o.WarmupFraction < 1, $"the warm-up fraction must be in [0, 1) (got {o.WarmupFraction})");
            Require(o.EvalBatch >= 1, $"the evaluation batch size must be at least 1 (got {o.EvalBatch})");
            Require(o.LossCurveEvery >= 1, $"the loss curve window must be at least 1 step (got {o.LossCurveEvery})");
            Require(o.Threads is null || o.Threads >= 1, $"threads must be at least 1 (got {o.Threads})");
            Require(o.Device is not null, "a device is required (cpu or cuda)");
            var unavailable = Devices.WhyUnavailable(o.Device!);
            Require(unavailable is null, unavailable ?? "");

            var (train, test) = (data.Train, data.Test);
            if (train.Count < 1) throw new ArgumentException($"{train.Name} has no images", nameof(data));
            if (test.Count < 1) throw new ArgumentException($"{test.Name} has no images", nameof(data));
            if (train.Classes != test.Classes || train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width)
                throw new ArgumentException(
                    $"{train.Name} ({train.Classes} classes, {train.Channels}x{train.Height}x{train.Width}) and {test.Name} " +
                    $"({test.Classes} classes, {test.Channels}x{test.Height}x{test.Width}) must have the same classes and image size", nameof(data));
        }
    }
}
