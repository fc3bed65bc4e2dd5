using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.Data.Sqlite;
using Torchwright.Runtime.Tests;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Xunit;

namespace Torchwright.Sweeps.Tests
{
    /// <summary>The sweep results database: schema, transactions, resume rules, error messages, merging.</summary>
    public sealed class ResultsDbTests : IDisposable
    {
        private const string Run = "{\"dataset\":\"synthetic\",\"steps\":100,\"batch\":8,\"lr\":0.1,\"seed\":1,\"device\":\"cpu\",\"shard\":\"1/1\"}";

        private static readonly DateTimeOffset T0 = new DateTimeOffset(2024, 5, 1, 14, 0, 0, TimeSpan.FromHours(2));

        private readonly string _dir = Path.Combine(Path.GetTempPath(), "torchwright-resultsdb-tests", Guid.NewGuid().ToString("N"));

        public ResultsDbTests() => Directory.CreateDirectory(_dir);

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        private string PathOf(string name) => Path.Combine(_dir, name);

        private static VariantPlan PlanOf(int i, long paramsCount = 1000) =>
            new VariantPlan($"Sweep/c5.mhsa=[{i}]", "Sweep", i, $"{{\"c5.mhsa\":[{i}],\"width\":64}}", paramsCount + i, 5000 + i, 0);

        private static readonly VariantPlan[] Grid = { PlanOf(0), PlanOf(1), PlanOf(2) };

        private static VariantMetrics Metrics(double acc, params (int Step, double Loss)[] curve) =>
            new VariantMetrics(250.5, 1_048_576, 0.75, 0.8, acc, curve.Select(p => new LossPoint(p.Step, p.Loss)).ToList());

        private static void Finish(ResultsDb db, VariantPlan plan, double acc, DateTimeOffset finished)
        {
            db.MarkRunning(plan.Variant, 0, finished.AddMinutes(-5));
            db.MarkDone(plan.Variant, 0, finished, Metrics(acc, (0, 2.5), (10, 1.25), (20, 0.5)));
        }

        private static SqliteConnection Raw(string path)
        {
            var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            c.Open();
            return c;
        }

        private static object? RawScalar(string path, string sql)
        {
            using var c = Raw(path);
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            return cmd.ExecuteScalar();
        }

        private static void RawExecute(string path, string sql)
        {
            using var c = Raw(path);
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }

        [Fact]
        public void A_new_database_records_its_schema_and_runs_in_wal_mode()
        {
            var path = PathOf("new.db");
            using (ResultsDb.Open(path)) { }
            Assert.Equal("torchwright-results", RawScalar(path, "SELECT value FROM meta WHERE key = 'application'"));
            Assert.Equal("3", RawScalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"));
            Assert.Equal("meta, variants, loss_curve, eval_curve", RawScalar(path, "SELECT group_concat(name, ', ') FROM sqlite_master WHERE type = 'table'"));
            Assert.Equal("wal", RawScalar(path, "PRAGMA journal_mode"));
            using var db = ResultsDb.Open(path);
            Assert.Empty(db.ReadAll());
            Assert.Null(db.RunJson);
        }

        [Fact]
        public void Plan_inserts_pending_rows_once_and_is_idempotent()
        {
            var path = PathOf("plan.db");
            using var db = ResultsDb.Open(path);
            db.Plan(Grid, Run);
            db.Plan(Grid, Run);
            var rows = db.ReadAll();
            Assert.Equal(Grid.Select(p => p.Variant), rows.Select(r => r.Variant));
            Assert.All(rows, r => Assert.Equal("pending", r.Status));
            Assert.Equal(3L, RawScalar(path, "SELECT count(*) FROM variants"));
            var first = rows[1];
            Assert.Equal(("Sweep", 1, "{\"c5.mhsa\":[1],\"width\":64}", 1001L, 5001L), (first.Sweep, first.Index, first.ConfigJson, first.Params, first.Macs));
            Assert.Equal((null, null, null, null), (first.Started, first.Finished, first.EvalAccuracy, first.Error));
            Assert.Empty(first.LossCurve);
            Assert.Equal(Run, first.RunJson);
            Assert.Equal(path, first.SourceDb);
        }

        [Fact]
        public void MarkDone_stores_metrics_curve_and_utc_timestamps()
        {
            var path = PathOf("done.db");
            using var db = ResultsDb.Open(path);
            db.Plan(Grid, Run);
            db.MarkRunning(Grid[0].Variant, 0, T0);
            Assert.Equal("running", db.Get(Grid[0].Variant, 0)!.Status);
            db.MarkDone(Grid[0].Variant, 0, T0.AddSeconds(90.5), Metrics(0.625, (0, 2.5), (10, 1.25), (20, 0.5)));

            var r = db.Get(Grid[0].Variant, 0)!;
            Assert.Equal("done", r.Status);
            Assert.Equal(T0, r.Started);
            Assert.Equal(T0.AddSeconds(90.5), r.Finished);
            Assert.Equal(TimeSpan.Zero, r.Started!.Value.Offset);
            Assert.Equal((250.5, 1_048_576L, 0.75, 0.8, 0.625), (r.ImagesPerSecond, r.PeakMemoryBytes, r.TrainLoss, r.EvalLoss, r.EvalAccuracy));
            Assert.Equal(new[] { new LossPoint(0, 2.5), new LossPoint(10, 1.25), new LossPoint(20, 0.5) }, r.LossCurve);
            Assert.Equal("2024-05-01T12:00:00.0000000Z", RawScalar(path, $"SELECT started FROM variants WHERE variant = '{Grid[0].Variant}'"));
            Assert.Equal("2024-05-01T12:01:30.5000000Z", RawScalar(path, $"SELECT finished FROM variants WHERE variant = '{Grid[0].Variant}'"));
            Assert.Null(db.Get("Sweep/unknown", 0));
        }

        [Fact]
        public void Non_finite_metrics_and_zero_peak_memory_are_stored_as_not_measured()
        {
            using var db = ResultsDb.Open(PathOf("nan.db"));
            db.Plan(Grid, Run);
            db.MarkRunning(Grid[0].Variant, 0, T0);
            db.MarkDone(Grid[0].Variant, 0, T0, new VariantMetrics(double.PositiveInfinity, 0, double.NaN, 1.5, 0.5, new[] { new LossPoint(1, 1.0) }));
            var r = db.Get(Grid[0].Variant, 0)!;
            Assert.Equal((null, null, null, 1.5, 0.5), (r.ImagesPerSecond, r.PeakMemoryBytes, r.TrainLoss, r.EvalLoss, r.EvalAccuracy));
        }

        [Fact]
        public void MarkDone_is_all_or_nothing_when_the_transaction_fails_midway()
        {
            var path = PathOf("atomic.db");
            using var db = ResultsDb.Open(path);
            db.Plan(Grid, Run);
            db.MarkRunning(Grid[0].Variant, 0, T0);
            // Fails the third loss-curve insert, after the status/metrics UPDATE and two inserts already ran.
            RawExecute(path, "CREATE TRIGGER fail_midway BEFORE INSERT ON loss_curve WHEN NEW.step = 20 BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

            var e = Assert.Throws<SqliteException>(() => db.MarkDone(Grid[0].Variant, 0, T0.AddMinutes(1), Metrics(0.9, (0, 2.5), (10, 1.25), (20, 0.5))));
            Assert.Contains("injected failure", e.Message);

            var r = db.Get(Grid[0].Variant, 0)!;
            Assert.Equal("running", r.Status);
            Assert.Equal((T0, (DateTimeOffset?)null), (r.Started!.Value, r.Finished));
            Assert.Equal((null, null, null, null, null), (r.ImagesPerSecond, r.PeakMemoryBytes, r.TrainLoss, r.EvalLoss, r.EvalAccuracy));
            Assert.Empty(r.LossCurve);
            Assert.Equal(0L, RawScalar(path, "SELECT count(*) FROM loss_curve"));

            // The connection is usable afterwards and the same variant can still finish.
            RawExecute(path, "DROP TRIGGER fail_midway");
            db.MarkDone(Grid[0].Variant, 0, T0.AddMinutes(2), Metrics(0.9, (0, 2.5), (10, 1.25), (20, 0.5)));
            Assert.Equal(("done", 3), (db.Get(Grid[0].Variant, 0)!.Status, db.Get(Grid[0].Variant, 0)!.LossCurve.Count));
        }

        [Fact]
        public void MarkDone_rejects_a_bad_loss_curve_before_writing_anything()
        {
            using var db = ResultsDb.Open(PathOf("curve.db"));
            db.Plan(Grid, Run);
            db.MarkRunning(Grid[0].Variant, 0, T0);
            var twice = Assert.Throws<ArgumentException>(() => db.MarkDone(Grid[0].Variant, 0, T0, Metrics(0.5, (0, 2.0), (5, 1.0), (5, 0.9))));
            Assert.Contains($"variant '{Grid[0].Variant}': the loss curve has step 5 twice; nothing was written", twice.Message);
            var nan = Assert.Throws<ArgumentException>(() => db.MarkDone(Grid[0].Variant, 0, T0, Metrics(0.5, (0, 2.0), (5, double.NaN))));
            Assert.Contains("the loss at step 5 is NaN; a run that diverged is failed, not done", nan.Message);
            Assert.Equal("running", db.Get(Grid[0].Variant, 0)!.Status);
        }

        [Fact]
        public void A_done_variant_is_never_run_or_written_again()
        {
            using var db = ResultsDb.Open(PathOf("twice.db"));
            db.Plan(Grid, Run);
            Finish(db, Grid[0], 0.5, T0);
            var before = db.Get(Grid[0].Variant, 0)!;

            var rerun = Assert.Throws<InvalidOperationException>(() => db.MarkRunning(Grid[0].Variant, 0, T0.AddHours(1)));
            Assert.Contains($"cannot start variant '{Grid[0].Variant}' (seed 0): it is done, and a done run is never run or written again", rerun.Message);
            Assert.Throws<InvalidOperationException>(() => db.MarkDone(Grid[0].Variant, 0, T0.AddHours(1), Metrics(0.9)));
            Assert.Throws<InvalidOperationException>(() => db.MarkFailed(Grid[0].Variant, 0, T0.AddHours(1), "boom"));
            var unknown = Assert.Throws<InvalidOperationException>(() => db.MarkRunning("Sweep/other", 0, T0));
            Assert.Contains("cannot start variant 'Sweep/other' (seed 0): it was not planned", unknown.Message);

            AssertSameRecord(before, db.Get(Grid[0].Variant, 0)!);
        }

        [Fact]
        public void Plan_leaves_done_rows_untouched_and_updates_the_others()
        {
            var path = PathOf("resume.db");
            using var db = ResultsDb.Open(path);
            db.Plan(Grid, Run);
            Finish(db, Grid[0], 0.5, T0);
            db.MarkRunning(Grid[1].Variant, 0, T0);
            db.MarkFailed(Grid[2].Variant, 0, T0, "CUDA out of memory");
            var done = db.Get(Grid[0].Variant, 0)!;

            // Resume: the same settings; variant 1's declaration was edited meanwhile, and a new grid point appeared.
            var edited = new VariantPlan(Grid[1].Variant, "Sweep", 1, "{\"c5.mhsa\":[1],\"width\":128}", 7777, 8888, 0);
            db.Plan(new[] { Grid[0], edited, Grid[2], PlanOf(3) }, Run);

            AssertSameRecord(done, db.Get(Grid[0].Variant, 0)!);
            var running = db.Get(Grid[1].Variant, 0)!;
            Assert.Equal(("running", "{\"c5.mhsa\":[1],\"width\":128}", 7777L, 8888L), (running.Status, running.ConfigJson, running.Params, running.Macs));
            var failed = db.Get(Grid[2].Variant, 0)!;
            // A failed run is pending again (it is retried), its error kept until it runs.
            Assert.Equal(("pending", "CUDA out of memory"), (failed.Status, failed.Error));
            Assert.Equal("pending", db.Get(PlanOf(3).Variant, 0)!.Status);

            // Restarting the interrupted variant clears what its earlier attempt left.
            RawExecute(path, $"INSERT INTO loss_curve (variant, seed, step, loss) VALUES ('{Grid[1].Variant}', 0, 3, 1.5)");
            db.MarkRunning(Grid[1].Variant, 0, T0.AddHours(1));
            Assert.Empty(db.Get(Grid[1].Variant, 0)!.LossCurve);
            db.MarkRunning(Grid[2].Variant, 0, T0.AddHours(1));
            var retried = db.Get(Grid[2].Variant, 0)!;
            Assert.Equal(("running", null, (DateTimeOffset?)null, (DateTimeOffset?)T0.AddHours(1)), (retried.Status, retried.Error, retried.Finished, retried.Started));
        }

        [Fact]
        public void Plan_with_other_settings_says_which_differ()
        {
            var path = PathOf("settings.db");
            using var db = ResultsDb.Open(path);
            db.Plan(Grid, Run);
            var other = Run.Replace("\"steps\":100", "\"steps\":200").Replace("\"lr\":0.1", "\"lr\":0.05");
            var e = Assert.Throws<InvalidOperationException>(() => db.Plan(Grid, other));
            Assert.Equal($"{path} holds variants trained with other settings (database vs now: steps: 100 vs 200; lr: 0.1 vs 0.05); "
                + "use a new --db for these settings, or the database's settings to resume it", e.Message);
            // Key order and whitespace are not settings.
            db.Plan(Grid, "{ \"shard\": \"1/1\", \"device\": \"cpu\", \"seed\": 1, \"lr\": 0.1, \"batch\": 8, \"steps\": 100, \"dataset\": \"synthetic\" }");
            Assert.Equal(3, db.ReadAll().Count);
        }

        [Fact]
        public void Plan_refuses_a_done_variant_whose_declaration_changed()
        {
            var path = PathOf("changed.db");
            using var db = ResultsDb.Open(path);
            db.Plan(Grid, Run);
            Finish(db, Grid[0], 0.5, T0);
            var changed = Grid[0] with { ConfigJson = "{\"c5.mhsa\":[0],\"width\":96}", Params = 1500 };
            var e = Assert.Throws<InvalidOperationException>(() => db.Plan(new[] { changed }, Run));
            Assert.Equal($"{path}: variant '{Grid[0].Variant}' (seed 0) is done, but its declaration changed since it was trained "
                + "(database vs now: width: 64 vs 96; params: 1000 vs 1500); use a new --db for the changed declarations, or restore them to resume", e.Message);
        }

        [Fact]
        public void Plan_rejects_duplicate_variants_and_non_object_json()
        {
            using var db = ResultsDb.Open(PathOf("args.db"));
            var dup = Assert.Throws<ArgumentException>(() => db.Plan(new[] { Grid[0], Grid[0] }, Run));
            Assert.Contains($"the plan names variant '{Grid[0].Variant}' with seed 0 2 times", dup.Message);
            var notJson = Assert.Throws<ArgumentException>(() => db.Plan(Grid, "steps=100"));
            Assert.StartsWith("runJson is not valid JSON", notJson.Message);
            var array = Assert.Throws<ArgumentException>(() => db.Plan(Grid, "[1]"));
            Assert.StartsWith("runJson must be a JSON object, not Array", array.Message);
            Assert.Empty(db.ReadAll());
        }

        [Fact]
        public void A_file_that_is_not_a_results_database_is_refused_and_left_untouched()
        {
            var text = PathOf("notes.db");
            File.WriteAllText(text, "these are my notes, not a database; they must survive an Open attempt intact\n");
            var bytes = File.ReadAllBytes(text);
            var e = Assert.Throws<InvalidDataException>(() => ResultsDb.Open(text));
            Assert.StartsWith($"{text} is not a Torchwright results database (SQLite: ", e.Message);
            Assert.EndsWith("name a database a sweep wrote, or a new file name to create one", e.Message);
            Assert.Equal(bytes, File.ReadAllBytes(text));
            Assert.Throws<InvalidDataException>(() => ResultsDb.OpenReadOnly(text));

            var foreign = PathOf("other-app.db");
            RawExecute(foreign, "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
            var foreignBytes = File.ReadAllBytes(foreign);
            var f = Assert.Throws<InvalidDataException>(() => ResultsDb.Open(foreign));
            Assert.Equal($"{foreign} is a SQLite database but not a Torchwright results database (it has no meta table; tables: customers); "
                + "name a database a sweep wrote, or a new file name to create one", f.Message);
            Assert.Equal(foreignBytes, File.ReadAllBytes(foreign));
            Assert.Equal("delete", RawScalar(foreign, "PRAGMA journal_mode"));
        }

        /// <summary>A results database as schema version 1 wrote it: one run per variant, the seed in run_json.</summary>
        private static void WriteVersion1(string path)
        {
            foreach (var sql in new[]
            {
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
                "CREATE TABLE variants (variant TEXT PRIMARY KEY, sweep TEXT NOT NULL, grid_index INTEGER NOT NULL, "
                    + "status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')), started TEXT, finished TEXT, "
                    + "config_json TEXT NOT NULL, params INTEGER NOT NULL, macs INTEGER NOT NULL, images_per_s REAL, peak_memory_bytes INTEGER, "
                    + "train_loss REAL, eval_loss REAL, eval_acc REAL, error TEXT) WITHOUT ROWID",
                "CREATE TABLE loss_curve (variant TEXT NOT NULL REFERENCES variants (variant) ON DELETE CASCADE, "
                    + "step INTEGER NOT NULL, loss REAL NOT NULL, PRIMARY KEY (variant, step)) WITHOUT ROWID",
                "INSERT INTO meta VALUES ('application', 'torchwright-results'), ('schema_version', '1'), "
                    + "('run_json', '{\"dataset\":\"shapes\",\"steps\":6,\"seed\":7,\"device\":\"cpu\"}')",
                "INSERT INTO variants VALUES ('S/a', 'S', 0, 'done', '2024-05-01T12:00:00.0000000Z', '2024-05-01T12:01:00.0000000Z', "
                    + "'{}', 10, 20, 99.5, 1024, 0.5, 0.625, 0.75, NULL)",
                "INSERT INTO variants (variant, sweep, grid_index, status, config_json, params, macs) VALUES ('S/b', 'S', 1, 'pending', '{}', 11, 21)",
                "INSERT INTO loss_curve VALUES ('S/a', 0, 2.0), ('S/a', 5, 1.0)",
            })
                RawExecute(path, sql);
        }

        [Fact]
        public void A_version_1_database_is_read_as_it_is_and_upgraded_in_place_when_written()
        {
            var path = PathOf("v1.db");
            WriteVersion1(path);
            using (var reader = ResultsDb.OpenReadOnly(path))
            {
                var runs = reader.ReadAll();
                Assert.Equal(new[] { ("S/a", 7L, "done"), ("S/b", 7L, "pending") }, runs.Select(r => (r.Variant, r.Seed, r.Status)));
                Assert.Equal(new[] { 2.0, 1.0 }, reader.Get("S/a", 7)!.LossCurve.Select(p => p.Loss));
                Assert.Null(reader.Get("S/a", 0));
            }
            Assert.Equal("1", RawScalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"));

            for (int open = 0; open < 2; open++) // the upgrade happens once; opening again changes nothing
                using (var db = ResultsDb.Open(path))
                {
                    Assert.Equal("{\"dataset\":\"shapes\",\"steps\":6,\"device\":\"cpu\"}", db.RunJson);
                    var a = db.Get("S/a", 7)!;
                    Assert.Equal(("done", 0.75, 2), (a.Status, a.EvalAccuracy!.Value, a.LossCurve.Count));
                    Assert.Equal(2, db.ReadAll().Count);
                }
            Assert.Equal("3", RawScalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"));
            // The upgraded file keeps its foreign key: deleting a run deletes its curve.
            Assert.Equal(0L, RawScalar(path, "SELECT count(*) FROM pragma_foreign_key_check"));
            using (var db = ResultsDb.Open(path))
            {
                db.Plan(new[] { new VariantPlan("S/a", "S", 0, "{}", 10, 20, 8) }, "{\"dataset\":\"shapes\",\"steps\":6,\"device\":\"cpu\"}");
                Assert.Equal(("done", "pending"), (db.Get("S/a", 7)!.Status, db.Get("S/a", 8)!.Status));
            }
        }

        /// <summary>A results database as schema version 2 wrote it: runs keyed by (variant, seed), no status pruned, no eval
        /// curves, no forward throughput.</summary>
        private static void WriteVersion2(string path)
        {
            foreach (var sql in new[]
            {
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
                "CREATE TABLE variants (variant TEXT NOT NULL, seed INTEGER NOT NULL, sweep TEXT NOT NULL, grid_index INTEGER NOT NULL, "
                    + "status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')), started TEXT, finished TEXT, "
                    + "config_json TEXT NOT NULL, params INTEGER NOT NULL, macs INTEGER NOT NULL, images_per_s REAL, peak_memory_bytes INTEGER, "
                    + "train_loss REAL, eval_loss REAL, eval_acc REAL, error TEXT, worker TEXT, heartbeat TEXT, PRIMARY KEY (variant, seed)) WITHOUT ROWID",
                "CREATE TABLE loss_curve (variant TEXT NOT NULL, seed INTEGER NOT NULL, step INTEGER NOT NULL, loss REAL NOT NULL, "
                    + "PRIMARY KEY (variant, seed, step), FOREIGN KEY (variant, seed) REFERENCES variants (variant, seed) ON DELETE CASCADE) WITHOUT ROWID",
                "INSERT INTO meta VALUES ('application', 'torchwright-results'), ('schema_version', '2'), "
                    + "('run_json', '{\"dataset\":\"shapes\",\"steps\":6,\"device\":\"cpu\"}')",
                "INSERT INTO variants VALUES ('S/a', 4, 'S', 0, 'done', '2024-05-01T12:00:00.0000000Z', '2024-05-01T12:01:00.0000000Z', "
                    + "'{}', 10, 20, 99.5, 1024, 0.5, 0.625, 0.75, NULL, 'w1', '2024-05-01T12:01:00.0000000Z')",
                "INSERT INTO variants (variant, seed, sweep, grid_index, status, config_json, params, macs) VALUES ('S/b', 4, 'S', 1, 'failed', '{}', 11, 21)",
                "INSERT INTO loss_curve VALUES ('S/a', 4, 3, 2.0), ('S/a', 4, 6, 1.0)",
            })
                RawExecute(path, sql);
        }

        [Fact]
        public void A_version_2_database_is_read_as_it_is_and_upgraded_in_place_when_written()
        {
            var path = PathOf("v2.db");
            WriteVersion2(path);
            using (var reader = ResultsDb.OpenReadOnly(path))
            {
                var a = reader.Get("S/a", 4)!;
                Assert.Equal(("done", 0.75, 99.5), (a.Status, a.EvalAccuracy!.Value, a.ImagesPerSecond!.Value));
                Assert.Equal(new[] { 2.0, 1.0 }, a.LossCurve.Select(p => p.Loss));
                Assert.Empty(a.EvalCurve);
                Assert.Null(a.ForwardImagesPerSecond);
            }
            Assert.Equal("2", RawScalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"));

            for (int open = 0; open < 2; open++) // the upgrade happens once; opening again changes nothing
                using (var db = ResultsDb.Open(path))
                {
                    var a = db.Get("S/a", 4)!;
                    Assert.Equal(("done", 0.75, 1024L, "2024-05-01T12:01:00.0000000Z"), (a.Status, a.EvalAccuracy!.Value, a.PeakMemoryBytes!.Value, ResultsDb.Iso(a.Finished!.Value)));
                    Assert.Equal(new[] { (3, 2.0), (6, 1.0) }, a.LossCurve.Select(p => (p.Step, p.Loss)));
                    Assert.Equal(("failed", 2), (db.Get("S/b", 4)!.Status, db.ReadAll().Count));
                }
            Assert.Equal("3", RawScalar(path, "SELECT value FROM meta WHERE key = 'schema_version'"));
            Assert.Equal("w1", RawScalar(path, "SELECT worker FROM variants WHERE variant = 'S/a'"));
            Assert.Equal(0L, RawScalar(path, "SELECT count(*) FROM pragma_foreign_key_check"));
            // The upgraded file takes what version 3 adds: a pruned run with its eval curve, and a forward throughput.
            using (var db = ResultsDb.Open(path))
            {
                db.Plan(new[] { new VariantPlan("S/b", "S", 1, "{}", 11, 21, 4) }, "{\"dataset\":\"shapes\",\"steps\":6,\"device\":\"cpu\"}");
                db.MarkRunning("S/b", 4, T0);
                db.MarkPruned("S/b", 4, T0.AddMinutes(1), Metrics(0.25, (2, 1.5)) with { EvalCurve = new[] { new EvalCurvePoint(2, 1.75, 0.25) } });
                db.RecordForwardSpeed("S/b", 321.5);
                var b = db.Get("S/b", 4)!;
                Assert.Equal(("pruned", 0.25, 321.5), (b.Status, b.EvalAccuracy!.Value, b.ForwardImagesPerSecond!.Value));
                Assert.Equal(new[] { new EvalCurvePoint(2, 1.75, 0.25) }, b.EvalCurve);
            }
            // Deleting a run deletes both its curves (the foreign keys survived the rebuild).
            RawExecute(path, "PRAGMA foreign_keys = ON; DELETE FROM variants WHERE variant = 'S/b'");
            Assert.Equal(0L, RawScalar(path, "SELECT count(*) FROM eval_curve"));
        }

        [Fact]
        public void Runs_of_one_variant_under_several_seeds_are_separate_rows()
        {
            var path = PathOf("seeds.db");
            using var db = ResultsDb.Open(path);
            var plans = new[] { 0L, 1L, 2L }.Select(seed => Grid[0] with { Seed = seed }).ToList();
            db.Plan(plans, Run);
            db.MarkRunning(Grid[0].Variant, 1, T0);
            db.MarkDone(Grid[0].Variant, 1, T0.AddMinutes(1), Metrics(0.5, (0, 2.0)));
            db.MarkRunning(Grid[0].Variant, 2, T0);
            db.MarkFailed(Grid[0].Variant, 2, T0.AddMinutes(1), "diverged");
            Assert.Equal(new[] { (0L, "pending", 0), (1L, "done", 1), (2L, "failed", 0) },
                db.ReadAll().Select(r => (r.Seed, r.Status, r.LossCurve.Count)));
            Assert.Throws<InvalidOperationException>(() => db.MarkRunning(Grid[0].Variant, 1, T0));
            Assert.Throws<InvalidOperationException>(() => db.MarkRunning(Grid[0].Variant, 3, T0));
        }

        [Fact]
        public void A_database_from_a_newer_schema_is_refused()
        {
            var path = PathOf("future.db");
            using (ResultsDb.Open(path)) { }
            RawExecute(path, "UPDATE meta SET value = '4' WHERE key = 'schema_version'");
            var e = Assert.Throws<InvalidDataException>(() => ResultsDb.Open(path));
            Assert.Equal($"{path} was written by a newer torchwright (results schema version 4; this one reads version 3); upgrade torchwright to read or extend it", e.Message);
            Assert.Throws<InvalidDataException>(() => ResultsDb.OpenReadOnly(path));
        }

        [Fact]
        public void Missing_files_and_folders_are_named()
        {
            var missing = PathOf("absent.db");
            var e = Assert.Throws<FileNotFoundException>(() => ResultsDb.OpenReadOnly(missing));
            Assert.Equal(($"results database not found: {missing}", missing), (e.Message, e.FileName));
            Assert.False(File.Exists(missing));

            var inMissingFolder = Path.Combine(_dir, "no-such-folder", "r.db");
            var d = Assert.Throws<DirectoryNotFoundException>(() => ResultsDb.Open(inMissingFolder));
            Assert.Equal($"cannot create the results database {inMissingFolder}: the folder {Path.Combine(_dir, "no-such-folder")} does not exist; create it first", d.Message);

            var empty = PathOf("empty.db");
            File.WriteAllBytes(empty, Array.Empty<byte>());
            var r = Assert.Throws<InvalidDataException>(() => ResultsDb.OpenReadOnly(empty));
            Assert.Equal($"{empty} is empty, not a Torchwright results database; name a database a sweep wrote", r.Message);
        }

        [Fact]
        public void A_reader_sees_committed_variants_while_the_writer_is_open()
        {
            var path = PathOf("live.db");
            using var writer = ResultsDb.Open(path);
            writer.Plan(Grid, Run);
            Finish(writer, Grid[0], 0.5, T0);
            writer.MarkRunning(Grid[1].Variant, 0, T0);
            using var reader = ResultsDb.OpenReadOnly(path);
            Assert.Equal(new[] { "done", "running", "pending" }, reader.ReadAll().Select(r => r.Status));
            Assert.Throws<SqliteException>(() => reader.MarkFailed(Grid[1].Variant, 0, T0, "read-only"));
        }

        /// <summary>
        /// A writer SIGKILLed in the middle of a large transaction (big enough that SQLite has already spilled its pages
        /// to the WAL) leaves the database exactly as the last commit had it; a commit made just before a SIGKILL survives.
        /// The writer is a separate process (Python's sqlite3) because the kill must hit a real process.
        /// </summary>
        [Fact]
        public void A_killed_writer_loses_only_its_uncommitted_transaction()
        {
            var path = PathOf("killed.db");
            using (var db = ResultsDb.Open(path))
            {
                db.Plan(Grid, Run);
                Finish(db, Grid[0], 0.5, T0);
                db.MarkRunning(Grid[1].Variant, 0, T0);
                db.MarkRunning(Grid[2].Variant, 0, T0);
            }
            var script = string.Join("\n",
                "import os, signal, sqlite3, sys",
                "c = sqlite3.connect(sys.argv[1], isolation_level=None)",
                "c.execute('PRAGMA synchronous = FULL')",
                "c.execute('PRAGMA cache_size = 10')",
                "c.execute('BEGIN IMMEDIATE')",
                "c.execute(\"UPDATE variants SET status = 'done', eval_acc = 0.99 WHERE variant = ?\", (sys.argv[3],))",
                "c.execute('COMMIT')",
                "c.execute('BEGIN IMMEDIATE')",
                "c.execute(\"UPDATE variants SET status = 'done', eval_acc = 0.75 WHERE variant = ?\", (sys.argv[2],))",
                "c.executemany('INSERT INTO loss_curve (variant, seed, step, loss) VALUES (?, 0, ?, 1.0)', ((sys.argv[2], s) for s in range(50000)))",
                "sys.stdout.write(str(os.path.getsize(sys.argv[1] + '-wal')))",
                "sys.stdout.flush()",
                "os.kill(os.getpid(), signal.SIGKILL)");
            var start = new ProcessStartInfo(PythonReference.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-c", script, path, Grid[1].Variant, Grid[2].Variant }) start.ArgumentList.Add(a);
            using var python = Process.Start(start)!;
            var walBytes = python.StandardOutput.ReadToEnd();
            var stderr = python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 128 + 9 || python.ExitCode == -9, $"python exit {python.ExitCode}: {stderr}");
            Assert.True(long.Parse(walBytes) > 100_000, $"the uncommitted transaction should have reached the WAL ({walBytes} bytes)");

            using var after = ResultsDb.Open(path);
            Assert.Equal("ok", RawScalar(path, "PRAGMA integrity_check"));
            var rows = after.ReadAll();
            Assert.Equal(new[] { "done", "running", "done" }, rows.Select(r => r.Status));
            Assert.Equal((0.5, (double?)null, 0.99), (rows[0].EvalAccuracy!.Value, rows[1].EvalAccuracy, rows[2].EvalAccuracy!.Value));
            Assert.Equal(3, rows[0].LossCurve.Count);
            Assert.Empty(rows[1].LossCurve);
        }

        [Fact]
        public void One_writer_at_a_time_named_by_pid_and_released_on_close()
        {
            var path = PathOf("one-writer.db");
            using (var first = ResultsDb.Open(path))
            {
                Assert.Equal($"pid {Environment.ProcessId} on {Environment.MachineName}, since ",
                    ((string)RawScalar(path, "SELECT value FROM meta WHERE key = 'writer'")!)[..^28]);
                var e = Assert.Throws<ResultsDbBusyException>(() => ResultsDb.Open(path));
                Assert.StartsWith($"{path} is being written by another torchwright process (pid {Environment.ProcessId} on {Environment.MachineName}, since 20", e.Message);
                Assert.EndsWith($"Z; lock file {path}.lock); wait for it to finish (torchwright report reads the database meanwhile), "
                    + "or give this run its own --db (e.g. with --shard i/n)", e.Message);
                using var reader = ResultsDb.OpenReadOnly(path); // readers are never refused
                Assert.Empty(reader.ReadAll());
            }
            Assert.Null(RawScalar(path, "SELECT value FROM meta WHERE key = 'writer'"));
            using (ResultsDb.Open(path)) { }
            Assert.True(File.Exists(path + ".lock"));
        }

        [Fact]
        public void Merge_unions_shards_and_prefers_the_latest_done_duplicate()
        {
            string a = PathOf("shard1.db"), b = PathOf("shard2.db"), c = PathOf("rerun.db");
            using (var db = ResultsDb.Open(a))
            {
                db.Plan(new[] { Grid[0], Grid[2] }, Run);
                Finish(db, Grid[0], 0.5, T0);
                db.MarkRunning(Grid[2].Variant, 0, T0);
                db.MarkFailed(Grid[2].Variant, 0, T0, "diverged");
            }
            using (var db = ResultsDb.Open(b))
            {
                db.Plan(new[] { Grid[1] }, Run.Replace("1/1", "2/2"));
                Finish(db, Grid[1], 0.6, T0);
            }
            using (var db = ResultsDb.Open(c))
            {
                db.Plan(new[] { Grid[0], Grid[2] }, Run.Replace("\"steps\":100", "\"steps\":50"));
                Finish(db, Grid[0], 0.4, T0.AddHours(-1));
                Finish(db, Grid[2], 0.7, T0.AddHours(-2));
            }

            var merged = ResultsDb.Merge(new[] { a, b, c, a }, out var warnings);
            Assert.Equal(Grid.Select(p => p.Variant), merged.Select(r => r.Variant));
            Assert.Equal(new[] { (a, 0.5), (b, 0.6), (c, 0.7) }, merged.Select(r => (r.SourceDb, r.EvalAccuracy!.Value)));
            Assert.Equal(new[]
            {
                $"{a} and {c} were run with different settings (steps: 100 vs 50); their metrics may not be comparable",
                $"variant '{Grid[0].Variant}' (seed 0) is in {a} (done, finished 2024-05-01T12:00:00.0000000Z) and in {c} (done, finished 2024-05-01T11:00:00.0000000Z); using {a}",
                $"variant '{Grid[2].Variant}' (seed 0) is in {a} (failed, finished 2024-05-01T12:00:00.0000000Z) and in {c} (done, finished 2024-05-01T10:00:00.0000000Z); using {c}",
                $"{a} is named more than once; it was read once",
            }, warnings);

            var disjoint = ResultsDb.Merge(new[] { a, b }, out var none);
            Assert.Empty(none);
            Assert.Equal(3, disjoint.Count);
        }

        private static void AssertSameRecord(VariantRecord expected, VariantRecord actual)
        {
            Assert.Equal(expected with { LossCurve = Array.Empty<LossPoint>() }, actual with { LossCurve = Array.Empty<LossPoint>() });
            Assert.Equal(expected.LossCurve, actual.LossCurve);
        }
    }
}
