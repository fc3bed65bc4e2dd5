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
        double EvalAccuracy, IReadOnlyList<LossPoint> LossCurve);

    /// <summary>
    /// A run's row as read back (one variant under one seed). <see cref="Status"/> is one of <see cref="VariantStatus"/>'s values; the measured
    /// fields are null until the variant is done (or when a measurement was not a finite number). <see cref="RunJson"/>
    /// is the training settings the database was planned with; <see cref="SourceDb"/> the file the row came from.
    /// </summary>
    public sealed record VariantRecord(string Variant, long Seed, string Sweep, int Index, string Status, DateTimeOffset? Started,
        DateTimeOffset? Finished, string ConfigJson, long Params, long Macs, double? ImagesPerSecond, long? PeakMemoryBytes,
        double? TrainLoss, double? EvalLoss, double? EvalAccuracy, string? Error, string RunJson, string SourceDb,
        IReadOnlyList<LossPoint> LossCurve);

    /// <summary>The four states of a variant's row (the strings stored in the database and written by reports).</summary>
    public static class VariantStatus
    {
        public const string Pending = "pending";
        public const string Running = "running";
        public const string Done = "done";
        public const string Failed = "failed";
    }
}
