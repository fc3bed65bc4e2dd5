using System;
using System.IO;
using System.Linq;
using System.Text;

namespace Torchwright.Cli.Output
{
    /// <summary>The report as an aligned text table (a terminal) or a Markdown table (a PR or a notebook).</summary>
    internal static class ReportText
    {
        public static void Write(TextWriter w, ReportDocument doc, bool markdown)
        {
            string bullet = markdown ? "- " : "";
            w.WriteLine(markdown ? "### Sweep results" : "Sweep results");
            if (markdown) w.WriteLine();
            w.WriteLine(bullet + doc.Headline());
            w.WriteLine(bullet + "Databases: " + string.Join(", ", doc.Databases.Select(d => markdown ? Code(d) : d)));
            w.WriteLine();
            if (doc.Variants.Count == 0)
            {
                w.WriteLine("No variants: the databases hold no planned variant yet (run torchwright sweep).");
                return;
            }

            var stats = doc.Aggregates;
            if (stats.Replicated)
            {
                w.WriteLine(markdown ? "#### Per variant" : "Per variant");
                if (markdown) w.WriteLine();
                w.WriteLine(bullet + char.ToUpperInvariant(stats.Method[0]) + stats.Method.Substring(1) + ".");
                w.WriteLine();
                var summary = new TextTable(ReportAggregates.Headers);
                foreach (var v in stats.Sorted(doc.Sort))
                {
                    var cells = stats.Cells(v);
                    if (markdown) cells[0] = Code(cells[0]);
                    summary.Add(cells);
                }
                if (markdown) summary.WriteMarkdown(w); else summary.WriteText(w);
                w.WriteLine();
                w.WriteLine(markdown ? "#### Per run" : "Per run");
                w.WriteLine();
            }

            var runs = doc.Unpruned;
            bool withError = ReportColumns.HasErrors(runs);
            var table = new TextTable(ReportColumns.Headers(withError, stats.Replicated));
            foreach (var v in runs)
            {
                var cells = ReportColumns.Cells(v, withError, stats.Replicated);
                if (markdown)
                {
                    cells[0] = Code(cells[0]);
                    if (withError) cells[^1] = Plain(cells[^1]);
                }
                table.Add(cells);
            }
            if (markdown) table.WriteMarkdown(w); else table.WriteText(w);
            w.WriteLine();

            if (doc.Pruned.Count > 0)
            {
                Heading(w, "Pruned runs (stopped early; in no statistic)", markdown);
                var pruned = new TextTable(PrunedColumns.Headers);
                foreach (var v in doc.Pruned)
                {
                    var cells = PrunedColumns.Cells(doc, v);
                    if (markdown) cells[0] = Code(cells[0]);
                    pruned.Add(cells);
                }
                if (markdown) pruned.WriteMarkdown(w); else pruned.WriteText(w);
                w.WriteLine();
            }

            if (doc.Excluded.Count > 0)
            {
                Heading(w, "Excluded by budget (not trained)", markdown);
                var excluded = new TextTable(ExcludedVariant.Headers);
                foreach (var v in doc.Excluded)
                {
                    var cells = v.Cells();
                    if (markdown) cells[0] = Code(cells[0]);
                    excluded.Add(cells);
                }
                if (markdown) excluded.WriteMarkdown(w); else excluded.WriteText(w);
                w.WriteLine();
            }

            var fronts = stats.ShownFronts.ToList();
            if (fronts.Count > 0)
            {
                Heading(w, "Pareto fronts", markdown);
                foreach (var front in fronts)
                    w.WriteLine(bullet + $"Eval acc vs {front.Axis.Title}: "
                        + string.Join(", ", front.Front.Select(v => $"{(markdown ? Code(v.Variant) : v.Variant)} ({Cost(front.Axis, v)}, {ReportColumns.Percent(v.EvalAccuracy!.Mean)})")));
                w.WriteLine(bullet + ParetoFront.Rule + ".");
                w.WriteLine();
            }

            if (stats.Effects.Count > 0)
            {
                Heading(w, "Main effects", markdown);
                w.WriteLine(bullet + ReportHtml.MainEffectMethod + ".");
                w.WriteLine();
                bool several = stats.Effects.Select(e => e.Sweep).Distinct().Count() > 1;
                var effects = new TextTable(MainEffect.Headers);
                foreach (var effect in stats.Effects)
                    foreach (var cells in effect.Rows(several))
                    {
                        if (markdown) cells[1] = Code(cells[1]);
                        effects.Add(cells);
                    }
                if (markdown) effects.WriteMarkdown(w); else effects.WriteText(w);
                w.WriteLine();
            }

            w.WriteLine(bullet + Conventions.Macs + ".");
            w.WriteLine(bullet + ReportDocument.MetricConventions + ".");
            if (stats.Replicated || stats.Effects.Count > 0 || doc.Pruned.Count > 0) w.WriteLine(bullet + ReportDocument.IntervalConvention + ".");
        }

        private static void Heading(TextWriter w, string title, bool markdown)
        {
            w.WriteLine(markdown ? "#### " + title : title);
            w.WriteLine();
        }

        private static string Cost(CostAxis axis, VariantAggregate v) => axis == CostAxis.ForwardImagesPerSecond
            ? axis.Value(v)!.Value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " images/s"
            : Numbers.Scaled((long)axis.Value(v)!.Value) + (axis == CostAxis.Macs ? " MACs" : " params");

        /// <summary>A Markdown code span that survives backticks in the text (a longer fence, padded).</summary>
        private static string Code(string text)
        {
            if (!text.Contains('`')) return "`" + text + "`";
            var fence = new string('`', LongestRun(text, '`') + 1);
            return fence + " " + text + " " + fence;
        }

        /// <summary>Free text (an error message) with Markdown's inline syntax and raw HTML escaped.</summary>
        private static string Plain(string text)
        {
            var sb = new StringBuilder();
            foreach (var c in text)
            {
                if ("\\`*_[]<>&#!~".IndexOf(c) >= 0) sb.Append('\\');
                sb.Append(c);
            }
            return sb.ToString();
        }

        private static int LongestRun(string text, char c)
        {
            int longest = 0, run = 0;
            foreach (var ch in text)
            {
                run = ch == c ? run + 1 : 0;
                longest = Math.Max(longest, run);
            }
            return longest;
        }
    }
}
