using System.Collections.Generic;
using System.IO;
using System.Linq;
using Torchwright.Runtime.Sweeps;
using static Torchwright.Cli.Output.ReportCharts;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// The report as one self-contained HTML page: the results table, eval accuracy against MACs and against parameters,
    /// and the training loss curves, all as inline SVG. The page loads nothing (its Content-Security-Policy forbids
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
svg .point { stroke: #222; stroke-width: 0.75; } svg .point-label { fill: #222; font-size: 11px; }
footer { margin-top: 2em; color: #555; font-size: 0.85em; }";

        public static void Write(TextWriter w, ReportDocument doc)
        {
            var done = doc.Done;
            var colors = done.Select((v, i) => (v.Variant, Color: Palette[i % Palette.Length])).ToDictionary(p => p.Variant, p => p.Color);

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

            w.WriteLine("<h2>Variants</h2>");
            if (doc.Variants.Count == 0) Empty(w, "No variants: the databases hold no planned variant yet (run torchwright sweep).");
            else WriteTable(w, doc.Variants, colors);

            var measured = done.Where(v => v.EvalAccuracy != null).ToList();
            w.WriteLine("<h2>Eval accuracy vs MACs</h2>");
            if (measured.Count == 0) Empty(w, NothingToChart);
            else AccuracyChart(w, "acc-vs-macs", "Eval accuracy vs MACs", "MACs (multiply-accumulates per image)", measured, colors, v => v.Macs);
            w.WriteLine("<h2>Eval accuracy vs parameters</h2>");
            if (measured.Count == 0) Empty(w, NothingToChart);
            else AccuracyChart(w, "acc-vs-params", "Eval accuracy vs parameters", "Parameters", measured, colors, v => v.Params);

            var curves = done.Where(v => v.LossCurve.Count > 0).ToList();
            w.WriteLine("<h2>Training loss</h2>");
            if (curves.Count == 0) Empty(w, "No done variant has a loss curve yet: nothing to chart.");
            else LossChart(w, curves, colors);

            w.WriteLine($"<footer><p>{E(Conventions.Macs)}.</p><p>{E(ReportDocument.MetricConventions)}.</p></footer>");
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
                var settings = run != null ? $"<code>{E(run)}</code>" : "<span class=\"empty\">no variant taken from it</span>";
                w.WriteLine($"<tr><td><code>{E(db)}</code></td><td>{settings}</td></tr>");
            }
            w.WriteLine("</tbody></table>");
        }

        private static void WriteTable(TextWriter w, IReadOnlyList<VariantRecord> variants, IReadOnlyDictionary<string, string> colors)
        {
            bool withError = ReportColumns.HasErrors(variants);
            var headers = ReportColumns.Headers(withError);
            w.WriteLine("<table id=\"variants\"><thead><tr>" + string.Concat(headers.Select(h => $"<th>{E(h.Header)}</th>")) + "</tr></thead><tbody>");
            foreach (var v in variants)
            {
                var cells = ReportColumns.Cells(v, withError);
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

        private static void AccuracyChart(TextWriter w, string id, string title, string xTitle, IReadOnlyList<VariantRecord> variants,
            IReadOnlyDictionary<string, string> colors, System.Func<VariantRecord, long> x)
        {
            var xScale = ReportScale.Nice(variants.Select(v => (double)x(v)).ToList(), lowest: 0);
            var yScale = ReportScale.Nice(variants.Select(v => v.EvalAccuracy!.Value).ToList(), lowest: 0, highest: 1);
            var points = variants.Select(v => new Point(v.Variant, ShortName(v), x(v), v.EvalAccuracy!.Value, colors[v.Variant],
                $"{v.Variant}: eval acc {ReportColumns.Percent(v.EvalAccuracy)}, {Numbers.Scaled(v.Macs)} MACs, {Numbers.Grouped(v.Params)} params")).ToList();
            Scatter(w, id, title, xTitle, "Eval accuracy (top-1)", points, xScale, yScale, SiTicks(xScale), PercentTicks(yScale));
        }

        private static void LossChart(TextWriter w, IReadOnlyList<VariantRecord> variants, IReadOnlyDictionary<string, string> colors)
        {
            var points = variants.SelectMany(v => v.LossCurve).ToList();
            var xScale = ReportScale.Nice(points.Select(p => (double)p.Step).ToList(), lowest: 0);
            var yScale = ReportScale.Nice(points.Select(p => p.Loss).ToList(), lowest: 0);
            var series = variants.Select(v => new Series(v.Variant, v.LossCurve.Select(p => ((double)p.Step, p.Loss)).ToList(), colors[v.Variant])).ToList();
            Lines(w, "loss-curves", "Training loss", "Step", "Training loss (window mean)", series, xScale, yScale, PlainTicks(xScale), PlainTicks(yScale));
        }

        /// <summary>Point labels drop the sweep prefix every variant of the sweep shares; the tooltip has the full name.</summary>
        private static string ShortName(VariantRecord v) =>
            v.Variant.StartsWith(v.Sweep + "/", System.StringComparison.Ordinal) ? v.Variant.Substring(v.Sweep.Length + 1) : v.Variant;
    }
}
