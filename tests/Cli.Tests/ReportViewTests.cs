using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Torchwright.Cli.Output;
using Torchwright.Sweeps;
using Torchwright.Runtime.Training;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// The report's sweep views on records built in the test (no database): Pareto fronts and their dominance rule,
    /// main effects, clipped intervals, pruned runs, eval curves and forward throughput (which the store does not hold
    /// yet), the axis ticks, and the label placement.
    /// </summary>
    public sealed class ReportViewTests
    {
        private const string Run = "{\"dataset\":\"shapes\",\"steps\":1200,\"lr\":0.1,\"opt\":\"sgd\"}";

        private static readonly DateTimeOffset T0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

        /// <summary>A run record as the store returns it; a done run gets a two-point loss curve ending at step 1,200.</summary>
        internal static VariantRecord Record(string variant, long seed, string config, long @params, long macs, double? acc, string status = "done",
            int index = 0, string sweep = "S", IReadOnlyList<LossPoint>? curve = null) =>
            new(variant, seed, sweep, index, status, T0, status == "pending" ? null : T0.AddMinutes(1), config, @params, macs,
                status == "done" ? 100 : null, null, status == "done" ? 0.5 : null, acc == null ? null : 1 - acc, acc, null, Run, "t.db",
                curve ?? (status == "done" ? new[] { new LossPoint(600, 1.0), new LossPoint(1200, 0.5) } : Array.Empty<LossPoint>()));

        internal static ReportDocument Document(IReadOnlyList<VariantRecord> runs, Func<VariantRecord, RunExtras>? extras = null, string sort = "eval_acc")
        {
            var doc = ReportDocument.Build(new[] { "t.db" }, runs, sort, Array.Empty<string>(), null, extras ?? (_ => RunExtras.None), out var error);
            Assert.True(doc != null, error);
            return doc!;
        }

        private static string Render(ReportDocument doc, string format)
        {
            var w = new StringWriter { NewLine = "\n" };
            switch (format)
            {
                case "html": ReportHtml.Write(w, doc); break;
                case "json": ReportJson.Write(w, doc); break;
                case "markdown": ReportText.Write(w, doc, markdown: true); break;
                default: ReportText.Write(w, doc, markdown: false); break;
            }
            return w.ToString();
        }

        private static string Front(ReportDocument doc, CostAxis axis) =>
            string.Join(" ", doc.Aggregates.Fronts.Single(f => f.Axis == axis).Front.Select(v => v.Variant));

        /// <summary>
        /// Dominance on crafted costs: an exact tie (same accuracy and cost) keeps both; equal accuracy at a higher cost,
        /// or equal cost at a lower accuracy, is dominated; a variant with no completed run takes no part; throughput is
        /// better when higher.
        /// </summary>
        [Fact]
        public void Pareto_fronts_follow_the_dominance_rule_with_ties()
        {
            var runs = new[]
            {
                Record("S/cheap", 0, "{}", 500, 50, 0.70),
                Record("S/tieA", 0, "{}", 300, 100, 0.80),
                Record("S/tieB", 0, "{}", 300, 100, 0.80),
                Record("S/sameAccMoreCost", 0, "{}", 300, 150, 0.80),
                Record("S/sameCostLessAcc", 0, "{}", 100, 100, 0.75),
                Record("S/best", 0, "{}", 900, 300, 0.90),
                Record("S/worse", 0, "{}", 900, 300, 0.85),
                Record("S/notDone", 0, "{}", 1, 1, null, status: "running"),
            };
            var forward = new Dictionary<string, double> { ["S/cheap"] = 400, ["S/tieA"] = 200, ["S/best"] = 50, ["S/worse"] = 500 };
            var doc = Document(runs, r => forward.TryGetValue(r.Variant, out var f) ? new RunExtras(Array.Empty<EvalAccuracyPoint>(), f) : RunExtras.None);

            Assert.Equal("S/cheap S/tieA S/tieB S/best", Front(doc, CostAxis.Macs));
            // By parameters: sameCostLessAcc (100) is cheapest; tieA/tieB/sameAccMoreCost share 300 params and 0.80.
            Assert.Equal("S/sameCostLessAcc S/sameAccMoreCost S/tieA S/tieB S/best", Front(doc, CostAxis.Params));
            // Forward images/s, higher is better, fastest first: worse (500, 0.85) dominates cheap (400, 0.70) and tieA (200, 0.80).
            Assert.Equal("S/worse S/best", Front(doc, CostAxis.ForwardImagesPerSecond));

            var on = doc.Aggregates.Fronts.Single(f => f.Axis == CostAxis.ForwardImagesPerSecond);
            Assert.Equal((true, false, (bool?)null), (on.On("S/best")!.Value, on.On("S/cheap")!.Value, on.On("S/tieB")));
            Assert.Null(doc.Aggregates.Fronts[0].On("S/notDone"));

            using var json = JsonDocument.Parse(Render(doc, "json"));
            var pareto = json.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("variant").GetString()!,
                r => JsonSerializer.Serialize(r.GetProperty("summary").GetProperty("pareto")));
            Assert.Equal("{\"macs\":true,\"params\":true,\"forward_images_per_s\":false}", pareto["S/tieA"]);
            Assert.Equal("{\"macs\":false,\"params\":true,\"forward_images_per_s\":null}", pareto["S/sameCostLessAcc"]);
            Assert.Equal("{\"macs\":false,\"params\":false,\"forward_images_per_s\":true}", pareto["S/worse"]);
            Assert.Equal("{\"macs\":null,\"params\":null,\"forward_images_per_s\":null}", pareto["S/notDone"]);

            var text = Render(doc, "table");
            Assert.Contains("Eval acc vs MACs: S/cheap (50 MACs, 70.00%), S/tieA (100 MACs, 80.00%), S/tieB (100 MACs, 80.00%), S/best (300 MACs, 90.00%)", text);
            Assert.Contains("Eval acc vs forward images/s: S/worse (500.0 images/s, 85.00%), S/best (50.0 images/s, 90.00%)", text);

            // The HTML marks exactly the front, and draws a throughput chart only because some run has a forward figure.
            var html = Render(doc, "html");
            Assert.Equal(4, Count(Section(html, "acc-vs-macs"), "class=\"pareto-mark\""));
            Assert.Equal(2, Count(Section(html, "acc-vs-forward-images-per-s"), "class=\"pareto-mark\""));
            Assert.Equal(7, Count(Section(html, "acc-vs-macs"), "<circle class=\"point\""));
            Assert.Equal(4, Count(Section(html, "acc-vs-forward-images-per-s"), "<circle class=\"point\""));
            Assert.DoesNotContain("acc-vs-forward", Render(Document(runs), "html"));
        }

        [Fact]
        public void A_single_variant_is_its_own_front_and_a_dominated_one_is_not()
        {
            var one = Document(new[] { Record("S/only", 0, "{}", 10, 10, 0.5) });
            Assert.Equal("S/only", Front(one, CostAxis.Macs));
            Assert.Equal("S/only", Front(one, CostAxis.Params));
            Assert.Empty(one.Aggregates.Fronts.Single(f => f.Axis == CostAxis.ForwardImagesPerSecond).Candidates);

            // The same accuracy for less: strictly better on one side, no worse on the other.
            var two = Document(new[] { Record("S/a", 0, "{}", 10, 10, 0.5), Record("S/b", 0, "{}", 10, 9, 0.5) });
            Assert.Equal("S/b", Front(two, CostAxis.Macs));
            Assert.Equal("S/a S/b", Front(two, CostAxis.Params));
        }

        /// <summary>A 2 × 2 sweep (c5.mhsa × train.lr) under seeds: the main effect of each axis pools every completed run at the level.</summary>
        [Fact]
        public void Main_effects_pool_the_completed_runs_at_each_level()
        {
            var acc = new Dictionary<(string Mhsa, string Lr), double[]>
            {
                [("[0,0,1]", "0.05")] = new[] { 0.60, 0.62 },
                [("[0,0,1]", "0.1")] = new[] { 0.70, 0.72 },
                [("[1,1,1]", "0.05")] = new[] { 0.50, 0.52 },
                [("[1,1,1]", "0.1")] = new[] { 0.80, 0.78 },
            };
            var runs = new List<VariantRecord>();
            int index = 0;
            foreach (var ((mhsa, lr), values) in acc)
            {
                var name = $"S/c5.mhsa={mhsa},train.lr={lr}";
                var config = $"{{\"depth\":3,\"c5.mhsa\":{mhsa},\"train.lr\":{lr},\"train.opt\":\"sgd\"}}";
                for (int seed = 0; seed < 2; seed++) runs.Add(Record(name, seed, config, 1000 + index, 2000 + index, values[seed], index: index));
                // A pruned third seed and a failed fourth: in no statistic.
                runs.Add(Record(name, 2, config, 1000 + index, 2000 + index, 0.01, status: "pruned", index: index));
                runs.Add(Record(name, 3, config, 1000 + index, 2000 + index, null, status: "failed", index: index));
                index++;
            }
            var doc = Document(runs);
            var effects = doc.Aggregates.Effects;
            // depth and train.opt take one value each: not axes. Levels in numeric order for lr, grid order for the lists.
            Assert.Equal(new[] { "c5.mhsa", "train.lr" }, effects.Select(e => e.Axis.Name));
            Assert.Equal(new[] { "[0,0,1]", "[1,1,1]" }, effects[0].Axis.Levels);
            Assert.Equal(new[] { "0.05", "0.1" }, effects[1].Axis.Levels);

            var low = effects[1].Levels[0].EvalAccuracy!;
            var pooled = new[] { 0.60, 0.62, 0.50, 0.52 };
            double mean = pooled.Average(), sd = Math.Sqrt(pooled.Sum(x => (x - mean) * (x - mean)) / 3);
            // t(0.975, 3) = 3.182446305284263
            double half = 3.182446305284263 * sd / 2;
            Assert.Equal((4, 0.56), (low.Count, Math.Round(low.Mean, 12)));
            Assert.Equal(sd, low.StdDev, 12);
            Assert.Equal(mean - half, low.Low, 9);
            Assert.Equal(mean + half, low.High, 9);
            Assert.Equal(2, effects[1].Levels[0].Variants);

            var text = Render(doc, "table");
            Assert.Contains("Main effects", text);
            var row = text.Split('\n').Single(l => l.StartsWith("train.lr", StringComparison.Ordinal) && l.Contains("0.05"));
            Assert.Equal($"train.lr  0.05  2  4  56.00%  [{P(mean - half)}, {P(mean + half)}]  {(100 * sd).ToString("0.00", CultureInfo.InvariantCulture)} pp", Squash(row));

            Assert.Contains($"| train.lr | `0.05` | 2 | 4 | 56.00% | [{P(mean - half)}, {P(mean + half)}] | {(100 * sd).ToString("0.00", CultureInfo.InvariantCulture)} pp |",
                Render(doc, "markdown"));

            using var json = JsonDocument.Parse(Render(doc, "json"));
            var first = json.RootElement.EnumerateArray().First(r => r.GetProperty("variant").GetString() == "S/c5.mhsa=[1,1,1],train.lr=0.05");
            var effect = first.GetProperty("summary").GetProperty("main_effects");
            Assert.Equal(new[] { "c5.mhsa", "train.lr" }, effect.EnumerateObject().Select(p => p.Name));
            Assert.Equal("0.05", effect.GetProperty("train.lr").GetProperty("level").GetString());
            Assert.Equal(0.56, effect.GetProperty("train.lr").GetProperty("eval_acc").GetProperty("mean").GetDouble(), 12);
            Assert.Equal(4, effect.GetProperty("train.lr").GetProperty("eval_acc").GetProperty("n").GetInt32());
            Assert.Equal("[1,1,1]", effect.GetProperty("c5.mhsa").GetProperty("level").GetString());
            Assert.Equal((0.50 + 0.52 + 0.80 + 0.78) / 4, effect.GetProperty("c5.mhsa").GetProperty("eval_acc").GetProperty("mean").GetDouble(), 12);
            Assert.Equal(1, first.GetProperty("summary").GetProperty("pruned").GetInt32());

            // The page: the effects table and one parallel-coordinates chart with a line per variant and an axis per sweep axis plus accuracy.
            var html = Render(doc, "html");
            Assert.Contains("<table class=\"effects\" id=\"effects-S\">", html);
            var parallel = Section(html, "parallel-S");
            Assert.Equal(4, Count(parallel, "<polyline class=\"pc-line\""));
            Assert.Equal(3, Count(parallel, "<g class=\"pc-axis\""));
            Assert.Contains(">[1,1,1]</text>", parallel);

            // One axis: no main effects and no parallel coordinates (they would repeat the per-variant table).
            var single = Document(new[] { Record("S/a", 0, "{\"w\":1}", 1, 1, 0.5), Record("S/b", 0, "{\"w\":2}", 1, 1, 0.6, index: 1) });
            Assert.Empty(single.Aggregates.Effects);
            Assert.DoesNotContain("class=\"chart parallel\"", Render(single, "html"));
            Assert.DoesNotContain("Main effects", Render(single, "table"));
        }

        /// <summary>Per-seed accuracies near 100 %: the Student t interval is clipped to [0, 1], in the statistics, the table, JSON and the chart.</summary>
        [Fact]
        public void Accuracy_intervals_are_clipped_to_the_unit_range()
        {
            var values = new[] { 1.0, 0.98, 0.90 };
            var runs = values.Select((a, seed) => Record("S/high", seed, "{}", 10, 10, a)).ToList();
            var doc = Document(runs);
            var acc = doc.Aggregates.Variants.Single().EvalAccuracy!;
            var raw = Statistics.Summarize(values);
            Assert.True(raw.High > 1.05, $"the unclipped interval should pass 100 %: {raw.High}");
            Assert.Equal((raw.Low, 1.0, raw.Mean), (acc.Low, acc.High, acc.Mean));

            Assert.Contains($"[{P(raw.Low)}, 100.00%]", Render(doc, "table"));
            using var json = JsonDocument.Parse(Render(doc, "json"));
            Assert.Equal(1.0, json.RootElement[0].GetProperty("summary").GetProperty("eval_acc").GetProperty("ci95_high").GetDouble());
            var html = Render(doc, "html");
            Assert.Contains("clipped to [0 %, 100 %]", html);
            // The error bar ends at the top of the plot (100 % maps to y = 16), never above it.
            var bar = Section(html, "acc-vs-macs");
            Assert.Contains("y2=\"16\"/>", bar[bar.IndexOf("<g class=\"interval\"", StringComparison.Ordinal)..]);
        }

        /// <summary>Pruned runs are listed apart with their last step and accuracy, and are in no statistic, table of runs or chart.</summary>
        [Fact]
        public void Pruned_runs_are_shown_apart_and_left_out_of_the_statistics()
        {
            var curve = new[] { new LossPoint(100, 2.0), new LossPoint(300, 1.5) };
            var runs = new[]
            {
                Record("S/a", 0, "{}", 10, 10, 0.70),
                Record("S/a", 1, "{}", 10, 10, 0.72),
                Record("S/a", 2, "{}", 10, 10, 0.10, status: "pruned", curve: curve),
                Record("S/b", 0, "{}", 20, 20, 0.30, status: "pruned", index: 1, curve: curve),
                Record("S/b", 1, "{}", 20, 20, null, status: "pruned", index: 1, curve: Array.Empty<LossPoint>()),
            };
            var evals = new Dictionary<(string, long), EvalAccuracyPoint[]> { [("S/b", 1)] = new[] { new EvalAccuracyPoint(50, 0.2), new EvalAccuracyPoint(250, 0.25) } };
            var doc = Document(runs, r => evals.TryGetValue((r.Variant, r.Seed), out var e) ? new RunExtras(e, null) : RunExtras.None);

            var a = doc.Aggregates.Variants.Single(v => v.Variant == "S/a");
            Assert.Equal((3, 2, 1, 0.71), (a.Runs, a.Done, a.Pruned, Math.Round(a.EvalAccuracy!.Mean, 12)));
            Assert.Null(doc.Aggregates.Variants.Single(v => v.Variant == "S/b").EvalAccuracy);
            Assert.Equal("S/a", Front(doc, CostAxis.Macs));

            var text = Render(doc, "table");
            Assert.Contains("5 runs of 2 variants from 1 database (2 done, 3 pruned)", text);
            var prunedRows = text[text.IndexOf("Pruned runs", StringComparison.Ordinal)..].Split('\n')
                .Where(l => l.StartsWith("S/", StringComparison.Ordinal)).Select(Squash).ToList();
            Assert.Equal(new[]
            {
                "S/a  2  300  10.00%  10  10",
                "S/b  0  300  30.00%  20  20",
                "S/b  1  250  25.00%  20  20",
            }, prunedRows);
            var markdown = Render(doc, "markdown");
            Assert.Contains("#### Pruned runs (stopped early; in no statistic)\n\n| Variant | Seed | Last step | Eval acc | Params | MACs |\n|---|---:|---:|---:|---:|---:|\n"
                + "| `S/a` | 2 | 300 | 10.00% | 10 | 10 |\n", markdown);
            var runRows = text[text.IndexOf("Per run", StringComparison.Ordinal)..text.IndexOf("Pruned runs", StringComparison.Ordinal)];
            Assert.DoesNotContain("pruned", runRows);
            Assert.Contains("2/3 (1 pruned)", text);

            var html = Render(doc, "html");
            Assert.Equal(3, Count(html, "<tr class=\"pruned\">"));
            Assert.Equal(1, Count(Section(html, "acc-vs-macs"), "<circle class=\"point\""));
            Assert.Equal(1, Count(Section(html, "loss-curves"), "<polyline class=\"curve\""));

            using var json = JsonDocument.Parse(Render(doc, "json"));
            var rows = json.RootElement.EnumerateArray().ToList();
            // Report order: the done runs by accuracy, then the pruned ones (partial figures rank nothing), by name.
            Assert.Equal("done done pruned pruned pruned", string.Join(" ", rows.Select(r => r.GetProperty("status").GetString())));
            Assert.Equal("1200 1200 300 300 250", string.Join(" ", rows.Select(r => r.GetProperty("last_step").GetRawText())));
        }

        /// <summary>An eval-accuracy curve over steps is drawn when the runs carry one (the seeds' mean at common steps), and not otherwise.</summary>
        [Fact]
        public void Eval_accuracy_curves_are_charted_when_the_runs_carry_them()
        {
            var runs = new[] { Record("S/a", 0, "{}", 10, 10, 0.6), Record("S/a", 1, "{}", 10, 10, 0.8), Record("S/b", 0, "{}", 20, 20, 0.5, index: 1) };
            var curves = new Dictionary<(string, long), EvalAccuracyPoint[]>
            {
                [("S/a", 0)] = new[] { new EvalAccuracyPoint(400, 0.2), new EvalAccuracyPoint(800, 0.4), new EvalAccuracyPoint(1200, 0.6) },
                [("S/a", 1)] = new[] { new EvalAccuracyPoint(400, 0.4), new EvalAccuracyPoint(1200, 0.8) },
            };
            var doc = Document(runs, r => curves.TryGetValue((r.Variant, r.Seed), out var c) ? new RunExtras(c, null) : RunExtras.None);
            var chart = Section(Render(doc, "html"), "eval-curves");
            Assert.Equal(1, Count(chart, "<polyline class=\"curve\""));
            Assert.Contains("S/a (mean of 2 runs)", chart);
            // Mean at the common steps 400 and 1200: 30 % and 70 %. x: 0 to 1,200 over the plot's 612 px from x = 84; y: the
            // data widened by 5 % each side (28 % to 72 %: no tick within 5 % of the span past either end) over 320 px up from y = 336.
            var points = chart[(chart.IndexOf("points=\"", StringComparison.Ordinal) + 8)..];
            points = points[..points.IndexOf('"')];
            static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
            Assert.Equal($"{F(84 + 612 / 3.0)},{F(336 - 320 * 0.02 / 0.44)} {F(84 + 612)},{F(336 - 320 * 0.42 / 0.44)}", points);
            Assert.DoesNotContain("eval-curves", Render(Document(runs), "html"));
        }

        [Fact]
        public void Run_settings_are_a_key_value_list()
        {
            var html = Render(Document(new[] { Record("S/a", 0, "{}", 10, 10, 0.6) }), "html");
            Assert.Contains("<ul class=\"settings\"><li><span class=\"key\">dataset</span> = shapes</li><li><span class=\"key\">steps</span> = 1200</li>"
                + "<li><span class=\"key\">lr</span> = 0.1</li><li><span class=\"key\">opt</span> = sgd</li></ul>", html);
            Assert.DoesNotContain("{&quot;dataset", html);
        }

        /// <summary>Nice axes: 1,200 steps end at 1,200 (not 1,500); an end far from the next tick is the data's end; margins and bounds.</summary>
        [Fact]
        public void Axis_ticks_end_at_the_data_or_a_tick_close_past_it()
        {
            static string Ticks(ReportScale s) => string.Join(" ", s.Ticks().Select(t => t.ToString("0.####", CultureInfo.InvariantCulture)));

            var steps = ReportScale.Nice(new double[] { 0, 20, 1200 }, lowest: 0, margin: 0);
            Assert.Equal((0.0, 1200.0, 200.0), (steps.Min, steps.Max, steps.Step));
            Assert.Equal("0 200 400 600 800 1000 1200", Ticks(steps));

            var odd = ReportScale.Nice(new double[] { 0, 1234 }, lowest: 0, margin: 0);
            Assert.Equal((0.0, 1234.0, 200.0), (odd.Min, odd.Max, odd.Step));
            Assert.Equal("0 200 400 600 800 1000 1200", Ticks(odd));

            var close = ReportScale.Nice(new double[] { 0, 1180 }, lowest: 0, margin: 0);
            Assert.Equal((0.0, 1200.0), (close.Min, close.Max));

            // Accuracy 50 % to 75 % with the 5 % margin: 48.75 % to 76.25 %, ticks every 5 %; both ends are the data's, as no tick is within 5 % of the span.
            var acc = ReportScale.Nice(new[] { 0.5, 0.75 }, lowest: 0, highest: 1);
            Assert.Equal(0.05, acc.Step, 12);
            Assert.Equal((0.4875, 0.7625), (Math.Round(acc.Min, 12), Math.Round(acc.Max, 12)));
            Assert.Equal("0.5 0.55 0.6 0.65 0.7 0.75", Ticks(acc));

            // Bounds clip the margin: accuracy up to 100 % stays at 100 %.
            var top = ReportScale.Nice(new[] { 0.9, 1.0 }, lowest: 0, highest: 1);
            Assert.Equal(1.0, top.Max);
            Assert.Equal(1.0, top.Ticks().Last(), 12);
        }

        /// <summary>
        /// Labels of points that nearly coincide (as [0,1,1] and [0,0,1] did in the parameters chart) get boxes that do not
        /// intersect one another or another point's marker, and stay inside the plot.
        /// </summary>
        [Fact]
        public void Point_labels_do_not_overlap()
        {
            var anchors = new[]
            {
                new ReportCharts.LabelAnchor(300, 100, 14, false),
                new ReportCharts.LabelAnchor(302, 103, 14, false),
                new ReportCharts.LabelAnchor(305, 98, 14, false),
                new ReportCharts.LabelAnchor(310, 101, 20, false),
                new ReportCharts.LabelAnchor(600, 20, 14, true),
                new ReportCharts.LabelAnchor(598, 22, 14, true),
            };
            var boxes = ReportCharts.PlaceLabels(anchors, 16, 336);
            for (int i = 0; i < boxes.Count; i++)
            {
                Assert.InRange(boxes[i].Y, 16, 336 - boxes[i].Height);
                Assert.Equal(anchors[i].Characters * ReportCharts.LabelCharWidth, boxes[i].Width);
                for (int j = 0; j < boxes.Count; j++)
                {
                    if (i != j) Assert.False(boxes[i].Intersects(boxes[j]), $"labels {i} and {j} overlap: {boxes[i]} {boxes[j]}");
                    var marker = new ReportCharts.Box(anchors[j].X - 5, anchors[j].Y - 5, 10, 10);
                    if (i != j) Assert.False(boxes[i].Intersects(marker), $"label {i} covers point {j}");
                }
            }
            // The topmost point keeps the preferred spot: above and to the right of it.
            Assert.Equal(new ReportCharts.Box(312, 98 - 7 - 14 + 4, 14 * ReportCharts.LabelCharWidth, 14), boxes[2]);
            // Without a neighbour a label is not moved.
            Assert.Equal(new ReportCharts.Box(107, 200 - 17, 3 * ReportCharts.LabelCharWidth, 14),
                ReportCharts.PlaceLabels(new[] { new ReportCharts.LabelAnchor(100, 200, 3, false) }, 16, 336)[0]);
        }

        internal static string Section(string html, string id)
        {
            int start = html.IndexOf($"<svg id=\"{id}\"", StringComparison.Ordinal);
            Assert.True(start >= 0, $"no chart {id}");
            return html[start..(html.IndexOf("</svg>", start, StringComparison.Ordinal) + 6)];
        }

        internal static int Count(string text, string what) => (text.Length - text.Replace(what, "").Length) / what.Length;

        private static string P(double fraction) => (100 * fraction).ToString("0.00", CultureInfo.InvariantCulture) + "%";

        /// <summary>A table row with runs of spaces shortened to two.</summary>
        private static string Squash(string row) => System.Text.RegularExpressions.Regex.Replace(row.TrimEnd(), " {2,}", "  ");
    }
}
