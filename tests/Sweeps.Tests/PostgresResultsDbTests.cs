using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Torchwright.Tests.Shared;
using Xunit;

namespace Torchwright.Sweeps.Tests
{
    /// <summary>One throwaway PostgreSQL cluster for the class; every test gets its own database in it.</summary>
    public sealed class PostgresResultsDbTests : IClassFixture<PostgresResultsDbTests.Server>
    {
        public sealed class Server : IDisposable
        {
            public PostgresServer Pg { get; } = new PostgresServer();

            public void Dispose() => Pg.Dispose();
        }

        private const string Run = "{\"dataset\":\"shapes\",\"steps\":6,\"batch\":8,\"lr\":0.1,\"device\":\"cpu\"}";

        private static readonly DateTimeOffset T0 = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

        private readonly PostgresServer _pg;

        public PostgresResultsDbTests(Server server) => _pg = server.Pg;

        private static List<VariantPlan> Grid(int variants, int seeds) =>
            Enumerable.Range(0, seeds).SelectMany(seed => Enumerable.Range(0, variants).Select(i =>
                new VariantPlan($"S/w={i}", "S", i, $"{{\"w\":{i}}}", 100 + i, 1000 + i, seed))).ToList();

        private static VariantMetrics Metrics(double acc) =>
            new VariantMetrics(50, 1 << 20, 0.5, 0.75, acc, new[] { new LossPoint(3, 2.0), new LossPoint(6, 1.0) });

        [Fact]
        public void Workers_starting_together_create_the_schema_once_and_plan_every_run_once()
        {
            var db = _pg.ConnectionString(_pg.NewDatabase());
            var plans = Grid(5, 2);
            Parallel.For(0, 6, new ParallelOptions { MaxDegreeOfParallelism = 6 }, _ =>
            {
                using var store = PostgresResultsDb.Open(db);
                store.Plan(plans, Run);
            });
            using var reader = PostgresResultsDb.Open(db, create: false);
            Assert.Equal(10, reader.ReadAll().Count);
            Assert.All(reader.ReadAll(), r => Assert.Equal(VariantStatus.Pending, r.Status));
            Assert.Equal(Run, reader.RunJson);
            var name = db.Split(';').Single(p => p.StartsWith("Database=", StringComparison.Ordinal)).Substring(9);
            Assert.Equal("3", _pg.Scalar(name, "SELECT value FROM meta WHERE key = 'schema_version'"));
        }

        [Fact]
        public void A_version_2_store_is_read_as_it_is_and_upgraded_in_place_by_a_worker()
        {
            var name = _pg.NewDatabase();
            var db = _pg.ConnectionString(name);
            // The schema version 2 created (its inline status CHECK, no forward_images_per_s, no eval_curve), with one done run.
            _pg.Scalar(name, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); "
                + "CREATE TABLE variants (variant TEXT NOT NULL, seed BIGINT NOT NULL, sweep TEXT NOT NULL, grid_index INTEGER NOT NULL, "
                + "status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')), "
                + "started TIMESTAMPTZ, finished TIMESTAMPTZ, config_json TEXT NOT NULL, params BIGINT NOT NULL, macs BIGINT NOT NULL, "
                + "images_per_s DOUBLE PRECISION, peak_memory_bytes BIGINT, train_loss DOUBLE PRECISION, eval_loss DOUBLE PRECISION, "
                + "eval_acc DOUBLE PRECISION, error TEXT, worker TEXT, heartbeat TIMESTAMPTZ, PRIMARY KEY (variant, seed)); "
                + "CREATE TABLE loss_curve (variant TEXT NOT NULL, seed BIGINT NOT NULL, step INTEGER NOT NULL, loss DOUBLE PRECISION NOT NULL, "
                + "PRIMARY KEY (variant, seed, step), FOREIGN KEY (variant, seed) REFERENCES variants (variant, seed) ON DELETE CASCADE); "
                + "INSERT INTO meta VALUES ('application', 'torchwright-results'), ('schema_version', '2'), ('run_json', '" + Run + "'); "
                + "INSERT INTO variants (variant, seed, sweep, grid_index, status, config_json, params, macs, eval_acc) VALUES ('S/w=0', 0, 'S', 0, 'done', '{\"w\":0}', 100, 1000, 0.5), "
                + "('S/w=1', 0, 'S', 1, 'pending', '{\"w\":1}', 101, 1001, NULL); "
                + "INSERT INTO loss_curve VALUES ('S/w=0', 0, 6, 1.25)");
            using (var reader = PostgresResultsDb.Open(db, create: false))
            {
                var runs = reader.ReadAll();
                Assert.Equal(new[] { ("S/w=0", "done", (double?)0.5), ("S/w=1", "pending", null) }, runs.Select(r => (r.Variant, r.Status, r.EvalAccuracy)));
                Assert.All(runs, r => Assert.Null(r.ForwardImagesPerSecond));
            }
            Assert.Equal("2", _pg.Scalar(name, "SELECT value FROM meta WHERE key = 'schema_version'"));

            using (var store = PostgresResultsDb.Open(db))
            {
                Assert.Equal("3", _pg.Scalar(name, "SELECT value FROM meta WHERE key = 'schema_version'"));
                var plans = Grid(2, 1);
                store.Plan(plans, Run);
                Assert.Equal(ClaimState.Claimed, store.Claim(plans, "w", TimeSpan.FromMinutes(1), out var claim));
                Assert.Equal("S/w=1", claim!.Plan.Variant);
                Assert.True(store.Prune(claim, T0, Metrics(0.25) with { EvalCurve = new[] { new EvalCurvePoint(6, 0.75, 0.25) } }));
                store.RecordForwardSpeed("S/w=1", 812.5);
                var pruned = store.ReadAll().Single(r => r.Variant == "S/w=1");
                Assert.Equal(("pruned", 812.5), (pruned.Status, pruned.ForwardImagesPerSecond!.Value));
                Assert.Equal(new[] { new EvalCurvePoint(6, 0.75, 0.25) }, pruned.EvalCurve);
                Assert.Equal(new[] { new LossPoint(6, 1.25) }, store.ReadAll().Single(r => r.Variant == "S/w=0").LossCurve);
                // Promotion is a compare-and-set: from the step the run stopped at, once.
                Assert.False(store.Promote(claim.Plan, 3, "w2", out _));
                Assert.True(store.Promote(claim.Plan, 6, "w2", out var promoted));
                Assert.Equal("w2", promoted!.Worker);
                Assert.False(store.Promote(claim.Plan, 6, "w3", out _));
            }
            using (var store = PostgresResultsDb.Open(db)) // opening again changes nothing
                Assert.Equal(2, store.ReadAll().Count);
        }

        /// <summary>Issue 24: SQLite's reads were range-checked cell by cell (StoredRow), the server's were not: a hand-edited
        /// eval_acc = 7 was reported as it was. Both stores now go through the same checks and the same message.</summary>
        [Theory]
        [InlineData("UPDATE variants SET eval_acc = 7", "column eval_acc holds the real number 7; expected a finite number from 0 to 1")]
        [InlineData("UPDATE variants SET params = -3", "column params holds the integer -3; expected an integer >= 0")]
        [InlineData("UPDATE variants SET config_json = '[1]'", "column config_json holds the text '[1]'; expected a JSON object (it is array)")]
        [InlineData("UPDATE loss_curve SET step = -6 WHERE step = 6", "column step holds the integer -6; expected an integer from 0 to 2147483647")]
        public void A_hand_edited_cell_out_of_range_is_refused_as_in_SQLite(string edit, string what)
        {
            var name = _pg.NewDatabase();
            var db = _pg.ConnectionString(name);
            using (var s = PostgresResultsDb.Open(db))
            {
                s.Plan(Grid(1, 1), Run);
                Assert.Equal(ClaimState.Claimed, s.Claim(Grid(1, 1), "w", TimeSpan.FromMinutes(5), out var claim));
                Assert.True(s.Finish(claim!, T0, Metrics(0.5)));
                Assert.Equal(0.5, s.ReadAll().Single().EvalAccuracy);
            }
            _pg.Scalar(name, edit);
            using var reader = PostgresResultsDb.Open(db, create: false);
            var e = Assert.Throws<InvalidDataException>(() => reader.ReadAll());
            var row = edit.Contains("loss_curve") ? "table loss_curve, the row of variant 'S/w=0' seed 0" : "table variants, row 'S/w=0' seed 0";
            Assert.Equal($"{reader.Name}: the results database is damaged: {row}, {what}. Correct or delete that row with a PostgreSQL client (psql)", e.Message);
        }

        [Fact]
        public void Concurrent_claims_never_hand_out_a_run_twice()
        {
            var db = _pg.ConnectionString(_pg.NewDatabase());
            var plans = Grid(6, 4);
            using (var s = PostgresResultsDb.Open(db)) s.Plan(plans, Run);
            var claimed = new ConcurrentBag<(string, long, string)>();
            Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, w =>
            {
                using var store = PostgresResultsDb.Open(db);
                var worker = "w" + w;
                while (store.Claim(plans, worker, TimeSpan.FromMinutes(5), out var claim) == ClaimState.Claimed)
                {
                    claimed.Add((claim!.Plan.Variant, claim.Plan.Seed, worker));
                    Assert.True(store.Heartbeat(claim));
                    Assert.True(store.Finish(claim, T0, Metrics(0.5)));
                }
            });
            Assert.Equal(24, claimed.Count);
            Assert.Equal(24, claimed.Select(c => (c.Item1, c.Item2)).Distinct().Count());
            using var reader = PostgresResultsDb.Open(db, create: false);
            Assert.All(reader.ReadAll(), r => Assert.Equal((VariantStatus.Done, 2), (r.Status, r.LossCurve.Count)));
        }

        [Fact]
        public void A_claim_without_heartbeats_is_taken_over_after_the_lease_and_the_old_holder_cannot_finish_it()
        {
            var db = _pg.ConnectionString(_pg.NewDatabase());
            var plans = Grid(1, 1);
            using var store = PostgresResultsDb.Open(db);
            store.Plan(plans, Run);
            var lease = TimeSpan.FromMilliseconds(800);
            Assert.Equal(ClaimState.Claimed, store.Claim(plans, "dead", lease, out var first));
            Assert.Null(first!.PreviousWorker);
            // Within the lease the run is held: a second worker waits instead of taking it.
            Assert.Equal(ClaimState.WaitForOthers, store.Claim(plans, "alive", lease, out var none));
            Assert.Null(none);
            Thread.Sleep(1200);
            Assert.Equal(ClaimState.Claimed, store.Claim(plans, "alive", lease, out var second));
            Assert.Equal("dead", second!.PreviousWorker);

            Assert.False(store.Heartbeat(first));
            Assert.False(store.Finish(first, T0, Metrics(0.1)));
            Assert.False(store.Fail(first, T0, "late"));
            Assert.True(store.Finish(second, T0.AddMinutes(1), Metrics(0.9)));
            Assert.False(store.Finish(second, T0.AddMinutes(2), Metrics(0.2))); // done is never written again
            var row = store.ReadAll().Single();
            Assert.Equal((VariantStatus.Done, 0.9, T0.AddMinutes(1)), (row.Status, row.EvalAccuracy!.Value, row.Finished!.Value));
            Assert.Equal(ClaimState.Finished, store.Claim(plans, "alive", lease, out _));
        }

        [Fact]
        public void Failed_runs_are_retried_by_the_next_planner_and_other_settings_are_refused()
        {
            var db = _pg.Uri(_pg.NewDatabase());
            var plans = Grid(2, 1);
            using var store = PostgresResultsDb.Open(db);
            store.Plan(plans, Run);
            Assert.Equal(ClaimState.Claimed, store.Claim(plans, "a", TimeSpan.FromMinutes(1), out var claim));
            Assert.True(store.Fail(claim!, T0, "diverged"));
            Assert.Equal(ClaimState.Claimed, store.Claim(plans, "a", TimeSpan.FromMinutes(1), out var other));
            Assert.NotEqual(claim!.Plan.Variant, other!.Plan.Variant); // the failed one is not retried by the same pass
            Assert.True(store.Finish(other, T0, Metrics(0.5)));
            Assert.Equal(ClaimState.Finished, store.Claim(plans, "a", TimeSpan.FromMinutes(1), out _));

            store.Plan(plans, Run);
            Assert.Equal((VariantStatus.Pending, "diverged"), store.ReadAll().Where(r => r.Variant == claim.Plan.Variant).Select(r => (r.Status, r.Error!)).Single());
            var e = Assert.Throws<InvalidOperationException>(() => store.Plan(plans, Run.Replace("\"steps\":6", "\"steps\":9")));
            Assert.Contains("holds runs trained with other settings (database vs now: steps: 6 vs 9)", e.Message);
        }

        [Fact]
        public void Connection_strings_and_uris_are_recognised_and_passwords_never_printed()
        {
            Assert.True(ResultsStore.IsPostgres("postgres://u:secret@db.lab:5433/sweeps"));
            Assert.True(ResultsStore.IsPostgres("postgresql://db/sweeps"));
            Assert.True(ResultsStore.IsPostgres("Host=db.lab;Database=sweeps;Password=secret"));
            Assert.False(ResultsStore.IsPostgres("results/host=1.db"));
            Assert.False(ResultsStore.IsPostgres("results.db"));
            Assert.Equal("postgres://u:***@db.lab:5433/sweeps", ResultsStore.Display("postgres://u:secret@db.lab:5433/sweeps"));
            Assert.DoesNotContain("secret", ResultsStore.Display("Host=db.lab;Database=sweeps;Password=secret"));
            var (b, _) = PostgresResultsDb.Parse("postgres://u:p%40ss@db.lab:5433/my%20db?sslmode=require");
            Assert.Equal(("db.lab", 5433, "u", "p@ss", "my db", Npgsql.SslMode.Require), (b.Host, b.Port, b.Username, b.Password, b.Database, b.SslMode));
            var bad = Assert.Throws<ArgumentException>(() => PostgresResultsDb.Parse("postgres://u:secret@h/db?colour=blue"));
            Assert.Contains("URI parameter 'colour' is not a PostgreSQL connection setting", bad.Message);
            Assert.DoesNotContain("secret", bad.Message);
        }

        [Fact]
        public void Report_merges_a_postgres_store_like_a_sqlite_file()
        {
            var db = _pg.ConnectionString(_pg.NewDatabase());
            var plans = Grid(2, 2);
            using (var store = PostgresResultsDb.Open(db))
            {
                store.Plan(plans, Run);
                while (store.Claim(plans, "w", TimeSpan.FromMinutes(1), out var c) == ClaimState.Claimed)
                    store.Finish(c!, T0, Metrics(0.25 + c!.Plan.Seed / 4.0));
            }
            var merged = ResultsDb.Merge(new[] { db }, out var warnings);
            Assert.Empty(warnings);
            Assert.Equal(new[] { ("S/w=0", 0L), ("S/w=0", 1L), ("S/w=1", 0L), ("S/w=1", 1L) }, merged.Select(r => (r.Variant, r.Seed)));
            Assert.All(merged, r => Assert.Equal(r.Seed == 0 ? 0.25 : 0.5, r.EvalAccuracy!.Value));
        }

        [Fact]
        public void A_missing_database_or_foreign_tables_are_named_not_crashed_on()
        {
            var missing = Assert.Throws<IOException>(() => PostgresResultsDb.Open(_pg.ConnectionString("tw_absent")));
            Assert.Contains("PostgreSQL refused (3D000: database \"tw_absent\" does not exist)", missing.Message);
            var empty = _pg.ConnectionString(_pg.NewDatabase());
            var none = Assert.Throws<InvalidDataException>(() => PostgresResultsDb.Open(empty, create: false));
            Assert.Contains("holds no Torchwright results (no meta table); run a sweep with this --db first", none.Message);
        }
    }
}
