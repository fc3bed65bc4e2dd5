using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Torchwright.Cli.Output
{
    /// <summary>A plain grid of cells rendered either as an aligned text table or as a Markdown table.</summary>
    internal sealed class TextTable
    {
        private readonly string[] headers;
        private readonly bool[] rightAligned;
        private readonly List<(string[] Cells, bool Emphasis)> rows = new List<(string[] Cells, bool Emphasis)>();

        public TextTable(params (string Header, bool Right)[] columns)
        {
            headers = columns.Select(c => c.Header).ToArray();
            rightAligned = columns.Select(c => c.Right).ToArray();
        }

        public void Add(params string[] cells) => rows.Add((Pad(cells), false));

        /// <summary>A totals row: set off by a rule in text, bold in Markdown.</summary>
        public void AddTotal(params string[] cells) => rows.Add((Pad(cells), true));

        private string[] Pad(string[] cells)
        {
            if (cells.Length > headers.Length) throw new ArgumentException("too many cells", nameof(cells));
            return cells.Concat(Enumerable.Repeat("", headers.Length - cells.Length)).ToArray();
        }

        public void WriteText(TextWriter w)
        {
            var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r.Cells[i].Length))).ToArray();
            int total = widths.Sum() + 2 * (widths.Length - 1);
            string Line(string[] cells) => string.Join("  ", cells.Select((c, i) => rightAligned[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();

            w.WriteLine(new string('=', total));
            w.WriteLine(Line(headers));
            w.WriteLine(new string('=', total));
            foreach (var (cells, emphasis) in rows)
            {
                if (emphasis) w.WriteLine(new string('-', total));
                w.WriteLine(Line(cells));
            }
            w.WriteLine(new string('=', total));
        }

        public void WriteMarkdown(TextWriter w)
        {
            static string Escape(string s) => s.Replace("|", "\\|");
            w.WriteLine("| " + string.Join(" | ", headers.Select(Escape)) + " |");
            w.WriteLine("|" + string.Join("|", rightAligned.Select(r => r ? "---:" : "---")) + "|");
            foreach (var (cells, emphasis) in rows)
                w.WriteLine("| " + string.Join(" | ", cells.Select(c => c.Length == 0 ? "" : emphasis ? "**" + Escape(c) + "**" : Escape(c))) + " |");
        }
    }
}
