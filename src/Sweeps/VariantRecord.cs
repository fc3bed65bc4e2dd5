using System;
using System.Collections.Generic;
using Torchwright.Runtime.Training;

namespace Torchwright.Sweeps
{
    /// <summary>
    /// One run as planned: a grid point — its stable variant name, the sweep it belongs to, its index in the full
    /// (unsharded) grid, its resolved configuration (JSON object text), its compile-time parameter and MAC counts — and
    /// the seed it trains from (initial weights and data order). A variant trained under N seeds is N runs.
    /// </summary>
    public sealed record VariantPlan(string Variant, string Sweep, int Index, string ConfigJson, long Params, long Macs, long Seed);

    /// <summary>What a finished variant measured. <see cref="ResultsDb.MarkDone"/> stores all of it in one transaction.</summary>
    public sealed record VariantMetrics(double ImagesPerSecond, long PeakMemoryBytes, double TrainLoss, double EvalLoss,
        double EvalAccuracy, IReadOnlyList<LossPoint> LossCurve)
    {
        /// <summary>Every evaluation of the run so far (the store's eval_curve rows), by step.</summary>
        public IReadOnlyList<EvalCurvePoint> EvalCurve { get; init; } = Array.Empty<EvalCurvePoint>();
    }

    /// <summary>One evaluation of a run on the whole test split after <paramref name="Step"/> steps.</summary>
    public readonly record struct EvalCurvePoint(int Step, double Loss, double Accuracy);

    /// <summary>
    /// A run's row as read back (one variant under one seed). <see cref="Status"/> is one of <see cref="VariantStatus"/>'s values; the measured
    /// fields are null until the variant is done (or when a measurement was not a finite number). <see cref="RunJson"/>
    /// is the training settings the database was planned with; <see cref="SourceDb"/> the file the row came from.
    /// </summary>
    public sealed record VariantRecord(string Variant, long Seed, string Sweep, int Index, string Status, DateTimeOffset? Started,
        DateTimeOffset? Finished, string ConfigJson, long Params, long Macs, double? ImagesPerSecond, long? PeakMemoryBytes,
        double? TrainLoss, double? EvalLoss, double? EvalAccuracy, string? Error, string RunJson, string SourceDb,
        IReadOnlyList<LossPoint> LossCurve)
    {
        /// <summary>Every evaluation recorded for the run (a pruned run's up to where it stopped), by step.</summary>
        public IReadOnlyList<EvalCurvePoint> EvalCurve { get; init; } = Array.Empty<EvalCurvePoint>();

        /// <summary>The variant's forward-pass throughput (inference, images per second) measured by
        /// <c>sweep --measure-latency</c>, or null when not measured.</summary>
        public double? ForwardImagesPerSecond { get; init; }
    }

    /// <summary>The five states of a variant's row (the strings stored in the database and written by reports).</summary>
    public static class VariantStatus
    {
        public const string Pending = "pending";
        public const string Running = "running";
        public const string Done = "done";
        public const string Failed = "failed";

        /// <summary>Stopped early by a pruning rule (<c>sweep --prune</c>) with its partial curves and its state saved;
        /// a later sweep may continue it (an ASHA promotion, or <c>--resume --no-prune</c>).</summary>
        public const string Pruned = "pruned";
    }
}
