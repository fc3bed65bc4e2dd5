using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Measurement;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// Trains one classifier with the recipe of <see cref="TrainSettings"/> — SGD (momentum, Nesterov) or AdamW, weight
    /// decay on weights of rank ≥ 2 only, linear warm-up then cosine decay, label smoothing, global-norm gradient clipping,
    /// Mixup/CutMix (<see cref="MixupCutmix"/>), a weight EMA — evaluates it (and the EMA) on the whole test split, and, given a folder
    /// (<see cref="TrainRun.Directory"/>), saves weights, a resumable state and the curves (<see cref="TrainCheckpoint"/>).
    /// Every step is a pure function of the state before it and (seed, step): the batch comes from
    /// <see cref="TrainBatchStream"/> at that index and torch's generator is reseeded from (seed, step) before the
    /// forward pass (dropout, drop-path draws), so a resumed run computes exactly what an uninterrupted one does.
    /// </summary>
    public static class Trainer
    {
        /// <summary>
        /// Creates the model from <see cref="TrainSettings.Seed"/> (<see cref="CreateModel"/>), trains and evaluates it
        /// (<see cref="Train"/>) and disposes it. Sweeps train this way: every model built for the same seed starts from
        /// the same initialisation stream.
        /// </summary>
        /// <exception cref="TrainingDivergedException">A training loss was NaN or infinite.</exception>
        /// <exception cref="ArgumentException">Invalid settings, mismatched splits, or a model whose output is not
        /// (N, classes).</exception>
        public static TrainResult Run(Func<nn.Module<Tensor, Tensor>> createModel, DatasetPair data, TrainSettings settings,
            TrainRun? run = null, IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
        {
            if (createModel is null) throw new ArgumentNullException(nameof(createModel));
            run ??= TrainRun.Default;
            Validate(data, settings, run);
            using var threads = ThreadsScope.Set(run.Threads);
            using var model = CreateModel(createModel, settings);
            return Train(model, data, settings, run, progress, cancel);
        }

        /// <summary>Seeds torch with <see cref="TrainSettings.Seed"/>, creates the model and, with
        /// <see cref="TrainSettings.ZeroInitResidual"/>, zeroes the last BatchNorm scale of every residual branch
        /// (<see cref="Init.ZeroResidualBranches"/>).</summary>
        public static nn.Module<Tensor, Tensor> CreateModel(Func<nn.Module<Tensor, Tensor>> createModel, TrainSettings settings)
        {
            if (createModel is null) throw new ArgumentNullException(nameof(createModel));
            if (settings is null) throw new ArgumentNullException(nameof(settings));
            torch.manual_seed(settings.Seed);
            // Every TorchSharp call runs under a FinalizerPause (TorchSharp 0.107.0's implicit Scalars: see there).
            using (FinalizerPause.Begin())
            {
                var built = createModel() ?? throw new ArgumentException("createModel returned null", nameof(createModel));
                if (settings.ZeroInitResidual) Init.ZeroResidualBranches(built);
                return built;
            }
        }

        /// <summary>
        /// Trains <paramref name="model"/> in place (moved to <see cref="TrainRun.Device"/>) and evaluates it after the
        /// last step; the caller keeps (and disposes) it, trained, in eval mode. Parameters with
        /// <c>requires_grad = false</c> are not trained, and a BatchNorm whose parameters are all frozen stays in eval mode
        /// (fine-tuning with frozen stages). With <see cref="TrainRun.Resume"/> the model's weights are replaced by the
        /// saved state's. Every step's tensors live in their own dispose scope, so memory stays flat over any number of steps.
        /// </summary>
        /// <exception cref="TrainingDivergedException">A training loss was NaN or infinite.</exception>
        /// <exception cref="TrainStateException">The run folder holds another run's state, or one made with other settings.</exception>
        /// <exception cref="ArgumentException">Invalid settings, mismatched splits, or a model whose output is not (N, classes).</exception>
        public static TrainResult Train(nn.Module<Tensor, Tensor> model, DatasetPair data, TrainSettings settings,
            TrainRun? run = null, IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
        {
            if (model is null) throw new ArgumentNullException(nameof(model));
            run ??= TrainRun.Default;
            Validate(data, settings, run);
            using var threads = ThreadsScope.Set(run.Threads);
            return new Session(model, data, settings, run, progress, cancel).Run();
        }

        /// <summary>The run's optimizer steps: <see cref="TrainSettings.Steps"/>, or <see cref="TrainSettings.Epochs"/>
        /// passes over <paramref name="trainCount"/> images, or <see cref="TrainSettings.DefaultSteps"/>.</summary>
        public static int StepsOf(TrainSettings settings, int trainCount)
        {
            if (settings is null) throw new ArgumentNullException(nameof(settings));
            if (settings.Steps is int steps) return steps;
            return settings.Epochs is int epochs ? StepsForEpochs(epochs, trainCount, settings.Batch) : TrainSettings.DefaultSteps;
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

        /// <summary>The learning rate at 1-based <paramref name="step"/> of <paramref name="steps"/>: a linear ramp over
        /// the W warm-up steps (lr·step/W), then a cosine from lr down towards 0 over the remaining steps.</summary>
        public static double LearningRateAt(int step, int steps, TrainSettings settings)
        {
            if (settings is null) throw new ArgumentNullException(nameof(settings));
            if (step < 1 || step > steps)
                throw new ArgumentOutOfRangeException(nameof(step), step, $"steps run from 1 to {steps}");
            var warmup = Math.Min(steps - 1, (int)Math.Round(steps * settings.Warmup, MidpointRounding.AwayFromZero));
            if (step <= warmup) return settings.LearningRate * step / warmup;
            var progress = (double)(step - warmup - 1) / (steps - warmup);
            return settings.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * progress));
        }

        /// <summary>True for the parameters that weight decay applies to: rank ≥ 2 and not a position table
        /// (<c>rel_pos</c>/<c>pos_embed</c> in the name) — norms, biases, layer scales and position tables are not decayed,
        /// as timm's <c>param_groups_weight_decay</c> with the models' <c>no_weight_decay</c> lists.</summary>
        public static bool IsDecayed(string name, Tensor parameter)
        {
            if (parameter.dim() < 2) return false;
            foreach (var part in name.Split('.'))
                if (part is "rel_pos" or "pos_embed" or "pos_embed_table" or "relative_position_bias_table") return false;
            return true;
        }

        /// <summary>
        /// timm's SoftTargetCrossEntropy: the mean over the batch of −Σ targets·log_softmax(logits) (Mixup/CutMix targets,
        /// each row a distribution over the classes).
        /// </summary>
        public static Tensor SoftTargetCrossEntropy(Tensor logits, Tensor targets)
        {
            using var scope = torch.NewDisposeScope();
            return (-targets * nn.functional.log_softmax(logits, 1)).sum(1).mean().MoveToOuterDisposeScope();
        }

        /// <summary>
        /// Mixup/CutMix of one training batch (<see cref="MixupCutmix.Apply"/>, timm's Mixup in batch mode, drawn from
        /// (seed, step)): the mixed images and their label-smoothed soft targets. Null when the settings do not mix, so
        /// such runs train on hard labels with <c>cross_entropy</c>'s own label smoothing.
        /// </summary>
        private static (Tensor Images, Tensor Targets)? Mix(Tensor images, Tensor labels, int classes, TrainSettings settings, int step) =>
            MixupCutmix.Enabled(settings) ? MixupCutmix.Apply(images, labels, classes, settings, settings.Seed, step) : null;

        /// <summary>One run: its model, optimizers, EMA, stream, counters and files.</summary>
        private sealed class Session
        {
            private readonly nn.Module<Tensor, Tensor> _model;
            private readonly DatasetPair _data;
            private readonly TrainSettings _s;
            private readonly TrainRun _run;
            private readonly IProgress<TrainProgress>? _progress;
            private readonly CancellationToken _cancel;
            private readonly int _steps;
            private readonly int _lossEvery;
            private readonly int? _evalEvery;
            private readonly HashSet<int> _evalAt;
            private bool _stopped;
            private readonly string _architecture;
            private readonly TrainCheckpoint.StateInfo _info;
            private readonly List<Parameter> _trainable;
            private readonly List<BatchNorm> _frozenNorms;
            private readonly DynamicLossScaler? _scaler;

            public Session(nn.Module<Tensor, Tensor> model, DatasetPair data, TrainSettings settings, TrainRun run,
                IProgress<TrainProgress>? progress, CancellationToken cancel)
            {
                _model = model;
                _data = data;
                _s = settings;
                _run = run;
                _progress = progress;
                _cancel = cancel;
                _steps = StepsOf(settings, data.Train.Count);
                _lossEvery = run.LossCurveEvery ?? Math.Max(1, (_steps + 199) / 200);
                _evalEvery = run.EvalEvery?.Steps(data.Train.Count, settings.Batch);
                _evalAt = new HashSet<int>(run.EvalAt ?? Array.Empty<int>());
                _architecture = model.GetName();
                _info = new TrainCheckpoint.StateInfo
                {
                    Steps = _steps,
                    Settings = settings.ToPairs().ToDictionary(p => p.Key, p => p.Value),
                    Identity = run.Identity?.ToDictionary(p => p.Key, p => p.Value) ?? new Dictionary<string, string>(),
                };
                _trainable = model.parameters().Where(p => p.requires_grad).ToList();
                if (_trainable.Count == 0) throw new ArgumentException("the model has no trainable parameters", nameof(model));
                _scaler = settings.Precision == Precision.Fp16Mixed ? new DynamicLossScaler() : null;
                _frozenNorms = Freezing.FrozenNorms(model).ToList();
            }

            public TrainResult Run()
            {
                var clock = Stopwatch.StartNew();
                PeakMemory.Reset();
                using (FinalizerPause.Begin()) _model.to(_run.Device);
                var statePath = _run.Directory is null ? null : Path.Combine(_run.Directory, TrainCheckpoint.State);
                TrainCheckpoint.StateInfo? saved = null;
                if (statePath != null && File.Exists(statePath))
                {
                    saved = TrainCheckpoint.ReadState(statePath);
                    if (!_run.Resume)
                        throw new TrainStateException(
                            $"{_run.Directory} holds the state of a run (step {saved.Step} of {saved.Steps}); pass --resume to continue it, or train into another folder");
                    CheckSameRun(saved, statePath);
                }

                var optimizers = CreateOptimizers();
                using var ema = _s.Ema > 0 ? new WeightEma(_model, _s.Ema) : null;
                TensorBoardLog? board = null;
                try
                {
                    if (saved != null)
                    {
                        using (FinalizerPause.Begin()) TrainCheckpoint.Restore(statePath!, _model, ema, optimizers, saved);
                        _info.Step = saved.Step;
                        _info.BestAccuracy = saved.BestAccuracy;
                        _info.BestStep = saved.BestStep;
                        _info.BestEmaAccuracy = saved.BestEmaAccuracy;
                        _info.WindowSum = saved.WindowSum;
                        _info.WindowSteps = saved.WindowSteps;
                        _info.Train = saved.Train;
                        _info.Eval = saved.Eval;
                    }
                    var resumedFrom = _info.Step;
                    if (_run.TensorBoard != null) board = new TensorBoardLog(_run.TensorBoard);
                    var imagesPerSecond = TrainSteps(optimizers, ema, board);
                    // The final evaluation (unless the last step's cadence already made it).
                    if (!_stopped && (_info.Eval.Count == 0 || _info.Eval[^1].Step != _steps)) EvaluateAndSave(optimizers, ema, board);
                    _model.eval();
                    var last = _info.Eval[^1];
                    var curve = _info.Train.Select(r => new LossPoint(r.Step, r.Loss)).ToList();
                    // A run stopped early may not have closed its first loss window yet (the window stays open in its
                    // state, so the continued run's curve is the uninterrupted one): its train loss is the open window's.
                    var trainLoss = curve.Count > 0 ? curve[^1].Loss : _info.WindowSum / _info.WindowSteps;
                    return new TrainResult(curve, trainLoss, last.Loss, last.Accuracy, imagesPerSecond, PeakMemory.PeakBytes(), clock.Elapsed)
                    {
                        Evaluations = Evaluations(),
                        Steps = _steps,
                        ResumedFromStep = resumedFrom,
                        StoppedAt = _stopped ? last.Step : null,
                        BestAccuracy = _info.BestAccuracy,
                        BestStep = _info.BestStep,
                    };
                }
                finally
                {
                    foreach (var optimizer in optimizers) optimizer.Dispose();
                }
            }

            /// <summary>A resume must continue the same computation: the same settings and the same identity.</summary>
            private void CheckSameRun(TrainCheckpoint.StateInfo saved, string statePath)
            {
                var differences = new List<string>();
                foreach (var (k, v) in _info.Settings)
                    if (saved.Settings.TryGetValue(k, out var old) && old != v) differences.Add($"{k} {old} vs {v}");
                    // A setting newer than the saved run (e.g. precision) was at its default there, the only value it had.
                    else if (!saved.Settings.ContainsKey(k) && v != TrainSettings.Find(k)?.Read(TrainSettings.Default)) differences.Add($"{k} (not in the saved run) vs {v}");
                foreach (var (k, v) in _info.Identity)
                    if (!saved.Identity.TryGetValue(k, out var old) || old != v) differences.Add($"{k} {old ?? "(none)"} vs {v}");
                // Epochs of a dataset of another size: the same settings, other steps.
                if (differences.Count == 0 && saved.Steps != _steps) differences.Add($"{saved.Steps} steps vs {_steps}");
                if (differences.Count > 0)
                    throw new TrainStateException(
                        $"{_run.Directory} holds a run made with other settings (saved vs now: {string.Join("; ", differences)}); resume with the saved ones, or train into another folder");
            }

            /// <summary>Two optimizers rather than parameter groups: the same update, weight decay only where it belongs.</summary>
            private List<TorchSharp.Modules.OptimizerHelper> CreateOptimizers()
            {
                var named = _model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
                var decayed = named.Where(p => IsDecayed(p.name, p.parameter)).Select(p => p.parameter).ToList();
                var undecayed = named.Where(p => !IsDecayed(p.name, p.parameter)).Select(p => p.parameter).ToList();
                var list = new List<TorchSharp.Modules.OptimizerHelper>();
                foreach (var (group, decay) in new[] { (decayed, _s.WeightDecay), (undecayed, 0.0) })
                {
                    if (group.Count == 0) continue;
                    list.Add(_s.Optimizer == OptimizerKind.AdamW
                        ? optim.AdamW(group, _s.LearningRate, _s.Betas.Beta1, _s.Betas.Beta2, _s.Eps, weight_decay: decay)
                        : optim.SGD(group, _s.LearningRate, _s.Momentum, weight_decay: decay, nesterov: _s.Nesterov));
                }
                return list;
            }

            private void SetTrainMode()
            {
                _model.train();
                foreach (var norm in _frozenNorms) norm.eval();
            }

            private double TrainSteps(List<TorchSharp.Modules.OptimizerHelper> optimizers, WeightEma? ema, TensorBoardLog? board)
            {
                SetTrainMode();
                var first = _info.Step;
                using var stream = new TrainBatchStream(_data.Train, _s.Batch, _s.Seed, first, _s.Augment, _run.Workers);
                var sinceFirst = new Stopwatch();
                var stepClock = Stopwatch.StartNew();
                var sinceSave = Stopwatch.StartNew();
                var imagesPerSecond = 0.0;
                var classes = _data.Train.Classes;
                for (var step = first + 1; step <= _steps; step++)
                {
                    _cancel.ThrowIfCancellationRequested();
                    var learningRate = LearningRateAt(step, _steps, _s);
                    foreach (var optimizer in optimizers)
                        foreach (var group in optimizer.ParamGroups)
                            group.LearningRate = learningRate;

                    double loss;
                    using (FinalizerPause.Begin())
                    using (torch.NewDisposeScope())
                    {
                        var (images, labels) = stream.Next();
                        torch.manual_seed(StepSeed(_s.Seed, step));
                        var mixed = Mix(images, labels, classes, _s, step);
                        var logits = Forward((mixed?.Images ?? images).to(_run.Device));
                        if (step == first + 1) CheckOutput(logits, _s.Batch, _data.Train);
                        var lossTensor = mixed is { } m
                            ? SoftTargetCrossEntropy(logits, m.Targets.to(_run.Device))
                            : nn.functional.cross_entropy(logits, labels.to(_run.Device), label_smoothing: _s.LabelSmoothing);
                        loss = lossTensor.ToDouble();
                        if (!double.IsFinite(loss)) throw new TrainingDivergedException(step, _steps, loss, learningRate, _s.LearningRate);
                        Gradients.Clear(_trainable);
                        (_scaler is null ? lossTensor : _scaler.ScaleLoss(lossTensor)).backward();
                        // fp16-mixed: gradients back to their true size; a step with inf/NaN gradients is skipped.
                        var finite = _scaler?.Unscale(_trainable) ?? true;
                        _scaler?.Update(finite);
                        if (finite)
                        {
                            if (_s.ClipGrad > 0) nn.utils.clip_grad_norm_(_trainable, _s.ClipGrad);
                            foreach (var optimizer in optimizers) optimizer.step();
                            ema?.Update();
                        }
                    }

                    // Throughput excludes this process's first step (allocator warm-up, kernel selection) unless it is the only one.
                    if (step == first + 1)
                    {
                        imagesPerSecond = _s.Batch / stepClock.Elapsed.TotalSeconds;
                        sinceFirst.Start();
                    }
                    else
                    {
                        imagesPerSecond = (double)(step - first - 1) * _s.Batch / sinceFirst.Elapsed.TotalSeconds;
                    }

                    _info.Step = step;
                    _info.WindowSum += loss;
                    _info.WindowSteps++;
                    if (_info.WindowSteps == _lossEvery || step == _steps)
                    {
                        var mean = _info.WindowSum / _info.WindowSteps;
                        _info.Train.Add(new TrainCheckpoint.TrainRow { Step = step, Loss = mean, LearningRate = learningRate });
                        board?.Scalar("train/loss", mean, step);
                        board?.Scalar("train/lr", learningRate, step);
                        _info.WindowSum = 0;
                        _info.WindowSteps = 0;
                    }
                    _progress?.Report(new TrainProgress(step, _steps, loss, imagesPerSecond, "train"));

                    if ((_evalEvery is int every && step % every == 0) || _evalAt.Contains(step))
                    {
                        EvaluateAndSave(optimizers, ema, board);
                        sinceSave.Restart();
                        SetTrainMode();
                        if (step < _steps && _run.StopAfterEvaluation is { } stop && stop(Evaluations()))
                        {
                            _stopped = true;
                            break;
                        }
                    }
                    else if (_run.Directory != null && step < _steps
                        && ((_run.SaveEvery is int n && step % n == 0) || (_run.SaveEvery is null && sinceSave.Elapsed >= _run.SaveInterval)))
                    {
                        Save(optimizers, ema, best: false, bestEma: false);
                        sinceSave.Restart();
                    }
                }
                return imagesPerSecond;
            }

            /// <summary>The model's forward in the run's precision (<see cref="MixedPrecision"/>), its logits in fp32 so
            /// that the loss and accuracy are computed in fp32.</summary>
            private Tensor Forward(Tensor images)
            {
                Tensor logits;
                using (MixedPrecision.Enter(_s.Precision)) logits = _model.call(images);
                var asFloat = MixedPrecision.Float(logits);
                if (!ReferenceEquals(asFloat, logits)) logits.Dispose();
                return asFloat;
            }

            private List<EvalPoint> Evaluations() => _info.Eval.Select(e => new EvalPoint(e.Step, e.Loss, e.Accuracy, e.EmaLoss, e.EmaAccuracy)).ToList();

            private void EvaluateAndSave(List<TorchSharp.Modules.OptimizerHelper> optimizers, WeightEma? ema, TensorBoardLog? board)
            {
                var step = _info.Step;
                var (loss, accuracy) = Evaluate("eval");
                double? emaLoss = null, emaAccuracy = null;
                if (ema != null)
                {
                    var (l, a) = ema.WithAveragedWeights(() => Evaluate("eval-ema"));
                    (emaLoss, emaAccuracy) = (l, a);
                }
                _info.Eval.Add(new TrainCheckpoint.EvalRow
                {
                    Step = step,
                    Epoch = (double)step * _s.Batch / _data.Train.Count,
                    Loss = loss,
                    Accuracy = accuracy,
                    EmaLoss = emaLoss,
                    EmaAccuracy = emaAccuracy,
                    LearningRate = LearningRateAt(step, _steps, _s),
                });
                board?.Scalar("eval/loss", loss, step);
                board?.Scalar("eval/accuracy", accuracy, step);
                if (emaAccuracy is double ea) { board?.Scalar("eval/ema_loss", emaLoss!.Value, step); board?.Scalar("eval/ema_accuracy", ea, step); }
                var best = accuracy > _info.BestAccuracy;
                if (best) (_info.BestAccuracy, _info.BestStep) = (accuracy, step);
                var bestEma = emaAccuracy is double e && e > _info.BestEmaAccuracy;
                if (bestEma) _info.BestEmaAccuracy = emaAccuracy!.Value;
                _progress?.Report(new TrainProgress(step, _steps, loss, 0, "evaluated") { Accuracy = accuracy, EmaAccuracy = emaAccuracy });
                Save(optimizers, ema, best, bestEma);
            }

            private void Save(List<TorchSharp.Modules.OptimizerHelper> optimizers, WeightEma? ema, bool best, bool bestEma)
            {
                if (_run.Directory is null) return;
                using (FinalizerPause.Begin())
                    TrainCheckpoint.Save(_run.Directory, _model, ema, optimizers, _info, best, bestEma, _architecture);
                _progress?.Report(new TrainProgress(_info.Step, _steps, 0, 0, "saved"));
            }

            private (double Loss, double Accuracy) Evaluate(string phase)
            {
                _model.eval();
                var test = _data.Test;
                var evalBatch = _s.EvalBatch ?? _s.Batch;
                var batches = (test.Count + evalBatch - 1) / evalBatch;
                double lossSum = 0;
                long correct = 0;
                var seen = 0;
                var clock = Stopwatch.StartNew();
                using var noGrad = torch.no_grad();
                for (var b = 0; b < batches; b++)
                {
                    _cancel.ThrowIfCancellationRequested();
                    var first = b * evalBatch;
                    var indices = Enumerable.Range(first, Math.Min(evalBatch, test.Count - first)).ToArray();
                    using (FinalizerPause.Begin())
                    using (torch.NewDisposeScope())
                    {
                        var (images, labels) = test.Batch(indices);
                        labels = labels.to(_run.Device);
                        var logits = Forward(images.to(_run.Device));
                        if (b == 0) CheckOutput(logits, indices.Length, test);
                        lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).ToDouble();
                        correct += logits.argmax(1).eq(labels).sum().ToInt64();
                    }
                    seen += indices.Length;
                    _progress?.Report(new TrainProgress(b + 1, batches, lossSum / seen, seen / clock.Elapsed.TotalSeconds, phase));
                }
                return (lossSum / test.Count, (double)correct / test.Count);
            }
        }

        /// <summary>The seed of torch's generator for the draws of <paramref name="step"/> (dropout, drop-path).</summary>
        internal static long StepSeed(long seed, int step) =>
            (long)(SplitMix64.ForItem((ulong)seed ^ 0x7472_6169_6E5F_7374UL, (ulong)step).NextUInt64() >> 1);

        private static void CheckOutput(Tensor logits, int batch, IImageDataset dataset)
        {
            var shape = logits.shape;
            if (shape.Length == 2 && shape[0] == batch && shape[1] == dataset.Classes) return;
            var actual = "(" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";
            throw new ArgumentException(
                $"the model returned {actual} for a batch of {batch} images, but {dataset.Name} has {dataset.Classes} classes, " +
                $"so the output must be ({batch}, {dataset.Classes}): set the architecture's `classes` to {dataset.Classes}");
        }

        /// <summary>Refuses settings this build cannot train with as asked: a value outside its catalog range (settings made
        /// in C# are read back through <see cref="TrainSettings.Catalog"/>, so both say the same thing), steps and epochs
        /// together.</summary>
        /// <exception cref="ArgumentException">The first problem, in one line.</exception>
        public static void CheckSettings(TrainSettings settings)
        {
            if (settings is null) throw new ArgumentNullException(nameof(settings));
            foreach (var setting in TrainSettings.Catalog)
            {
                try { setting.Apply(TrainSettings.Default, setting.Read(settings)); }
                catch (FormatException e) { throw new ArgumentException(e.Message, nameof(settings)); }
            }
            if (settings.Steps is not null && settings.Epochs is not null)
                throw new ArgumentException($"give steps or epochs, not both (steps {settings.Steps}, epochs {settings.Epochs})", nameof(settings));
        }

        private static void Validate(DatasetPair data, TrainSettings settings, TrainRun run)
        {
            if (data is null) throw new ArgumentNullException(nameof(data));
            if (settings is null) throw new ArgumentNullException(nameof(settings));
            if (run is null) throw new ArgumentNullException(nameof(run));
            CheckSettings(settings);
            static void Require(bool ok, string message, string parameter)
            {
                if (!ok) throw new ArgumentException(message, parameter);
            }
            Require(run.Threads is null || run.Threads >= 1, $"threads must be at least 1 (got {run.Threads})", nameof(run));
            Require(run.Workers >= 1, $"workers must be at least 1 (got {run.Workers})", nameof(run));
            Require(run.SaveEvery is null || run.SaveEvery >= 1, $"save-every must be at least 1 step (got {run.SaveEvery})", nameof(run));
            Require(run.LossCurveEvery is null || run.LossCurveEvery >= 1, $"the loss curve window must be at least 1 step (got {run.LossCurveEvery})", nameof(run));
            Require(run.SaveInterval > TimeSpan.Zero, $"the save interval must be positive (got {run.SaveInterval})", nameof(run));
            Require(run.Device is not null, "a device is required (cpu or cuda)", nameof(run));
            var unavailable = Devices.WhyUnavailable(run.Device!);
            Require(unavailable is null, unavailable ?? "", nameof(run));
            var precision = MixedPrecision.WhyUnavailable(settings.Precision, run.Device!);
            Require(precision is null, precision ?? "", nameof(settings));

            var (train, test) = (data.Train, data.Test);
            if (train.Count < 1) throw new ArgumentException($"{train.Name} has no images", nameof(data));
            if (test.Count < 1) throw new ArgumentException($"{test.Name} has no images", nameof(data));
            if (train.Classes != test.Classes || train.Channels != test.Channels || train.Height != test.Height || train.Width != test.Width)
                throw new ArgumentException(
                    $"{train.Name} ({train.Classes} classes, {train.Channels}x{train.Height}x{train.Width}) and {test.Name} " +
                    $"({test.Classes} classes, {test.Channels}x{test.Height}x{test.Width}) must have the same classes and image size", nameof(data));
        }

        /// <summary>libtorch's CPU threads for the duration of a run.</summary>
        private sealed class ThreadsScope : IDisposable
        {
            private readonly int _previous;

            private ThreadsScope(int previous) => _previous = previous;

            public static ThreadsScope? Set(int? threads)
            {
                if (threads is not int n) return null;
                var scope = new ThreadsScope(torch.get_num_threads());
                torch.set_num_threads(n);
                return scope;
            }

            public void Dispose() => torch.set_num_threads(_previous);
        }

        /// <summary>TensorBoard scalars through TorchSharp's SummaryWriter (event files in the folder).</summary>
        private sealed class TensorBoardLog
        {
            private readonly TorchSharp.Modules.SummaryWriter _writer;

            public TensorBoardLog(string directory) => _writer = torch.utils.tensorboard.SummaryWriter(directory);

            public void Scalar(string tag, double value, int step) => _writer.add_scalar(tag, (float)value, step);
        }
    }
}
