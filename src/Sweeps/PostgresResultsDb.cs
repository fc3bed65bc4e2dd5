using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Npgsql;
using NpgsqlTypes;
using Torchwright.Runtime.Training;

namespace Torchwright.Sweeps
{
    /// <summary>
    /// A sweep's runs in a PostgreSQL database, shared by any number of <c>torchwright sweep</c> workers on any number
    /// of machines. The rows are those of the SQLite store (docs/report.md), plus who holds a running run and when it
    /// last said so: a worker claims the next run with <c>FOR UPDATE SKIP LOCKED</c> (no two workers ever get the same
    /// one), renews its heartbeat while training, and records the outcome only while it still holds the claim — a run
    /// whose heartbeat is older than the lease is taken over by another worker, and a done run is never written again.
    /// Heartbeats and lease checks use the server's clock, so the workers' clocks may disagree. Every change is one
    /// transaction, and each call opens its own pooled connection (the heartbeat timer runs beside the training thread).
    /// </summary>
    public sealed class PostgresResultsDb : IResultsStore
    {
        /// <summary>Serialises schema creation and planning across workers (pg_advisory_xact_lock key: "tw-sweep").</summary>
        private const long PlanLock = 0x74772D7377656570;

        private static readonly string[] Schema =
        {
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE variants ("
                + "variant TEXT NOT NULL, seed BIGINT NOT NULL, sweep TEXT NOT NULL, grid_index INTEGER NOT NULL, "
                + "status TEXT NOT NULL, "
                + "started TIMESTAMPTZ, finished TIMESTAMPTZ, config_json TEXT NOT NULL, params BIGINT NOT NULL, macs BIGINT NOT NULL, "
                + "images_per_s DOUBLE PRECISION, peak_memory_bytes BIGINT, train_loss DOUBLE PRECISION, eval_loss DOUBLE PRECISION, "
                + "eval_acc DOUBLE PRECISION, error TEXT, worker TEXT, heartbeat TIMESTAMPTZ, PRIMARY KEY (variant, seed))",
            StatusCheck,
            "ALTER TABLE variants ADD COLUMN forward_images_per_s DOUBLE PRECISION",
            "CREATE TABLE loss_curve ("
                + "variant TEXT NOT NULL, seed BIGINT NOT NULL, step INTEGER NOT NULL, loss DOUBLE PRECISION NOT NULL, "
                + "PRIMARY KEY (variant, seed, step), FOREIGN KEY (variant, seed) REFERENCES variants (variant, seed) ON DELETE CASCADE)",
            EvalCurveTable,
        };

        /// <summary>The statuses a row may hold (version 3 added pruned), a named constraint so an upgrade can replace it.</summary>
        private const string StatusCheck =
            "ALTER TABLE variants ADD CONSTRAINT variants_status_check CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned'))";

        private const string EvalCurveTable =
            "CREATE TABLE eval_curve ("
            + "variant TEXT NOT NULL, seed BIGINT NOT NULL, step INTEGER NOT NULL, eval_loss DOUBLE PRECISION NOT NULL, eval_acc DOUBLE PRECISION NOT NULL, "
            + "PRIMARY KEY (variant, seed, step), FOREIGN KEY (variant, seed) REFERENCES variants (variant, seed) ON DELETE CASCADE)";

        private const string Columns =
            "variant, seed, sweep, grid_index, status, started, finished, config_json, params, macs, "
            + "images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error, forward_images_per_s";

        private readonly NpgsqlDataSource _source;

        /// <summary>The schema version of the store (a version-2 store opened for reading only is read as it is).</summary>
        private int _version = ResultsDb.SchemaVersion;

        private PostgresResultsDb(string name, NpgsqlDataSource source)
        {
            Name = name;
            _source = source;
        }

        public string Name { get; }

        public string? RunJson => Scalar("SELECT value FROM meta WHERE key = 'run_json'") as string;

        /// <summary>True for <c>postgres://</c> / <c>postgresql://</c> URIs and for key=value connection strings that name a Host.</summary>
        public static bool IsConnectionString(string db)
        {
            if (db.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || db.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
                return true;
            if (!db.Contains('=') || !db.Contains("host", StringComparison.OrdinalIgnoreCase)) return false;
            try { return !string.IsNullOrEmpty(new NpgsqlConnectionStringBuilder(db).Host); }
            catch (ArgumentException) { return false; }
        }

        /// <summary>
        /// Connects and, with <paramref name="create"/>, creates the schema when the database has none (idempotent: any
        /// number of workers may start at once). Throws <see cref="IOException"/> when the server cannot be reached and
        /// <see cref="InvalidDataException"/> when the database holds something else or a newer schema.
        /// </summary>
        public static PostgresResultsDb Open(string db, bool create = true)
        {
            var (builder, name) = Parse(db);
            var store = new PostgresResultsDb(name, NpgsqlDataSource.Create(builder.ConnectionString));
            try
            {
                store.InitialiseOrCheck(create);
                return store;
            }
            catch (PostgresException e)
            {
                // The server answered but refused: no such database, authentication, permissions.
                store.Dispose();
                throw new IOException($"{name}: PostgreSQL refused ({e.SqlState}: {e.MessageText})", e);
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        /// <summary>The connection settings of a URI or key=value string, and the same with its password masked.</summary>
        internal static (NpgsqlConnectionStringBuilder Builder, string Name) Parse(string db)
        {
            var b = new NpgsqlConnectionStringBuilder();
            if (db.Contains("://", StringComparison.Ordinal))
            {
                // By hand, not System.Uri: libpq's form allows an empty host (postgres://user@/db?host=/run/sock).
                int scheme = db.IndexOf("://", StringComparison.Ordinal);
                var rest = db.Substring(scheme + 3);
                int q = rest.IndexOf('?');
                var query = q >= 0 ? rest.Substring(q + 1) : "";
                if (q >= 0) rest = rest.Substring(0, q);
                int slash = rest.IndexOf('/');
                var authority = slash >= 0 ? rest.Substring(0, slash) : rest;
                var database = slash >= 0 ? Uri.UnescapeDataString(rest.Substring(slash + 1)) : "";
                int at = authority.LastIndexOf('@');
                if (at >= 0)
                {
                    var user = authority.Substring(0, at).Split(':', 2);
                    if (user[0].Length > 0) b.Username = Uri.UnescapeDataString(user[0]);
                    if (user.Length > 1) b.Password = Uri.UnescapeDataString(user[1]);
                    authority = authority.Substring(at + 1);
                }
                int colon = authority.StartsWith("[", StringComparison.Ordinal) ? authority.IndexOf(':', authority.IndexOf(']') + 1) : authority.LastIndexOf(':');
                if (colon >= 0)
                {
                    if (!int.TryParse(authority.Substring(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port < 1 || port > 65535)
                        throw new ArgumentException($"--db {Mask(db)}: the port '{authority.Substring(colon + 1)}' is not a number from 1 to 65535");
                    b.Port = port;
                    authority = authority.Substring(0, colon);
                }
                if (authority.Length > 0) b.Host = Uri.UnescapeDataString(authority.Trim('[', ']'));
                if (database.Length > 0) b.Database = database;
                foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
                {
                    var kv = pair.Split('=', 2);
                    var key = Uri.UnescapeDataString(kv[0]);
                    var value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
                    try { b[key switch { "sslmode" => "SSL Mode", "host" => "Host", "port" => "Port", "search_path" => "Search Path", "application_name" => "Application Name", _ => key }] = value; }
                    catch (ArgumentException e)
                    {
                        throw new ArgumentException($"--db {Mask(db)}: URI parameter '{key}' is not a PostgreSQL connection setting ({e.Message})");
                    }
                }
            }
            else
            {
                try { b.ConnectionString = db; }
                catch (ArgumentException e) { throw new ArgumentException($"--db: not a valid PostgreSQL connection string ({e.Message})"); }
            }
            if (string.IsNullOrEmpty(b.Host))
                throw new ArgumentException($"--db {Mask(db)}: the PostgreSQL connection names no host (a name, an address or a socket folder)");
            var shown = new NpgsqlConnectionStringBuilder(b.ConnectionString);
            if (!string.IsNullOrEmpty(shown.Password)) shown.Password = "***";
            return (b, db.Contains("://", StringComparison.Ordinal) ? Mask(db) : shown.ConnectionString);
        }

        /// <summary>A URI with its password replaced by ***.</summary>
        private static string Mask(string uri)
        {
            int scheme = uri.IndexOf("://", StringComparison.Ordinal);
            int at = uri.IndexOf('@');
            if (scheme < 0 || at < scheme) return uri;
            int colon = uri.IndexOf(':', scheme + 3);
            return colon > 0 && colon < at ? uri.Substring(0, colon + 1) + "***" + uri.Substring(at) : uri;
        }

        private void InitialiseOrCheck(bool create)
        {
            InTransaction(tx =>
            {
                Exec(tx, "SELECT pg_advisory_xact_lock(@k)", ("k", PlanLock));
                bool hasMeta = Scalar(tx, "SELECT to_regclass('meta') IS NOT NULL") is true;
                if (!hasMeta)
                {
                    bool empty = Scalar(tx, "SELECT to_regclass('variants') IS NULL AND to_regclass('loss_curve') IS NULL") is true;
                    if (!create)
                        throw new InvalidDataException($"{Name} holds no Torchwright results (no meta table); run a sweep with this --db first");
                    if (!empty)
                        throw new InvalidDataException($"{Name} has tables named variants or loss_curve but no meta table: it is not a Torchwright results database; use another database (or Search Path)");
                    foreach (var statement in Schema) Exec(tx, statement);
                    Exec(tx, "INSERT INTO meta (key, value) VALUES ('application', @a), ('schema_version', @v)",
                        ("a", ResultsDb.Application), ("v", ResultsDb.SchemaVersion.ToString(CultureInfo.InvariantCulture)));
                    return 0;
                }
                var application = Scalar(tx, "SELECT value FROM meta WHERE key = 'application'") as string;
                if (application != ResultsDb.Application)
                    throw new InvalidDataException($"{Name} is not a Torchwright results database (meta.application is {(application == null ? "missing" : "'" + application + "'")}, expected '{ResultsDb.Application}'); use another database");
                var versionText = Scalar(tx, "SELECT value FROM meta WHERE key = 'schema_version'") as string;
                if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 2)
                    throw new InvalidDataException($"{Name}: the results database is damaged (meta.schema_version is '{versionText}')");
                if (version > ResultsDb.SchemaVersion)
                    throw new InvalidDataException($"{Name} was written by a newer torchwright (results schema version {version}; this one reads version {ResultsDb.SchemaVersion}); upgrade torchwright to read or extend it");
                _version = version;
                if (version == 2 && create)
                {
                    // 2 -> 3 in this transaction: the status pruned, the forward throughput column and the eval curves.
                    Exec(tx, "ALTER TABLE variants DROP CONSTRAINT IF EXISTS variants_status_check");
                    Exec(tx, StatusCheck);
                    Exec(tx, "ALTER TABLE variants ADD COLUMN forward_images_per_s DOUBLE PRECISION");
                    Exec(tx, EvalCurveTable);
                    Exec(tx, "UPDATE meta SET value = @v WHERE key = 'schema_version'", ("v", ResultsDb.SchemaVersion.ToString(CultureInfo.InvariantCulture)));
                    _version = ResultsDb.SchemaVersion;
                }
                return 0;
            });
        }

        public void Plan(IReadOnlyList<VariantPlan> plans, string runJson)
        {
            StoreRules.CheckPlan(plans, runJson);

            InTransaction(tx =>
            {
                // One planner at a time: workers starting together must agree on the settings and insert each run once.
                Exec(tx, "SELECT pg_advisory_xact_lock(@k)", ("k", PlanLock));
                var storedRun = Scalar(tx, "SELECT value FROM meta WHERE key = 'run_json'") as string;
                long rows = (long)Scalar(tx, "SELECT count(*) FROM variants")!;
                if (storedRun != null && rows > 0)
                {
                    var differences = StoreRules.Differences(storedRun, runJson, ignore: null);
                    if (differences.Count > 0)
                        throw new InvalidOperationException(
                            $"{Name} holds runs trained with other settings (database vs now: {string.Join("; ", differences)}); "
                            + "start every worker of a sweep with the same settings, or use another database for these");
                }
                Exec(tx, "INSERT INTO meta (key, value) VALUES ('run_json', @r) ON CONFLICT (key) DO UPDATE SET value = excluded.value", ("r", runJson));

                var existing = new Dictionary<(string, long), (string Status, string Config, long Params, long Macs)>();
                using (var read = Command(tx, "SELECT variant, seed, status, config_json, params, macs FROM variants"))
                using (var reader = read.ExecuteReader())
                    while (reader.Read())
                        existing[(reader.GetString(0), reader.GetInt64(1))] = (reader.GetString(2), reader.GetString(3), reader.GetInt64(4), reader.GetInt64(5));

                foreach (var p in plans)
                {
                    var values = new (string, object?)[]
                    {
                        ("v", p.Variant), ("seed", p.Seed), ("s", p.Sweep), ("i", p.Index), ("c", p.ConfigJson), ("p", p.Params), ("m", p.Macs),
                    };
                    if (!existing.TryGetValue((p.Variant, p.Seed), out var row))
                        Exec(tx, "INSERT INTO variants (variant, seed, sweep, grid_index, status, config_json, params, macs) "
                            + "VALUES (@v, @seed, @s, @i, 'pending', @c, @p, @m)", values);
                    else if (row.Status == VariantStatus.Pending || row.Status == VariantStatus.Failed)
                        // Failed runs are tried again by the next worker that plans; running ones belong to their worker.
                        Exec(tx, "UPDATE variants SET sweep = @s, grid_index = @i, config_json = @c, params = @p, macs = @m, status = 'pending' "
                            + "WHERE variant = @v AND seed = @seed", values);
                    else if (row.Status == VariantStatus.Done)
                    {
                        StoreRules.RequireUnchanged(Name, p, row.Config, row.Params, row.Macs);
                    }
                }
                return 0;
            });
        }

        public ClaimState Claim(IReadOnlyList<VariantPlan> mine, string worker, TimeSpan lease, out RunClaim? claim)
        {
            var variants = mine.Select(p => p.Variant).ToArray();
            var seeds = mine.Select(p => p.Seed).ToArray();
            var byRun = mine.ToDictionary(p => (p.Variant, p.Seed));
            var (state, taken) = InTransaction(tx =>
            {
                // SKIP LOCKED: a row another worker is claiming right now is passed over, never waited for or taken twice.
                using var command = Command(tx,
                    "WITH next AS ("
                    + "  SELECT variant, seed, status AS was, worker AS previous FROM variants"
                    + "  WHERE (status = 'pending' OR (status = 'running' AND (heartbeat IS NULL OR heartbeat < now() - @lease)))"
                    + "    AND (variant, seed) IN (SELECT * FROM unnest(@vs::text[], @ss::bigint[]))"
                    + "  ORDER BY seed, grid_index, variant LIMIT 1 FOR UPDATE SKIP LOCKED) "
                    + "UPDATE variants r SET status = 'running', worker = @w, heartbeat = now(), started = now(), finished = NULL, "
                    + "  images_per_s = NULL, peak_memory_bytes = NULL, train_loss = NULL, eval_loss = NULL, eval_acc = NULL, error = NULL "
                    + "FROM next WHERE r.variant = next.variant AND r.seed = next.seed "
                    + "RETURNING r.variant, r.seed, next.was, next.previous",
                    ("lease", lease), ("vs", variants), ("ss", seeds), ("w", worker));
                (string Variant, long Seed, string? Previous)? row = null;
                using (var reader = command.ExecuteReader())
                    if (reader.Read())
                        row = (reader.GetString(0), reader.GetInt64(1), reader.GetString(2) == VariantStatus.Running && !reader.IsDBNull(3) ? reader.GetString(3) : null);
                if (row is { } r)
                {
                    Exec(tx, "DELETE FROM loss_curve WHERE variant = @v AND seed = @s", ("v", r.Variant), ("s", r.Seed));
                    return (ClaimState.Claimed, r);
                }
                long held = (long)Scalar(tx, "SELECT count(*) FROM variants WHERE status = 'running' "
                    + "AND (variant, seed) IN (SELECT * FROM unnest(@vs::text[], @ss::bigint[]))", ("vs", variants), ("ss", seeds))!;
                return (held > 0 ? ClaimState.WaitForOthers : ClaimState.Finished, ((string, long, string?)?)null);
            });
            claim = taken is { } t ? new RunClaim(byRun[(t.Item1, t.Item2)], worker, t.Item3) : null;
            return state;
        }

        public bool Heartbeat(RunClaim claim) =>
            InTransaction(tx => Exec(tx, "UPDATE variants SET heartbeat = now() WHERE variant = @v AND seed = @s AND status = 'running' AND worker = @w",
                ("v", claim.Plan.Variant), ("s", claim.Plan.Seed), ("w", claim.Worker)) == 1);

        public bool Finish(RunClaim claim, DateTimeOffset finished, VariantMetrics metrics) => Record(claim, finished, metrics, VariantStatus.Done);

        public bool Prune(RunClaim claim, DateTimeOffset stopped, VariantMetrics metrics) => Record(claim, stopped, metrics, VariantStatus.Pruned);

        private bool Record(RunClaim claim, DateTimeOffset finished, VariantMetrics metrics, string status)
        {
            StoreRules.CheckLossCurve(claim.Plan.Variant, metrics);
            return InTransaction(tx =>
            {
                int updated = Exec(tx, "UPDATE variants SET status = @status, finished = @t, images_per_s = @ips, peak_memory_bytes = @mem, "
                    + "train_loss = @tl, eval_loss = @el, eval_acc = @ea, error = NULL, heartbeat = now() "
                    + "WHERE variant = @v AND seed = @s AND status = 'running' AND worker = @w",
                    ("v", claim.Plan.Variant), ("s", claim.Plan.Seed), ("w", claim.Worker), ("t", finished.ToUniversalTime()),
                    ("ips", Finite(metrics.ImagesPerSecond)), ("mem", metrics.PeakMemoryBytes > 0 ? metrics.PeakMemoryBytes : null),
                    ("tl", Finite(metrics.TrainLoss)), ("el", Finite(metrics.EvalLoss)), ("ea", Finite(metrics.EvalAccuracy)), ("status", status));
                if (updated != 1) return false; // the claim was taken over: the other worker's outcome stands
                Exec(tx, "DELETE FROM loss_curve WHERE variant = @v AND seed = @s", ("v", claim.Plan.Variant), ("s", claim.Plan.Seed));
                Exec(tx, "INSERT INTO loss_curve (variant, seed, step, loss) SELECT @v, @s, * FROM unnest(@steps::integer[], @losses::double precision[])",
                    ("v", claim.Plan.Variant), ("s", claim.Plan.Seed),
                    ("steps", metrics.LossCurve.Select(p => p.Step).ToArray()), ("losses", metrics.LossCurve.Select(p => p.Loss).ToArray()));
                Exec(tx, "DELETE FROM eval_curve WHERE variant = @v AND seed = @s", ("v", claim.Plan.Variant), ("s", claim.Plan.Seed));
                Exec(tx, "INSERT INTO eval_curve (variant, seed, step, eval_loss, eval_acc) SELECT @v, @s, * FROM unnest(@steps::integer[], @losses::double precision[], @accs::double precision[])",
                    ("v", claim.Plan.Variant), ("s", claim.Plan.Seed), ("steps", metrics.EvalCurve.Select(p => p.Step).ToArray()),
                    ("losses", metrics.EvalCurve.Select(p => p.Loss).ToArray()), ("accs", metrics.EvalCurve.Select(p => p.Accuracy).ToArray()));
                return true;
            });
        }

        public bool Promote(VariantPlan plan, int fromStep, string worker, out RunClaim? claim)
        {
            // One UPDATE: of two workers promoting the same run, the second finds it running and gets nothing.
            bool taken = InTransaction(tx => Exec(tx,
                "UPDATE variants SET status = 'running', worker = @w, heartbeat = now(), started = now(), finished = NULL "
                + "WHERE variant = @v AND seed = @s AND status = 'pruned' "
                + "AND (SELECT max(step) FROM eval_curve e WHERE e.variant = @v AND e.seed = @s) = @step",
                ("v", plan.Variant), ("s", plan.Seed), ("w", worker), ("step", fromStep)) == 1);
            claim = taken ? new RunClaim(plan, worker, null) : null;
            return taken;
        }

        public int ReopenPruned(IReadOnlyList<VariantPlan> mine) => InTransaction(tx => Exec(tx,
            "UPDATE variants SET status = 'pending' WHERE status = 'pruned' AND (variant, seed) IN (SELECT * FROM unnest(@vs::text[], @ss::bigint[]))",
            ("vs", mine.Select(p => p.Variant).ToArray()), ("ss", mine.Select(p => p.Seed).ToArray())));

        public void RecordForwardSpeed(string variant, double imagesPerSecond)
        {
            StoreRules.CheckForwardSpeed(variant, imagesPerSecond);
            InTransaction(tx => Exec(tx, "UPDATE variants SET forward_images_per_s = @f WHERE variant = @v", ("v", variant), ("f", imagesPerSecond)));
        }

        public bool Fail(RunClaim claim, DateTimeOffset finished, string error) =>
            InTransaction(tx =>
            {
                int updated = Exec(tx, "UPDATE variants SET status = 'failed', finished = @t, error = @e, heartbeat = now() "
                    + "WHERE variant = @v AND seed = @s AND status = 'running' AND worker = @w",
                    ("v", claim.Plan.Variant), ("s", claim.Plan.Seed), ("w", claim.Worker), ("t", finished.ToUniversalTime()), ("e", error));
                if (updated == 1)
                {
                    Exec(tx, "DELETE FROM loss_curve WHERE variant = @v AND seed = @s", ("v", claim.Plan.Variant), ("s", claim.Plan.Seed));
                    Exec(tx, "DELETE FROM eval_curve WHERE variant = @v AND seed = @s", ("v", claim.Plan.Variant), ("s", claim.Plan.Seed));
                }
                return updated == 1;
            });

        public IReadOnlyList<VariantRecord> ReadAll() => InTransaction(tx =>
        {
            // REPEATABLE READ: the rows and their curves come from one snapshot while workers keep writing.
            Exec(tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
            var run = Scalar(tx, "SELECT value FROM meta WHERE key = 'run_json'") as string ?? "";
            var curves = new Dictionary<(string, long), List<LossPoint>>();
            using (var read = Command(tx, "SELECT variant, seed, step, loss FROM loss_curve ORDER BY variant, seed, step"))
            using (var reader = read.ExecuteReader())
                for (int n = 1; reader.Read(); n++)
                {
                    // The cells are checked as SQLite's are (StoredRow): a row edited on the server is refused, not reported.
                    var (name, seed, point) = new StoredRow(Name, "loss_curve", $"row {n} (ordered by variant, seed, step)", reader, server: true).CurvePoint();
                    if (!curves.TryGetValue((name, seed), out var curve)) curves[(name, seed)] = curve = new List<LossPoint>();
                    curve.Add(point);
                }
            var evals = new Dictionary<(string, long), List<EvalCurvePoint>>();
            if (_version >= 3)
                using (var read = Command(tx, "SELECT variant, seed, step, eval_loss, eval_acc FROM eval_curve ORDER BY variant, seed, step"))
                using (var reader = read.ExecuteReader())
                    for (int n = 1; reader.Read(); n++)
                    {
                        var (name, seed, point) = new StoredRow(Name, "eval_curve", $"row {n} (ordered by variant, seed, step)", reader, server: true).EvalPoint();
                        if (!evals.TryGetValue((name, seed), out var curve)) evals[(name, seed)] = curve = new List<EvalCurvePoint>();
                        curve.Add(point);
                    }
            var records = new List<VariantRecord>();
            var runs = new HashSet<(string, long)>();
            var columns = _version >= 3 ? Columns : Columns.Replace("forward_images_per_s", "NULL::double precision AS forward_images_per_s");
            using (var read = Command(tx, $"SELECT {columns} FROM variants ORDER BY sweep, grid_index, variant, seed"))
            using (var reader = read.ExecuteReader())
                for (int n = 1; reader.Read(); n++)
                    records.Add(new StoredRow(Name, "variants", $"row {n} (ordered by sweep, grid_index, variant, seed)", reader, server: true)
                        .Variant(run, Name, runs, curves, evals, ResultsDb.Statuses, ResultsDb.TimeFormat));
            return (IReadOnlyList<VariantRecord>)records;
        });

        public void Dispose() => _source.Dispose();

        private static object? Finite(double value) => double.IsFinite(value) ? value : null;

        /// <summary>Runs <paramref name="body"/> in one transaction on its own connection; unreachable servers become <see cref="IOException"/>.</summary>
        private T InTransaction<T>(Func<NpgsqlTransaction, T> body)
        {
            try
            {
                using var connection = _source.OpenConnection();
                using var tx = connection.BeginTransaction();
                var result = body(tx);
                tx.Commit();
                return result;
            }
            catch (NpgsqlException e) when (e is not PostgresException)
            {
                // Connection refused, reset, timed out: the server (or the way to it) is gone.
                throw new IOException($"{Name}: cannot reach the PostgreSQL server ({e.Message.Split('\n')[0].Trim()})", e);
            }
        }

        private object? Scalar(string sql) => InTransaction(tx => Scalar(tx, sql));

        private static NpgsqlCommand Command(NpgsqlTransaction tx, string sql, params (string Name, object? Value)[] parameters)
        {
            var command = new NpgsqlCommand(sql, tx.Connection, tx);
            foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            return command;
        }

        private static int Exec(NpgsqlTransaction tx, string sql, params (string Name, object? Value)[] parameters)
        {
            using var command = Command(tx, sql, parameters);
            return command.ExecuteNonQuery();
        }

        private static object? Scalar(NpgsqlTransaction tx, string sql, params (string Name, object? Value)[] parameters)
        {
            using var command = Command(tx, sql, parameters);
            var value = command.ExecuteScalar();
            return value is DBNull ? null : value;
        }
    }
}
