using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// What <c>torchwright report</c> prints: the merged runs in report order (<see cref="Variants"/>: one per variant
    /// and seed), their per-variant statistics, where they came from, and the merge warnings.
    /// </summary>
    internal sealed record ReportDocument(IReadOnlyList<string> Databases, IReadOnlyList<VariantRecord> Variants, string Sort,
        IReadOnlyList<string> Warnings, ReportAggregates Aggregates)
    {
        /// <summary>What each run measured beyond its stored columns (<see cref="RunExtras"/>); none unless given.</summary>
        public Func<VariantRecord, RunExtras> ExtrasOf { get; init; } = _ => RunExtras.None;

        /// <summary>
        /// The report of <paramref name="runs"/> sorted by <paramref name="sort"/>, with the statistics against
        /// <paramref name="baseline"/> (null: the first variant of the grid); null with <paramref name="error"/> when the
        /// baseline names no variant.
        /// </summary>
        public static ReportDocument? Build(IReadOnlyList<string> databases, IReadOnlyList<VariantRecord> runs, string sort, IReadOnlyList<string> warnings,
            string? baseline, Func<VariantRecord, RunExtras> extras, out string? error)
        {
            var aggregates = ReportAggregates.Build(runs, baseline, extras, out error);
            return aggregates == null ? null : new ReportDocument(databases, ReportSort.Apply(runs, sort), sort, warnings, aggregates) { ExtrasOf = extras };
        }

        /// <summary>"3 variants from 2 databases (2 done, 1 failed); sorted by eval_acc (highest first)".</summary>
        public string Headline()
        {
            var counts = StatusOrder
                .Select(s => (Status: s, Count: Variants.Count(v => v.Status == s)))
                .Where(c => c.Count > 0)
                .Select(c => c.Count.ToString(CultureInfo.InvariantCulture) + " " + c.Status)
                .ToList();
            var what = Aggregates.Replicated
                ? $"{Numbers.Plural(Variants.Count, "run")} of {Numbers.Plural(Aggregates.Variants.Count, "variant")}"
                : Numbers.Plural(Variants.Count, "variant");
            return $"{what} from {Numbers.Plural(Databases.Count, "database")}"
                + (counts.Count > 0 ? " (" + string.Join(", ", counts) + ")" : "")
                + $"; sorted by {Sort} ({(ReportSort.Descending(Sort) ? "highest" : "lowest")} first)";
        }

        /// <summary>The order statuses are counted in, and the order of rows that lack the sort key.</summary>
        public static readonly string[] StatusOrder = { VariantStatus.Done, ReportStatus.Pruned, VariantStatus.Running, VariantStatus.Failed, VariantStatus.Pending };

        public IReadOnlyList<VariantRecord> Done => Variants.Where(v => v.Status == VariantStatus.Done).ToList();

        /// <summary>The runs the sweep's pruner stopped early: shown apart from the others, and in no statistic.</summary>
        public IReadOnlyList<VariantRecord> Pruned => Variants.Where(v => v.Status == ReportStatus.Pruned).ToList();

        /// <summary>The variants the sweeps' budgets left out before training, from the databases' run settings.</summary>
        public IReadOnlyList<ExcludedVariant> Excluded => ExcludedVariant.Of(Variants);

        /// <summary>Every run but the pruned ones: the runs table.</summary>
        public IReadOnlyList<VariantRecord> Unpruned => Variants.Where(v => v.Status != ReportStatus.Pruned).ToList();

        /// <summary>The last training step a run reached, as far as its curves tell (null when it logged none).</summary>
        public int? LastStep(VariantRecord v)
        {
            var steps = v.LossCurve.Select(p => p.Step).Concat(ExtrasOf(v).EvalCurve.Select(p => p.Step)).ToList();
            return steps.Count > 0 ? steps.Max() : null;
        }

        /// <summary>Its accuracy when it stopped: the stored eval accuracy, else the last point of its eval curve.</summary>
        public double? LastAccuracy(VariantRecord v) =>
            v.EvalAccuracy ?? (ExtrasOf(v).EvalCurve is { Count: > 0 } curve ? curve.MaxBy(p => p.Step).Accuracy : null);

        public const string MetricConventions =
            "images/s: training throughput; peak memory: peak resident memory of the training process; "
            + "train loss: mean of the last loss-curve window; eval loss, eval acc: cross-entropy and top-1 accuracy on the test split";

        public const string IntervalConvention =
            "Statistics use completed runs only (pruned, failed and unfinished runs are left out); a 95 % interval of mean eval accuracy "
            + "is the Student t interval over the completed runs clipped to [0 %, 100 %] (accuracy cannot leave that range)";
    }

    /// <summary>The table of pruned runs (text, Markdown and HTML): where each stopped and what it measured there.</summary>
    internal static class PrunedColumns
    {
        public static readonly (string Header, bool Right)[] Headers =
        {
            ("Variant", false), ("Seed", true), ("Last step", true), ("Eval acc", true), ("Params", true), ("MACs", true),
        };

        public static string[] Cells(ReportDocument doc, VariantRecord v) => new[]
        {
            v.Variant,
            v.Seed.ToString(CultureInfo.InvariantCulture),
            doc.LastStep(v) is { } step ? step.ToString("N0", CultureInfo.InvariantCulture) : ReportColumns.Missing,
            ReportColumns.Percent(doc.LastAccuracy(v)),
            Numbers.Grouped(v.Params),
            Numbers.Scaled(v.Macs),
        };
    }

    /// <summary>
    /// A variant that <c>sweep --max-params</c> / <c>--max-macs</c> left out before anything trained: recorded in its
    /// database's run settings (the "excluded" list, since it has no row), with its exact counts and the limit it exceeds.
    /// </summary>
    internal sealed record ExcludedVariant(string Variant, long Params, long Macs, string Reason)
    {
        public const string Key = "excluded";

        /// <summary>Every excluded variant named by the runs' settings, once (shards record the same list), by name.</summary>
        public static IReadOnlyList<ExcludedVariant> Of(IEnumerable<VariantRecord> runs)
        {
            var found = new Dictionary<string, ExcludedVariant>(StringComparer.Ordinal);
            foreach (var run in runs.Select(r => r.RunJson).Distinct(StringComparer.Ordinal))
            {
                if (string.IsNullOrEmpty(run)) continue;
                try
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(run);
                    if (doc.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object
                        || !doc.RootElement.TryGetProperty(Key, out var list) || list.ValueKind != System.Text.Json.JsonValueKind.Array) continue;
                    foreach (var e in list.EnumerateArray())
                    {
                        var v = new ExcludedVariant(e.GetProperty("variant").GetString()!, e.GetProperty("params").GetInt64(),
                            e.GetProperty("macs").GetInt64(), e.GetProperty("reason").GetString()!);
                        found.TryAdd(v.Variant, v);
                    }
                }
                catch (Exception e) when (e is System.Text.Json.JsonException || e is InvalidOperationException || e is KeyNotFoundException || e is FormatException)
                {
                    // Run settings written by another tool: they list no exclusions the report can read.
                }
            }
            return found.Values.OrderBy(v => v.Variant, StringComparer.Ordinal).ToList();
        }

        public static readonly (string Header, bool Right)[] Headers = { ("Variant", false), ("Params", true), ("MACs", true), ("Excluded by", false) };

        public string[] Cells() => new[] { Variant, Numbers.Grouped(Params), Numbers.Scaled(Macs), Reason };
    }

    /// <summary>The status of a run that the sweep's early stopping (--prune) stopped before its last step.</summary>
    internal static class ReportStatus
    {
        public const string Pruned = VariantStatus.Pruned;
    }

    /// <summary>
    /// The report's sort keys. Rows that have the key come first, best first (highest accuracy or throughput, lowest
    /// loss, size or cost, names in ordinal order), ties by name; rows without it (not done — a pruned run's partial
    /// figures do not rank it —, or not measured) follow, done, pruned, running, failed, then pending, each by name.
    /// </summary>
    internal static class ReportSort
    {
        public const string Default = "eval_acc";

        public static readonly string[] Keys = { "eval_acc", "eval_loss", "params", "macs", "images_per_s", "variant" };

        public static bool Descending(string key) => key == "eval_acc" || key == "images_per_s";

        public static IReadOnlyList<VariantRecord> Apply(IEnumerable<VariantRecord> variants, string key)
        {
            var all = variants.ToList();
            if (key == "variant") return all.OrderBy(v => v.Variant, StringComparer.Ordinal).ToList();
            Func<VariantRecord, double?> measured = key switch
            {
                "eval_acc" => v => v.EvalAccuracy,
                "eval_loss" => v => v.EvalLoss,
                "params" => v => v.Params,
                "macs" => v => v.Macs,
                "images_per_s" => v => v.ImagesPerSecond,
                _ => throw new ArgumentException($"unknown sort key '{key}'; use one of {string.Join(", ", Keys)}", nameof(key)),
            };
            Func<VariantRecord, double?> value = key is "params" or "macs" ? measured : v => v.Status == VariantStatus.Done ? measured(v) : null;
            return Order(all, key, value, v => v.Variant,
                unmeasured => unmeasured.OrderBy(v => Array.IndexOf(ReportDocument.StatusOrder, v.Status)).ThenBy(v => v.Variant, StringComparer.Ordinal));
        }

        /// <summary>
        /// The ordering every report table uses: rows with a value for <paramref name="key"/> first, best first, ties by
        /// name; then the others as <paramref name="unmeasured"/> orders them.
        /// </summary>
        public static IReadOnlyList<T> Order<T>(IReadOnlyList<T> rows, string key, Func<T, double?> value, Func<T, string> name,
            Func<IEnumerable<T>, IEnumerable<T>> unmeasured)
        {
            var measured = rows.Where(v => value(v) != null);
            var ordered = Descending(key) ? measured.OrderByDescending(v => value(v)) : measured.OrderBy(v => value(v));
            return ordered.ThenBy(name, StringComparer.Ordinal).Concat(unmeasured(rows.Where(v => value(v) == null))).ToList();
        }
    }

    /// <summary>The table columns shared by the text, Markdown and HTML forms, and how each cell is written.</summary>
    internal static class ReportColumns
    {
        public const string Missing = "-";

        private const int ErrorWidth = 60;

        public static (string Header, bool Right)[] Headers(bool withError, bool withSeed)
        {
            var columns = new List<(string, bool)> { ("Variant", false) };
            if (withSeed) columns.Add(("Seed", true));
            columns.AddRange(new (string, bool)[]
            {
                ("Status", false), ("Params", true), ("MACs", true), ("Images/s", true),
                ("Peak memory", true), ("Train loss", true), ("Eval loss", true), ("Eval acc", true),
            });
            if (withError) columns.Add(("Error", false));
            return columns.ToArray();
        }

        /// <summary>The error column appears only when some variant failed.</summary>
        public static bool HasErrors(IEnumerable<VariantRecord> variants) => variants.Any(v => v.Error != null);

        public static string[] Cells(VariantRecord v, bool withError, bool withSeed)
        {
            var cells = new List<string> { v.Variant };
            if (withSeed) cells.Add(v.Seed.ToString(CultureInfo.InvariantCulture));
            cells.AddRange(new[]
            {
                v.Status,
                Numbers.Grouped(v.Params),
                Numbers.Scaled(v.Macs),
                Fixed(v.ImagesPerSecond, "0.0"),
                v.PeakMemoryBytes is { } bytes ? Numbers.MiB(bytes) : Missing,
                Fixed(v.TrainLoss, "0.0000"),
                Fixed(v.EvalLoss, "0.0000"),
                Percent(v.EvalAccuracy),
            });
            if (withError) cells.Add(ShortError(v.Error));
            return cells.ToArray();
        }

        public static string Percent(double? fraction) =>
            fraction is { } f ? (100 * f).ToString("0.00", CultureInfo.InvariantCulture) + "%" : Missing;

        private static string Fixed(double? value, string format) =>
            value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : Missing;

        /// <summary>The first line of an error, cut to fit a table cell (the CSV, JSON and HTML forms keep all of it).</summary>
        private static string ShortError(string? error)
        {
            if (error == null) return "";
            var line = error.Split('\n')[0].TrimEnd('\r');
            bool cut = line.Length > ErrorWidth || line.Length < error.TrimEnd().Length;
            if (line.Length > ErrorWidth) line = line.Substring(0, ErrorWidth - 3);
            return cut ? line + "..." : line;
        }
    }
}
