using System;
using System.Collections.Generic;

namespace Torchwright.Runtime.Training
{
    /// <summary>One point of a training loss curve: the mean loss of the window of steps ending at <paramref name="Step"/> (1-based).</summary>
    public readonly record struct LossPoint(int Step, double Loss);

    /// <summary>
    /// Reported by <see cref="Trainer.Run"/> after every training step (<paramref name="Phase"/> "train": the step's loss
    /// and the throughput so far) and after every evaluation batch ("eval": batches done of all, the mean loss so far).
    /// </summary>
    public sealed record TrainProgress(int Step, int Steps, double Loss, double ImagesPerSecond, string Phase);

    /// <summary>What one training run produced.</summary>
    /// <param name="LossCurve">Mean training loss per window of <see cref="TrainOptions.LossCurveEvery"/> steps.</param>
    /// <param name="TrainLoss">Mean training loss of the last window.</param>
    /// <param name="EvalLoss">Mean cross-entropy over the whole test split, in eval mode.</param>
    /// <param name="EvalAccuracy">Top-1 accuracy over the whole test split, in [0, 1].</param>
    /// <param name="ImagesPerSecond">Training throughput (data, forward, backward, update) excluding the first step,
    /// which pays one-off allocation and kernel selection costs.</param>
    /// <param name="PeakMemoryBytes">Peak resident memory of the process from model creation to the end of evaluation
    /// (host memory; 0 where /proc is unavailable).</param>
    /// <param name="Duration">Wall time of the whole run: model creation, training and evaluation.</param>
    public sealed record TrainResult(
        IReadOnlyList<LossPoint> LossCurve,
        double TrainLoss,
        double EvalLoss,
        double EvalAccuracy,
        double ImagesPerSecond,
        long PeakMemoryBytes,
        TimeSpan Duration);
}
