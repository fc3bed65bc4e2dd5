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

            bool withError = ReportColumns.HasErrors(doc.Variants);
            var table = new TextTable(ReportColumns.Headers(withError, stats.Replicated));
            foreach (var v in doc.Variants)
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
            w.WriteLine(bullet + Conventions.Macs + ".");
            w.WriteLine(bullet + ReportDocument.MetricConventions + ".");
        }

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
