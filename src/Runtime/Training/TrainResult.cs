using System;
using System.Collections.Generic;

namespace Torchwright.Runtime.Training
{
    /// <summary>One point of a training loss curve: the mean loss of the window of steps ending at <paramref name="Step"/> (1-based).</summary>
    public readonly record struct LossPoint(int Step, double Loss);

    /// <summary>One evaluation on the whole test split after <paramref name="Step"/> steps: the model's mean cross-entropy and
    /// top-1 accuracy and, with an EMA, the EMA weights' (null without one).</summary>
    public sealed record EvalPoint(int Step, double Loss, double Accuracy, double? EmaLoss, double? EmaAccuracy);

    /// <summary>
    /// Reported by <see cref="Trainer"/> after every training step (<paramref name="Phase"/> "train": the step's loss
    /// and the throughput so far), after every evaluation batch ("eval": batches done of all, the mean loss so far;
    /// "eval-ema" for the EMA weights) and once per finished evaluation ("evaluated": the step, the model's eval loss and
    /// <see cref="Accuracy"/>).
    /// </summary>
    public sealed record TrainProgress(int Step, int Steps, double Loss, double ImagesPerSecond, string Phase)
    {
        /// <summary>"evaluated" only: the model's accuracy, and the EMA's (null without one).</summary>
        public double? Accuracy { get; init; }

        public double? EmaAccuracy { get; init; }
    }

    /// <summary>What one training run produced.</summary>
    /// <param name="LossCurve">Mean training loss per window of <see cref="TrainRun.LossCurveEvery"/> steps.</param>
    /// <param name="TrainLoss">Mean training loss of the last window.</param>
    /// <param name="EvalLoss">Mean cross-entropy over the whole test split, in eval mode, after the last step.</param>
    /// <param name="EvalAccuracy">Top-1 accuracy over the whole test split, in [0, 1], after the last step.</param>
    /// <param name="ImagesPerSecond">Training throughput (data, forward, backward, update) excluding the first step of
    /// this process, which pays one-off allocation and kernel selection costs.</param>
    /// <param name="PeakMemoryBytes">Peak resident memory of the process from model creation to the end of evaluation
    /// (host memory; 0 where /proc is unavailable).</param>
    /// <param name="Duration">Wall time of this process's part of the run: training and evaluations.</param>
    public sealed record TrainResult(
        IReadOnlyList<LossPoint> LossCurve,
        double TrainLoss,
        double EvalLoss,
        double EvalAccuracy,
        double ImagesPerSecond,
        long PeakMemoryBytes,
        TimeSpan Duration)
    {
        /// <summary>Every evaluation of the run, the final one last.</summary>
        public IReadOnlyList<EvalPoint> Evaluations { get; init; } = Array.Empty<EvalPoint>();

        /// <summary>The step at which <see cref="TrainRun.StopAfterEvaluation"/> ended the run before its last step (its
        /// metrics are those of that step), or null when it trained to the end.</summary>
        public int? StoppedAt { get; init; }

        /// <summary>The run's optimizer steps.</summary>
        public int Steps { get; init; }

        /// <summary>The step the run continued from (0 for a fresh start).</summary>
        public int ResumedFromStep { get; init; }

        /// <summary>The best model accuracy of all evaluations and its step.</summary>
        public double BestAccuracy { get; init; }

        public int BestStep { get; init; }
    }
}
