using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>Training tests seed torch's global generator and compare runs bit for bit, so nothing may draw from
    /// it concurrently.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class TorchRngCollection
    {
        public const string Name = "torch global RNG";
    }

    [Collection(TorchRngCollection.Name)]
    public sealed class TrainingTests
    {
        private static readonly DatasetPair Shapes16 = Datasets.Open("shapes:16:n=256:test=64");

        private static nn.Module<Tensor, Tensor> SmallCnn(int classes) => nn.Sequential(
            nn.Conv2d(3, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding: 1, bias: false), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding: 1, bias: false), nn.BatchNorm2d(32), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, classes));

        private static TrainSettings Settings(int steps = 20, double lr = 0.1, long seed = 11) =>
            TrainSettings.Default with { Steps = steps, Batch = 16, LearningRate = lr, Seed = seed };

        private static readonly TrainRun OneThread = new TrainRun { Threads = 1, LossCurveEvery = 5 };

        [Fact]
        public void SameSeedGivesBitIdenticalRuns()
        {
            var first = Trainer.Run(() => SmallCnn(8), Shapes16, Settings(), OneThread);
            var second = Trainer.Run(() => SmallCnn(8), Shapes16, Settings(), OneThread);
            Assert.Equal(first.LossCurve, second.LossCurve);
            Assert.Equal((first.TrainLoss, first.EvalLoss, first.EvalAccuracy), (second.TrainLoss, second.EvalLoss, second.EvalAccuracy));
            Assert.Equal(new[] { 5, 10, 15, 20 }, first.LossCurve.Select(p => p.Step));
            Assert.Equal(first.LossCurve[^1].Loss, first.TrainLoss);
            Assert.True(first.ImagesPerSecond > 0 && first.Duration > TimeSpan.Zero);

            var otherSeed = Trainer.Run(() => SmallCnn(8), Shapes16, Settings(seed: 12), OneThread);
            Assert.NotEqual(first.LossCurve, otherSeed.LossCurve);
        }

        [Fact]
        public void TheLossFallsWellBelowChanceOnTheShapesSet()
        {
            var data = Datasets.Open("shapes:32:n=4096:test=256");
            var result = Trainer.Run(() => SmallCnn(8), data,
                TrainSettings.Default with { Steps = 150, Batch = 32, Seed = 1 }, new TrainRun { Threads = 1, LossCurveEvery = 10 });
            // Chance is ln 8 = 2.08 and 12.5 %; this run ends near 1.2 and 48 %.
            Assert.True(result.LossCurve[0].Loss > 1.9, string.Join(", ", result.LossCurve));
            Assert.True(result.TrainLoss < 1.6, string.Join(", ", result.LossCurve) + $" acc {result.EvalAccuracy}");
            Assert.True(result.EvalAccuracy > 0.3, $"accuracy {result.EvalAccuracy}");
        }

        [Fact]
        public void EvaluationCountsEveryTestImageOnce()
        {
            // The model's logits are the image's channel means, and its only parameter gets no gradient, so training
            // leaves it unchanged and the evaluation can be computed by hand.
            var data = new DatasetPair(HandMade.Train, HandMade.Test, "hand-made");
            var result = Trainer.Run(() => new ChannelMeans(), data, TrainSettings.Default with { Steps = 3, Batch = 4, LearningRate = 0.5, Seed = 1, EvalBatch = 4 });
            Assert.Equal(0.7, result.EvalAccuracy);
            Assert.Equal(HandMade.ExpectedTestLoss(), result.EvalLoss, 6);
        }

        [Fact]
        public void ProgressIsReportedPerStepAndPerEvaluationBatch()
        {
            var reports = new List<TrainProgress>();
            var data = new DatasetPair(HandMade.Train, HandMade.Test, "hand-made");
            var result = Trainer.Run(() => new ChannelMeans(), data,
                TrainSettings.Default with { Steps = 7, Batch = 4, LearningRate = 0.5, Seed = 1, EvalBatch = 3 }, new TrainRun { LossCurveEvery = 3 }, new ListProgress(reports));
            Assert.Equal(new[] { 1, 2, 3, 4, 5, 6, 7 }, reports.Where(r => r.Phase == "train").Select(r => r.Step));
            Assert.Equal(new[] { 1, 2, 3, 4 }, reports.Where(r => r.Phase == "eval").Select(r => r.Step));
            Assert.All(reports.Where(r => r.Phase == "eval"), r => Assert.Equal(4, r.Steps));
            Assert.Equal(HandMade.ExpectedTestLoss(), reports.Last(r => r.Phase == "eval").Loss, 6);
            var evaluated = Assert.Single(reports, r => r.Phase == "evaluated");
            Assert.Equal((7, 0.7), (evaluated.Step, evaluated.Accuracy!.Value));
            Assert.Equal(HandMade.ExpectedTestLoss(), evaluated.Loss, 6);
            Assert.Equal("evaluated", reports[^1].Phase);   // no folder: nothing saved
            Assert.Equal(new[] { 3, 6, 7 }, result.LossCurve.Select(p => p.Step));
            var trainLosses = reports.Where(r => r.Phase == "train").Select(r => r.Loss).ToArray();
            Assert.Equal(trainLosses.Skip(6).Average(), result.TrainLoss, 12);
            Assert.Equal(trainLosses.Take(3).Average(), result.LossCurve[0].Loss, 12);
        }

        [Fact]
        public void AHugeLearningRateThrowsTrainingDiverged()
        {
            var e = Assert.Throws<TrainingDivergedException>(() => Trainer.Run(() => SmallCnn(8), Shapes16, Settings(steps: 30, lr: 1e6), OneThread));
            Assert.InRange(e.Step, 2, 30);
            Assert.False(double.IsFinite(e.Loss));
            Assert.Equal(Trainer.LearningRateAt(e.Step, 30, Settings(steps: 30, lr: 1e6)), e.LearningRate);
            Assert.StartsWith($"training diverged at step {e.Step} of 30: the loss is ", e.Message);
            Assert.EndsWith(", peak 1E+06); lower the learning rate (--lr), e.g. to 1E+05", e.Message);
        }

        [Fact]
        public void AModelWithTheWrongClassCountIsRejected()
        {
            var e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => SmallCnn(10), Shapes16, Settings(steps: 2), OneThread));
            Assert.Equal("the model returned (16, 10) for a batch of 16 images, but shapes/train has 8 classes, so the output " +
                         "must be (16, 8): set the architecture's `classes` to 8", e.Message);
        }

        [Fact]
        public void ScheduleWarmsUpLinearlyThenFollowsACosine()
        {
            var o = TrainSettings.Default with { LearningRate = 0.4 };   // 101 steps: round(5.05) = 5 warm-up steps, 96 cosine steps
            Assert.Equal(0.08, Trainer.LearningRateAt(1, 101, o), 15);
            Assert.Equal(0.32, Trainer.LearningRateAt(4, 101, o), 15);
            Assert.Equal(0.4, Trainer.LearningRateAt(5, 101, o));
            Assert.Equal(0.4, Trainer.LearningRateAt(6, 101, o));
            Assert.Equal(0.2, Trainer.LearningRateAt(54, 101, o), 15);        // halfway through the cosine
            Assert.Equal(0.4 * 0.5 * (1 + Math.Cos(Math.PI * 95 / 96)), Trainer.LearningRateAt(101, 101, o));
            Assert.Equal(0.4, Trainer.LearningRateAt(1, 101, o with { Warmup = 0 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.LearningRateAt(102, 101, o));
        }

        [Fact]
        public void StepsForEpochsRoundsUp()
        {
            Assert.Equal(625, Trainer.StepsForEpochs(2, 10_000, 32));
            Assert.Equal(4, Trainer.StepsForEpochs(1, 100, 32));
            Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.StepsForEpochs(0, 100, 32));
            Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.StepsForEpochs(1_000_000, 1_000_000, 1));
        }

        [Fact]
        public void InvalidOptionsAndCancellationAreReported()
        {
            var data = new DatasetPair(HandMade.Train, HandMade.Test, "hand-made");
            var small = TrainSettings.Default with { Steps = 1, Batch = 4, Seed = 1 };
            var e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => new ChannelMeans(), data, small with { Steps = 0 }));
            Assert.Equal("steps must be at least 1, not 0 (Parameter 'settings')", e.Message);
            e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => new ChannelMeans(), data, small with { LearningRate = -1 }));
            Assert.Equal("lr must be in (0, 1000000], not -1 (Parameter 'settings')", e.Message);
            e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => new ChannelMeans(), data, small with { Betas = (0.9, 1.0) }));
            Assert.Equal("betas must be in [0, 1), not 1 (Parameter 'settings')", e.Message);
            e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => new ChannelMeans(), data, small with { Epochs = 2 }));
            Assert.Equal("give steps or epochs, not both (steps 1, epochs 2) (Parameter 'settings')", e.Message);
            e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => new ChannelMeans(), data, small, new TrainRun { Workers = 0 }));
            Assert.Equal("workers must be at least 1 (got 0) (Parameter 'run')", e.Message);
            e = Assert.Throws<ArgumentException>(() => Trainer.Run(() => new ChannelMeans(), new DatasetPair(HandMade.Train, Shapes16.Test, "mixed"), small));
            Assert.Equal("hand-made/train (3 classes, 3x2x2) and shapes/test (8 classes, 3x16x16) must have the same classes and image size (Parameter 'data')", e.Message);

            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            Assert.Throws<OperationCanceledException>(() => Trainer.Run(() => new ChannelMeans(), data, small with { Steps = 5 }, cancel: cancelled.Token));
        }

        private sealed class ListProgress : IProgress<TrainProgress>
        {
            private readonly List<TrainProgress> _reports;

            public ListProgress(List<TrainProgress> reports) => _reports = reports;

            public void Report(TrainProgress value) => _reports.Add(value);
        }

        /// <summary>Logits = per-channel means of the image, plus 0 × a parameter (the optimizer needs one).</summary>
        private sealed class ChannelMeans : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter _unused;

            public ChannelMeans() : base(nameof(ChannelMeans))
            {
                _unused = nn.Parameter(torch.zeros(1));
                register_parameter("unused", _unused);
            }

            public override Tensor forward(Tensor input) => input.mean(new long[] { 2, 3 }) + _unused * 0;
        }

        /// <summary>3 classes of 3x2x2 images whose channel c is uniformly <c>Values[i][c]</c>.</summary>
        private sealed class HandMade : IImageDataset
        {
            // Test: the largest channel is the prediction; images 0..9 have labels chosen so that exactly 7 are right.
            private static readonly float[][] TestValues =
            {
                new[] { 2f, 0f, 0f }, new[] { 0f, 1f, 0f }, new[] { 0f, 0f, 3f }, new[] { 1f, 0.5f, 0f }, new[] { 0f, 2f, 1f },
                new[] { 0.2f, 0.1f, 0.9f }, new[] { 1f, 1.5f, 0f }, new[] { 0f, 0f, 0.5f }, new[] { 3f, 2f, 1f }, new[] { 0f, 0.1f, 0f },
            };

            private static readonly long[] TestLabels = { 0, 1, 2, 1, 1, 2, 0, 2, 2, 1 };   // wrong: 3, 6, 8

            public static readonly HandMade Train = new HandMade("hand-made/train",
                Enumerable.Range(0, 12).Select(i => new[] { i % 3 == 0 ? 1f : 0f, i % 3 == 1 ? 1f : 0f, i % 3 == 2 ? 1f : 0f }).ToArray(),
                Enumerable.Range(0, 12).Select(i => (long)(i % 3)).ToArray());

            public static readonly HandMade Test = new HandMade("hand-made/test", TestValues, TestLabels);

            private readonly float[][] _values;
            private readonly long[] _labels;

            private HandMade(string name, float[][] values, long[] labels)
            {
                Name = name;
                _values = values;
                _labels = labels;
            }

            public static double ExpectedTestLoss() => TestValues.Select((v, i) =>
            {
                var logSum = Math.Log(v.Sum(x => Math.Exp(x)));
                return logSum - v[TestLabels[i]];
            }).Average();

            public string Name { get; }

            public int Count => _labels.Length;

            public int Classes => 3;

            public IReadOnlyList<string> ClassNames => new[] { "a", "b", "c" };

            public long Channels => 3;

            public long Height => 2;

            public long Width => 2;

            public (Tensor Images, Tensor Labels) Batch(IReadOnlyList<int> indices)
            {
                var pixels = indices.SelectMany(i => _values[i].SelectMany(v => Enumerable.Repeat(v, 4))).ToArray();
                return (torch.tensor(pixels, new long[] { indices.Count, 3, 2, 2 }), torch.tensor(indices.Select(i => _labels[i]).ToArray(), new long[] { indices.Count }));
            }
        }
    }
}
