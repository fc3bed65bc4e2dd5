using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using TorchSharp;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// The training recipe (optimizers, weight-decay groups, label smoothing, clipping, EMA) against PyTorch 1.13 on the
    /// same weights and data (python/reference_recipe.py), and the run folder: resume reproduces an uninterrupted run bit
    /// for bit, a folder holding a run is not overwritten, a resume with other settings is refused, frozen parts stay put.
    /// </summary>
    [Collection(TorchRngCollection.Name)]
    public sealed class RecipeTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("tw-recipe-").FullName;

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static nn.Module<Tensor, Tensor> Net() =>
            nn.Sequential(nn.Flatten(), nn.Linear(12, 6, hasBias: false), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3));

        /// <summary>12 random 3x2x2 images of 3 classes (fixed seed), as a dataset and as tensors.</summary>
        private sealed class Random12 : IImageDataset
        {
            public Random12()
            {
                var g = new Random(5);
                Images = Enumerable.Range(0, 12 * 12).Select(_ => (float)(g.NextDouble() * 2 - 1)).ToArray();
                Labels = Enumerable.Range(0, 12).Select(i => (long)((i * 7) % 3)).ToArray();
            }

            public float[] Images { get; }

            public long[] Labels { get; }

            public string Name => "random12";

            public int Count => 12;

            public int Classes => 3;

            public IReadOnlyList<string> ClassNames => new[] { "a", "b", "c" };

            public long Channels => 3;

            public long Height => 2;

            public long Width => 2;

            public (Tensor Images, Tensor Labels) Batch(IReadOnlyList<int> indices) =>
                (torch.tensor(indices.SelectMany(i => Images.Skip(i * 12).Take(12)).ToArray(), new long[] { indices.Count, 3, 2, 2 }),
                 torch.tensor(indices.Select(i => Labels[i]).ToArray(), new long[] { indices.Count }));
        }

        public static IEnumerable<object[]> Recipes => new[]
        {
            new object[] { "adamw", TrainSettings.Default with { Optimizer = OptimizerKind.AdamW, LearningRate = 0.01, WeightDecay = 0.05, Betas = (0.8, 0.99), Eps = 1e-7, ClipGrad = 0.5, LabelSmoothing = 0.1, Ema = 0.9 } },
            new object[] { "sgd-nesterov", TrainSettings.Default with { LearningRate = 0.1, Momentum = 0.9, Nesterov = true, WeightDecay = 0.01, LabelSmoothing = 0.2, Ema = 0.5 } },
        };

        /// <summary>Five steps of each optimizer (all options on) give PyTorch's weights and EMA to float32 rounding (the
        /// batch is the whole set in another order, so sums differ in their last bits).</summary>
        [Theory]
        [MemberData(nameof(Recipes))]
        public void Five_steps_match_torch_optim_with_the_same_recipe(string label, TrainSettings recipe)
        {
            var data = new Random12();
            var settings = recipe with { Steps = 5, Batch = 12, Warmup = 0.2, Seed = 3 };
            using var model = Trainer.CreateModel(Net, settings);
            TensorFiles.Save(Path.Combine(_dir, "init.safetensors"), model.state_dict());
            TensorFiles.Save(Path.Combine(_dir, "data.safetensors"), new Dictionary<string, Tensor>
            {
                ["images"] = torch.tensor(data.Images, new long[] { 12, 3, 2, 2 }),
                ["labels"] = torch.tensor(data.Labels),
            });
            File.WriteAllText(Path.Combine(_dir, "case.json"), JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["opt"] = settings.Optimizer == OptimizerKind.AdamW ? "adamw" : "sgd",
                ["lrs"] = Enumerable.Range(1, 5).Select(s => Trainer.LearningRateAt(s, 5, settings)).ToArray(),
                ["weight_decay"] = settings.WeightDecay,
                ["betas"] = new[] { settings.Betas.Beta1, settings.Betas.Beta2 },
                ["eps"] = settings.Eps,
                ["momentum"] = settings.Momentum,
                ["nesterov"] = settings.Nesterov,
                ["label_smoothing"] = settings.LabelSmoothing,
                ["clip_grad"] = settings.ClipGrad,
                ["ema"] = settings.Ema,
            }));
            var (code, output) = PythonReference.RunScript($"reference_recipe.py {_dir}");
            Assert.True(code == 0, output);

            var run = Path.Combine(_dir, "run");
            Trainer.Train(model, new DatasetPair(data, data, "random12"), settings, new TrainRun { Directory = run, Threads = 1 });
            var expected = TensorFiles.Load(Path.Combine(_dir, "expected.safetensors"));
            var ema = TensorFiles.Load(Path.Combine(run, TrainCheckpoint.Ema));
            var initial = TensorFiles.Load(Path.Combine(_dir, "init.safetensors"));
            foreach (var (name, value) in model.state_dict())
            {
                Compare($"{label} model {name}", expected["model/" + name], value);
                Compare($"{label} ema {name}", expected["ema/" + name], ema[name]);
                // Training moved every parameter and statistic (the comparison is not of untouched tensors).
                if (value.is_floating_point()) Assert.False(Same(value, initial[name]), $"{label} {name} did not change");
            }
        }

        private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

        private static void Compare(string what, Tensor want, Tensor got)
        {
            Assert.Equal(want.shape, got.shape);
            if (!want.is_floating_point())
            {
                Assert.True(Same(want, got), what);
                return;
            }
            var diff = (want.to(ScalarType.Float64) - got.to(ScalarType.Float64)).abs().max().item<double>();
            var scale = Math.Max(1, want.abs().max().item<float>());
            Assert.True(diff <= 2e-6 * scale, $"{what}: max |diff| {diff:E2} (scale {scale:G3})");
        }

        [Fact]
        public void Weight_decay_skips_rank_1_parameters_and_position_tables()
        {
            using var w = torch.zeros(4, 4);
            using var b = torch.zeros(4);
            Assert.True(Trainer.IsDecayed("layer1.0.conv1.weight", w));
            Assert.False(Trainer.IsDecayed("layer1.0.bn1.weight", b));
            Assert.False(Trainer.IsDecayed("layer4.0.conv2.rel_pos.height_rel", w));   // BoTNet's relative-position tables (rank 2)
            Assert.False(Trainer.IsDecayed("pos_embed", w));
            Assert.True(Trainer.IsDecayed("head.weight", w));
        }

        [Fact]
        public void Soft_target_cross_entropy_of_smoothed_one_hot_targets_is_label_smoothing()
        {
            using var logits = torch.tensor(new float[] { 2, 0, -1, 0.5f, 0.5f, 3 }, new long[] { 2, 3 });
            using var labels = torch.tensor(new long[] { 0, 1 });
            using var oneHot = nn.functional.one_hot(labels, 3).to(ScalarType.Float32);
            using var smoothed = oneHot * (1 - 0.3) + 0.3 / 3;
            using var soft = Trainer.SoftTargetCrossEntropy(logits, smoothed);
            using var smooth = nn.functional.cross_entropy(logits, labels, label_smoothing: 0.3);
            // PyTorch 1.13: cross_entropy(label_smoothing=0.3) = 1.5359273; without smoothing 1.4109273 (-log p = 0.1698460, 2.6520085).
            Assert.Equal(1.5359273, soft.item<float>(), 6);
            Assert.Equal(smooth.item<float>(), soft.item<float>(), 6);
            using var hard = Trainer.SoftTargetCrossEntropy(logits, oneHot);
            Assert.Equal(1.4109273, hard.item<float>(), 6);
        }

        [Fact]
        public void Eval_cadence_reads_steps_or_epochs()
        {
            Assert.Equal(new Cadence(500, false), Cadence.Parse("500"));
            Assert.Equal(new Cadence(2, true), Cadence.Parse(" 2e "));
            Assert.Equal(625, Cadence.Parse("2e").Steps(10_000, 32));
            Assert.Equal(1, Cadence.Parse("1e").Steps(3, 32));
            var e = Assert.Throws<FormatException>(() => Cadence.Parse("0e"));
            Assert.Equal("'0e' is not a cadence: give a number of steps (e.g. 500) or of epochs (e.g. 1e), at least 1", e.Message);
            Assert.Throws<FormatException>(() => Cadence.Parse("1.5e"));
        }

        private static readonly DatasetPair Shapes = Datasets.Open("shapes:16:n=64:test=32");

        private static nn.Module<Tensor, Tensor> SmallCnn() => nn.Sequential(
            nn.Conv2d(3, 8, 3, padding: 1, bias: false), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding: 1, bias: false), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3), nn.Linear(16, 8));

        /// <summary>A run stopped after a save and resumed ends with exactly the weights, EMA, curves and evaluations of an
        /// uninterrupted run (bit for bit: every step reseeds torch's generator — the dropout draws — from (seed, step),
        /// and Mixup/CutMix draw from (seed, step) too).</summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void A_resumed_run_ends_bit_identical_to_an_uninterrupted_one(bool mix)
        {
            var settings = TrainSettings.Default with { Steps = 12, Batch = 8, Seed = 4, Optimizer = OptimizerKind.AdamW, LearningRate = 3e-3, Ema = 0.8, ClipGrad = 1, LabelSmoothing = 0.1 };
            if (mix) settings = settings with { Mixup = 0.4, Cutmix = 1.0, MixupProb = 0.6 };
            TrainRun Run(string dir) => new TrainRun { Directory = Path.Combine(_dir, dir), Threads = 1, SaveEvery = 5, EvalEvery = new Cadence(4, false), Resume = true };
            var whole = Trainer.Run(SmallCnn, Shapes, settings, Run("whole"));

            using var stop = new CancellationTokenSource();
            var progress = new StopAfter(7, stop);
            Assert.Throws<OperationCanceledException>(() => Trainer.Run(SmallCnn, Shapes, settings, Run("cut"), progress, stop.Token));
            Assert.Equal((5, 12), TrainCheckpoint.Peek(Path.Combine(_dir, "cut")));
            // What a kill in the middle of the next save leaves: half-written temporary files beside the intact state.
            File.WriteAllBytes(Path.Combine(_dir, "cut", TrainCheckpoint.State + ".tmp"), new byte[] { 1, 2, 3 });
            File.WriteAllBytes(Path.Combine(_dir, "cut", TrainCheckpoint.Last + ".tmp"), new byte[] { 8, 0, 0, 0 });
            var resumed = Trainer.Run(SmallCnn, Shapes, settings, Run("cut"));

            Assert.Equal(5, resumed.ResumedFromStep);
            Assert.Equal(whole.LossCurve, resumed.LossCurve);
            Assert.Equal(whole.Evaluations, resumed.Evaluations);
            Assert.Equal(new[] { 4, 8, 12 }, whole.Evaluations.Select(e => e.Step));
            Assert.All(whole.Evaluations, e => Assert.NotNull(e.EmaAccuracy));
            foreach (var file in new[] { TrainCheckpoint.Last, TrainCheckpoint.Ema, TrainCheckpoint.Best, TrainCheckpoint.LogCsv })
                Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "whole", file)), File.ReadAllBytes(Path.Combine(_dir, "cut", file)));
            Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "cut"), "*.tmp"));   // replaced by the saves that followed
            if (!mix) return;

            // The mixing is real: with mixup_prob 0.6, seed 4's draws mix 9 of the 12 batches, steps 3, 9 and 10 not
            // (4 by Mixup, 5 by CutMix; λ < 1 each). The same
            // run without mixing trains on the same batches: its losses equal the mixing run's (soft targets with the
            // smoothing folded in = cross-entropy with label smoothing) up to the first mixed batch, and differ from it on.
            var draws = Enumerable.Range(1, 12).Select(step => MixupCutmix.Draw(settings, 16, 16, settings.Seed, step)).ToList();
            Assert.Equal(new[] { 3, 9, 10 }, Enumerable.Range(1, 12).Where(step => draws[step - 1].Lambda == 1));
            Assert.Equal((4, 5), (draws.Count(d => d.Lambda < 1 && !d.Cutmix), draws.Count(d => d.Lambda < 1 && d.Cutmix)));
            var plain = Trainer.Run(SmallCnn, Shapes, settings with { Mixup = 0, Cutmix = 0 }, Run("plain"));
            var first = draws.FindIndex(d => d.Lambda < 1);
            for (var i = 0; i < 12; i++)
            {
                var (mixed, unmixed) = (whole.LossCurve[i].Loss, plain.LossCurve[i].Loss);
                Assert.True(i < first ? Math.Abs(mixed - unmixed) <= 1e-6 : Math.Abs(mixed - unmixed) > 1e-4,
                    $"step {i + 1} (first mixed: {first + 1}): loss {mixed} with mixing, {unmixed} without");
            }
        }

        private sealed class StopAfter : IProgress<TrainProgress>
        {
            private readonly int _step;
            private readonly CancellationTokenSource _stop;

            public StopAfter(int step, CancellationTokenSource stop) => (_step, _stop) = (step, stop);

            public void Report(TrainProgress value)
            {
                if (value.Phase == "train" && value.Step == _step) _stop.Cancel();
            }
        }

        [Fact]
        public void A_folder_holding_a_run_is_not_overwritten_and_a_resume_needs_the_same_settings()
        {
            var settings = TrainSettings.Default with { Steps = 2, Batch = 8, Seed = 1 };
            var dir = Path.Combine(_dir, "run");
            Trainer.Run(SmallCnn, Shapes, settings, new TrainRun { Directory = dir, Threads = 1 });
            var e = Assert.Throws<TrainStateException>(() => Trainer.Run(SmallCnn, Shapes, settings, new TrainRun { Directory = dir, Threads = 1 }));
            Assert.Equal($"{dir} holds the state of a run (step 2 of 2); pass --resume to continue it, or train into another folder", e.Message);
            e = Assert.Throws<TrainStateException>(() => Trainer.Run(SmallCnn, Shapes, settings with { LearningRate = 0.05, Steps = 3 },
                new TrainRun { Directory = dir, Threads = 1, Resume = true }));
            Assert.Equal($"{dir} holds a run made with other settings (saved vs now: steps 2 vs 3; lr 0.1 vs 0.05); resume with the saved ones, or train into another folder", e.Message);
        }

        [Fact]
        public void Frozen_parameters_and_their_batchnorm_statistics_do_not_change()
        {
            using var model = Trainer.CreateModel(SmallCnn, TrainSettings.Default with { Seed = 2 });
            var frozen = new[] { "0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked" };
            foreach (var p in model.named_parameters().Where(p => p.name.StartsWith("0.") || p.name.StartsWith("1."))) p.parameter.requires_grad = false;
            var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
            Trainer.Train(model, Shapes, TrainSettings.Default with { Steps = 3, Batch = 8 }, new TrainRun { Threads = 1 });
            var after = model.state_dict();
            foreach (var name in frozen) Assert.True(Same(before[name], after[name]), name + " changed");
            Assert.False(Same(before["4.weight"], after["4.weight"]));
            Assert.False(Same(before["5.running_mean"], after["5.running_mean"]));
        }
    }
}
