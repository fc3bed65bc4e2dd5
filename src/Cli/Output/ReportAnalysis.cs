using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// What a run measured beyond the stored row's columns: its eval-accuracy curve over training steps, and the
    /// forward-pass throughput of its variant timed apart from training (sweep --measure-latency). The report reads
    /// them through <see cref="ReportDocument.ExtrasOf"/>; a run without them has <see cref="None"/>.
    /// </summary>
    internal sealed record RunExtras(IReadOnlyList<EvalAccuracyPoint> EvalCurve, double? ForwardImagesPerSecond)
    {
        public static readonly RunExtras None = new(Array.Empty<EvalAccuracyPoint>(), null);
    }

    /// <summary>One evaluation during training: the step after which it ran and the top-1 accuracy it measured.</summary>
    internal readonly record struct EvalAccuracyPoint(int Step, double Accuracy);

    /// <summary>
    /// A cost the report trades accuracy against: its JSON key, its name on the page, how to read it from a variant,
    /// and whether less of it is better (MACs, parameters) or more (throughput).
    /// </summary>
    internal sealed record CostAxis(string Key, string Title, string AxisTitle, Func<VariantAggregate, double?> Value, bool LowerIsBetter)
    {
        public static readonly CostAxis Macs = new("macs", "MACs", "MACs (multiply-accumulates per image)", v => v.Macs, true);

        public static readonly CostAxis Params = new("params", "parameters", "Parameters", v => v.Params, true);

        public static readonly CostAxis ForwardImagesPerSecond = new("forward_images_per_s", "forward images/s",
            "Forward images/s (measured, higher is faster)", v => v.ForwardImagesPerSecond, false);

        public static readonly CostAxis[] All = { Macs, Params, ForwardImagesPerSecond };
    }

    /// <summary>
    /// The Pareto front of mean eval accuracy against one cost. A variant takes part when it has a mean eval accuracy
    /// (some completed run) and a finite value of the cost. Variant a dominates b when a's accuracy ≥ b's and a's cost is
    /// no worse (≤ for MACs and parameters, ≥ for throughput), one of the two strictly; the front is every taking-part
    /// variant no other dominates. So exact ties (equal accuracy and equal cost) are all on the front, and a variant
    /// alone is its own front.
    /// </summary>
    internal sealed record ParetoFront(CostAxis Axis, IReadOnlyList<VariantAggregate> Front, IReadOnlyList<VariantAggregate> Candidates)
    {
        public const string Rule =
            "A variant is on a front when no other has a mean eval accuracy at least as high at no more cost (MACs, parameters) "
            + "or no less speed (images/s), one of the two strictly; fronts are listed from the cheapest (fastest) variant";

        public static ParetoFront Of(CostAxis axis, IReadOnlyList<VariantAggregate> variants)
        {
            var candidates = variants.Where(v => v.EvalAccuracy != null && axis.Value(v) is { } c && double.IsFinite(c)).ToList();
            var front = candidates.Where(b => !candidates.Any(a => Dominates(axis, a, b)))
                .OrderBy(v => Cost(axis, v)).ThenByDescending(v => v.EvalAccuracy!.Mean).ThenBy(v => v.Variant, StringComparer.Ordinal).ToList();
            return new ParetoFront(axis, front, candidates);
        }

        /// <summary>Cost with "lower is better" for every axis (throughput negated).</summary>
        private static double Cost(CostAxis axis, VariantAggregate v) => axis.LowerIsBetter ? axis.Value(v)!.Value : -axis.Value(v)!.Value;

        public static bool Dominates(CostAxis axis, VariantAggregate a, VariantAggregate b)
        {
            double accA = a.EvalAccuracy!.Mean, accB = b.EvalAccuracy!.Mean, costA = Cost(axis, a), costB = Cost(axis, b);
            return accA >= accB && costA <= costB && (accA > accB || costA < costB);
        }

        /// <summary>True / false for a variant that takes part; null for one that does not (no accuracy or no value of the cost).</summary>
        public bool? On(string variant) =>
            Candidates.Any(v => v.Variant == variant) ? Front.Any(v => v.Variant == variant) : null;
    }

    /// <summary>
    /// The axes of one sweep, read from its variants' configurations: every top-level key that all the sweep's
    /// variants set and that takes at least two values among them (a key only some variants set is not an axis). A
    /// level is the value's JSON text (strings without their quotes). Levels are ordered numerically when every level
    /// is a number, else in the grid order of the first variant that has them.
    /// </summary>
    internal sealed record SweepAxis(string Name, IReadOnlyList<string> Levels)
    {
        public static IReadOnlyList<SweepAxis> Of(IReadOnlyList<VariantAggregate> sweepVariants)
        {
            var configs = sweepVariants.OrderBy(v => v.Index).ThenBy(v => v.Variant, StringComparer.Ordinal).Select(v => v.Levels).ToList();
            if (configs.Count == 0) return Array.Empty<SweepAxis>();
            var axes = new List<SweepAxis>();
            foreach (var key in configs[0].Keys)
            {
                if (!configs.All(c => c.ContainsKey(key))) continue;
                var levels = configs.Select(c => c[key]).Distinct(StringComparer.Ordinal).ToList();
                if (levels.Count < 2) continue;
                if (levels.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
                    levels = levels.OrderBy(l => double.Parse(l, CultureInfo.InvariantCulture)).ToList();
                axes.Add(new SweepAxis(key, levels));
            }
            return axes;
        }

        /// <summary>A configuration's top-level keys and their levels (as <see cref="SweepAxis"/> writes them); an unreadable one has none.</summary>
        public static IReadOnlyDictionary<string, string> LevelsOf(string configJson)
        {
            var levels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (string.IsNullOrEmpty(configJson)) return levels;
            try
            {
                using var doc = JsonDocument.Parse(configJson);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) return levels;
                foreach (var p in doc.RootElement.EnumerateObject())
                    levels[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
            }
            catch (JsonException)
            {
                // The store checks config_json on read; a row that still fails here simply has no levels.
            }
            return levels;
        }
    }

    /// <summary>The mean eval accuracy at one level of an axis, over every completed run of the variants at that level.</summary>
    internal sealed record LevelEffect(string Level, int Variants, SampleSummary? EvalAccuracy);

    /// <summary>
    /// The main effect of one axis of a sweep: per level, every completed run (status done, with an eval accuracy) of
    /// every variant at that level is one observation — a variant with three completed seeds counts three times — and
    /// the level's mean, sample SD and Student t 95 % interval are over those runs, the interval clipped to [0, 1].
    /// </summary>
    internal sealed record MainEffect(string Sweep, SweepAxis Axis, IReadOnlyList<LevelEffect> Levels)
    {
        /// <summary>Main effects of the sweeps that have at least two axes (with one axis they repeat the per-variant statistics).</summary>
        public static IReadOnlyList<MainEffect> Of(IReadOnlyList<VariantAggregate> variants, IReadOnlyList<VariantRecord> runs)
        {
            var effects = new List<MainEffect>();
            foreach (var sweep in variants.GroupBy(v => v.Sweep, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var members = sweep.ToList();
                var axes = SweepAxis.Of(members);
                if (axes.Count < 2) continue;
                var names = members.Select(m => m.Variant).ToHashSet(StringComparer.Ordinal);
                var done = runs.Where(r => names.Contains(r.Variant) && r.Status == VariantStatus.Done && r.EvalAccuracy != null).ToList();
                var levelsOf = members.ToDictionary(m => m.Variant, m => m.Levels, StringComparer.Ordinal);
                foreach (var axis in axes)
                {
                    var levels = axis.Levels.Select(level =>
                    {
                        var acc = done.Where(r => levelsOf[r.Variant][axis.Name] == level).Select(r => r.EvalAccuracy!.Value).ToList();
                        int count = members.Count(m => m.Levels[axis.Name] == level);
                        return new LevelEffect(level, count, acc.Count > 0 ? ReportAggregates.Accuracy(acc) : null);
                    }).ToList();
                    effects.Add(new MainEffect(sweep.Key, axis, levels));
                }
            }
            return effects;
        }

        public static readonly (string Header, bool Right)[] Headers =
        {
            ("Axis", false), ("Level", false), ("Variants", true), ("Runs", true), ("Eval acc", true), ("95% CI", true), ("SD", true),
        };

        public IEnumerable<string[]> Rows(bool withSweep) => Levels.Select(l => new[]
        {
            withSweep ? Sweep + ": " + Axis.Name : Axis.Name,
            l.Level,
            l.Variants.ToString(CultureInfo.InvariantCulture),
            (l.EvalAccuracy?.Count ?? 0).ToString(CultureInfo.InvariantCulture),
            ReportColumns.Percent(l.EvalAccuracy?.Mean),
            ReportAggregates.Interval(l.EvalAccuracy),
            ReportAggregates.Points(l.EvalAccuracy?.StdDev),
        });
    }
}
