using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Output
{
    /// <summary>A variant against the baseline: the difference of mean eval accuracy, Welch's test, its Holm-adjusted p.</summary>
    internal sealed record BaselineComparison(string Baseline, double Difference, WelchResult Test, double AdjustedP, bool Significant);

    /// <summary>
    /// One variant over its runs (seeds): how many are planned and done, the mean, standard deviation and 95 % interval
    /// of eval accuracy and loss over the done ones, the mean throughput, and the comparison with the baseline (null for
    /// the baseline itself, and when either side has fewer than two done runs: one run has no spread to test against).
    /// </summary>
    internal sealed record VariantAggregate(string Variant, string Sweep, int Index, long Params, long Macs, int Runs, int Done,
        SampleSummary? EvalAccuracy, SampleSummary? EvalLoss, double? ImagesPerSecond, BaselineComparison? VsBaseline)
    {
        /// <summary>Its configuration's top-level keys and values (<see cref="SweepAxis.LevelsOf"/>).</summary>
        public IReadOnlyDictionary<string, string> Levels { get; init; } = new Dictionary<string, string>();

        /// <summary>Runs stopped early by the sweep's pruner (status pruned): not in the statistics.</summary>
        public int Pruned { get; init; }

        /// <summary>The mean forward-pass throughput measured for its runs (<see cref="RunExtras.ForwardImagesPerSecond"/>), or null.</summary>
        public double? ForwardImagesPerSecond { get; init; }
    }

    /// <summary>
    /// The seed statistics of a report: per variant, the completed runs' eval accuracy and loss summarised (Student t
    /// 95 % interval of the mean; for accuracy clipped to [0, 1]), and every variant's mean eval accuracy tested
    /// against the baseline's with Welch's unequal-variances t-test (two-sided), the p-values corrected with Holm's
    /// step-down method for the number of comparisons made; a difference is significant when its adjusted p is below
    /// <see cref="Alpha"/>. Then what the variants' means show together: the Pareto fronts of accuracy against each
    /// cost, and the main effect of each axis of a sweep with several. Only completed runs (status done) count.
    /// </summary>
    internal sealed record ReportAggregates(string? Baseline, IReadOnlyList<VariantAggregate> Variants, int Comparisons)
    {
        /// <summary>The Pareto front per cost axis (<see cref="CostAxis.All"/> order); an axis no variant has a value for has no candidates.</summary>
        public IReadOnlyList<ParetoFront> Fronts { get; init; } = Array.Empty<ParetoFront>();

        public IReadOnlyList<MainEffect> Effects { get; init; } = Array.Empty<MainEffect>();

        /// <summary>The fronts that have at least one variant to show.</summary>
        public IEnumerable<ParetoFront> ShownFronts => Fronts.Where(f => f.Candidates.Count > 0);

        public const double Alpha = 0.05;

        public const double Level = 0.95;

        /// <summary>True when some variant has more than one run: the report then shows the per-variant statistics.</summary>
        public bool Replicated => Variants.Any(v => v.Runs > 1);

        public string Method =>
            $"mean over completed seeds with its {Level * 100:0} % confidence interval (Student t; for accuracy clipped to [0 %, 100 %]); vs {Baseline ?? "the baseline"}: Welch's t-test on eval acc, "
            + $"two-sided, Holm-corrected for {Numbers.Plural(Comparisons, "comparison")}; * = significant at α = {Alpha.ToString(CultureInfo.InvariantCulture)}";

        /// <summary>
        /// Groups <paramref name="runs"/> by variant. The baseline is <paramref name="baseline"/> when given (it must name
        /// a variant of the runs: otherwise <paramref name="error"/> says which exist), else the first variant in grid order.
        /// </summary>
        public static ReportAggregates? Build(IReadOnlyList<VariantRecord> runs, string? baseline, out string? error) =>
            Build(runs, baseline, _ => RunExtras.None, out error);

        public static ReportAggregates? Build(IReadOnlyList<VariantRecord> runs, string? baseline, Func<VariantRecord, RunExtras> extras, out string? error)
        {
            error = null;
            var groups = runs
                .GroupBy(r => r.Variant, StringComparer.Ordinal)
                .Select(g => g.ToList())
                .OrderBy(g => g[0].Sweep, StringComparer.Ordinal).ThenBy(g => g[0].Index).ThenBy(g => g[0].Variant, StringComparer.Ordinal)
                .ToList();
            if (baseline != null && !groups.Any(g => g[0].Variant == baseline))
            {
                error = $"--baseline {baseline}: no such variant; the databases hold "
                    + (groups.Count == 0 ? "none" : string.Join(", ", groups.Select(g => g[0].Variant)));
                return null;
            }
            baseline ??= groups.FirstOrDefault()?[0].Variant;

            static List<double> Accuracies(List<VariantRecord> g) =>
                g.Where(r => r.Status == VariantStatus.Done && r.EvalAccuracy != null).Select(r => r.EvalAccuracy!.Value).ToList();
            var baseAcc = groups.FirstOrDefault(g => g[0].Variant == baseline) is { } b ? Accuracies(b) : new List<double>();

            // First the raw tests (each variant that has two done runs, as has the baseline), then Holm over all of them.
            var tests = new Dictionary<string, (double Difference, WelchResult Test)>(StringComparer.Ordinal);
            foreach (var g in groups)
            {
                var acc = Accuracies(g);
                if (g[0].Variant == baseline || acc.Count < 2 || baseAcc.Count < 2) continue;
                tests[g[0].Variant] = (acc.Average() - baseAcc.Average(), Statistics.Welch(acc, baseAcc));
            }
            var names = tests.Keys.ToList();
            var adjusted = Statistics.Holm(names.Select(n => tests[n].Test.PValue).ToList());
            var comparisons = names.Select((n, i) => (n, i)).ToDictionary(x => x.n,
                x => new BaselineComparison(baseline!, tests[x.n].Difference, tests[x.n].Test, adjusted[x.i], adjusted[x.i] < Alpha), StringComparer.Ordinal);

            var variants = groups.Select(g =>
            {
                var done = g.Where(r => r.Status == VariantStatus.Done).ToList();
                var acc = Accuracies(g);
                var loss = done.Where(r => r.EvalLoss != null).Select(r => r.EvalLoss!.Value).ToList();
                var rate = done.Where(r => r.ImagesPerSecond != null).Select(r => r.ImagesPerSecond!.Value).ToList();
                var forward = g.Select(r => extras(r).ForwardImagesPerSecond).Where(x => x is { } f && double.IsFinite(f)).Select(x => x!.Value).ToList();
                var first = g[0];
                return new VariantAggregate(first.Variant, first.Sweep, first.Index, first.Params, first.Macs, g.Count, done.Count,
                    acc.Count > 0 ? Accuracy(acc) : null,
                    loss.Count > 0 ? Statistics.Summarize(loss, Level) : null,
                    rate.Count > 0 ? rate.Average() : null,
                    comparisons.TryGetValue(first.Variant, out var c) ? c : null)
                {
                    Levels = SweepAxis.LevelsOf(first.ConfigJson),
                    Pruned = g.Count(r => r.Status == ReportStatus.Pruned),
                    ForwardImagesPerSecond = forward.Count > 0 ? forward.Average() : null,
                };
            }).ToList();
            return new ReportAggregates(baseline, variants, comparisons.Count)
            {
                Fronts = CostAxis.All.Select(axis => ParetoFront.Of(axis, variants)).ToList(),
                Effects = MainEffect.Of(variants, runs),
            };
        }

        /// <summary>
        /// A sample of accuracies summarised with its Student t interval clipped to [0, 1]: accuracy cannot leave that
        /// range, and the clipped interval still covers the true mean whenever the unclipped one does.
        /// </summary>
        public static SampleSummary Accuracy(IReadOnlyList<double> accuracies)
        {
            var s = Statistics.Summarize(accuracies, Level);
            return double.IsFinite(s.Low) ? s with { Low = Math.Max(0, s.Low), High = Math.Min(1, s.High) } : s;
        }

        /// <summary>An accuracy interval as "[68.42%, 71.58%]"; "-" for none (one run).</summary>
        public static string Interval(SampleSummary? s) =>
            s is { } a && double.IsFinite(a.Low) ? $"[{ReportColumns.Percent(a.Low)}, {ReportColumns.Percent(a.High)}]" : ReportColumns.Missing;

        /// <summary>The aggregates in report order: by the mean of the sort key (as <see cref="ReportSort"/> orders runs), unmeasured last.</summary>
        public IReadOnlyList<VariantAggregate> Sorted(string key)
        {
            if (key == "variant") return Variants.OrderBy(v => v.Variant, StringComparer.Ordinal).ToList();
            Func<VariantAggregate, double?> value = key switch
            {
                "eval_acc" => v => v.EvalAccuracy?.Mean,
                "eval_loss" => v => v.EvalLoss?.Mean,
                "params" => v => v.Params,
                "macs" => v => v.Macs,
                "images_per_s" => v => v.ImagesPerSecond,
                _ => throw new ArgumentException($"unknown sort key '{key}'", nameof(key)),
            };
            return ReportSort.Order(Variants, key, value, v => v.Variant, unmeasured => unmeasured.OrderBy(v => v.Variant, StringComparer.Ordinal));
        }

        public static (string Header, bool Right)[] Headers =
        {
            ("Variant", false), ("Runs", true), ("Params", true), ("MACs", true), ("Eval acc", true), ("95% CI", true), ("SD", true),
            ("Eval loss", true), ("± 95% CI", true), ("vs baseline", true), ("p (Holm)", true), ("Sig.", false),
        };

        public string[] Cells(VariantAggregate v) => new[]
        {
            v.Variant,
            (v.Done == v.Runs ? v.Runs.ToString(CultureInfo.InvariantCulture) : $"{v.Done}/{v.Runs}") + (v.Pruned > 0 ? $" ({v.Pruned} pruned)" : ""),
            Numbers.Grouped(v.Params),
            Numbers.Scaled(v.Macs),
            ReportColumns.Percent(v.EvalAccuracy?.Mean),
            Interval(v.EvalAccuracy),
            Points(v.EvalAccuracy?.StdDev),
            Fixed(v.EvalLoss?.Mean),
            Fixed(v.EvalLoss?.HalfWidth),
            v.Variant == Baseline ? "baseline" : v.VsBaseline is { } c ? SignedPoints(c.Difference) : ReportColumns.Missing,
            v.VsBaseline is { } p ? PValue(p.AdjustedP) : ReportColumns.Missing,
            v.VsBaseline is { Significant: true } ? "*" : "",
        };

        /// <summary>Percentage points ("1.23 pp"), for spreads and differences of accuracy.</summary>
        public static string Points(double? fraction) =>
            fraction is { } f && double.IsFinite(f) ? (100 * f).ToString("0.00", CultureInfo.InvariantCulture) + " pp" : ReportColumns.Missing;

        private static string SignedPoints(double fraction) =>
            (fraction >= 0 ? "+" : "") + (100 * fraction).ToString("0.00", CultureInfo.InvariantCulture) + " pp";

        private static string Fixed(double? value) =>
            value is { } v && double.IsFinite(v) ? v.ToString("0.0000", CultureInfo.InvariantCulture) : ReportColumns.Missing;

        public static string PValue(double p) =>
            p < 0.0001 ? "<0.0001" : p.ToString("0.0000", CultureInfo.InvariantCulture);
    }
}
