using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using Torchwright.Sweeps;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// <c>torchwright sweep</c> end to end on a tiny ResNet-family grid and a small procedural dataset: command-line
    /// axes, compile-time checking, training into SQLite, SIGKILL + --resume, shards merged by report.
    /// </summary>
    public class SweepTests : IDisposable
    {
        private readonly TempDir dir = new TempDir();

        public void Dispose() => dir.Dispose();

        // Four variants (c5 MHSA off/on x one or two c3 blocks) of a 1-1-1-1 ResNet at width 1/8 on 32 px images.
        /// <summary>A 2 x 2 grid of tiny networks (also the grid the distributed-sweep tests share).</summary>
        internal const string TinyArch = @"arch Tiny : ResNet50 {
  input   = 3x32x32
  width   = 0.125
  depths  = [1, 1, 1, 1]
  classes = 8
}

sweep TinyGrid : Tiny {
  c5.mhsa  = [0], [1]
  c3.depth = 1, 2
}
";

        private static readonly string[] GridNames =
        {
            "TinyGrid/c5.mhsa=[0]/c3.depth=1", "TinyGrid/c5.mhsa=[0]/c3.depth=2",
            "TinyGrid/c5.mhsa=[1]/c3.depth=1", "TinyGrid/c5.mhsa=[1]/c3.depth=2",
        };

        private const string Data = "shapes:32:n=256:test=64";

        private string Tiny => dir.Write("tiny.arch", TinyArch);

        private string[] Train(string db, params string[] extra) => TrainSteps(db, 6, extra);

        private string[] TrainSteps(string db, int steps, params string[] extra) =>
            new[] { "sweep", Tiny, "--db", db, "--dataset", Data, "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--batch", "8", "--lr", "0.05", "--threads", "1", "--progress", "plain" }.Concat(extra).ToArray();

        private static IReadOnlyList<VariantRecord> Read(string db)
        {
            using var r = ResultsDb.OpenReadOnly(db);
            return r.ReadAll();
        }

        [Fact]
        public void Set_axes_on_an_architecture_expand_to_stable_names_with_compile_time_costs()
        {
            var (code, stdout, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "c5.mhsa=[0],[1]", "--set", "width=0.25",
                "--db", Path.Combine(dir.Path, "unused.db"), "--dataset", Data, "--dry-run");
            Assert.True(code == 0, stderr);
            Assert.Contains("TinySweep: 2 grid points, 2 runnable, 2 in shard 1/1", stdout);
            // The fixed width=0.25 is applied to both and changes no name; the costs are the checker's.
            var (sc, summary, se) = CliRunner.Run("summary", dir.Write("same.arch",
                "import \"tiny.arch\"\narch Same : Tiny {\n  width = 0.25\n  c5.mhsa = [1]\n}\n"), "--name", "Same", "--format", "json");
            Assert.True(sc == 0, se);
            var expected = JsonDocument.Parse(summary).RootElement[0];
            long parameters = expected.GetProperty("params").GetInt64();
            Assert.Contains($"TinySweep/c5.mhsa=[1]  {parameters:N0} params", stdout.Replace('\u00a0', ' '));
            Assert.Contains("TinySweep/c5.mhsa=[0]  ", stdout);
            Assert.False(File.Exists(Path.Combine(dir.Path, "unused.db")), "--dry-run must not create the database");
        }

        [Fact]
        public void A_malformed_setting_is_a_located_diagnostic()
        {
            var (code, _, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "c5.mhsa=[0,1]", "--db", Path.Combine(dir.Path, "x.db"), "--dry-run");
            Assert.Equal(1, code);
            Assert.Contains("--set #1(1,9): error TW0007", stderr);
        }

        /// <summary>Issue 14: a --set that does not resolve was printed and then dropped, and the sweep trained without it.</summary>
        [Theory]
        [InlineData("width=abc", "--set #1(1,7): error TW0015: Field 'width' expects a number but got the word 'abc' (abc)")]
        [InlineData("dephts=[1,1]", "--set #1(1,1): error TW0002: Unknown field 'dephts' in Tiny+set; did you mean 'depths'?")]
        [InlineData("width=abc,0.5", "--set #1(1,7): error TW0015: Field 'width' expects a number but got the word 'abc' (abc)")]
        public void A_setting_that_does_not_check_stops_the_sweep_before_anything_trains(string setting, string diagnostic)
        {
            var db = Path.Combine(dir.Path, "set.db");
            var (code, stdout, stderr) = CliRunner.Run(Train(db, "--set", setting));
            Assert.Equal(1, code);
            Assert.Equal(diagnostic + "\n"
                + "sweep: the --set settings above do not check (--set #k is the k-th --set option); fix them; nothing was trained\n", stderr);
            Assert.Equal("", stdout);
            Assert.False(File.Exists(db), "nothing may be written for a sweep that does not check");
        }

        [Fact]
        public void Resume_on_a_damaged_database_is_refused_with_the_cell_before_training()
        {
            var db = Path.Combine(dir.Path, "damaged.db");
            using (var results = ResultsDb.Open(db))
                results.Plan(new[] { new VariantPlan(GridNames[0], "TinyGrid", 0, "{\"c5.mhsa\":[0],\"c3.depth\":1}", 1, 1, 0) }, "{}");
            ReportTests.Damage(db, $"UPDATE variants SET macs = X'0102' WHERE variant = '{GridNames[0]}'");
            var before = ReportTests.Rows(db);
            var (code, stdout, stderr) = CliRunner.Run(Train(db, "--resume"));
            Assert.Equal(1, code);
            Assert.Equal($"torchwright sweep: --db {db}: {db}: the results database is damaged: table variants, row '{GridNames[0]}' seed 0, column macs holds a BLOB of 2 bytes; "
                + "expected an integer >= 0. Correct or delete that row with an SQLite client (sqlite3), or restore the file from a copy\n", stderr);
            Assert.DoesNotContain("[1/", stdout);
            Assert.Equal(before, ReportTests.Rows(db));
        }

        /// <summary>
        /// Issue 14: a second sweep on the same database trained a variant the first had finished. Now the second is refused
        /// up front, naming the file and the holder's pid; once the holder is SIGKILLed its lock is gone with it.
        /// </summary>
        [Fact]
        public void A_second_writer_is_refused_while_the_first_runs_and_admitted_after_it_is_killed()
        {
            var db = Path.Combine(dir.Path, "shared.db");
            using var first = StartSweep(TrainSteps(db, 100_000));
            try
            {
                var deadline = DateTime.UtcNow.AddMinutes(3);
                while (!(File.Exists(db) && TryRead(db) is { } rows && rows.Any(r => r.Status == VariantStatus.Running)))
                {
                    Assert.True(DateTime.UtcNow < deadline && !first.HasExited, "the first sweep never started a variant");
                    Thread.Sleep(25);
                }

                var (code, stdout, stderr) = CliRunner.Run(TrainSteps(db, 100_000, "--resume"));
                Assert.Equal(1, code);
                Assert.Matches($"^torchwright sweep: --db {Regex.Escape(db)}: {Regex.Escape(db)} is being written by another torchwright process "
                    + $"\\(pid {first.Id} on {Regex.Escape(Environment.MachineName)}, since \\d{{4}}-\\d\\d-\\d\\dT[0-9:.]+Z; lock file {Regex.Escape(db)}\\.lock\\); "
                    + "wait for it to finish \\(torchwright report reads the database meanwhile\\), or give this run its own --db \\(e\\.g\\. with --shard i/n\\)\n$", stderr);
                Assert.DoesNotContain("[1/", stdout);
                Assert.Equal(4, Read(db).Count); // the report side still reads it

                first.Kill(); // SIGKILL: the lock file and meta.writer stay behind, the lock does not
                first.WaitForExit();
                Assert.True(File.Exists(db + ".lock"));
                using (ResultsDb.Open(db)) { }
            }
            finally
            {
                if (!first.HasExited) first.Kill(); // a failed assertion must not leave a 100,000-step sweep running
            }
        }

        private static Process StartSweep(string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "torchwright.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            return p;
        }

        [Fact]
        public void Invalid_variants_are_reported_and_skipped_not_crashed_on()
        {
            // c5 attention width at 1/8 width is 64: 3 heads do not divide it, 4 do.
            var (code, stdout, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "c5.mhsa=[1]", "--set", "c5.heads=3,4",
                "--db", Path.Combine(dir.Path, "x.db"), "--dataset", Data, "--dry-run");
            Assert.True(code == 0, stderr);
            Assert.Contains("error TW0006", stderr);
            Assert.Contains("skipping TinySweep/c5.heads=3: it does not check", stderr);
            Assert.Contains("2 grid points, 1 runnable", stdout);
            Assert.Contains("TinySweep/c5.heads=4  ", stdout);
        }

        [Fact]
        public void A_variant_that_does_not_fit_the_dataset_says_what_to_declare()
        {
            var (code, _, stderr) = CliRunner.Run("sweep", Tiny, "--db", Path.Combine(dir.Path, "x.db"), "--dataset", "shapes:64:n=64:test=16", "--dry-run");
            Assert.Equal(2, code);
            Assert.Contains("sweep: skipping all 4 variants: it declares input 3x32x32 but shapes/train images are 3x64x64; declare input = 3x64x64 (or pass --set input=3x64x64)", stderr);

            var both = CliRunner.Run("sweep", CliRunner.Arch("sweeps/bot-c5-placement.arch"), "--db", Path.Combine(dir.Path, "x.db"), "--dataset", "shapes:64:n=64:test=16", "--dry-run");
            Assert.Equal(2, both.ExitCode);
            Assert.Contains("it declares input 3x224x224 but shapes/train images are 3x64x64; it declares classes = 1000 but shapes/train has 8 classes; "
                + "declare input = 3x64x64 and classes = 8 (or pass --set input=3x64x64 --set classes=8)", both.Error);
        }

        [Fact]
        public void Sweep_trains_every_variant_records_it_and_refuses_to_overwrite_without_resume()
        {
            var db = Path.Combine(dir.Path, "r.db");
            var (code, stdout, stderr) = CliRunner.Run(Train(db));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("[1/4] TinyGrid/c5.mhsa=[0]/c3.depth=1 seed 0: step 6/6 loss", stdout);
            var rows = Read(db);
            Assert.Equal(GridNames, rows.Select(r => r.Variant).OrderBy(n => n, StringComparer.Ordinal));
            foreach (var r in rows)
            {
                Assert.Equal(VariantStatus.Done, r.Status);
                Assert.InRange(r.EvalAccuracy!.Value, 0.0, 1.0);
                Assert.True(r.EvalLoss > 0 && r.ImagesPerSecond > 0 && r.PeakMemoryBytes > 0 && r.Params > 0 && r.Macs > 0);
                Assert.Equal(6, r.LossCurve.Count);
                Assert.True(r.Started <= r.Finished);
            }
            Assert.Equal("{\"c5.mhsa\":[1],\"c3.depth\":2}", rows.Single(r => r.Variant == GridNames[3]).ConfigJson);

            var again = CliRunner.Run(Train(db));
            Assert.Equal(2, again.ExitCode);
            Assert.Contains("already holds 4 runs (4 done); pass --resume", again.Error);

            var other = CliRunner.Run(Train(db, "--resume", "--zero-init-residual", "false"));
            Assert.Equal(2, other.ExitCode);
            Assert.Contains("zero_init_residual: \"true\" vs \"false\"", other.Error);

            var resumed = CliRunner.Run(Train(db, "--resume"));
            Assert.True(resumed.ExitCode == 0, resumed.Error);
            Assert.Contains("4 runs planned, 4 already done, 0 to run", resumed.Out);
            Assert.Equal(rows.Select(r => (r.Variant, r.Finished)), Read(db).Select(r => (r.Variant, r.Finished)));
        }

        [Fact]
        public void Seeds_train_every_variant_once_per_seed_and_the_report_aggregates_them()
        {
            var db = Path.Combine(dir.Path, "seeds.db");
            var (code, stdout, stderr) = CliRunner.Run(Train(db, "--seed", "3", "--seeds", "2"));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("x 2 seeds (3..4) = 8 runs", stdout);
            // Seed-major order: every variant's first seed trains before any second seed.
            Assert.Contains("[4/8] TinyGrid/c5.mhsa=[1]/c3.depth=2 seed 3: training", stdout);
            Assert.Contains("[5/8] TinyGrid/c5.mhsa=[0]/c3.depth=1 seed 4: training", stdout);
            var rows = Read(db);
            Assert.Equal(8, rows.Count);
            Assert.All(rows, r => Assert.Equal(VariantStatus.Done, r.Status));
            Assert.Equal(GridNames.SelectMany(n => new[] { (n, 3L), (n, 4L) }).OrderBy(x => x.n, StringComparer.Ordinal),
                rows.Select(r => (r.Variant, r.Seed)).OrderBy(x => x.Variant, StringComparer.Ordinal));
            // Different seeds give different initial weights and data order, hence different losses.
            Assert.NotEqual(rows.Single(r => r.Variant == GridNames[0] && r.Seed == 3).EvalLoss, rows.Single(r => r.Variant == GridNames[0] && r.Seed == 4).EvalLoss);
            Assert.Contains("Per variant", stdout);
            Assert.Contains("8 runs of 4 variants from 1 database", stdout);

            var json = CliRunner.Run("report", db, "--format", "json");
            Assert.Equal(0, json.ExitCode);
            using (var doc = System.Text.Json.JsonDocument.Parse(json.Out))
            {
                Assert.Equal(8, doc.RootElement.GetArrayLength());
                foreach (var run in doc.RootElement.EnumerateArray())
                {
                    var summary = run.GetProperty("summary");
                    Assert.Equal((2, 2), (summary.GetProperty("runs").GetInt32(), summary.GetProperty("done").GetInt32()));
                    Assert.Equal(GridNames[0], summary.GetProperty("baseline").GetString());
                    var acc = summary.GetProperty("eval_acc");
                    var seeds = rows.Where(r => r.Variant == run.GetProperty("variant").GetString()).Select(r => r.EvalAccuracy!.Value).ToList();
                    Assert.Equal(seeds.Average(), acc.GetProperty("mean").GetDouble(), 12);
                    bool isBaseline = run.GetProperty("variant").GetString() == GridNames[0];
                    Assert.Equal(isBaseline, summary.GetProperty("vs_baseline").ValueKind == System.Text.Json.JsonValueKind.Null);
                }
            }
            var html = CliRunner.Run("report", db, "--format", "html");
            Assert.Equal(0, html.ExitCode);
            Assert.Contains("<table id=\"aggregates\">", html.Out);
            // One point per variant (the mean), each with its interval as an error bar, in both accuracy charts.
            Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(html.Out, "<circle class=\"point\"").Count);
            Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(html.Out, "<g class=\"interval\"").Count);
            // One mean curve per variant in the loss chart and in the eval-accuracy chart (the store records eval curves).
            Assert.Equal(8, System.Text.RegularExpressions.Regex.Matches(html.Out, "\\(mean of 2 runs\\)</title></polyline>").Count);

            var unknown = CliRunner.Run("report", db, "--baseline", "TinyGrid/none");
            Assert.Equal(2, unknown.ExitCode);
            Assert.Contains("--baseline TinyGrid/none: no such variant; the databases hold TinyGrid/c5.mhsa=[0]/c3.depth=1, ", unknown.Error);

            // More seeds later add runs; the finished ones stay.
            var more = CliRunner.Run(Train(db, "--seed", "3", "--seeds", "3", "--resume"));
            Assert.True(more.ExitCode == 0, more.Error + more.Out);
            Assert.Contains("12 runs planned, 8 already done, 4 to run", more.Out);
            Assert.Equal(12, Read(db).Count(r => r.Status == VariantStatus.Done));
            Assert.Equal(2, CliRunner.Run(Train(Path.Combine(dir.Path, "zero.db"), "--seeds", "0")).ExitCode);
        }

        [Fact]
        public void A_sweep_killed_mid_run_resumes_with_every_variant_done_once_and_finished_ones_untouched()
        {
            var db = Path.Combine(dir.Path, "kill.db");
            var args = TrainSteps(db, 30, "--save-every", "10");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "torchwright.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            IReadOnlyList<VariantRecord> beforeKill;
            using (var p = Process.Start(psi)!)
            {
                var log = new System.Text.StringBuilder();
                p.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
                p.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                var deadline = DateTime.UtcNow.AddMinutes(5);
                while (true)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the sweep never had a finished and a running variant at once");
                    if (p.HasExited && p.WaitForExit(5000))
                        lock (log) Assert.Fail($"the sweep exited (code {p.ExitCode}) before it could be killed:\n{log}");
                    if (File.Exists(db))
                    {
                        var rows = TryRead(db);
                        // Killed while a run is in flight with its state saved (every 10 steps) in its folder beside the store.
                        if (rows != null && rows.Any(r => r.Status == VariantStatus.Done)
                            && rows.FirstOrDefault(r => r.Status == VariantStatus.Running) is { } running
                            && Torchwright.Runtime.Training.TrainCheckpoint.Peek(RunFolder(db, running)) is { Step: < 30 })
                        {
                            p.Kill(); // SIGKILL: no handler runs, no transaction completes
                            p.WaitForExit();
                            break;
                        }
                    }
                    Thread.Sleep(25);
                }
            }
            beforeKill = Read(db);
            var finishedBefore = beforeKill.Where(r => r.Status == VariantStatus.Done).ToList();
            Assert.NotEmpty(finishedBefore);
            Assert.Contains(beforeKill, r => r.Status == VariantStatus.Running);

            var killed = beforeKill.Single(r => r.Status == VariantStatus.Running);
            var savedStep = Torchwright.Runtime.Training.TrainCheckpoint.Peek(RunFolder(db, killed))!.Value.Step;
            Assert.True(savedStep is 10 or 20, $"saved at step {savedStep}");

            var (code, stdout, stderr) = CliRunner.Run(TrainSteps(db, 30, "--resume", "--save-every", "10"));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains($"4 runs planned, {finishedBefore.Count} already done, {4 - finishedBefore.Count} to run", stdout);
            Assert.Contains($"sweep: {killed.Variant} seed 0: continuing from step {savedStep} of 30 (its state in {RunFolder(db, killed)})", stdout);
            Assert.Contains($"; run folders (weights, state, curves) in {db}.runs", stdout);

            // The continued run ends exactly where an uninterrupted sweep's does (same weights, same evaluation).
            var whole = Path.Combine(dir.Path, "whole.db");
            var uninterrupted = CliRunner.Run(TrainSteps(whole, 30));
            Assert.True(uninterrupted.ExitCode == 0, uninterrupted.Error);
            var reference = Read(whole).Single(r => r.Variant == killed.Variant);
            Assert.True(File.ReadAllBytes(Path.Combine(RunFolder(whole, reference), "last.safetensors"))
                .SequenceEqual(File.ReadAllBytes(Path.Combine(RunFolder(db, killed), "last.safetensors"))), "the continued run's weights differ");
            var continued = Read(db).Single(r => r.Variant == killed.Variant);
            Assert.Equal((reference.EvalAccuracy, reference.EvalLoss, reference.TrainLoss), (continued.EvalAccuracy, continued.EvalLoss, continued.TrainLoss));
            var after = Read(db);
            Assert.Equal(GridNames, after.Select(r => r.Variant).OrderBy(n => n, StringComparer.Ordinal));
            Assert.All(after, r => Assert.Equal(VariantStatus.Done, r.Status));
            Assert.All(after, r => Assert.Equal(30, r.LossCurve.Count)); // the killed run's partial curve is gone, not doubled
            foreach (var f in finishedBefore)
            {
                var now = after.Single(r => r.Variant == f.Variant);
                Assert.Equal((f.Started, f.Finished, f.EvalAccuracy, f.EvalLoss), (now.Started, now.Finished, now.EvalAccuracy, now.EvalLoss));
            }
        }

        private static string RunFolder(string db, VariantRecord r) =>
            SweepRunner.RunFolder(db + ".runs", new VariantPlan(r.Variant, r.Sweep, r.Index, r.ConfigJson, r.Params, r.Macs, r.Seed));

        private static IReadOnlyList<VariantRecord>? TryRead(string db)
        {
            try { return Read(db); }
            catch (Exception e) when (e is InvalidDataException || e is System.Data.Common.DbException || e is IOException)
            {
                return null; // the worker is still creating the schema
            }
        }

        [Fact]
        public void Shards_merged_by_report_equal_the_unsharded_run()
        {
            var whole = Path.Combine(dir.Path, "whole.db");
            var one = Path.Combine(dir.Path, "shard1.db");
            var two = Path.Combine(dir.Path, "shard2.db");
            foreach (var (db, extra) in new[] { (whole, Array.Empty<string>()), (one, new[] { "--shard", "1/2" }), (two, new[] { "--shard", "2/2" }) })
            {
                var r = CliRunner.Run(Train(db, extra));
                Assert.True(r.ExitCode == 0, r.Error + r.Out);
            }
            Assert.Equal(new[] { GridNames[0], GridNames[2] }, Read(one).Select(r => r.Variant).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(new[] { GridNames[1], GridNames[3] }, Read(two).Select(r => r.Variant).OrderBy(n => n, StringComparer.Ordinal));

            var merged = Report(one, two);
            var single = Report(whole);
            Assert.Equal(4, merged.Count);
            Assert.Equal(single.Keys.OrderBy(k => k, StringComparer.Ordinal), merged.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (variant, expected) in single)
            {
                var got = merged[variant];
                // Same seed, same data order, one thread: the shards train exactly what the whole grid trains.
                foreach (var key in new[] { "status", "config", "params", "macs", "eval_loss", "eval_acc" })
                    Assert.True(expected.GetProperty(key).ToString() == got.GetProperty(key).ToString(), $"{variant} {key}: {expected.GetProperty(key)} vs {got.GetProperty(key)}");
            }
        }

        private static Dictionary<string, JsonElement> Report(params string[] dbs)
        {
            var (code, stdout, stderr) = CliRunner.Run(new[] { "report" }.Concat(dbs).Concat(new[] { "--format", "json" }).ToArray());
            Assert.True(code == 0, stderr);
            return JsonDocument.Parse(stdout).RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("variant").GetString()!, e => e.Clone());
        }

        /// <summary>Issue 21: training settings as axes beside architecture fields (c5 placement x lr x optimizer).</summary>
        internal const string HyperArch = @"arch Tiny : ResNet50 {
  input   = 3x32x32
  width   = 0.125
  depths  = [1, 1, 1, 1]
  classes = 8
  train.weight_decay = 0.0001
}

sweep Hyper : Tiny {
  c5.mhsa   = [0], [1]
  train.lr  = 0.05, 0.1
  train.opt = sgd, adamw
}
";

        [Fact]
        public void Training_settings_are_axes_each_variant_trains_with_its_own_resumes_and_reports_per_axis_effects()
        {
            var arch = dir.Write("hyper.arch", HyperArch);
            var db = Path.Combine(dir.Path, "hyper.db");
            string[] Args(params string[] extra) => new[] { "sweep", arch, "--db", db, "--dataset", "shapes:32:n=64:test=16", "--steps", "2", "--batch", "8",
                "--label-smoothing", "0.1", "--threads", "1", "--progress", "plain" }.Concat(extra).ToArray();
            var (code, stdout, stderr) = CliRunner.Run(Args());
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("sweep Hyper: 8 grid points, 8 runnable, 8 in shard 1/1; ", stdout);
            Assert.Contains("; 2 steps of batch 8, lr and opt per variant, seed 0, cpu", stdout);
            var rows = Read(db);
            Assert.Equal(8, rows.Count(r => r.Status == VariantStatus.Done));
            foreach (var r in rows)
            {
                // The name, the recorded configuration and the settings the run trained with (its log) agree.
                var m = Regex.Match(r.Variant, @"^Hyper/c5\.mhsa=(\[[01]\])/train\.lr=(0\.05|0\.1)/train\.opt=(sgd|adamw)$");
                Assert.True(m.Success, r.Variant);
                Assert.Equal($"{{\"train.weight_decay\":0.0001,\"c5.mhsa\":{m.Groups[1].Value},\"train.lr\":{m.Groups[2].Value},\"train.opt\":\"{m.Groups[3].Value}\"}}", r.ConfigJson);
                using var log = JsonDocument.Parse(File.ReadAllText(Path.Combine(RunFolder(db, r), "log.json")));
                var used = log.RootElement.GetProperty("settings");
                Assert.Equal((m.Groups[2].Value, m.Groups[3].Value, "0.0001", "0.1", "2"),
                    (used.GetProperty("lr").GetString(), used.GetProperty("opt").GetString(), used.GetProperty("weight_decay").GetString(),
                     used.GetProperty("label_smoothing").GetString(), used.GetProperty("steps").GetString()));
                // The run settings hold what every variant shares: the declared weight decay, the command line's smoothing; not lr or opt.
                using var run = JsonDocument.Parse(r.RunJson);
                Assert.Equal(("0.0001", "0.1", 2), (run.RootElement.GetProperty("weight_decay").GetString(), run.RootElement.GetProperty("label_smoothing").GetString(),
                    run.RootElement.GetProperty("steps").GetInt32()));
                Assert.False(run.RootElement.TryGetProperty("lr", out _) || run.RootElement.TryGetProperty("opt", out _), r.RunJson);
            }
            // Same architecture and lr, other optimizer: another run (AdamW and SGD take different steps).
            Assert.NotEqual(rows.Single(r => r.Variant == "Hyper/c5.mhsa=[0]/train.lr=0.1/train.opt=sgd").TrainLoss,
                rows.Single(r => r.Variant == "Hyper/c5.mhsa=[0]/train.lr=0.1/train.opt=adamw").TrainLoss);

            var resumed = CliRunner.Run(Args("--resume"));
            Assert.True(resumed.ExitCode == 0, resumed.Error);
            Assert.Contains("8 runs planned, 8 already done, 0 to run", resumed.Out);
            var axis = CliRunner.Run(Args("--resume", "--lr", "0.2"));
            Assert.Equal(2, axis.ExitCode);
            Assert.Equal($"torchwright sweep: --lr 0.2 would replace the sweep axis train.lr ({arch}(11,3)) in every variant, so its variants would train alike; "
                + "drop --lr, or replace the axis with --set train.lr=0.2\n", axis.Error);
            var other = CliRunner.Run(Args("--resume", "--weight-decay", "0.001"));
            Assert.Equal(2, other.ExitCode);
            Assert.Contains("(database vs now: weight_decay: \"0.0001\" vs \"0.001\")", other.Error);

            var json = CliRunner.Run("report", db, "--format", "json");
            Assert.Equal(0, json.ExitCode);
            using var doc = JsonDocument.Parse(json.Out);
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                var effects = entry.GetProperty("summary").GetProperty("main_effects");
                Assert.Equal(new[] { "c5.mhsa", "train.lr", "train.opt" }, effects.EnumerateObject().Select(p => p.Name));
                foreach (var effect in effects.EnumerateObject())
                {
                    var level = effect.Value.GetProperty("level").GetString()!;
                    var config = rows.Single(r => r.Variant == entry.GetProperty("variant").GetString()).ConfigJson;
                    Assert.Equal(Torchwright.Cli.Output.SweepAxis.LevelsOf(config)[effect.Name], level);
                    // The level's mean is over the four variants at that level.
                    var atLevel = rows.Where(r => Torchwright.Cli.Output.SweepAxis.LevelsOf(r.ConfigJson)[effect.Name] == level).ToList();
                    Assert.Equal(4, effect.Value.GetProperty("variants").GetInt32());
                    Assert.Equal(atLevel.Average(r => r.EvalAccuracy!.Value), effect.Value.GetProperty("eval_acc").GetProperty("mean").GetDouble(), 12);
                }
            }
        }

        [Fact]
        public void A_training_setting_that_does_not_check_stops_the_sweep_before_the_store_opens()
        {
            var arch = dir.Write("bad.arch", HyperArch.Replace("train.lr  = 0.05, 0.1", "train.lrr = 0.05, 0.1").Replace("sgd, adamw", "sgd, adamx"));
            var db = Path.Combine(dir.Path, "bad.db");
            var (code, stdout, stderr) = CliRunner.Run("sweep", arch, "--db", db, "--dataset", "shapes:32:n=64:test=16", "--steps", "2");
            Assert.Equal(1, code);
            Assert.Equal($"{arch}(11,3): error TW0048: Unknown training setting 'train.lrr' in Hyper; did you mean 'train.lr'?\n"
                + $"{arch}(12,20): error TW0049: train.opt: opt takes sgd or adamw, not 'adamx'\n"
                + "sweep: the training settings above do not check; fix them; nothing was trained\n", stderr);
            Assert.Equal("", stdout);
            Assert.False(File.Exists(db));

            // The same through --set: located at the setting.
            var set = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "train.lr=0.05,0.1", "--set", "train.mixup=-1", "--db", db, "--dry-run");
            Assert.Equal(1, set.ExitCode);
            Assert.StartsWith("--set #2(1,13): error TW0049: train.mixup: ", set.Error);
            Assert.False(File.Exists(db));
        }

        [Fact]
        public void Set_makes_training_axes_and_the_command_line_overrides_the_declared_length()
        {
            var (code, stdout, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "train.lr=0.05,0.1", "--set", "train.opt=sgd,adamw",
                "--set", "train.steps=3", "--epochs", "2", "--db", Path.Combine(dir.Path, "x.db"), "--dataset", "shapes:32:n=64:test=16", "--dry-run");
            Assert.Equal(2, code);
            Assert.Equal("torchwright sweep: --epochs and --set train.steps both set the training length; give one of them\n", stderr);

            (code, stdout, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "train.lr=0.05,0.1", "--set", "train.opt=sgd,adamw",
                "--batch", "16", "--db", Path.Combine(dir.Path, "x.db"), "--dataset", "shapes:32:n=64:test=16", "--dry-run");
            Assert.True(code == 0, stderr);
            Assert.Contains("TinySweep: 4 grid points, 4 runnable, 4 in shard 1/1", stdout);
            Assert.Contains("; 300 steps of batch 16, lr and opt per variant, seed 0, cpu", stdout);
            foreach (var name in new[] { "TinySweep/train.lr=0.05/train.opt=sgd", "TinySweep/train.lr=0.05/train.opt=adamw", "TinySweep/train.lr=0.1/train.opt=sgd", "TinySweep/train.lr=0.1/train.opt=adamw" })
                Assert.Contains("\n  " + name + "  ", stdout);

            // A declared seed is the first seed of every variant (--seed would override it).
            (code, stdout, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "train.lr=0.05,0.1", "--set", "train.seed=7", "--seeds", "2",
                "--db", Path.Combine(dir.Path, "x.db"), "--dataset", "shapes:32:n=64:test=16", "--dry-run");
            Assert.True(code == 0, stderr);
            Assert.Contains("TinySweep: 2 grid points, 2 runnable, 2 in shard 1/1 x 2 seeds (7..8) = 4 runs; ", stdout);
        }

        [Fact]
        public void Sweep_trains_on_a_cifar10_binary_directory()
        {
            // The CIFAR-10 binary layout: five training batches and a test batch of records <label byte><3072 bytes R,G,B>.
            var cifar = dir.WriteRandomCifar10();
            var db = Path.Combine(dir.Path, "cifar.db");
            var (code, stdout, stderr) = CliRunner.Run("sweep", Tiny, "--name", "Tiny", "--set", "classes=10", "--set", "c5.mhsa=[0],[1]",
                "--dataset", "cifar10:" + cifar, "--db", db, "--steps", "2", "--batch", "4", "--threads", "1", "--progress", "plain");
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("train 40, test 8", stdout);
            Assert.Equal(2, Read(db).Count(r => r.Status == VariantStatus.Done));
        }
    }
}
