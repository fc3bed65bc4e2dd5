using System.Collections.Generic;
using System.IO;
using System.Linq;
using Torchwright.Sweeps;
using static Torchwright.Cli.Output.ReportCharts;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// The report as one self-contained HTML page: the results tables (pruned runs apart), eval accuracy against MACs,
    /// parameters and measured forward throughput with each Pareto front marked, the main effect of each sweep axis with
    /// a parallel-coordinates chart, and the training loss and eval accuracy curves, all as inline SVG. The page loads nothing (its Content-Security-Policy forbids
    /// every fetch and every script), so it opens offline and from an e-mail attachment alike. All text is escaped.
    /// </summary>
    internal static class ReportHtml
    {
        private const string Style = @"
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.variant, td.status { white-space: nowrap; } #databases code { word-break: break-all; }
td.error { white-space: pre-wrap; max-width: 40em; color: #a00; }
code, td.variant { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 0.4em; }
.warnings li { color: #8a5a00; } .empty { color: #666; font-style: italic; }
svg.chart { display: block; font-size: 12px; }
svg .grid { stroke: #e4e4e4; } svg .frame { stroke: #888; }
svg .tick { fill: #444; } svg .axis-title { fill: #222; font-weight: 600; }
svg .point { stroke: #222; stroke-width: 0.75; } svg .leader { stroke: #666; stroke-width: 0.75; }
svg .point-label { fill: #222; font-size: 11px; font-family: 'DejaVu Sans Mono', ui-monospace, monospace; }
svg .point-label, svg.parallel text { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .pc-level { font-family: 'DejaVu Sans Mono', ui-monospace, monospace; font-size: 11px; }
ul.settings { list-style: none; margin: 0; padding: 0; columns: 2; column-gap: 2em; }
ul.settings li { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: 0.9em; white-space: nowrap; }
ul.settings .key { color: #555; } p.front { margin: 0.3em 0 1em; } p.note { color: #555; font-size: 0.9em; }
footer { margin-top: 2em; color: #555; font-size: 0.85em; }";

        public static void Write(TextWriter w, ReportDocument doc)
        {
            var done = doc.Done;
            var stats = doc.Aggregates;
            var colors = done.Select(v => v.Variant).Distinct(System.StringComparer.Ordinal)
                .Select((name, i) => (name, Color: Palette[i % Palette.Length])).ToDictionary(p => p.name, p => p.Color, System.StringComparer.Ordinal);

            w.WriteLine("<!DOCTYPE html>");
            w.WriteLine("<html lang=\"en\">");
            w.WriteLine("<head>");
            w.WriteLine("<meta charset=\"utf-8\">");
            w.WriteLine("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">");
            w.WriteLine("<title>Torchwright sweep report</title>");
            w.WriteLine("<style>" + Style + "\n</style>");
            w.WriteLine("</head>");
            w.WriteLine("<body>");
            w.WriteLine("<h1>Sweep results</h1>");
            w.WriteLine($"<p id=\"headline\">{E(doc.Headline())}</p>");
            WriteDatabases(w, doc);
            if (doc.Warnings.Count > 0)
            {
                w.WriteLine("<ul class=\"warnings\">");
                foreach (var warning in doc.Warnings) w.WriteLine($"<li>{E(warning)}</li>");
                w.WriteLine("</ul>");
            }

            if (stats.Replicated)
            {
                w.WriteLine("<h2>Per variant</h2>");
                w.WriteLine($"<p id=\"method\">{E(stats.Method)}.</p>");
                WriteAggregateTable(w, stats, doc.Sort, colors);
            }
            w.WriteLine(stats.Replicated ? "<h2>Runs</h2>" : "<h2>Variants</h2>");
            if (doc.Variants.Count == 0) Empty(w, "No variants: the databases hold no planned variant yet (run torchwright sweep).");
            else WriteTable(w, doc.Unpruned, colors, stats.Replicated);

            if (doc.Pruned.Count > 0)
            {
                w.WriteLine("<h2>Pruned runs</h2>");
                w.WriteLine("<p class=\"note\">Stopped early by the sweep's pruner; their partial figures are in no statistic, front or chart above or below.</p>");
                WritePruned(w, doc);
            }

            if (doc.Excluded.Count > 0)
            {
                w.WriteLine("<h2>Excluded by budget</h2>");
                w.WriteLine("<p class=\"note\">Left out before training by the sweep's --max-params / --max-macs (exact compile-time counts); in no table, statistic or chart.</p>");
                var headers = ExcludedVariant.Headers;
                w.WriteLine("<table id=\"excluded\"><thead><tr>" + string.Concat(headers.Select(h => $"<th>{E(h.Header)}</th>")) + "</tr></thead><tbody>");
                foreach (var v in doc.Excluded)
                    w.WriteLine("<tr>" + string.Concat(v.Cells().Select((c, i) => $"<td class=\"{(headers[i].Right ? "num" : "variant")}\">{E(c)}</td>")) + "</tr>");
                w.WriteLine("</tbody></table>");
            }

            // One point per variant: the mean over its done runs, with the 95 % interval as an error bar when it has one.
            var measured = stats.Sorted(doc.Sort).Where(v => v.EvalAccuracy != null).ToList();
            foreach (var front in stats.Fronts)
            {
                if (front.Axis == CostAxis.ForwardImagesPerSecond && front.Candidates.Count == 0) continue;
                var title = $"Eval accuracy vs {front.Axis.Title}";
                w.WriteLine($"<h2>{E(title)}</h2>");
                if (measured.Count == 0) Empty(w, NothingToChart);
                else
                {
                    AccuracyChart(w, "acc-vs-" + front.Axis.Key.Replace('_', '-'), title, front, measured, colors);
                    w.WriteLine($"<p class=\"front\" id=\"front-{front.Axis.Key.Replace('_', '-')}\"><b>Pareto front</b> (ringed, dashed; {E(ParetoRule(front.Axis))}): "
                        + string.Join(", ", front.Front.Select(v => $"<code>{E(v.Variant)}</code>")) + ".</p>");
                }
            }

            foreach (var sweep in stats.Effects.GroupBy(e => e.Sweep, System.StringComparer.Ordinal))
            {
                var effects = sweep.ToList();
                bool several = stats.Variants.Select(v => v.Sweep).Distinct().Count() > 1;
                w.WriteLine($"<h2>Main effects{(several ? " of " + E(sweep.Key) : "")}</h2>");
                w.WriteLine($"<p class=\"note\">{E(MainEffectMethod)}.</p>");
                WriteEffects(w, effects);
                var axes = effects.Select(e => e.Axis).ToList();
                var lines = stats.Variants.Where(v => v.Sweep == sweep.Key && v.EvalAccuracy != null)
                    .Select(v => new ParallelLine(v.Variant, axes.Select(a => v.Levels[a.Name]).ToList(), v.EvalAccuracy!.Mean, Tooltip(v))).ToList();
                w.WriteLine($"<h2>Parallel coordinates{(several ? " of " + E(sweep.Key) : "")}</h2>");
                if (lines.Count == 0) Empty(w, NothingToChart);
                else Parallel(w, "parallel-" + Slug(sweep.Key), $"Parallel coordinates of {sweep.Key}", axes, lines,
                    ReportScale.Nice(lines.Select(l => l.Accuracy).ToList(), lowest: 0, highest: 1));
            }

            var curves = done.Where(v => v.LossCurve.Count > 0).ToList();
            w.WriteLine("<h2>Training loss</h2>");
            if (curves.Count == 0) Empty(w, "No done variant has a loss curve yet: nothing to chart.");
            else CurveChart(w, "loss-curves", "Training loss", "Training loss (window mean)", curves, colors,
                r => r.LossCurve.Select(p => (p.Step, p.Loss)), highest: double.PositiveInfinity, PlainTicks);

            var evals = done.Where(v => doc.ExtrasOf(v).EvalCurve.Count > 0).ToList();
            if (evals.Count > 0)
            {
                w.WriteLine("<h2>Eval accuracy over training</h2>");
                CurveChart(w, "eval-curves", "Eval accuracy over training", "Eval accuracy (top-1)", evals, colors,
                    r => doc.ExtrasOf(r).EvalCurve.Select(p => (p.Step, p.Accuracy)), highest: 1, PercentTicks);
            }

            w.WriteLine($"<footer><p>{E(Conventions.Macs)}.</p><p>{E(ReportDocument.MetricConventions)}.</p><p>{E(ReportDocument.IntervalConvention)}.</p></footer>");
            w.WriteLine("</body>");
            w.WriteLine("</html>");
        }

        private const string NothingToChart = "No variant is done with an eval accuracy yet: nothing to chart.";

        private static void Empty(TextWriter w, string message) => w.WriteLine($"<p class=\"empty\">{E(message)}</p>");

        private static void WriteDatabases(TextWriter w, ReportDocument doc)
        {
            w.WriteLine("<table id=\"databases\"><thead><tr><th>Database</th><th>Run settings</th></tr></thead><tbody>");
            foreach (var db in doc.Databases)
            {
                var run = doc.Variants.FirstOrDefault(v => v.SourceDb == db)?.RunJson;
                var settings = run == null ? "<span class=\"empty\">no variant taken from it</span>"
                    : "<ul class=\"settings\">" + string.Concat(SweepAxis.LevelsOf(run).Where(kv => kv.Key != ExcludedVariant.Key).Select(kv => $"<li><span class=\"key\">{E(kv.Key)}</span> = {E(kv.Value)}</li>")) + "</ul>";
                w.WriteLine($"<tr><td><code>{E(db)}</code></td><td>{settings}</td></tr>");
            }
            w.WriteLine("</tbody></table>");
        }

        private static void WriteAggregateTable(TextWriter w, ReportAggregates stats, string sort, IReadOnlyDictionary<string, string> colors)
        {
            var headers = ReportAggregates.Headers;
            w.WriteLine("<table id=\"aggregates\"><thead><tr>" + string.Concat(headers.Select(h => $"<th>{E(h.Header)}</th>")) + "</tr></thead><tbody>");
            foreach (var v in stats.Sorted(sort))
            {
                var cells = stats.Cells(v);
                var swatch = colors.TryGetValue(v.Variant, out var color) ? $"<span class=\"swatch\" style=\"background:{color}\"></span>" : "";
                var row = new List<string> { $"<td class=\"variant\">{swatch}{E(v.Variant)}</td>" };
                for (int i = 1; i < headers.Length; i++) row.Add($"<td class=\"num\">{E(cells[i])}</td>");
                w.WriteLine($"<tr{(v.VsBaseline is { Significant: true } ? " class=\"significant\"" : "")}>" + string.Concat(row) + "</tr>");
            }
            w.WriteLine("</tbody></table>");
        }

        private static void WriteTable(TextWriter w, IReadOnlyList<VariantRecord> variants, IReadOnlyDictionary<string, string> colors, bool withSeed)
        {
            bool withError = ReportColumns.HasErrors(variants);
            var headers = ReportColumns.Headers(withError, withSeed);
            w.WriteLine("<table id=\"variants\"><thead><tr>" + string.Concat(headers.Select(h => $"<th>{E(h.Header)}</th>")) + "</tr></thead><tbody>");
            foreach (var v in variants)
            {
                var cells = ReportColumns.Cells(v, withError, withSeed);
                var row = new List<string>();
                var swatch = colors.TryGetValue(v.Variant, out var color) ? $"<span class=\"swatch\" style=\"background:{color}\"></span>" : "";
                row.Add($"<td class=\"variant\" title=\"{E(v.ConfigJson)}\">{swatch}{E(v.Variant)}</td>");
                for (int i = 1; i < headers.Length; i++)
                {
                    // The error cell holds the whole message (the text table shows its first line only).
                    if (withError && i == headers.Length - 1) row.Add($"<td class=\"error\">{E(v.Error ?? "")}</td>");
                    else row.Add($"<td class=\"{(headers[i].Right ? "num" : "status")}\">{E(cells[i])}</td>");
                }
                w.WriteLine($"<tr class=\"{v.Status}\">" + string.Concat(row) + "</tr>");
            }
            w.WriteLine("</tbody></table>");
        }

        /// <summary>The front's candidates as points, in report order (<paramref name="order"/>).</summary>
        private static void AccuracyChart(TextWriter w, string id, string title, ParetoFront front, IReadOnlyList<VariantAggregate> order,
            IReadOnlyDictionary<string, string> colors)
        {
            static (double Low, double High)? Interval(VariantAggregate v) =>
                v.EvalAccuracy is { } a && double.IsFinite(a.Low) ? (a.Low, a.High) : null;
            var variants = order.Where(front.Candidates.Contains).ToList();
            var x = front.Axis.Value;
            var xScale = ReportScale.Nice(variants.Select(v => x(v)!.Value).ToList(), lowest: 0);
            var ys = variants.SelectMany(v => Interval(v) is { } i ? new[] { i.Low, i.High } : new[] { v.EvalAccuracy!.Mean }).ToList();
            var yScale = ReportScale.Nice(ys, lowest: 0, highest: 1);
            var onFront = front.Front.Select(v => v.Variant).ToHashSet(System.StringComparer.Ordinal);
            // Past a dozen points their labels crowd the plot: then only the front is labelled (every point has its tooltip).
            bool all = variants.Count <= LabelAll;
            var points = variants.Select(v => new Point(v.Variant, all || onFront.Contains(v.Variant) ? ShortName(v) : "", x(v)!.Value, v.EvalAccuracy!.Mean, colors[v.Variant], Tooltip(v), Interval(v),
                onFront.Contains(v.Variant))).ToList();
            Scatter(w, id, title, front.Axis.AxisTitle, "Eval accuracy (top-1)", points, xScale, yScale, SiTicks(xScale), PercentTicks(yScale));
        }

        private const int LabelAll = 12;

        public static string ParetoRule(CostAxis axis) =>
            $"no other variant has a mean eval accuracy at least as high with {(axis.LowerIsBetter ? "as few or fewer" : "as many or more")} {axis.Title}, one of the two strictly";

        public const string MainEffectMethod =
            "Per level: mean eval accuracy over every completed run of the variants at that level (each seed one observation), "
            + "its 95 % interval Student t over those runs, clipped to [0 %, 100 %]";

        private static void WriteEffects(TextWriter w, IReadOnlyList<MainEffect> effects)
        {
            var headers = MainEffect.Headers;
            w.WriteLine($"<table class=\"effects\" id=\"effects-{Slug(effects[0].Sweep)}\"><thead><tr>" + string.Concat(headers.Select(h => $"<th>{E(h.Header)}</th>")) + "</tr></thead><tbody>");
            foreach (var effect in effects)
                foreach (var cells in effect.Rows(withSweep: false))
                    w.WriteLine("<tr>" + string.Concat(cells.Select((c, i) => $"<td class=\"{(headers[i].Right ? "num" : "variant")}\">{E(c)}</td>")) + "</tr>");
            w.WriteLine("</tbody></table>");
        }

        private static void WritePruned(TextWriter w, ReportDocument doc)
        {
            var headers = PrunedColumns.Headers;
            w.WriteLine("<table id=\"pruned\"><thead><tr>" + string.Concat(headers.Select(h => $"<th>{E(h.Header)}</th>")) + "</tr></thead><tbody>");
            foreach (var v in doc.Pruned)
            {
                var cells = PrunedColumns.Cells(doc, v);
                w.WriteLine("<tr class=\"pruned\">" + string.Concat(cells.Select((c, i) => $"<td class=\"{(headers[i].Right ? "num" : "variant")}\">{E(c)}</td>")) + "</tr>");
            }
            w.WriteLine("</tbody></table>");
        }

        private static string Slug(string name) =>
            new string(name.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());

        private static string Tooltip(VariantAggregate v)
        {
            var acc = v.EvalAccuracy!;
            var spread = acc.Count > 1
                ? $"mean of {acc.Count} runs {ReportColumns.Percent(acc.Mean)}, 95% CI {ReportColumns.Percent(acc.Low)} to {ReportColumns.Percent(acc.High)}"
                : ReportColumns.Percent(acc.Mean);
            var forward = v.ForwardImagesPerSecond is { } f ? $", {f.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} forward images/s" : "";
            return $"{v.Variant}: eval acc {spread}, {Numbers.Scaled(v.Macs)} MACs, {Numbers.Grouped(v.Params)} params{forward}";
        }

        /// <summary>
        /// One curve per variant: a run's curve, or with several seeds the mean at the steps all its runs logged. The step
        /// axis starts at 0 and ends at the last step (or the next tick close past it).
        /// </summary>
        private static void CurveChart(TextWriter w, string id, string title, string yTitle, IReadOnlyList<VariantRecord> runs,
            IReadOnlyDictionary<string, string> colors, System.Func<VariantRecord, IEnumerable<(int Step, double Value)>> curveOf, double highest,
            System.Func<ReportScale, System.Func<double, string>> yTicks)
        {
            var series = runs.GroupBy(r => r.Variant, System.StringComparer.Ordinal).Select(g =>
            {
                var curves = g.Select(r => curveOf(r).ToDictionary(p => p.Step, p => p.Value)).ToList();
                var steps = curves.Skip(1).Aggregate((IEnumerable<int>)curves[0].Keys, (common, c) => common.Intersect(c.Keys)).OrderBy(s => s);
                var mean = steps.Select(s => ((double)s, curves.Average(c => c[s]))).ToList();
                var name = curves.Count > 1 ? $"{g.Key} (mean of {curves.Count} runs)" : g.Key;
                return new Series(name, mean, colors[g.Key]);
            }).Where(s => s.Points.Count > 0).ToList();
            var xScale = ReportScale.Nice(series.SelectMany(s => s.Points).Select(p => p.X).Append(0).ToList(), lowest: 0, margin: 0);
            var yScale = ReportScale.Nice(series.SelectMany(s => s.Points).Select(p => p.Y).ToList(), lowest: 0, highest: highest);
            Lines(w, id, title, "Step", yTitle, series, xScale, yScale, PlainTicks(xScale), yTicks(yScale));
        }

        /// <summary>Point labels drop the sweep prefix every variant of the sweep shares; the tooltip has the full name.</summary>
        private static string ShortName(VariantAggregate v) =>
            v.Variant.StartsWith(v.Sweep + "/", System.StringComparison.Ordinal) ? v.Variant.Substring(v.Sweep.Length + 1) : v.Variant;
    }
}
