using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary><c>torchwright report</c>: every format's exact content, merging shards and duplicates, errors, and the HTML page in headless Chromium.</summary>
    public sealed class ReportTests : IDisposable
    {
        private const string Run = "{\"dataset\":\"shapes\",\"steps\":20,\"batch\":4,\"lr\":0.1,\"seed\":1,\"device\":\"cpu\",\"shard\":\"1/1\"}";

        private static readonly DateTimeOffset T0 = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

        private const string FailedError = "out of memory, \"CUDA\" <x>\nat step 3";

        private readonly string _dir = Directory.CreateTempSubdirectory("tw-report-").FullName;

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string PathOf(string name) => Path.Combine(_dir, name);

        private static VariantMetrics Metrics(double imagesPerSecond, long peak, double trainLoss, double evalLoss, double acc, params (int, double)[] curve) =>
            new VariantMetrics(imagesPerSecond, peak, trainLoss, evalLoss, acc, curve.Select(p => new LossPoint(p.Item1, p.Item2)).ToList());

        /// <summary>Two done variants, one failed (its error needs quoting and escaping), one pending.</summary>
        private string FixedDb(string name = "fixed.db", Action<ResultsDb>? more = null)
        {
            var path = PathOf(name);
            using var db = ResultsDb.Open(path);
            db.Plan(new[]
            {
                new VariantPlan("S/c5.mhsa=[0,1]", "S", 0, "{\"c5.mhsa\":[0,1]}", 1_500_000, 2_500_000_000, 0),
                new VariantPlan("S/c5.mhsa=[1,1]", "S", 1, "{\"c5.mhsa\":[1,1]}", 1_200_000, 2_000_000_000, 0),
                new VariantPlan("S/width=32", "S", 2, "{\"width\":32}", 800_000, 900_000_000, 0),
                new VariantPlan("S/width=16", "S", 3, "{\"width\":16}", 400_000, 450_000_000, 0),
            }, Run);
            db.MarkRunning("S/c5.mhsa=[0,1]", 0, T0);
            db.MarkDone("S/c5.mhsa=[0,1]", 0, T0.AddSeconds(90), Metrics(100.5, 1_048_576, 1.5, 1.25, 0.5, (10, 2.0), (20, 1.5)));
            db.MarkRunning("S/c5.mhsa=[1,1]", 0, T0.AddMinutes(2));
            db.MarkDone("S/c5.mhsa=[1,1]", 0, T0.AddMinutes(4), Metrics(80, 2_097_152, 1.0, 0.875, 0.75, (10, 1.75), (20, 1.0)));
            db.MarkRunning("S/width=32", 0, T0.AddMinutes(5));
            db.MarkFailed("S/width=32", 0, T0.AddMinutes(6), FailedError);
            more?.Invoke(db);
            return path;
        }

        private static CliRunner.Result Report(params string[] args)
        {
            var r = CliRunner.Run(new[] { "report" }.Concat(args).ToArray());
            Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Error}");
            return r;
        }

        private const string ParetoRule =
            "A variant is on a front when no other has a mean eval accuracy at least as high at no more cost (MACs, parameters) "
            + "or no less speed (images/s), one of the two strictly; fronts are listed from the cheapest (fastest) variant";

        [Fact]
        public void Markdown_is_exact()
        {
            var db = FixedDb();
            var expected = string.Join("\n",
                "### Sweep results",
                "",
                "- 4 variants from 1 database (2 done, 1 failed, 1 pending); sorted by eval_acc (highest first)",
                $"- Databases: `{db}`",
                "",
                "| Variant | Status | Params | MACs | Images/s | Peak memory | Train loss | Eval loss | Eval acc | Error |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
                "| `S/c5.mhsa=[1,1]` | done | 1,200,000 | 2.000 G | 80.0 | 2.00 MiB | 1.0000 | 0.8750 | 75.00% |  |",
                "| `S/c5.mhsa=[0,1]` | done | 1,500,000 | 2.500 G | 100.5 | 1.00 MiB | 1.5000 | 1.2500 | 50.00% |  |",
                "| `S/width=32` | failed | 800,000 | 900.000 M | - | - | - | - | - | out of memory, \"CUDA\" \\<x\\>... |",
                "| `S/width=16` | pending | 400,000 | 450.000 M | - | - | - | - | - |  |",
                "",
                "#### Pareto fronts",
                "",
                "- Eval acc vs MACs: `S/c5.mhsa=[1,1]` (2.000 G MACs, 75.00%)",
                "- Eval acc vs parameters: `S/c5.mhsa=[1,1]` (1.200 M params, 75.00%)",
                "- " + ParetoRule + ".",
                "",
                "- MACs: multiply-accumulates of conv, linear and attention matmuls; 1 MAC = 2 FLOPs.",
                "- images/s: training throughput; peak memory: peak resident memory of the training process; train loss: mean of the last loss-curve window; "
                    + "eval loss, eval acc: cross-entropy and top-1 accuracy on the test split.",
                "");
            var r = Report(db, "--format", "markdown");
            Assert.Equal(expected, r.Out);
            Assert.Equal("", r.Error);
        }

        [Fact]
        public void Table_is_exact_and_sortable()
        {
            var db = FixedDb();
            var rule = new string('=', 132);
            var expected = string.Join("\n",
                "Sweep results",
                "4 variants from 1 database (2 done, 1 failed, 1 pending); sorted by params (lowest first)",
                $"Databases: {db}",
                "",
                rule,
                "Variant          Status      Params       MACs  Images/s  Peak memory  Train loss  Eval loss  Eval acc  Error",
                rule,
                "S/width=16       pending    400,000  450.000 M         -            -           -          -         -",
                "S/width=32       failed     800,000  900.000 M         -            -           -          -         -  out of memory, \"CUDA\" <x>...",
                "S/c5.mhsa=[1,1]  done     1,200,000    2.000 G      80.0     2.00 MiB      1.0000     0.8750    75.00%",
                "S/c5.mhsa=[0,1]  done     1,500,000    2.500 G     100.5     1.00 MiB      1.5000     1.2500    50.00%",
                rule,
                "",
                "Pareto fronts",
                "",
                "Eval acc vs MACs: S/c5.mhsa=[1,1] (2.000 G MACs, 75.00%)",
                "Eval acc vs parameters: S/c5.mhsa=[1,1] (1.200 M params, 75.00%)",
                ParetoRule + ".",
                "",
                "MACs: multiply-accumulates of conv, linear and attention matmuls; 1 MAC = 2 FLOPs.",
                "images/s: training throughput; peak memory: peak resident memory of the training process; train loss: mean of the last loss-curve window; "
                    + "eval loss, eval acc: cross-entropy and top-1 accuracy on the test split.",
                "");
            Assert.Equal(expected, Report(db, "--sort", "params").Out);

            string Order(string key) => string.Join(" ", JsonDocument.Parse(Report(db, "--sort", key, "-f", "json").Out).RootElement
                .EnumerateArray().Select(v => v.GetProperty("variant").GetString()));
            Assert.Equal("S/c5.mhsa=[1,1] S/c5.mhsa=[0,1] S/width=32 S/width=16", Order("eval_acc"));
            Assert.Equal("S/c5.mhsa=[1,1] S/c5.mhsa=[0,1] S/width=32 S/width=16", Order("eval_loss"));
            Assert.Equal("S/c5.mhsa=[0,1] S/c5.mhsa=[1,1] S/width=32 S/width=16", Order("images_per_s"));
            Assert.Equal("S/width=16 S/width=32 S/c5.mhsa=[1,1] S/c5.mhsa=[0,1]", Order("macs"));
            Assert.Equal("S/c5.mhsa=[0,1] S/c5.mhsa=[1,1] S/width=16 S/width=32", Order("variant"));
        }

        /// <summary>Three variants under three seeds: S/b far above the baseline S/a, S/c within its noise.</summary>
        private (string Path, Dictionary<string, double[]> Acc) SeededDb()
        {
            var path = PathOf("seeded.db");
            var acc = new Dictionary<string, double[]>
            {
                ["S/a"] = new[] { 0.50, 0.52, 0.51 },
                ["S/b"] = new[] { 0.70, 0.71, 0.69 },
                ["S/c"] = new[] { 0.50, 0.53, 0.49 },
            };
            using (var db = ResultsDb.Open(path))
            {
                var names = acc.Keys.ToList();
                db.Plan(names.SelectMany((n, i) => Enumerable.Range(0, 3).Select(seed => new VariantPlan(n, "S", i, "{}", 10 + i, 20 + i, seed))).ToList(), Run);
                foreach (var (name, values) in acc)
                    for (int seed = 0; seed < 3; seed++)
                    {
                        db.MarkRunning(name, seed, T0);
                        db.MarkDone(name, seed, T0.AddMinutes(1), Metrics(10, 1, 1, 1 - values[seed], values[seed], (1, 2.0), (2, 1.0)));
                    }
            }
            return (path, acc);
        }

        /// <summary>
        /// Three variants under three seeds: B is far above the baseline A, C within its noise. The report's p-values are
        /// Welch's on each pair, Holm-adjusted over the two comparisons, and only B is marked.
        /// </summary>
        [Fact]
        public void Seeded_runs_are_aggregated_and_tested_against_the_baseline()
        {
            var (path, acc) = SeededDb();
            var pB = Statistics.Welch(acc["S/b"], acc["S/a"]).PValue;
            var pC = Statistics.Welch(acc["S/c"], acc["S/a"]).PValue;
            var holm = Statistics.Holm(new[] { pB, pC });
            Assert.True(holm[0] < 0.05 && holm[1] > 0.05);

            var text = Report(path).Out;
            Assert.Contains("9 runs of 3 variants from 1 database (9 done)", text);
            Assert.Contains("vs S/a: Welch's t-test on eval acc, two-sided, Holm-corrected for 2 comparisons", text);
            var rowB = text.Split('\n').First(l => l.StartsWith("S/b ", StringComparison.Ordinal));
            Assert.True(holm[0] < 0.0001);
            Assert.EndsWith("+19.00 pp   <0.0001  *", rowB.TrimEnd());
            var rowC = text.Split('\n').First(l => l.StartsWith("S/c ", StringComparison.Ordinal));
            Assert.EndsWith(holm[1].ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture), rowC.TrimEnd());
            Assert.Contains("baseline", text.Split('\n').First(l => l.StartsWith("S/a ", StringComparison.Ordinal)));

            using var json = JsonDocument.Parse(Report(path, "--format", "json").Out);
            var b = json.RootElement.EnumerateArray().First(r => r.GetProperty("variant").GetString() == "S/b").GetProperty("summary");
            Assert.Equal(0.70, b.GetProperty("eval_acc").GetProperty("mean").GetDouble(), 12);
            Assert.Equal(0.01, b.GetProperty("eval_acc").GetProperty("sd").GetDouble(), 12);
            // 4.30265272975 (t, 0.975, df 2) * 0.01 / sqrt(3)
            Assert.Equal(0.70 - 0.0248414, b.GetProperty("eval_acc").GetProperty("ci95_low").GetDouble(), 6);
            var vs = b.GetProperty("vs_baseline");
            Assert.Equal(("welch_t", true), (vs.GetProperty("test").GetString(), vs.GetProperty("significant").GetBoolean()));
            Assert.Equal(pB, vs.GetProperty("p").GetDouble(), 12);
            Assert.Equal(holm[0], vs.GetProperty("p_holm").GetDouble(), 12);

            var other = Report(path, "--baseline", "S/c").Out;
            Assert.Contains("vs S/c: Welch's t-test", other);
        }

        private const string ReportCsvHeader =
            "variant,sweep,index,status,started,finished,params,macs,images_per_s,peak_memory_bytes,train_loss,eval_loss,eval_acc,error,config,db,seed";

        [Fact]
        public void Csv_is_exact_rfc4180()
        {
            var db = FixedDb();
            var expected = ReportCsvHeader + "\r\n"
                + $"\"S/c5.mhsa=[1,1]\",S,1,done,2024-05-01T12:02:00.0000000Z,2024-05-01T12:04:00.0000000Z,1200000,2000000000,80,2097152,1,0.875,0.75,,\"{{\"\"c5.mhsa\"\":[1,1]}}\",{db},0\r\n"
                + $"\"S/c5.mhsa=[0,1]\",S,0,done,2024-05-01T12:00:00.0000000Z,2024-05-01T12:01:30.0000000Z,1500000,2500000000,100.5,1048576,1.5,1.25,0.5,,\"{{\"\"c5.mhsa\"\":[0,1]}}\",{db},0\r\n"
                + $"S/width=32,S,2,failed,2024-05-01T12:05:00.0000000Z,2024-05-01T12:06:00.0000000Z,800000,900000000,,,,,,\"out of memory, \"\"CUDA\"\" <x>\nat step 3\",\"{{\"\"width\"\":32}}\",{db},0\r\n"
                + $"S/width=16,S,3,pending,,,400000,450000000,,,,,,,\"{{\"\"width\"\":16}}\",{db},0\r\n";
            Assert.Equal(expected, Report(db, "--format", "csv").Out);
        }

        [Fact]
        public void Json_follows_the_contract_key_by_key()
        {
            var db = FixedDb();
            using var doc = JsonDocument.Parse(Report(db, "--format", "json").Out);
            var rows = doc.RootElement.EnumerateArray().ToList();
            Assert.Equal(4, rows.Count);
            var contract = new[] { "variant", "status", "started", "finished", "config", "params", "macs", "images_per_s", "eval_loss", "eval_acc" };
            var additions = new[] { "sweep", "index", "peak_memory_bytes", "train_loss", "error", "run", "db", "seed", "summary", "last_step" };
            foreach (var row in rows)
                Assert.Equal(contract.Concat(additions), row.EnumerateObject().Select(p => p.Name));

            void Expect(JsonElement row, string key, string json) =>
                Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(json).RootElement, row.GetProperty(key)),
                    $"{(row.TryGetProperty("variant", out var name) ? name.ToString() : "summary")}.{key}: expected {json}, got {row.GetProperty(key).GetRawText()}");

            var best = rows[0];
            Expect(best, "variant", "\"S/c5.mhsa=[1,1]\"");
            Expect(best, "status", "\"done\"");
            Expect(best, "started", "\"2024-05-01T12:02:00.0000000Z\"");
            Expect(best, "finished", "\"2024-05-01T12:04:00.0000000Z\"");
            Expect(best, "config", "{\"c5.mhsa\":[1,1]}");
            Expect(best, "params", "1200000");
            Expect(best, "macs", "2000000000");
            Expect(best, "images_per_s", "80");
            Expect(best, "eval_loss", "0.875");
            Expect(best, "eval_acc", "0.75");
            Expect(best, "sweep", "\"S\"");
            Expect(best, "index", "1");
            Expect(best, "peak_memory_bytes", "2097152");
            Expect(best, "train_loss", "1");
            Expect(best, "error", "null");
            Expect(best, "run", Run);
            Expect(best, "db", JsonSerializer.Serialize(db));
            Assert.Equal(JsonValueKind.Object, best.GetProperty("config").ValueKind);

            Expect(best, "last_step", "20");
            var summary = best.GetProperty("summary");
            Assert.Equal(new[] { "runs", "done", "eval_acc", "eval_loss", "baseline", "vs_baseline", "pruned", "forward_images_per_s", "pareto", "main_effects" },
                summary.EnumerateObject().Select(p => p.Name));
            Expect(summary, "pareto", "{\"macs\":true,\"params\":true,\"forward_images_per_s\":null}");
            Expect(summary, "main_effects", "{}");
            Expect(summary, "pruned", "0");

            Expect(rows[1], "variant", "\"S/c5.mhsa=[0,1]\"");
            Expect(rows[1], "eval_acc", "0.5");
            Expect(rows[1], "images_per_s", "100.5");
            Expect(rows[1].GetProperty("summary"), "pareto", "{\"macs\":false,\"params\":false,\"forward_images_per_s\":null}");

            var failed = rows[2];
            Expect(failed, "status", "\"failed\"");
            Expect(failed, "started", "\"2024-05-01T12:05:00.0000000Z\"");
            Expect(failed, "finished", "\"2024-05-01T12:06:00.0000000Z\"");
            Expect(failed, "error", JsonSerializer.Serialize(FailedError));
            foreach (var key in new[] { "images_per_s", "eval_loss", "eval_acc", "peak_memory_bytes", "train_loss", "last_step" })
                Expect(failed, key, "null");
            Expect(failed.GetProperty("summary"), "pareto", "{\"macs\":null,\"params\":null,\"forward_images_per_s\":null}");

            var pending = rows[3];
            Expect(pending, "variant", "\"S/width=16\"");
            Expect(pending, "status", "\"pending\"");
            Expect(pending, "started", "null");
            Expect(pending, "finished", "null");
            Expect(pending, "config", "{\"width\":16}");
            Expect(pending, "params", "400000");
            Expect(pending, "eval_acc", "null");
        }

        /// <summary>The shards of a grid, merged by report, equal the same grid run unsharded (but for where each row came from).</summary>
        [Fact]
        public void Merged_shards_equal_an_unsharded_run()
        {
            var grid = Enumerable.Range(0, 7)
                .Select(i => new VariantPlan($"G/depth={i}", "G", i, $"{{\"depth\":{i}}}", 1000 * (i + 1), 50_000 * (i + 1), 0))
                .ToList();
            void RunInto(string path, string shard, Func<int, bool> owns)
            {
                using var db = ResultsDb.Open(path);
                var mine = grid.Where(p => owns(p.Index)).ToList();
                db.Plan(mine, Run.Replace("\"1/1\"", $"\"{shard}\""));
                foreach (var p in mine.Where(p => p.Index != 5))
                {
                    db.MarkRunning(p.Variant, 0, T0.AddMinutes(p.Index));
                    db.MarkDone(p.Variant, 0, T0.AddMinutes(p.Index + 1),
                        Metrics(10 + p.Index, 1 << 20, 2.0 / (p.Index + 1), 1.0 / (p.Index + 1), 0.1 * ((p.Index * 3) % 7), (1, 2.0), (2, 1.0 + 0.1 * p.Index)));
                }
                if (mine.Any(p => p.Index == 5))
                {
                    db.MarkRunning("G/depth=5", 0, T0);
                    db.MarkFailed("G/depth=5", 0, T0.AddMinutes(1), "diverged");
                }
            }
            string all = PathOf("all.db"), s1 = PathOf("shard-1.db"), s2 = PathOf("shard-2.db"), s3 = PathOf("shard-3.db");
            RunInto(all, "1/1", _ => true);
            RunInto(s1, "1/3", i => i % 3 == 0);
            RunInto(s2, "2/3", i => i % 3 == 1);
            RunInto(s3, "3/3", i => i % 3 == 2);

            foreach (var format in new[] { "json", "csv" })
            {
                var whole = Report(all, "-f", format);
                var merged = Report(s3, s1, s2, "-f", format);
                Assert.Equal("", merged.Error);
                if (format == "json") Assert.Equal(WithoutProvenance(whole.Out), WithoutProvenance(merged.Out));
                else Assert.Equal(whole.Out.Replace(all, "DB"), merged.Out.Replace(s1, "DB").Replace(s2, "DB").Replace(s3, "DB"));
            }
            Assert.Equal(7, JsonDocument.Parse(Report(s1, s2, s3, "-f", "json").Out).RootElement.GetArrayLength());
        }

        private static string WithoutProvenance(string json)
        {
            var array = JsonNode.Parse(json)!.AsArray();
            foreach (var row in array)
            {
                row!.AsObject().Remove("db");
                row.AsObject().Remove("run");
            }
            return array.ToJsonString();
        }

        [Fact]
        public void A_variant_in_two_databases_is_taken_from_the_latest_done_with_a_warning()
        {
            string older = PathOf("older.db"), newer = PathOf("newer.db");
            var plan = new VariantPlan("S/a", "S", 0, "{}", 10, 20, 0);
            using (var db = ResultsDb.Open(older))
            {
                db.Plan(new[] { plan, new VariantPlan("S/b", "S", 1, "{}", 11, 21, 0) }, Run);
                db.MarkRunning("S/a", 0, T0);
                db.MarkDone("S/a", 0, T0.AddMinutes(1), Metrics(1, 1, 1, 1, 0.25));
            }
            using (var db = ResultsDb.Open(newer))
            {
                db.Plan(new[] { plan }, Run);
                db.MarkRunning("S/a", 0, T0.AddHours(1));
                db.MarkDone("S/a", 0, T0.AddHours(2), Metrics(1, 1, 1, 1, 0.5));
            }
            var r = CliRunner.Run("report", older, newer, "-f", "json");
            Assert.Equal(0, r.ExitCode);
            var rows = JsonDocument.Parse(r.Out).RootElement.EnumerateArray().ToList();
            Assert.Equal(new[] { $"S/a 0.5 {newer}", $"S/b null {older}" },
                rows.Select(x => $"{x.GetProperty("variant").GetString()} {x.GetProperty("eval_acc").GetRawText()} {x.GetProperty("db").GetString()}"));
            Assert.Equal($"torchwright report: warning: variant 'S/a' (seed 0) is in {older} (done, finished 2024-05-01T12:01:00.0000000Z) and in {newer} (done, finished 2024-05-01T14:00:00.0000000Z); using {newer}\n", r.Error);
        }

        [Fact]
        public void An_empty_database_still_gives_a_valid_report_in_every_format()
        {
            var path = PathOf("empty.db");
            using (ResultsDb.Open(path)) { }
            Assert.Contains("No variants: the databases hold no planned variant yet (run torchwright sweep).", Report(path).Out);
            Assert.StartsWith("0 variants from 1 database; sorted by eval_acc", Report(path).Out.Split('\n')[1]);
            Assert.Equal(0, JsonDocument.Parse(Report(path, "-f", "json").Out).RootElement.GetArrayLength());
            Assert.Equal(ReportCsvHeader + "\r\n", Report(path, "-f", "csv").Out);
            var html = Report(path, "-f", "html").Out;
            Assert.Contains("<p class=\"empty\">No variants: the databases hold no planned variant yet (run torchwright sweep).</p>", html);
            Assert.Contains("<p class=\"empty\">No variant is done with an eval accuracy yet: nothing to chart.</p>", html);
            Assert.DoesNotContain("<svg", html);
        }

        [Fact]
        public void Bad_inputs_exit_with_the_reason()
        {
            var missing = PathOf("missing.db");
            var r = CliRunner.Run("report", missing);
            Assert.Equal((2, "", $"torchwright report: results database not found: {missing}\n"), (r.ExitCode, r.Out, r.Error));

            // A file that is there but is not a results database is an error in the input (1), like a damaged one.
            var notes = PathOf("notes.txt");
            File.WriteAllText(notes, "just some text that is certainly longer than one hundred bytes, so SQLite reads a header from it and refuses");
            r = CliRunner.Run("report", notes);
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"torchwright report: {notes} is not a Torchwright results database (SQLite: ", r.Error);

            Assert.Equal(2, CliRunner.Run("report").ExitCode);
            var format = CliRunner.Run("report", FixedDb(), "--format", "xml");
            Assert.Equal(2, format.ExitCode);
            Assert.Contains("xml", format.Error);
            Assert.Equal(2, CliRunner.Run("report", FixedDb("b.db"), "--sort", "speed").ExitCode);

            var unwritable = CliRunner.Run("report", FixedDb("c.db"), "--output", Path.Combine(_dir, "no-such-folder", "r.md"));
            Assert.Equal(2, unwritable.ExitCode);
            Assert.StartsWith($"torchwright report: cannot write {Path.Combine(_dir, "no-such-folder", "r.md")}: ", unwritable.Error);
        }

        /// <summary>Runs SQL on a results database behind the ResultsDb API's back (CHECK constraints off, as a hand edit can).</summary>
        internal static void Damage(string path, string sql)
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection(
                new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; " + sql;
            cmd.ExecuteNonQuery();
        }

        /// <summary>Every row of the variants and loss_curve tables, each cell quoted by SQLite (types included).</summary>
        internal static List<string> Rows(string path)
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection(
                new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly }.ToString());
            c.Open();
            var rows = new List<string>();
            foreach (var (table, columns) in new[] { ("variants", ResultsDbColumns), ("loss_curve", "variant, seed, step, loss") })
            {
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"SELECT {string.Join(" || ',' || ", columns.Split(", ").Select(x => $"quote({x})"))} FROM {table} ORDER BY 1";
                using var reader = cmd.ExecuteReader();
                while (reader.Read()) rows.Add(table + ": " + reader.GetString(0));
            }
            return rows;
        }

        private const string ResultsDbColumns = "variant, seed, sweep, grid_index, status, started, finished, config_json, params, macs, "
            + "images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error";

        private const string Fix = ". Correct or delete that row with an SQLite client (sqlite3), or restore the file from a copy";

        /// <summary>The reproducers of issue 14 (a BLOB where text belongs, an integer out of range, invalid JSON) and their kin.</summary>
        [Theory]
        [InlineData("UPDATE variants SET sweep = X'00ff' WHERE variant = 'S/width=16'",
            "table variants, row 'S/width=16' seed 0, column sweep holds a BLOB of 2 bytes; expected text")]
        [InlineData("UPDATE variants SET variant = 'S/' || char(10) || char(8238) || char(128512), sweep = X'00' WHERE variant = 'S/width=16'",
            "table variants, row 'S/\\u000a\\u202e\U0001F600' seed 0, column sweep holds a BLOB of 1 byte; expected text")]
        [InlineData("UPDATE variants SET variant = X'01' WHERE variant = 'S/width=16'",
            "table variants, row 4 (ordered by sweep, grid_index, variant, seed), column variant holds a BLOB of 1 byte; expected text")]
        [InlineData("UPDATE variants SET grid_index = 4294967296 WHERE variant = 'S/width=32'",
            "table variants, row 'S/width=32' seed 0, column grid_index holds the integer 4294967296; expected an integer from 0 to 2147483647")]
        [InlineData("UPDATE variants SET params = -1 WHERE variant = 'S/width=32'",
            "table variants, row 'S/width=32' seed 0, column params holds the integer -1; expected an integer >= 0")]
        [InlineData("UPDATE variants SET macs = 2.5 WHERE variant = 'S/width=32'",
            "table variants, row 'S/width=32' seed 0, column macs holds the real number 2.5; expected an integer >= 0")]
        [InlineData("UPDATE variants SET status = 'finished' WHERE variant = 'S/width=32'",
            "table variants, row 'S/width=32' seed 0, column status holds the text 'finished'; expected one of pending, running, done, failed, pruned")]
        [InlineData("UPDATE variants SET started = 'yesterday' WHERE variant = 'S/width=32'",
            "table variants, row 'S/width=32' seed 0, column started holds the text 'yesterday'; expected an ISO-8601 UTC timestamp like 2024-05-01T12:00:00.0000000Z")]
        [InlineData("UPDATE variants SET eval_acc = 75 WHERE variant = 'S/c5.mhsa=[1,1]'",
            "table variants, row 'S/c5.mhsa=[1,1]' seed 0, column eval_acc holds the real number 75; expected a finite number from 0 to 1")]
        [InlineData("UPDATE variants SET eval_loss = 'low' WHERE variant = 'S/c5.mhsa=[1,1]'",
            "table variants, row 'S/c5.mhsa=[1,1]' seed 0, column eval_loss holds the text 'low'; expected a finite number >= 0")]
        [InlineData("UPDATE variants SET error = X'41' WHERE variant = 'S/width=32'",
            "table variants, row 'S/width=32' seed 0, column error holds a BLOB of 1 byte; expected text")]
        [InlineData("UPDATE variants SET config_json = '{\"width\":' WHERE variant = 'S/width=16'",
            "table variants, row 'S/width=16' seed 0, column config_json holds the text '{\"width\":'; expected a JSON object (Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. LineNumber: 0 | BytePositionInLine: 9.)")]
        [InlineData("UPDATE variants SET config_json = '[16]' WHERE variant = 'S/width=16'",
            "table variants, row 'S/width=16' seed 0, column config_json holds the text '[16]'; expected a JSON object (it is array)")]
        [InlineData("UPDATE meta SET value = 'not json' WHERE key = 'run_json'",
            "table meta, row 'run_json', column value holds the text 'not json'; expected a JSON object ('not json' is an invalid JSON literal. Expected the literal 'null'. LineNumber: 0 | BytePositionInLine: 1.)")]
        [InlineData("UPDATE meta SET value = X'31' WHERE key = 'schema_version'",
            "table meta, row 'schema_version', column value holds a BLOB of 1 byte; expected text")]
        [InlineData("UPDATE loss_curve SET step = -3 WHERE step = 20 AND variant = 'S/c5.mhsa=[0,1]'",
            "table loss_curve, the row of variant 'S/c5.mhsa=[0,1]' seed 0, column step holds the integer -3; expected an integer from 0 to 2147483647")]
        [InlineData("UPDATE loss_curve SET loss = 1e999 WHERE step = 20 AND variant = 'S/c5.mhsa=[0,1]'",
            "table loss_curve, the row of variant 'S/c5.mhsa=[0,1]' seed 0 at step 20, column loss holds the real number +infinity; expected a finite number")]
        public void A_damaged_cell_is_a_one_line_error_naming_the_file_table_row_and_column(string sql, string what)
        {
            var db = FixedDb();
            Damage(db, sql);
            foreach (var format in new[] { "table", "json", "csv", "html" })
            {
                var r = CliRunner.Run("report", db, "--format", format);
                Assert.Equal((1, ""), (r.ExitCode, r.Out));
                Assert.Equal($"torchwright report: {db}: the results database is damaged: {what}{Fix}\n", r.Error);
            }
        }

        [Fact]
        public void A_damaged_table_or_file_is_a_one_line_error()
        {
            var noCurves = FixedDb("a.db");
            Damage(noCurves, "DROP TABLE loss_curve");
            var r = CliRunner.Run("report", noCurves);
            Assert.Equal((1, $"torchwright report: {noCurves}: the results database is damaged (missing table loss_curve); name a database a sweep wrote, or a new file name to create one\n"),
                (r.ExitCode, r.Error));

            var noColumn = FixedDb("b.db");
            Damage(noColumn, "ALTER TABLE variants DROP COLUMN eval_acc");
            r = CliRunner.Run("report", noColumn);
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"torchwright report: {noColumn}: the results database is damaged (table variants has no column eval_acc; it has variant, seed, sweep, grid_index, ", r.Error);

            // A run twice: only possible once the primary key is gone.
            var twice = FixedDb("d.db");
            Damage(twice, "CREATE TABLE loose AS SELECT * FROM variants; DROP TABLE variants; ALTER TABLE loose RENAME TO variants; "
                + "UPDATE variants SET variant = 'S/width=32' WHERE variant = 'S/width=16'");
            r = CliRunner.Run("report", twice);
            Assert.Equal((1, $"torchwright report: {twice}: the results database is damaged: table variants holds variant 'S/width=32' with seed 0 in two rows; "
                + $"expected one row per run (its primary key){Fix}\n"), (r.ExitCode, r.Error));

            // Every page after the first overwritten: SQLite's own verdict, with the file and the fix.
            var garbled = FixedDb("c.db");
            var bytes = File.ReadAllBytes(garbled);
            for (int i = 4096; i < bytes.Length; i++) bytes[i] = (byte)(i * 7);
            File.WriteAllBytes(garbled, bytes);
            r = CliRunner.Run("report", garbled, "-f", "json");
            Assert.Equal((1, ""), (r.ExitCode, r.Out));
            Assert.Matches($"^torchwright report: {System.Text.RegularExpressions.Regex.Escape(garbled)}: the results database is damaged \\(SQLite: .*\\); restore the file from a copy \\(sqlite3's .recover may save its rows\\)\n$", r.Error);
        }

        [Fact]
        public void Output_writes_the_file_and_nothing_to_stdout()
        {
            var db = FixedDb();
            var file = PathOf("report.md");
            var r = Report(db, "-f", "markdown", "-o", file);
            Assert.Equal(("", $"torchwright report: wrote {file} (4 variants, markdown)\n"), (r.Out, r.Error));
            Assert.Equal(Report(db, "-f", "markdown").Out, File.ReadAllText(file));
        }

        private const string EvilName = "S/<script>document.title='pwned'</script>&\"'";

        private string HtmlDb() => FixedDb("html.db", db =>
        {
            db.Plan(new[] { new VariantPlan(EvilName, "S", 4, "{\"evil\":\"</code><b>\"}", 900_000, 1_000_000_000, 0) }, Run);
            db.MarkRunning(EvilName, 0, T0.AddMinutes(7));
            db.MarkDone(EvilName, 0, T0.AddMinutes(8), Metrics(50, 1 << 20, 2.25, 2.0, 0.3125, (10, 2.5), (15, 2.25), (20, 2.0)));
        });

        [Fact]
        public void Html_is_self_contained_and_escaped()
        {
            var html = Report(HtmlDb(), "-f", "html").Out;
            Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n", html);
            foreach (var outside in new[] { "http:", "https:", "url(", "<script", "<link", "<img", "@import" })
                Assert.DoesNotContain(outside, html, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("S/&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&amp;&quot;&#39;", html);
            Assert.Contains("&lt;/code&gt;&lt;b&gt;", html);
            Assert.Contains("<td class=\"error\">out of memory, &quot;CUDA&quot; &lt;x&gt;\nat step 3</td>", html);
            Assert.Equal(6, Count(html, "<circle class=\"point\""));
            Assert.Equal(4, Count(html, "<circle class=\"pareto-mark\""));
            Assert.Equal(3, Count(html, "<polyline class=\"curve\""));
            Assert.Equal(3, Count(html, "<g class=\"legend-item\">"));
        }

        private static int Count(string text, string what) => (text.Length - text.Replace(what, "").Length) / what.Length;

        /// <summary>
        /// The page as Chromium renders it: the untouched report loads with no console message at all (no blocked fetch,
        /// no CSP violation, no error), and a copy with a checking script (the only change: the CSP also admits inline
        /// scripts) finds the three charts laid out, every point and curve inside its chart, and nothing injected.
        /// </summary>
        [Fact]
        public void Html_renders_in_headless_chromium_without_errors()
        {
            var page = PathOf("report.html");
            Report(HtmlDb(), "-f", "html", "-o", page);

            var plain = Chromium(page, "plain");
            Assert.DoesNotContain(":CONSOLE", plain.Log);
            Assert.Contains("<title>Torchwright sweep report</title>", plain.Dom);
            Assert.Contains("5 variants from 1 database (3 done, 1 failed, 1 pending)", plain.Dom);

            var html = File.ReadAllText(page);
            const string Csp = "content=\"default-src 'none'; style-src 'unsafe-inline'\"";
            Assert.Contains(Csp, html);
            var checkedPage = PathOf("checked.html");
            File.WriteAllText(checkedPage, html
                .Replace(Csp, "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"")
                .Replace("<head>", "<head>\n<script>" + ErrorTrap + "</script>")
                .Replace("</body>", "<script>" + Checker + "</script>\n</body>"));
            var check = Chromium(checkedPage, "checked");
            Assert.DoesNotContain("<pre id=\"tw-error\">", check.Dom);
            Assert.Contains("<pre id=\"tw-check\">charts=3 title=Torchwright sweep report"
                + " acc-vs-macs:points=3,curves=0,ticks=true,inside=true,labels=c5.mhsa=[1,1]|c5.mhsa=[0,1]|&lt;script&gt;document.title='pwned'&lt;/script&gt;&amp;\"'"
                + " acc-vs-params:points=3,curves=0,ticks=true,inside=true,labels=c5.mhsa=[1,1]|c5.mhsa=[0,1]|&lt;script&gt;document.title='pwned'&lt;/script&gt;&amp;\"'"
                + " loss-curves:points=0,curves=3,ticks=true,inside=true,labels="
                + " higher-acc-is-higher=true</pre>", check.Dom);
        }

        /// <summary>The seeded report in Chromium: one point per variant with its 95 % interval drawn as an error bar inside the chart, the mean curves, no console message.</summary>
        [Fact]
        public void Seeded_html_draws_intervals_in_headless_chromium()
        {
            var page = PathOf("seeded.html");
            Report(SeededDb().Path, "-f", "html", "-o", page);
            var plain = Chromium(page, "seeded-plain");
            Assert.DoesNotContain(":CONSOLE", plain.Log);
            Assert.Contains("9 runs of 3 variants from 1 database (9 done)", plain.Dom);

            const string Csp = "content=\"default-src 'none'; style-src 'unsafe-inline'\"";
            var checkedPage = PathOf("seeded-checked.html");
            File.WriteAllText(checkedPage, File.ReadAllText(page)
                .Replace(Csp, "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"")
                .Replace("<head>", "<head>\n<script>" + ErrorTrap + "</script>")
                .Replace("</body>", "<script>" + IntervalChecker + "</script>\n</body>"));
            var check = Chromium(checkedPage, "seeded-checked");
            Assert.DoesNotContain("<pre id=\"tw-error\">", check.Dom);
            Assert.Contains("<pre id=\"tw-check\">acc-vs-macs:points=3,intervals=3,inside=true,around=true "
                + "acc-vs-params:points=3,intervals=3,inside=true,around=true loss-curves:curves=3 aggregates=3</pre>", check.Dom);
        }

        /// <summary>
        /// The sweep views in Chromium, on a 4 placements × 2 lr × 2 optimizers sweep under 2 seeds (records built in the
        /// test, with pruned runs, eval curves and forward throughput, which the store does not hold yet): the three
        /// accuracy charts with their Pareto fronts marked and joined, point labels that do not overlap, the
        /// parallel-coordinates chart with a line per variant, the main-effect and pruned tables; no console message.
        /// Then a screenshot: the regions where the Pareto and parallel-coordinates charts are laid out hold drawn pixels
        /// (not blank) and the parallel chart shows the viridis line colours.
        /// </summary>
        [Fact]
        public void Sweep_views_render_in_headless_chromium_and_the_screenshot_shows_them()
        {
            var page = PathOf("sweep.html");
            var (doc, fronts) = SweepViewsDocument();
            using (var file = new StreamWriter(page) { NewLine = "\n" }) Torchwright.Cli.Output.ReportHtml.Write(file, doc);

            var plain = Chromium(page, "sweep-plain");
            Assert.DoesNotContain(":CONSOLE", plain.Log);
            Assert.Contains("40 runs of 16 variants from 1 database (32 done, 8 pruned)", plain.Dom);

            const string Csp = "content=\"default-src 'none'; style-src 'unsafe-inline'\"";
            var checkedPage = PathOf("sweep-checked.html");
            File.WriteAllText(checkedPage, File.ReadAllText(page)
                .Replace(Csp, "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"")
                .Replace("<head>", "<head>\n<script>" + ErrorTrap + "</script>")
                .Replace("</body>", "<script>" + SweepChecker + "</script>\n</body>"));
            var check = Chromium(checkedPage, "sweep-checked", "--window-size=1000,1000");
            Assert.DoesNotContain("<pre id=\"tw-error\">", check.Dom);
            var result = check.Dom[(check.Dom.IndexOf("<pre id=\"tw-check\">", StringComparison.Ordinal) + 19)..];
            result = result[..result.IndexOf("</pre>", StringComparison.Ordinal)];
            var fields = result.Split(' ');
            Assert.Equal($"acc-vs-macs:points=16,front={fronts[0]},joined=true,labels={fronts[0]},overlap=false,inside=true", fields[0]);
            Assert.Equal($"acc-vs-params:points=16,front={fronts[1]},joined=true,labels={fronts[1]},overlap=false,inside=true", fields[1]);
            Assert.Equal($"acc-vs-forward-images-per-s:points=16,front={fronts[2]},joined=true,labels={fronts[2]},overlap=false,inside=true", fields[2]);
            Assert.Equal("parallel-Placement:lines=16,axes=4,levels=8,inside=true", fields[3]);
            Assert.Equal("effects=8 pruned=8 eval-curves=16", string.Join(" ", fields[4..7]));

            // The layout the checker measured: where each chart lies on the page (CSS px, scale factor 1).
            var rects = fields.Skip(7).Select(f => f.Split('=')).ToDictionary(kv => kv[0], kv => kv[1].Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
            double pageHeight = rects["page"][3];
            var shot = PathOf("sweep.png");
            Chromium(page, "sweep-shot", "--window-size=1000," + (int)Math.Ceiling(pageHeight), "--screenshot=" + shot, "--force-device-scale-factor=1", "--hide-scrollbars");
            using var bitmap = SkiaSharp.SKBitmap.Decode(shot);
            Assert.True(bitmap != null, $"{shot} is not a PNG Chromium wrote");
            Assert.Equal(1000, bitmap!.Width);
            var viridis = Enumerable.Range(0, 9).Select(k => Torchwright.Cli.Output.ReportCharts.Viridis(k / 8.0)).ToArray();
            foreach (var id in new[] { "acc-vs-macs", "acc-vs-params", "acc-vs-forward-images-per-s", "parallel-Placement" })
            {
                bool parallel = id.StartsWith("parallel", StringComparison.Ordinal);
                var (ink, coloured) = Ink(bitmap, rects[id], parallel ? viridis : Torchwright.Cli.Output.ReportCharts.Palette);
                Assert.True(ink > 0.02, $"{id}: only {ink:P2} of its area is drawn in the screenshot");
                // The points' variant colours, or the parallel chart's line colours, are on screen.
                Assert.True(coloured > 200, $"{id}: {coloured} pixels in the {(parallel ? "viridis line" : "variant")} colours");
            }

            // The four placements alone (one seed each), every point labelled: [0,1,1] and [0,0,1] lie 15 px apart in the
            // parameters chart at nearly the same accuracy, where their labels used to overlap; now none does.
            var placements = new[] { ("[0,0,0]", 25_500_000L, 0.74), ("[0,0,1]", 23_757_032L, 0.705), ("[0,1,1]", 23_657_032L, 0.70), ("[1,1,1]", 21_357_032L, 0.66) };
            var few = ReportViewTests.Document(placements.Select((p, i) => ReportViewTests.Record($"Placement/c5.mhsa={p.Item1}", 0, $"{{\"c5.mhsa\":{p.Item1}}}",
                p.Item2, 4_000_000_000L + p.Item2 / 100, p.Item3, index: i, sweep: "Placement")).ToList());
            var fewPage = PathOf("placements.html");
            using (var file = new StreamWriter(fewPage) { NewLine = "\n" }) Torchwright.Cli.Output.ReportHtml.Write(file, few);
            File.WriteAllText(fewPage, File.ReadAllText(fewPage)
                .Replace(Csp, "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\"")
                .Replace("<head>", "<head>\n<script>" + ErrorTrap + "</script>")
                .Replace("</body>", "<script>" + SweepChecker + "</script>\n</body>"));
            var fewDom = Chromium(fewPage, "placements").Dom;
            Assert.Contains("acc-vs-params:points=4,front=c5.mhsa=[0,0,0]|c5.mhsa=[0,0,1]|c5.mhsa=[0,1,1]|c5.mhsa=[1,1,1],joined=true,"
                + "labels=c5.mhsa=[0,0,0]|c5.mhsa=[0,0,1]|c5.mhsa=[0,1,1]|c5.mhsa=[1,1,1],overlap=false,inside=true", fewDom);
            Assert.Contains("parallel:none", fewDom);
        }

        /// <summary>
        /// The fraction of a screenshot region that is not the white page, and how many of its pixels are within a small
        /// distance of one of <paramref name="colors"/> (grey excluded: it is also the grid's and the text's).
        /// </summary>
        private static (double Ink, int Coloured) Ink(SkiaSharp.SKBitmap bitmap, double[] rect, IReadOnlyList<string> colors)
        {
            var palette = colors.Select(h => (R: Convert.ToInt32(h.Substring(1, 2), 16), G: Convert.ToInt32(h.Substring(3, 2), 16), B: Convert.ToInt32(h.Substring(5, 2), 16)))
                .Where(c => Math.Max(c.R, Math.Max(c.G, c.B)) - Math.Min(c.R, Math.Min(c.G, c.B)) > 30).ToList();
            int x0 = (int)rect[0], y0 = (int)rect[1], x1 = Math.Min(bitmap.Width, (int)(rect[0] + rect[2])), y1 = Math.Min(bitmap.Height, (int)(rect[1] + rect[3]));
            Assert.True(x1 > x0 && y1 > y0, $"empty region {string.Join(",", rect)} in a {bitmap.Width}x{bitmap.Height} screenshot");
            int inked = 0, coloured = 0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                {
                    var c = bitmap.GetPixel(x, y);
                    if (c.Red < 235 || c.Green < 235 || c.Blue < 235) inked++;
                    if (palette.Any(p => Math.Abs(p.R - c.Red) + Math.Abs(p.G - c.Green) + Math.Abs(p.B - c.Blue) < 30)) coloured++;
                }
            return (inked / (double)((x1 - x0) * (y1 - y0)), coloured);
        }

        /// <summary>
        /// 16 variants (c5.mhsa × train.lr × train.opt) under two completed seeds plus a pruned third for half of them.
        /// [0,1,1] and [0,0,1] differ by 0.4 % in parameters, as in the BotNet placement sweep. Returns the document and each
        /// accuracy chart's expected front (labels, without the sweep prefix, '|'-joined, fronts in chart order).
        /// </summary>
        private static (Torchwright.Cli.Output.ReportDocument Doc, string[] Fronts) SweepViewsDocument()
        {
            var placements = new[] { ("[0,0,0]", 25_500_000L, 4_100_000_000L), ("[0,0,1]", 23_757_032L, 4_029_000_000L), ("[0,1,1]", 23_657_032L, 4_009_000_000L), ("[1,1,1]", 21_357_032L, 3_949_000_000L) };
            var lrs = new[] { "0.05", "0.1" };
            var opts = new[] { "sgd", "adamw" };
            var runs = new List<VariantRecord>();
            var extras = new Dictionary<(string, long), Torchwright.Cli.Output.RunExtras>();
            int index = 0;
            foreach (var (mhsa, p, macs) in placements)
                foreach (var lr in lrs)
                    foreach (var opt in opts)
                    {
                        var name = $"Placement/c5.mhsa={mhsa},train.lr={lr},train.opt={opt}";
                        var config = $"{{\"c5.mhsa\":{mhsa},\"train.lr\":{lr},\"train.opt\":\"{opt}\"}}";
                        double acc = 0.55 + 0.04 * (3 - Array.IndexOf(placements, (mhsa, p, macs))) + (lr == "0.1" ? 0.06 : 0) + (opt == "adamw" ? 0.03 : 0) + 0.002 * index;
                        double forward = 600 + 80 * Array.IndexOf(placements, (mhsa, p, macs)) - 3 * index;
                        for (int seed = 0; seed < 2; seed++)
                        {
                            double a = acc + (seed == 0 ? -0.01 : 0.01);
                            runs.Add(ReportViewTests.Record(name, seed, config, p, macs, a, index: index, sweep: "Placement"));
                            extras[(name, seed)] = new Torchwright.Cli.Output.RunExtras(Enumerable.Range(1, 6)
                                .Select(k => new Torchwright.Cli.Output.EvalAccuracyPoint(200 * k, a * (1 - Math.Exp(-k / 2.0)) / (1 - Math.Exp(-3)))).ToList(), forward);
                        }
                        if (index % 2 == 1)
                            runs.Add(ReportViewTests.Record(name, 2, config, p, macs, acc - 0.2, status: "pruned", index: index, sweep: "Placement",
                                curve: new[] { new LossPoint(150, 2.0), new LossPoint(300, 1.8) }));
                        index++;
                    }
            var doc = ReportViewTests.Document(runs, r => extras.TryGetValue((r.Variant, r.Seed), out var e) ? e : Torchwright.Cli.Output.RunExtras.None);
            var fronts = doc.Aggregates.Fronts.Select(f => string.Join("|", f.Front.OrderBy(v => v.Variant, StringComparer.Ordinal)
                .Select(v => v.Variant.Substring("Placement/".Length)))).ToArray();
            return (doc, fronts);
        }

        private const string SweepChecker = @"(function () {
  function inside(svg, el) {
    var vb = svg.viewBox.baseVal, b = el.getBBox();
    return b.x >= vb.x && b.y >= vb.y && b.x + b.width <= vb.x + vb.width && b.y + b.height <= vb.y + vb.height;
  }
  function sorted(list, f) { return Array.prototype.map.call(list, f).sort().join('|'); }
  function rect(el) { var r = el.getBoundingClientRect(); return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].map(Math.round).join(','); }
  var out = [], rects = [];
  ['acc-vs-macs', 'acc-vs-params', 'acc-vs-forward-images-per-s'].forEach(function (id) {
    var svg = document.getElementById(id), ok = true, overlap = false;
    if (svg === null) return;
    var points = svg.querySelectorAll('circle.point'), marks = svg.querySelectorAll('circle.pareto-mark'), line = svg.querySelector('polyline.pareto-front');
    points.forEach(function (c) { ok = ok && inside(svg, c); });
    var labels = Array.prototype.slice.call(svg.querySelectorAll('text.point-label'));
    labels.forEach(function (t, i) {
      ok = ok && inside(svg, t);
      var a = t.getBBox();
      labels.slice(i + 1).forEach(function (u) {
        var b = u.getBBox();
        overlap = overlap || (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height);
      });
    });
    var joined = line !== null && line.points.numberOfItems === marks.length && inside(svg, line);
    out.push(id + ':points=' + points.length + ',front=' + sorted(marks, function (m) { return m.getAttribute('data-variant').replace('Placement/', ''); })
      + ',joined=' + joined + ',labels=' + sorted(labels, function (t) { return t.textContent; }) + ',overlap=' + overlap + ',inside=' + ok);
    rects.push(id + '=' + rect(svg));
  });
  var pc = document.querySelector('svg.parallel'), pcOk = true;
  if (pc === null) { out.push('parallel:none'); pc = document.createElementNS('http://www.w3.org/2000/svg', 'svg'); pc.id = 'none'; }
  pc.querySelectorAll('polyline.pc-line').forEach(function (l) { pcOk = pcOk && l.points.numberOfItems === 4 && inside(pc, l); });
  pc.querySelectorAll('text').forEach(function (t) { pcOk = pcOk && inside(pc, t); });
  out.push(pc.id + ':lines=' + pc.querySelectorAll('polyline.pc-line').length + ',axes=' + pc.querySelectorAll('g.pc-axis').length
    + ',levels=' + pc.querySelectorAll('text.pc-level').length + ',inside=' + pcOk);
  rects.push(pc.id + '=' + rect(pc));
  out.push('effects=' + document.querySelectorAll('table.effects tbody tr').length + ' pruned=' + document.querySelectorAll('#pruned tbody tr').length
    + ' eval-curves=' + document.querySelectorAll('#eval-curves polyline.curve').length);
  rects.push('page=0,0,' + document.documentElement.scrollWidth + ',' + document.documentElement.scrollHeight);
  var pre = document.createElement('pre'); pre.id = 'tw-check'; pre.textContent = out.concat(rects).join(' '); document.body.appendChild(pre);
})();";

        /// <summary>Every interval is inside its chart and spans its point vertically (the mean lies within its interval).</summary>
        private const string IntervalChecker = @"(function () {
  function inside(svg, el) {
    var vb = svg.viewBox.baseVal, b = el.getBBox();
    return b.x >= vb.x && b.y >= vb.y && b.x + b.width <= vb.x + vb.width && b.y + b.height <= vb.y + vb.height;
  }
  var out = [];
  ['acc-vs-macs', 'acc-vs-params'].forEach(function (id) {
    var svg = document.getElementById(id), ok = true, around = true;
    var points = svg.querySelectorAll('circle.point'), intervals = svg.querySelectorAll('g.interval');
    intervals.forEach(function (g) {
      ok = ok && inside(svg, g);
      var p = svg.querySelector('circle.point[data-variant=""' + g.getAttribute('data-variant') + '""]'), b = g.getBBox();
      around = around && p !== null && p.cy.baseVal.value >= b.y && p.cy.baseVal.value <= b.y + b.height;
    });
    out.push(id + ':points=' + points.length + ',intervals=' + intervals.length + ',inside=' + ok + ',around=' + around);
  });
  out.push('loss-curves:curves=' + document.querySelectorAll('#loss-curves polyline.curve').length);
  out.push('aggregates=' + document.querySelectorAll('#aggregates tbody tr').length);
  var pre = document.createElement('pre'); pre.id = 'tw-check'; pre.textContent = out.join(' '); document.body.appendChild(pre);
})();";

        private const string ErrorTrap =
            "window.onerror = function (m) { var e = document.createElement('pre'); e.id = 'tw-error'; e.textContent = String(m); document.documentElement.appendChild(e); };";

        private const string Checker = @"(function () {
  function inside(svg, el) {
    var vb = svg.viewBox.baseVal, b = el.getBBox();
    return b.x >= vb.x && b.y >= vb.y && b.x + b.width <= vb.x + vb.width && b.y + b.height <= vb.y + vb.height;
  }
  var out = [], charts = document.querySelectorAll('svg.chart');
  out.push('charts=' + charts.length, 'title=' + document.title);
  charts.forEach(function (svg) {
    var box = svg.getBoundingClientRect(), ok = box.width > 0 && box.height > 0;
    var points = svg.querySelectorAll('circle.point'), curves = svg.querySelectorAll('polyline.curve');
    points.forEach(function (c) { ok = ok && inside(svg, c) && c.querySelector('title') !== null; });
    curves.forEach(function (l) { ok = ok && l.points.numberOfItems > 1 && inside(svg, l); });
    var labels = Array.prototype.map.call(svg.querySelectorAll('text.point-label'), function (t) { return t.textContent; });
    out.push(svg.id + ':points=' + points.length + ',curves=' + curves.length + ',ticks=' + (svg.querySelectorAll('text.tick').length > 4)
      + ',inside=' + ok + ',labels=' + labels.join('|'));
  });
  var acc = Array.prototype.map.call(document.querySelectorAll('#acc-vs-macs circle.point'), function (c) { return c.cy.baseVal.value; });
  out.push('higher-acc-is-higher=' + (acc.length === 3 && acc[0] < acc[1] && acc[1] < acc[2]));
  var pre = document.createElement('pre'); pre.id = 'tw-check'; pre.textContent = out.join(' '); document.body.appendChild(pre);
})();";

        /// <summary>Runs headless Chromium on a page and returns the DOM after load and Chromium's log (console messages included).</summary>
        private (string Dom, string Log) Chromium(string page, string profile, params string[] options)
        {
            var chromium = new[] { "chromium", "chromium-browser" }
                .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)))
                .FirstOrDefault(File.Exists);
            Assert.True(chromium != null,
                "The HTML report test needs headless Chromium (Debian package 'chromium'), which is not on PATH: run `bash setup.sh` "
                + "(it installs chromium, as CI does) or `sudo apt-get install chromium`.");
            var psi = new ProcessStartInfo(chromium!) { RedirectStandardOutput = true, RedirectStandardError = true };
            // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
            foreach (var a in new[]
                {
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                    "--user-data-dir=" + PathOf("chromium-" + profile), "--enable-logging=stderr", "--v=0",
                }.Concat(options).Concat(options.Any(o => o.StartsWith("--screenshot", StringComparison.Ordinal)) ? Array.Empty<string>() : new[] { "--dump-dom" })
                .Append(new Uri(page).AbsoluteUri))
                psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            var dom = process.StandardOutput.ReadToEndAsync();
            var log = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(180_000))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish within 180 s on {page}");
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {log.Result}");
            return (dom.Result, log.Result);
        }
    }
}
