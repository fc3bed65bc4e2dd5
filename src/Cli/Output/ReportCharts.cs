using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// An axis range with "nice" tick spacing (1, 2 or 5 times a power of ten). The data, widened by a margin (a
    /// fraction of its span, so points do not sit on the frame) and clamped to the quantity's natural bounds (accuracy
    /// in [0, 1], counts and losses at least 0), is covered by 4 to 10 steps; of the spacings that allow it, the one whose
    /// ticks overshoot the data least wins (fewer ticks on a tie). Each end of the axis is the tick just past the data when
    /// that tick is within 5 % of the span, else the data's end itself: 1,200 steps give ticks 0, 200, …, 1,200, not an
    /// axis running to 1,500.
    /// </summary>
    internal readonly record struct ReportScale(double Min, double Max, double Step)
    {
        private const double Slack = 1e-9, MinSteps = 4, MaxSteps = 10, Overshoot = 0.05;

        public static ReportScale Nice(IReadOnlyCollection<double> values, double lowest = double.NegativeInfinity, double highest = double.PositiveInfinity,
            double margin = 0.05)
        {
            double lo = values.Min(), hi = values.Max();
            double span = hi - lo;
            double pad = span > 0 ? span * margin : (lo == 0 ? 1 : Math.Abs(lo) * 0.1);
            // The bounds clip the margin, never the data.
            lo = Math.Max(lo - pad, Math.Min(lowest, lo));
            hi = Math.Min(hi + pad, Math.Max(highest, hi));
            span = hi - lo;
            double magnitude = Math.Pow(10, Math.Floor(Math.Log10(span / 6)));
            (double Step, double Over, double Count)? best = null;
            foreach (var scale in new[] { 0.1, 1, 10 })
                foreach (var mantissa in new[] { 1.0, 2.0, 5.0 })
                {
                    double step = mantissa * magnitude * scale;
                    double first = Math.Floor(lo / step + Slack), last = Math.Ceiling(hi / step - Slack);
                    double count = last - first;
                    if (count < MinSteps || count > MaxSteps) continue;
                    double over = (lo - first * step) + (last * step - hi);
                    if (best is not { } b || over < b.Over - Slack * span || (Math.Abs(over - b.Over) <= Slack * span && count < b.Count))
                        best = (step, over, count);
                }
            // Spans that no spacing covers in 4 to 10 steps cannot occur ({1, 2, 5} are at most 2.5x apart); kept total anyway.
            double chosen = best?.Step ?? span / MinSteps;
            double min = Math.Floor(lo / chosen + Slack) * chosen, max = Math.Ceiling(hi / chosen - Slack) * chosen;
            if (min < lo - Overshoot * span) min = lo;
            if (max > hi + Overshoot * span) max = hi;
            return new ReportScale(min, max, chosen);
        }

        /// <summary>The multiples of <see cref="Step"/> from <see cref="Min"/> to <see cref="Max"/>.</summary>
        public IEnumerable<double> Ticks()
        {
            long first = (long)Math.Ceiling(Min / Step - Slack), last = (long)Math.Floor(Max / Step + Slack);
            for (long i = first; i <= last; i++) yield return i * Step;
        }

        /// <summary>Maps a value onto the pixel interval [<paramref name="from"/>, <paramref name="to"/>].</summary>
        public double Map(double value, double from, double to) => from + (value - Min) / (Max - Min) * (to - from);

        /// <summary>Decimals that tell adjacent ticks apart when values are divided by <paramref name="unit"/>.</summary>
        public int Decimals(double unit = 1) => Math.Max(0, -(int)Math.Floor(Math.Log10(Step / unit) + Slack));
    }

    /// <summary>Inline SVG charts for the HTML report: scatter plots with labelled points, and line charts with a legend.</summary>
    internal static class ReportCharts
    {
        /// <summary>
        /// A labelled point; <see cref="Interval"/> (the 95 % interval of a mean) is drawn as a vertical error bar, and a
        /// point on the Pareto front (<see cref="Pareto"/>) is ringed and joined to the front's other points.
        /// </summary>
        public sealed record Point(string Name, string Label, double X, double Y, string Color, string Tooltip, (double Low, double High)? Interval = null,
            bool Pareto = false);

        /// <summary>An axis-aligned rectangle in SVG pixels (y grows downwards).</summary>
        public readonly record struct Box(double X, double Y, double Width, double Height)
        {
            public bool Intersects(Box o) => X < o.X + o.Width && o.X < X + Width && Y < o.Y + o.Height && o.Y < Y + Height;
        }

        /// <summary>A point label to place: the point's centre, the text's length in characters, and which side it goes.</summary>
        public readonly record struct LabelAnchor(double X, double Y, int Characters, bool Left);

        /// <summary>Point labels are set in an 11 px monospace face: every character is 0.6 em wide (6.6 px), boxes use 6.8 px for slack.</summary>
        public const double LabelCharWidth = 6.8, LabelHeight = 14, LabelGap = 7, PointRadius = 5;

        private const int LabelTries = 24;

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
            var centres = points.Select(p => (X: x.Map(p.X, PlotLeft, PlotLeft + PlotWidth), Y: y.Map(p.Y, PlotBottom, PlotTop))).ToList();
            var front = points.Select((p, i) => (p, c: centres[i])).Where(t => t.p.Pareto).OrderBy(t => t.c.X).ThenBy(t => t.c.Y).ToList();
            if (front.Count > 1)
                w.WriteLine($"<polyline class=\"pareto-front\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.25\" stroke-dasharray=\"5 3\" "
                    + $"points=\"{string.Join(" ", front.Select(t => F(t.c.X) + "," + F(t.c.Y)))}\"><title>Pareto front</title></polyline>");
            // Labels of points in the right half go to their left, so they stay inside the chart.
            var anchors = centres.Select((c, i) => new LabelAnchor(c.X, c.Y, points[i].Label.Length, c.X > PlotLeft + PlotWidth / 2)).ToList();
            var boxes = PlaceLabels(anchors, PlotTop, PlotBottom);
            for (int i = 0; i < points.Count; i++)
            {
                var p = points[i];
                double cx = centres[i].X, cy = centres[i].Y;
                bool left = anchors[i].Left;
                if (p.Interval is { } iv)
                {
                    double lo = y.Map(iv.Low, PlotBottom, PlotTop), hi = y.Map(iv.High, PlotBottom, PlotTop);
                    w.WriteLine($"<g class=\"interval\" data-variant=\"{E(p.Name)}\" stroke=\"{p.Color}\" stroke-width=\"1.5\">"
                        + $"<line x1=\"{F(cx)}\" y1=\"{F(lo)}\" x2=\"{F(cx)}\" y2=\"{F(hi)}\"/>"
                        + $"<line x1=\"{F(cx - 4)}\" y1=\"{F(lo)}\" x2=\"{F(cx + 4)}\" y2=\"{F(lo)}\"/>"
                        + $"<line x1=\"{F(cx - 4)}\" y1=\"{F(hi)}\" x2=\"{F(cx + 4)}\" y2=\"{F(hi)}\"/></g>");
                }
                var box = boxes[i];
                // A label moved off its point is tied to it by a leader line from the point to the label's near edge.
                string leader = Math.Abs(box.Y + box.Height / 2 - cy) > LabelHeight
                    ? $"<line class=\"leader\" x1=\"{F(cx)}\" y1=\"{F(cy)}\" x2=\"{F(left ? box.X + box.Width : box.X)}\" y2=\"{F(box.Y + box.Height / 2)}\"/>"
                    : "";
                string label = p.Label.Length == 0 ? ""
                    : $"<text class=\"point-label\" x=\"{F(left ? box.X + box.Width : box.X)}\" y=\"{F(box.Y + box.Height - 3)}\" text-anchor=\"{(left ? "end" : "start")}\">{E(p.Label)}</text>";
                if (label.Length == 0) leader = "";
                if (p.Pareto)
                    w.WriteLine($"<circle class=\"pareto-mark\" data-variant=\"{E(p.Name)}\" cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"8.5\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\"/>");
                w.WriteLine($"<g class=\"point-group\">{leader}<circle class=\"point\" data-variant=\"{E(p.Name)}\" cx=\"{F(cx)}\" cy=\"{F(cy)}\" r=\"{F(PointRadius)}\" fill=\"{p.Color}\"><title>{E(p.Tooltip)}</title></circle>{label}</g>");
            }
            w.WriteLine("</svg>");
        }

        /// <summary>
        /// Greedy label placement. Each label wants the spot above and beside its point (to its right, or to its left when
        /// <see cref="LabelAnchor.Left"/>); labels are placed from the topmost point down, and one whose spot overlaps a label
        /// already placed or a point's marker moves down, then up, by one label height at a time (down first: the points
        /// below are placed later), keeping inside [<paramref name="top"/>, <paramref name="bottom"/>], to the first free spot.
        /// Returns each label's box, in the anchors' order. When no spot within <see cref="LabelTries"/> heights is free the
        /// label keeps the spot that overlaps least.
        /// </summary>
        public static IReadOnlyList<Box> PlaceLabels(IReadOnlyList<LabelAnchor> anchors, double top, double bottom)
        {
            var markers = anchors.Select(a => new Box(a.X - PointRadius, a.Y - PointRadius, 2 * PointRadius, 2 * PointRadius)).ToList();
            var placed = new Box[anchors.Count];
            var done = new List<Box>();
            foreach (int i in Enumerable.Range(0, anchors.Count).OrderBy(i => anchors[i].Y).ThenBy(i => anchors[i].X))
            {
                var a = anchors[i];
                if (a.Characters == 0)
                {
                    placed[i] = new Box(a.X, a.Y, 0, 0);
                    continue;
                }
                double width = a.Characters * LabelCharWidth;
                double x = a.Left ? a.X - LabelGap - width : a.X + LabelGap;
                double preferred = a.Y - LabelGap - LabelHeight + 4;
                Box? best = null;
                double bestOverlap = double.PositiveInfinity;
                for (int k = 0; k <= 2 * LabelTries; k++)
                {
                    // 0, +1, -1, +2, -2, … label heights from the preferred spot.
                    int step = (k + 1) / 2 * (k % 2 == 1 ? 1 : -1);
                    double y = Math.Clamp(preferred + step * LabelHeight, top, bottom - LabelHeight);
                    var box = new Box(x, y, width, LabelHeight);
                    double overlap = done.Concat(markers.Where((_, j) => j != i)).Sum(o => Overlap(box, o));
                    if (overlap < bestOverlap)
                    {
                        best = box;
                        bestOverlap = overlap;
                        if (overlap == 0) break;
                    }
                }
                placed[i] = best!.Value;
                done.Add(placed[i]);
            }
            return placed;
        }

        private static double Overlap(Box a, Box b) =>
            Math.Max(0, Math.Min(a.X + a.Width, b.X + b.Width) - Math.Max(a.X, b.X)) * Math.Max(0, Math.Min(a.Y + a.Height, b.Y + b.Height) - Math.Max(a.Y, b.Y));

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

        /// <summary>A variant in a parallel-coordinates chart: its level on each categorical axis and its mean eval accuracy.</summary>
        public sealed record ParallelLine(string Name, IReadOnlyList<string> Levels, double Accuracy, string Tooltip);

        private const double ParallelTop = 40, ParallelHeight = 280, ParallelLeft = 96, ParallelRight = 84, ColorBarWidth = 240;

        /// <summary>
        /// Parallel coordinates: one vertical axis per sweep axis, its levels as ordered categories spaced evenly (the
        /// first at the bottom), then the eval-accuracy axis on <paramref name="accuracy"/>'s scale. Each variant is a
        /// polyline through its levels to its accuracy, coloured by accuracy (viridis, dark = low, yellow = high; the
        /// bar below gives the range); the best variants are drawn last, so they lie on top.
        /// </summary>
        public static void Parallel(TextWriter w, string id, string title, IReadOnlyList<SweepAxis> axes, IReadOnlyList<ParallelLine> lines, ReportScale accuracy)
        {
            double bottom = ParallelTop + ParallelHeight, barTop = bottom + 36;
            w.WriteLine($"<svg id=\"{E(id)}\" class=\"chart parallel\" viewBox=\"0 0 {F(Width)} {F(barTop + 40)}\" width=\"{F(Width)}\" height=\"{F(barTop + 40)}\" role=\"img\" aria-label=\"{E(title)}\">");
            w.WriteLine($"<title>{E(title)}</title>");
            int n = axes.Count + 1;
            double AxisX(int i) => ParallelLeft + i * (Width - ParallelLeft - ParallelRight) / (n - 1);
            double LevelY(SweepAxis axis, string level) =>
                bottom - (axis.Levels.ToList().IndexOf(level) + 0.5) / axis.Levels.Count * ParallelHeight;
            double lowest = lines.Min(l => l.Accuracy), highest = lines.Max(l => l.Accuracy);

            double accX = AxisX(n - 1);
            // Lines first, so the axes and their labels (with a white halo: svg.parallel text in the page's style) lie on top.
            foreach (var line in lines.OrderBy(l => l.Accuracy).ThenBy(l => l.Name, StringComparer.Ordinal))
            {
                var xy = axes.Select((a, i) => (X: AxisX(i), Y: LevelY(a, line.Levels[i])))
                    .Append((X: accX, Y: accuracy.Map(line.Accuracy, bottom, ParallelTop)));
                double t = highest > lowest ? (line.Accuracy - lowest) / (highest - lowest) : 1;
                w.WriteLine($"<polyline class=\"pc-line\" data-variant=\"{E(line.Name)}\" fill=\"none\" stroke=\"{Viridis(t)}\" stroke-width=\"2\" stroke-opacity=\"0.85\" "
                    + $"points=\"{string.Join(" ", xy.Select(p => F(p.X) + "," + F(p.Y)))}\"><title>{E(line.Tooltip)}</title></polyline>");
            }

            for (int i = 0; i < axes.Count; i++)
            {
                double ax = AxisX(i);
                w.WriteLine($"<g class=\"pc-axis\" data-axis=\"{E(axes[i].Name)}\"><line x1=\"{F(ax)}\" y1=\"{F(ParallelTop)}\" x2=\"{F(ax)}\" y2=\"{F(bottom)}\" stroke=\"#888\"/>"
                    + $"<text class=\"pc-axis-title axis-title\" x=\"{F(ax)}\" y=\"{F(ParallelTop - 14)}\" text-anchor=\"middle\">{E(axes[i].Name)}</text>");
                foreach (var level in axes[i].Levels)
                    w.WriteLine($"<text class=\"tick pc-level\" x=\"{F(ax - 6)}\" y=\"{F(LevelY(axes[i], level))}\" text-anchor=\"end\" dominant-baseline=\"middle\">{E(level)}</text>");
                w.WriteLine("</g>");
            }
            var accTick = PercentTicks(accuracy);
            w.WriteLine($"<g class=\"pc-axis\" data-axis=\"eval accuracy\"><line x1=\"{F(accX)}\" y1=\"{F(ParallelTop)}\" x2=\"{F(accX)}\" y2=\"{F(bottom)}\" stroke=\"#888\"/>"
                + $"<text class=\"pc-axis-title axis-title\" x=\"{F(accX)}\" y=\"{F(ParallelTop - 14)}\" text-anchor=\"middle\">eval acc</text>");
            foreach (var t in accuracy.Ticks())
                w.WriteLine($"<text class=\"tick\" x=\"{F(accX + 6)}\" y=\"{F(accuracy.Map(t, bottom, ParallelTop))}\" dominant-baseline=\"middle\">{E(accTick(t))}</text>");
            w.WriteLine("</g>");

            // The colour bar: the accuracy range the line colours span, as 24 swatches (a gradient would need a url() reference).
            const int Swatches = 24;
            double barX = ParallelLeft, swatch = ColorBarWidth / Swatches;
            w.WriteLine("<g class=\"pc-colorbar\">" + string.Concat(Enumerable.Range(0, Swatches).Select(k =>
                    $"<rect x=\"{F(barX + k * swatch)}\" y=\"{F(barTop)}\" width=\"{F(swatch + 0.5)}\" height=\"10\" fill=\"{Viridis((k + 0.5) / Swatches)}\"/>"))
                + $"<text class=\"tick\" x=\"{F(barX)}\" y=\"{F(barTop + 24)}\">{E(ReportColumns.Percent(lowest))}</text>"
                + $"<text class=\"tick\" x=\"{F(barX + ColorBarWidth)}\" y=\"{F(barTop + 24)}\" text-anchor=\"end\">{E(ReportColumns.Percent(highest))}</text>"
                + $"<text class=\"tick\" x=\"{F(barX + ColorBarWidth + 10)}\" y=\"{F(barTop + 9)}\">line colour: mean eval accuracy</text></g>");
            w.WriteLine("</svg>");
        }

        /// <summary>Viridis at <paramref name="t"/> in [0, 1], linearly between five of its reference colours.</summary>
        public static string Viridis(double t)
        {
            var stops = new (int R, int G, int B)[] { (68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37) };
            t = Math.Clamp(double.IsFinite(t) ? t : 1, 0, 1) * (stops.Length - 1);
            int k = Math.Min((int)Math.Floor(t), stops.Length - 2);
            double f = t - k;
            int Mix(int a, int b) => (int)Math.Round(a + (b - a) * f);
            return $"#{Mix(stops[k].R, stops[k + 1].R):x2}{Mix(stops[k].G, stops[k + 1].G):x2}{Mix(stops[k].B, stops[k + 1].B):x2}";
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
