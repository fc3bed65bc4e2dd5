using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// An axis range with "nice" tick spacing (1, 2 or 5 times a power of ten) that covers the data with a small margin,
    /// clamped to the quantity's natural bounds (accuracy in [0, 1], counts and losses at least 0).
    /// </summary>
    internal readonly record struct ReportScale(double Min, double Max, double Step)
    {
        private const double Slack = 1e-9;

        public static ReportScale Nice(IReadOnlyCollection<double> values, double lowest = double.NegativeInfinity, double highest = double.PositiveInfinity)
        {
            double lo = values.Min(), hi = values.Max();
            double span = hi - lo;
            double pad = span > 0 ? span * 0.05 : (lo == 0 ? 1 : Math.Abs(lo) * 0.1);
            // The bounds clip the margin, never the data.
            lo = Math.Max(lo - pad, Math.Min(lowest, lo));
            hi = Math.Min(hi + pad, Math.Max(highest, hi));
            double raw = (hi - lo) / 5;
            double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double norm = raw / magnitude;
            double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
            return new ReportScale(Math.Floor(lo / step + Slack) * step, Math.Ceiling(hi / step - Slack) * step, step);
        }

        public IEnumerable<double> Ticks()
        {
            int n = (int)Math.Round((Max - Min) / Step);
            for (int i = 0; i <= n; i++) yield return Min + i * Step;
        }

        /// <summary>Maps a value onto the pixel interval [<paramref name="from"/>, <paramref name="to"/>].</summary>
        public double Map(double value, double from, double to) => from + (value - Min) / (Max - Min) * (to - from);

        /// <summary>Decimals that tell adjacent ticks apart when values are divided by <paramref name="unit"/>.</summary>
        public int Decimals(double unit = 1) => Math.Max(0, -(int)Math.Floor(Math.Log10(Step / unit) + Slack));
    }

    /// <summary>Inline SVG charts for the HTML report: scatter plots with labelled points, and line charts with a legend.</summary>
    internal static class ReportCharts
    {
        /// <summary>A labelled point; <see cref="Interval"/> (the 95 % interval of a mean) is drawn as a vertical error bar.</summary>
        public sealed record Point(string Name, string Label, double X, double Y, string Color, string Tooltip, (double Low, double High)? Interval = null);

        public sealed record Series(string Name, IReadOnlyList<(double X, double Y)> Points, string Color);

        /// <summary>Tableau 10: distinct hues that stay apart for most colour-vision deficiencies.</summary>
        public static readonly string[] Palette =
        {
            "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
        };

        private const double Width = 720, PlotTop = 16, PlotLeft = 84, PlotRight = 24, PlotHeight = 320, BelowPlot = 56, LegendRow = 18;

        private static double PlotWidth => Width - PlotLeft - PlotRight;

        private static double PlotBottom => PlotTop + PlotHeight;

        public static void Scatter(TextWriter w, string id, string title, string xTitle, string yTitle, IReadOnlyList<Point> points,
            ReportScale x, ReportScale y, Func<double, string> xTick, Func<double, string> yTick)
        {
            Open(w, id, title, PlotBottom + BelowPlot);
            Axes(w, x, y, xTitle, yTitle, xTick, yTick);
            foreach (var p in points)
            {
                double cx = x.Map(p.X, PlotLeft, PlotLeft + PlotWidth), cy = y.Map(p.Y, PlotBottom, PlotTop);
                // Labels of points in the right half go to their left, so they stay inside the chart.
                bool left = cx > PlotLeft + PlotWidth / 2;
                if (p.Interval is { } iv)
                {
                    double lo = y.Map(iv.Low, PlotBottom, PlotTop), hi = y.Map(iv.High, PlotBottom, PlotTop);
                    w.WriteLine($"<g class=\"interval\" data-variant=\"{E(p.Name)}\" stroke=\"{p.Color}\" stroke-width=\"1.5\">"
                        + $"<line x1=\"{F(cx)}\" y1=\"{F(lo)}\" x2=\"{F(cx)}\" y2=\"{F(hi)}\"/>"
                        + $"<line x1=\"{F(cx - 4)}\" y1=\"{F(lo)}\" x2=\"{F(cx + 4)}\" y2=\"{F(lo)}\"/>"
                        + $"<line x1=\"{F(cx - 4)}\" y1=\"{F(hi)}\" x2=\"{F(cx + 4)}\" y2=\"{F(hi)}\"/></g>");
                }
                w.WriteLine($"<g class=\"point-group\"><circle class=\"point\" data-variant=\"{E(p.Name)}\" cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"5\" fill=\"{p.Color}\"><title>{E(p.Tooltip)}</title></circle>"
                    + $"<text class=\"point-label\" x=\"{F(left ? cx - 7 : cx + 7)}\" y=\"{F(cy - 7)}\" text-anchor=\"{(left ? "end" : "start")}\">{E(p.Label)}</text></g>");
            }
            w.WriteLine("</svg>");
        }

        public static void Lines(TextWriter w, string id, string title, string xTitle, string yTitle, IReadOnlyList<Series> series,
            ReportScale x, ReportScale y, Func<double, string> xTick, Func<double, string> yTick)
        {
            double legendTop = PlotBottom + BelowPlot;
            Open(w, id, title, legendTop + LegendRow * series.Count + 8);
            Axes(w, x, y, xTitle, yTitle, xTick, yTick);
            foreach (var s in series)
            {
                var xy = s.Points.Select(p => (X: x.Map(p.X, PlotLeft, PlotLeft + PlotWidth), Y: y.Map(p.Y, PlotBottom, PlotTop))).ToList();
                w.WriteLine($"<polyline class=\"curve\" data-variant=\"{E(s.Name)}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"1.75\" "
                    + $"points=\"{string.Join(" ", xy.Select(p => F(p.X) + "," + F(p.Y)))}\"><title>{E(s.Name)}</title></polyline>");
                // A one-point curve draws no line; mark the point so the variant is still visible.
                if (xy.Count == 1)
                    w.WriteLine($"<circle class=\"curve-point\" cx=\"{F(xy[0].X)}\" cy=\"{F(xy[0].Y)}\" r=\"3\" fill=\"{s.Color}\"/>");
            }
            for (int i = 0; i < series.Count; i++)
            {
                double ly = legendTop + LegendRow * i + LegendRow / 2;
                w.WriteLine($"<g class=\"legend-item\"><line x1=\"{F(PlotLeft)}\" y1=\"{F(ly)}\" x2=\"{F(PlotLeft + 24)}\" y2=\"{F(ly)}\" stroke=\"{series[i].Color}\" stroke-width=\"3\"/>"
                    + $"<text class=\"legend-label\" x=\"{F(PlotLeft + 32)}\" y=\"{F(ly)}\" dominant-baseline=\"middle\">{E(series[i].Name)}</text></g>");
            }
            w.WriteLine("</svg>");
        }

        private static void Open(TextWriter w, string id, string title, double height)
        {
            w.WriteLine($"<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {F(Width)} {F(height)}\" width=\"{F(Width)}\" height=\"{F(height)}\" role=\"img\" aria-label=\"{E(title)}\">");
            w.WriteLine($"<title>{E(title)}</title>");
        }

        private static void Axes(TextWriter w, ReportScale x, ReportScale y, string xTitle, string yTitle, Func<double, string> xTick, Func<double, string> yTick)
        {
            foreach (var t in x.Ticks())
            {
                double px = x.Map(t, PlotLeft, PlotLeft + PlotWidth);
                w.WriteLine($"<line class=\"grid\" x1=\"{F(px)}\" y1=\"{F(PlotTop)}\" x2=\"{F(px)}\" y2=\"{F(PlotBottom)}\"/>"
                    + $"<text class=\"tick x-tick\" x=\"{F(px)}\" y=\"{F(PlotBottom + 18)}\" text-anchor=\"middle\">{E(xTick(t))}</text>");
            }
            foreach (var t in y.Ticks())
            {
                double py = y.Map(t, PlotBottom, PlotTop);
                w.WriteLine($"<line class=\"grid\" x1=\"{F(PlotLeft)}\" y1=\"{F(py)}\" x2=\"{F(PlotLeft + PlotWidth)}\" y2=\"{F(py)}\"/>"
                    + $"<text class=\"tick y-tick\" x=\"{F(PlotLeft - 8)}\" y=\"{F(py)}\" text-anchor=\"end\" dominant-baseline=\"middle\">{E(yTick(t))}</text>");
            }
            w.WriteLine($"<rect class=\"frame\" x=\"{F(PlotLeft)}\" y=\"{F(PlotTop)}\" width=\"{F(PlotWidth)}\" height=\"{F(PlotHeight)}\" fill=\"none\"/>");
            w.WriteLine($"<text class=\"axis-title\" x=\"{F(PlotLeft + PlotWidth / 2)}\" y=\"{F(PlotBottom + 44)}\" text-anchor=\"middle\">{E(xTitle)}</text>");
            w.WriteLine($"<text class=\"axis-title\" transform=\"translate(20 {F(PlotTop + PlotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{E(yTitle)}</text>");
        }

        /// <summary>Tick text for a count: in G, M or k by the axis maximum, with as many decimals as the spacing needs.</summary>
        public static Func<double, string> SiTicks(ReportScale scale)
        {
            double top = Math.Max(Math.Abs(scale.Min), Math.Abs(scale.Max));
            var (unit, suffix) = top >= 1e9 ? (1e9, " G") : top >= 1e6 ? (1e6, " M") : top >= 1e3 ? (1e3, " k") : (1.0, "");
            int decimals = scale.Decimals(unit);
            return v => (v / unit).ToString("F" + decimals, CultureInfo.InvariantCulture) + suffix;
        }

        public static Func<double, string> PercentTicks(ReportScale scale)
        {
            int decimals = scale.Decimals(0.01);
            return v => (100 * v).ToString("F" + decimals, CultureInfo.InvariantCulture) + "%";
        }

        public static Func<double, string> PlainTicks(ReportScale scale)
        {
            int decimals = scale.Decimals();
            return v => v.ToString("F" + decimals, CultureInfo.InvariantCulture);
        }

        public static string E(string text) => WebUtility.HtmlEncode(text);

        private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
    }
}
