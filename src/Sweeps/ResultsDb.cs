using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Torchwright.Runtime.Training;

namespace Torchwright.Sweeps
{
    /// <summary>
    /// A sweep's results in one SQLite file: one row per run — a variant trained from one seed — (status, timestamps,
    /// configuration, metrics) and its loss curve. Every state change is one transaction, and the file runs in WAL mode with synchronous=FULL, so a
    /// crash or SIGKILL at any moment leaves every committed variant intact and loses at most the one in flight (it
    /// stays "running" until it is run again). The schema is documented in docs/report.md.
    /// </summary>
    public sealed class ResultsDb : IResultsStore
    {
        /// <summary>The schema version this code writes and reads (meta.schema_version).</summary>
        /// Version 2 keys runs by (variant, seed); version 3 adds the status pruned, the eval_curve table and the
        /// forward_images_per_s column. An older file is upgraded in place when it is opened for writing, and read as it
        /// is otherwise.
        public const int SchemaVersion = 3;

        /// <summary>meta.application: what tells a results database from any other SQLite file.</summary>
        public const string Application = "torchwright-results";

        /// <summary>meta key naming the process that holds the writer lock (pid, host, since when); removed on a clean close.</summary>
        private const string WriterKey = "writer";

        /// <summary>The run-settings key that differs between the shards of one sweep by design.</summary>
        private const string ShardSetting = "shard";

        /// <summary>The run-settings key of schema version 1, where the one seed of every run was a training setting.</summary>
        private const string SeedSetting = "seed";

        internal const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

        private const string Columns =
            "variant, seed, sweep, grid_index, status, started, finished, config_json, params, macs, "
            + "images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error, forward_images_per_s";

        private const string MetaTable = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID";

        private static string VariantsTable(string name) =>
            $"CREATE TABLE {name} ("
            + "variant TEXT NOT NULL, seed INTEGER NOT NULL, sweep TEXT NOT NULL, grid_index INTEGER NOT NULL, "
            + "status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'pruned')), "
            + "started TEXT, finished TEXT, config_json TEXT NOT NULL, params INTEGER NOT NULL, macs INTEGER NOT NULL, "
            + "images_per_s REAL, peak_memory_bytes INTEGER, train_loss REAL, eval_loss REAL, eval_acc REAL, error TEXT, "
            + "worker TEXT, heartbeat TEXT, forward_images_per_s REAL, "
            + "PRIMARY KEY (variant, seed)) WITHOUT ROWID";

        private static string LossCurveTable(string name, string variants) =>
            $"CREATE TABLE {name} ("
            + "variant TEXT NOT NULL, seed INTEGER NOT NULL, step INTEGER NOT NULL, loss REAL NOT NULL, "
            + $"PRIMARY KEY (variant, seed, step), FOREIGN KEY (variant, seed) REFERENCES {variants} (variant, seed) ON DELETE CASCADE"
            + ") WITHOUT ROWID";

        private static string EvalCurveTable(string name, string variants) =>
            $"CREATE TABLE {name} ("
            + "variant TEXT NOT NULL, seed INTEGER NOT NULL, step INTEGER NOT NULL, eval_loss REAL NOT NULL, eval_acc REAL NOT NULL, "
            + $"PRIMARY KEY (variant, seed, step), FOREIGN KEY (variant, seed) REFERENCES {variants} (variant, seed) ON DELETE CASCADE"
            + ") WITHOUT ROWID";

        /// <summary>The schema version of the open file (older files are read as they are when opened read-only).</summary>
        private int _version = SchemaVersion;

        /// <summary>The seed of every run of a version-1 file (its run_json's "seed"; 0 when absent).</summary>
        private long _v1Seed;

        private readonly SqliteConnection _connection;
        private readonly object _gate = new object();
        private SqliteTransaction? _transaction;
        private WriterLock? _writerLock;
        private readonly bool _writable;

        private ResultsDb(string path, SqliteConnection connection, bool writable)
        {
            _writable = writable;
            Path = path;
            _connection = connection;
        }

        /// <summary>The file as it was named when opened (error messages and <see cref="VariantRecord.SourceDb"/> use it).</summary>
        public string Path { get; }

        string IResultsStore.Name => Path;

        /// <summary>The training settings the variants were planned with, or null before the first <see cref="Plan"/>.</summary>
        public string? RunJson => Read(StoredRunJson);

        /// <summary>
        /// Opens the results database at <paramref name="path"/> for writing, creating it (and its schema) when the file
        /// is missing or empty. Throws <see cref="InvalidDataException"/> for a file that is not a results database or
        /// was written by a newer schema or is damaged, <see cref="DirectoryNotFoundException"/> when the folder is missing,
        /// and <see cref="ResultsDbBusyException"/> while another writer (another process: <c>sweep</c>) holds it: one
        /// writer per file, held until <see cref="Dispose"/> or the writer's death (<see cref="WriterLock"/>).
        /// </summary>
        public static ResultsDb Open(string path)
        {
            var full = System.IO.Path.GetFullPath(path);
            if (Directory.Exists(full))
                throw new IOException($"{path} is a folder; give the results database a file name, e.g. {System.IO.Path.Combine(path, "results.db")}");
            var folder = System.IO.Path.GetDirectoryName(full);
            if (folder != null && !Directory.Exists(folder))
                throw new DirectoryNotFoundException($"cannot create the results database {path}: the folder {folder} does not exist; create it first");
            var db = Connect(path, SqliteOpenMode.ReadWriteCreate, writable: true);
            // Only once the file is known to be ours: a foreign file gets no lock file beside it.
            try
            {
                db._writerLock = WriterLock.TryAcquire(path);
                if (db._writerLock == null)
                {
                    var holder = db.Read(() => db.MetaValue(WriterKey)) ?? "a process that has not recorded itself yet";
                    throw new ResultsDbBusyException(
                        $"{path} is being written by another torchwright process ({holder}; lock file {path}.lock); wait for it to finish "
                        + "(torchwright report reads the database meanwhile), or give this run its own --db (e.g. with --shard i/n)");
                }
                var writer = FormattableString.Invariant($"pid {Environment.ProcessId} on {Environment.MachineName}, since {Iso(DateTimeOffset.UtcNow)}");
                db.Write(() => db.Execute("INSERT INTO meta (key, value) VALUES ($k, $w) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    ("$k", WriterKey), ("$w", writer)));
            }
            catch
            {
                db.Dispose();
                throw;
            }
            return db;
        }

        /// <summary>Opens an existing results database for reading (a sweep may be writing it at the same time).</summary>
        public static ResultsDb OpenReadOnly(string path)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"results database not found: {path}", path);
            return Connect(path, SqliteOpenMode.ReadOnly, writable: false);
        }

        private static ResultsDb Connect(string path, SqliteOpenMode mode, bool writable)
        {
            // No pooling: Dispose must really close the file (WAL checkpoint, no handle left behind for the next opener).
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = path,
                Mode = mode,
                Pooling = false,
            }.ToString());
            var db = new ResultsDb(path, connection, writable);
            try
            {
                connection.Open();
                db.InitialiseOrCheck(writable);
                return db;
            }
            catch (SqliteException e) when (Unreadable(path, writable, e) is { } unreadable)
            {
                db.Dispose();
                throw unreadable;
            }
            catch
            {
                db.Dispose();
                throw;
            }
        }

        /// <summary>
        /// SQLite's verdict on a file that is not a database (SQLITE_NOTADB), whose pages or schema are damaged
        /// (SQLITE_CORRUPT, SQLITE_ERROR) or that must not be written (SQLITE_READONLY), as the one-line error that names
        /// the file; null for other errors.
        /// </summary>
        private static Exception? Unreadable(string path, bool writable, SqliteException e) => e.SqliteErrorCode switch
        {
            8 when !writable => null, // a write through a read-only handle: the caller's mistake, not the file's
            // SQLITE_READONLY: the file is not writable, or its header (a damaged format number) says it must not be written.
            8 when (File.GetAttributes(path) & FileAttributes.ReadOnly) != 0 => new IOException(
                $"cannot write the results database {path}: it is read-only; make it writable, or give another --db", e),
            8 => new InvalidDataException(
                $"{path}: the results database is damaged (SQLite: {e.Message.TrimEnd('.')}; the file is writable, so its header forbids writing); restore the file from a copy", e),
            26 => new InvalidDataException(
                $"{path} is not a Torchwright results database (SQLite: {e.Message.TrimEnd('.')}); name a database a sweep wrote, or a new file name to create one", e),
            // SQLITE_ERROR from this class's fixed, schema-checked statements: the file's format or schema is damaged
            // (e.g. "unsupported file format" from a garbled schema format number).
            1 or 11 => new InvalidDataException(
                $"{path}: the results database is damaged (SQLite: {e.Message.TrimEnd('.')}); restore the file from a copy (sqlite3's .recover may save its rows)", e),
            _ => null,
        };

        private void InitialiseOrCheck(bool writable)
        {
            Execute("PRAGMA foreign_keys = ON");
            var tables = Strings("SELECT name FROM sqlite_master WHERE type = 'table'");
            if (tables.Count == 0)
            {
                if (!writable)
                    throw new InvalidDataException($"{Path} is empty, not a Torchwright results database; name a database a sweep wrote");
                SetDurability();
                CreateSchema();
                return;
            }
            CheckSchema(tables);
            if (writable)
            {
                SetDurability();
                if (_version == 1) UpgradeFromVersion1();
                if (_version == 2) UpgradeFromVersion2();
            }
        }

        // Only after the file is known to be ours: setting the journal mode rewrites the header of someone else's database.
        private void SetDurability()
        {
            // WAL lets a report read while a sweep writes; synchronous=FULL makes every commit survive a power cut.
            Execute("PRAGMA journal_mode = WAL");
            Execute("PRAGMA synchronous = FULL");
        }

        private void CreateSchema()
        {
            Write(() =>
            {
                // Another process may have created it between our check and this (IMMEDIATE) transaction.
                if (Strings("SELECT name FROM sqlite_master WHERE type = 'table'").Count > 0) return;
                Execute(MetaTable);
                Execute(VariantsTable("variants"));
                Execute(LossCurveTable("loss_curve", "variants"));
                Execute(EvalCurveTable("eval_curve", "variants"));
                Execute("INSERT INTO meta (key, value) VALUES ('application', $a), ('schema_version', $v)",
                    ("$a", Application), ("$v", SchemaVersion.ToString(CultureInfo.InvariantCulture)));
            });
        }

        private void CheckSchema(IReadOnlyCollection<string> tables)
        {
            const string Fix = "name a database a sweep wrote, or a new file name to create one";
            if (!tables.Contains("meta"))
                throw new InvalidDataException($"{Path} is a SQLite database but not a Torchwright results database (it has no meta table; tables: {string.Join(", ", tables)}); {Fix}");
            var application = MetaValue("application");
            if (application != Application)
                throw new InvalidDataException($"{Path} is a SQLite database but not a Torchwright results database (meta.application is {(application == null ? "missing" : "'" + application + "'")}, expected '{Application}'); {Fix}");
            var versionText = MetaValue("schema_version");
            if (!int.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
                throw new InvalidDataException($"{Path}: the results database is damaged (meta.schema_version is '{versionText}'); {Fix}");
            if (version > SchemaVersion)
                throw new InvalidDataException($"{Path} was written by a newer torchwright (results schema version {version}; this one reads version {SchemaVersion}); upgrade torchwright to read or extend it");
            var missing = (version >= 3 ? new[] { "variants", "loss_curve", "eval_curve" } : new[] { "variants", "loss_curve" }).Where(t => !tables.Contains(t)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{Path}: the results database is damaged (missing table {string.Join(", ", missing)}); {Fix}");
            _version = version;
            if (version == 1) _v1Seed = SeedOfVersion1(MetaValue("run_json"));
            // A file that says version 1 but has version 2's seed column is not what it claims.
            if (version == 1 && Strings("SELECT name FROM pragma_table_info('variants')").Contains("seed"))
                throw new InvalidDataException($"{Path}: the results database is damaged (meta.schema_version is 1 but table variants has the seed column of version 2); restore the file from a copy, or {Fix}");
            foreach (var (table, columns) in TableColumns(version))
            {
                var present = Strings($"SELECT name FROM pragma_table_info('{table}')");
                var absent = columns.Where(c => !present.Contains(c)).ToList();
                if (absent.Count > 0)
                    throw new InvalidDataException($"{Path}: the results database is damaged (table {table} has no column {string.Join(", ", absent)}; "
                        + $"it has {string.Join(", ", present)}); restore the file from a copy, or {Fix}");
            }
        }

        private long SeedOfVersion1(string? runJson)
        {
            if (runJson == null) return 0;
            try
            {
                using var doc = JsonDocument.Parse(runJson);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(SeedSetting, out var seed))
                    return seed.GetInt64();
                return 0;
            }
            catch (Exception e) when (e is JsonException || e is FormatException || e is InvalidOperationException)
            {
                throw new InvalidDataException($"{Path}: the results database is damaged (meta.run_json has no integer seed: {runJson})", e);
            }
        }

        /// <summary>Every column this code reads, per table (the schema above; version 1 had no seed, worker or heartbeat;
        /// versions 1 and 2 no forward_images_per_s and no eval_curve).</summary>
        private static (string Table, string[] Columns)[] TableColumns(int version) => version switch
        {
            1 => new[]
            {
                ("meta", new[] { "key", "value" }),
                ("variants", V2Columns.Where(c => c != "seed").ToArray()),
                ("loss_curve", new[] { "variant", "step", "loss" }),
            },
            2 => new[]
            {
                ("meta", new[] { "key", "value" }),
                ("variants", V2Columns.Concat(new[] { "worker", "heartbeat" }).ToArray()),
                ("loss_curve", new[] { "variant", "seed", "step", "loss" }),
            },
            _ => new[]
            {
                ("meta", new[] { "key", "value" }),
                ("variants", Columns.Split(", ").Concat(new[] { "worker", "heartbeat" }).ToArray()),
                ("loss_curve", new[] { "variant", "seed", "step", "loss" }),
                ("eval_curve", new[] { "variant", "seed", "step", "eval_loss", "eval_acc" }),
            },
        };

        /// <summary>The variants columns of version 2 that this code reads (all of <see cref="Columns"/> but forward_images_per_s).</summary>
        private static readonly string[] V2Columns = Columns.Split(", ").Where(c => c != "forward_images_per_s").ToArray();

        internal static readonly string[] Statuses = { VariantStatus.Pending, VariantStatus.Running, VariantStatus.Done, VariantStatus.Failed, VariantStatus.Pruned };

        /// <summary>
        /// Schema 1 -> 2, in one transaction: every run keeps its row and loss curve and gets the seed it was trained
        /// with (run_json's "seed", which then leaves the run settings: seeds are per run from version 2 on).
        /// </summary>
        private void UpgradeFromVersion1()
        {
            Write(() =>
            {
                // Another process may have upgraded it between our check and this (IMMEDIATE) transaction.
                if (MetaValue("schema_version") != "1") return;
                Execute(VariantsTable("variants_v2"));
                Execute(LossCurveTable("loss_curve_v2", "variants_v2"));
                Execute(EvalCurveTable("eval_curve", "variants_v2"));
                Execute("INSERT INTO variants_v2 (variant, seed, sweep, grid_index, status, started, finished, config_json, params, macs, "
                    + "images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error) "
                    + "SELECT variant, $seed, sweep, grid_index, status, started, finished, config_json, params, macs, "
                    + "images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error FROM variants", ("$seed", _v1Seed));
                Execute("INSERT INTO loss_curve_v2 (variant, seed, step, loss) SELECT variant, $seed, step, loss FROM loss_curve", ("$seed", _v1Seed));
                Execute("DROP TABLE loss_curve");
                Execute("DROP TABLE variants");
                // Renaming rewrites loss_curve_v2's and eval_curve's foreign keys to the new name (SQLite >= 3.26).
                Execute("ALTER TABLE variants_v2 RENAME TO variants");
                Execute("ALTER TABLE loss_curve_v2 RENAME TO loss_curve");
                var run = MetaValue("run_json");
                if (run != null)
                    Execute("UPDATE meta SET value = $r WHERE key = 'run_json'", ("$r", Without(run, SeedSetting)));
                Execute("UPDATE meta SET value = $v WHERE key = 'schema_version'", ("$v", SchemaVersion.ToString(CultureInfo.InvariantCulture)));
            });
            _version = SchemaVersion;
        }

        /// <summary>
        /// Schema 2 -> 3, in one transaction: the variants table is rebuilt (SQLite cannot alter a CHECK constraint) to
        /// allow the status pruned and hold forward_images_per_s, and the empty eval_curve table is added; every row and
        /// loss curve is kept as it was.
        /// </summary>
        private void UpgradeFromVersion2()
        {
            Write(() =>
            {
                if (MetaValue("schema_version") != "2") return;
                Execute(VariantsTable("variants_v3"));
                Execute(LossCurveTable("loss_curve_v3", "variants_v3"));
                Execute(EvalCurveTable("eval_curve", "variants_v3"));
                var copied = string.Join(", ", V2Columns.Concat(new[] { "worker", "heartbeat" }));
                Execute($"INSERT INTO variants_v3 ({copied}) SELECT {copied} FROM variants");
                Execute("INSERT INTO loss_curve_v3 (variant, seed, step, loss) SELECT variant, seed, step, loss FROM loss_curve");
                Execute("DROP TABLE loss_curve");
                Execute("DROP TABLE variants");
                Execute("ALTER TABLE variants_v3 RENAME TO variants");
                Execute("ALTER TABLE loss_curve_v3 RENAME TO loss_curve");
                Execute("UPDATE meta SET value = $v WHERE key = 'schema_version'", ("$v", SchemaVersion.ToString(CultureInfo.InvariantCulture)));
            });
            _version = SchemaVersion;
        }

        /// <summary>A JSON object's text without one top-level key.</summary>
        private static string Without(string json, string key)
        {
            using var doc = JsonDocument.Parse(json);
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                foreach (var p in doc.RootElement.EnumerateObject())
                    if (p.Name != key) p.WriteTo(w);
                w.WriteEndObject();
            }
            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }

        /// <summary>
        /// Records the grid in one transaction: every planned run (variant and seed) not in the database yet becomes a
        /// pending row; rows that are not done take the plan's current configuration; done rows are never modified. The first
        /// plan stores <paramref name="runJson"/> (the training settings); planning a database that already holds
        /// variants with different settings throws <see cref="InvalidOperationException"/> naming the differences, as
        /// does a done variant whose configuration, parameters or MACs no longer match its plan.
        /// </summary>
        public void Plan(IReadOnlyList<VariantPlan> plans, string runJson)
        {
            StoreRules.CheckPlan(plans, runJson);

            Write(() =>
            {
                // Every stored row is read and checked first: a damaged cell stops the plan before anything is written.
                var existing = ReadRecords(null).ToDictionary(r => (r.Variant, r.Seed));
                var storedRun = StoredRunJson();
                if (storedRun != null && existing.Count > 0)
                {
                    var differences = StoreRules.Differences(storedRun, runJson, ignore: null);
                    if (differences.Count > 0)
                        throw new InvalidOperationException(
                            $"{Path} holds variants trained with other settings (database vs now: {string.Join("; ", differences)}); "
                            + "use a new --db for these settings, or the database's settings to resume it");
                }
                Execute("INSERT INTO meta (key, value) VALUES ('run_json', $r) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    ("$r", runJson));

                foreach (var p in plans)
                {
                    var values = new (string, object?)[]
                    {
                        ("$v", p.Variant), ("$seed", p.Seed), ("$s", p.Sweep), ("$i", p.Index), ("$c", p.ConfigJson), ("$p", p.Params), ("$m", p.Macs),
                    };
                    if (!existing.TryGetValue((p.Variant, p.Seed), out var row))
                        Execute("INSERT INTO variants (variant, seed, sweep, grid_index, status, config_json, params, macs) "
                            + "VALUES ($v, $seed, $s, $i, 'pending', $c, $p, $m)", values);
                    else if (row.Status != VariantStatus.Done)
                        // A failed run is tried again by the next sweep process (pending, its old error kept until then).
                        Execute("UPDATE variants SET sweep = $s, grid_index = $i, config_json = $c, params = $p, macs = $m, "
                            + "status = CASE status WHEN 'failed' THEN 'pending' ELSE status END WHERE variant = $v AND seed = $seed", values);
                    else
                    {
                        StoreRules.RequireUnchanged(Path, p, row.ConfigJson, row.Params, row.Macs);
                    }
                }
            });
        }

        /// <summary>
        /// One sweep process holds a SQLite file at a time, so every run still "running" when it claims was left by a
        /// process that died: it is claimable at once, whatever the lease. Runs are taken in the order of <paramref name="mine"/>.
        /// </summary>
        public ClaimState Claim(IReadOnlyList<VariantPlan> mine, string worker, TimeSpan lease, out RunClaim? claim)
        {
            claim = null;
            var status = new Dictionary<(string, long), (string Status, string? Worker)>();
            Read(() =>
            {
                using var read = Command("SELECT variant, seed, status, worker FROM variants");
                using var reader = read.ExecuteReader();
                while (reader.Read())
                                        // Plan has checked every row; the holder is only shown in a message, so anything but text reads as unknown.
                    status[(reader.GetString(0), reader.GetInt64(1))] = (reader.GetString(2), reader.GetValue(3) as string);
                return 0;
            });
            foreach (var plan in mine)
            {
                if (!status.TryGetValue((plan.Variant, plan.Seed), out var row)) continue;
                if (row.Status != VariantStatus.Pending && row.Status != VariantStatus.Running) continue;
                MarkRunning(plan.Variant, plan.Seed, DateTimeOffset.UtcNow, worker);
                claim = new RunClaim(plan, worker, row.Status == VariantStatus.Running ? row.Worker : null);
                return ClaimState.Claimed;
            }
            return ClaimState.Finished;
        }

        public bool Heartbeat(RunClaim claim)
        {
            Write(() => Execute("UPDATE variants SET heartbeat = $t WHERE variant = $v AND seed = $seed",
                ("$t", Iso(DateTimeOffset.UtcNow)), ("$v", claim.Plan.Variant), ("$seed", claim.Plan.Seed)));
            return true;
        }

        public bool Finish(RunClaim claim, DateTimeOffset finished, VariantMetrics metrics)
        {
            MarkDone(claim.Plan.Variant, claim.Plan.Seed, finished, metrics);
            return true;
        }

        public bool Fail(RunClaim claim, DateTimeOffset finished, string error)
        {
            MarkFailed(claim.Plan.Variant, claim.Plan.Seed, finished, error);
            return true;
        }

        /// <summary>Starts (or restarts, after an interrupted run) a run: status running, metrics and loss curve cleared.</summary>
        public void MarkRunning(string variant, long seed, DateTimeOffset started, string? worker = null)
        {
            Write(() =>
            {
                RequireNotDone(variant, seed, "start");
                Execute("UPDATE variants SET status = 'running', started = $t, finished = NULL, images_per_s = NULL, peak_memory_bytes = NULL, "
                    + "train_loss = NULL, eval_loss = NULL, eval_acc = NULL, error = NULL, worker = $w, heartbeat = $t WHERE variant = $v AND seed = $seed",
                    ("$v", variant), ("$seed", seed), ("$t", Iso(started)), ("$w", worker));
                Execute("DELETE FROM loss_curve WHERE variant = $v AND seed = $seed", ("$v", variant), ("$seed", seed));
            });
        }

        /// <summary>
        /// Finishes a variant: status, finish time, every metric and the whole loss curve in one transaction, so the row
        /// is either done with all of it or untouched. Metrics that are not finite, and a peak memory of 0 (no /proc), are
        /// stored as null (not measured).
        /// The loss curve's steps must be distinct and its losses finite (a diverged run is a failure: <see cref="MarkFailed"/>).
        /// </summary>
        public void MarkDone(string variant, long seed, DateTimeOffset finished, VariantMetrics metrics) =>
            Record(variant, seed, finished, metrics, VariantStatus.Done, "finish");

        /// <summary>Records a run stopped early by a pruning rule: as <see cref="MarkDone"/>, with status pruned and the
        /// metrics of the step where it stopped.</summary>
        public void MarkPruned(string variant, long seed, DateTimeOffset stopped, VariantMetrics metrics) =>
            Record(variant, seed, stopped, metrics, VariantStatus.Pruned, "prune");

        private void Record(string variant, long seed, DateTimeOffset finished, VariantMetrics metrics, string status, string verb)
        {
            StoreRules.CheckLossCurve(variant, metrics);

            Write(() =>
            {
                RequireNotDone(variant, seed, verb);
                Execute("UPDATE variants SET status = $status, finished = $t, images_per_s = $ips, peak_memory_bytes = $mem, "
                    + "train_loss = $tl, eval_loss = $el, eval_acc = $ea, error = NULL WHERE variant = $v AND seed = $seed",
                    ("$v", variant), ("$seed", seed), ("$t", Iso(finished)), ("$ips", Finite(metrics.ImagesPerSecond)), ("$mem", metrics.PeakMemoryBytes > 0 ? metrics.PeakMemoryBytes : null),
                    ("$tl", Finite(metrics.TrainLoss)), ("$el", Finite(metrics.EvalLoss)), ("$ea", Finite(metrics.EvalAccuracy)), ("$status", status));
                Execute("DELETE FROM loss_curve WHERE variant = $v AND seed = $seed", ("$v", variant), ("$seed", seed));
                using (var insert = Command("INSERT INTO loss_curve (variant, seed, step, loss) VALUES ($v, $seed, $s, $l)"))
                {
                    insert.Parameters.AddWithValue("$v", variant);
                    insert.Parameters.AddWithValue("$seed", seed);
                    var step = insert.Parameters.Add("$s", SqliteType.Integer);
                    var loss = insert.Parameters.Add("$l", SqliteType.Real);
                    foreach (var point in metrics.LossCurve)
                    {
                        step.Value = point.Step;
                        loss.Value = point.Loss;
                        insert.ExecuteNonQuery();
                    }
                }
                Execute("DELETE FROM eval_curve WHERE variant = $v AND seed = $seed", ("$v", variant), ("$seed", seed));
                using (var insert = Command("INSERT INTO eval_curve (variant, seed, step, eval_loss, eval_acc) VALUES ($v, $seed, $s, $l, $a)"))
                {
                    insert.Parameters.AddWithValue("$v", variant);
                    insert.Parameters.AddWithValue("$seed", seed);
                    var step = insert.Parameters.Add("$s", SqliteType.Integer);
                    var loss = insert.Parameters.Add("$l", SqliteType.Real);
                    var accuracy = insert.Parameters.Add("$a", SqliteType.Real);
                    foreach (var point in metrics.EvalCurve)
                    {
                        step.Value = point.Step;
                        loss.Value = point.Loss;
                        accuracy.Value = point.Accuracy;
                        insert.ExecuteNonQuery();
                    }
                }
            });
        }

        /// <summary>
        /// Takes a pruned run up again (an ASHA promotion), only if it is still pruned with its last evaluation at
        /// <paramref name="fromStep"/>: marked running for <paramref name="worker"/>, its eval curve kept (its rung results
        /// still count while it trains on).
        /// </summary>
        public bool Promote(VariantPlan plan, int fromStep, string worker, out RunClaim? claim)
        {
            claim = null;
            bool taken = false;
            Write(() =>
            {
                var now = Iso(DateTimeOffset.UtcNow);
                using var command = Command("UPDATE variants SET status = 'running', started = $t, finished = NULL, worker = $w, heartbeat = $t "
                    + "WHERE variant = $v AND seed = $seed AND status = 'pruned' "
                    + "AND (SELECT max(step) FROM eval_curve e WHERE e.variant = $v AND e.seed = $seed) = $step",
                    ("$v", plan.Variant), ("$seed", plan.Seed), ("$t", now), ("$w", worker), ("$step", fromStep));
                taken = command.ExecuteNonQuery() == 1;
            });
            if (taken) claim = new RunClaim(plan, worker, null);
            return taken;
        }

        /// <summary>Makes every pruned run among <paramref name="mine"/> pending again (<c>--resume --no-prune</c>: continued
        /// to the end from its saved state); returns how many.</summary>
        public int ReopenPruned(IReadOnlyList<VariantPlan> mine)
        {
            int n = 0;
            Write(() =>
            {
                foreach (var p in mine)
                {
                    using var command = Command("UPDATE variants SET status = 'pending' WHERE variant = $v AND seed = $seed AND status = 'pruned'",
                        ("$v", p.Variant), ("$seed", p.Seed));
                    n += command.ExecuteNonQuery();
                }
            });
            return n;
        }

        /// <summary>Records the variant's forward throughput (images per second) on every run of it.</summary>
        public void RecordForwardSpeed(string variant, double imagesPerSecond)
        {
            StoreRules.CheckForwardSpeed(variant, imagesPerSecond);
            Write(() => Execute("UPDATE variants SET forward_images_per_s = $f WHERE variant = $v", ("$v", variant), ("$f", imagesPerSecond)));
        }

        bool IResultsStore.Prune(RunClaim claim, DateTimeOffset stopped, VariantMetrics metrics)
        {
            MarkPruned(claim.Plan.Variant, claim.Plan.Seed, stopped, metrics);
            return true;
        }

        /// <summary>Records that a run failed, with the reason; its metrics and loss curve are cleared.</summary>
        public void MarkFailed(string variant, long seed, DateTimeOffset finished, string error)
        {
            Write(() =>
            {
                RequireNotDone(variant, seed, "fail");
                Execute("UPDATE variants SET status = 'failed', finished = $t, images_per_s = NULL, peak_memory_bytes = NULL, "
                    + "train_loss = NULL, eval_loss = NULL, eval_acc = NULL, error = $e WHERE variant = $v AND seed = $seed",
                    ("$v", variant), ("$seed", seed), ("$t", Iso(finished)), ("$e", error));
                Execute("DELETE FROM loss_curve WHERE variant = $v AND seed = $seed", ("$v", variant), ("$seed", seed));
                Execute("DELETE FROM eval_curve WHERE variant = $v AND seed = $seed", ("$v", variant), ("$seed", seed));
            });
        }

        /// <summary>Every run, ordered by sweep, grid index, name and seed.</summary>
        public IReadOnlyList<VariantRecord> ReadAll()
        {
            // One read transaction: a concurrent writer cannot slip a commit between the rows and their curves.
            return Read(() => ReadRecords(null));
        }

        /// <summary>One run, or null when the database does not hold it.</summary>
        public VariantRecord? Get(string variant, long seed)
        {
            return Read(() => ReadRecords((variant, seed)).FirstOrDefault());
        }

        /// <summary>
        /// The union of several databases (the shards of a sweep, or runs to compare), ordered by sweep, grid index, name
        /// and seed. A run (variant and seed) held by more than one database is taken from the one where it is done (among those, the one
        /// finished last; otherwise pruned over failed over running over pending), with a warning naming both files. Databases
        /// planned with different training settings (other than the shard) are merged with a warning.
        /// </summary>
        public static IReadOnlyList<VariantRecord> Merge(IEnumerable<string> paths, out IReadOnlyList<string> warnings)
        {
            var notes = new List<string>();
            var chosen = new Dictionary<(string, long), VariantRecord>();
            var opened = new HashSet<string>(StringComparer.Ordinal);
            (string Path, string Run)? reference = null;
            foreach (var path in paths)
            {
                if (!opened.Add(ResultsStore.IsPostgres(path) ? path : System.IO.Path.GetFullPath(path)))
                {
                    notes.Add($"{path} is named more than once; it was read once");
                    continue;
                }
                string? run;
                IReadOnlyList<VariantRecord> records;
                try
                {
                    using var db = ResultsStore.OpenReadOnly(path);
                    run = db.RunJson;
                    records = db.ReadAll();
                }
                catch (System.Data.Common.DbException e)
                {
                    throw new IOException($"cannot read the results database {path}: {e.Message}", e);
                }
                if (run != null)
                {
                    if (reference == null) reference = (path, run);
                    else
                    {
                        var differences = StoreRules.Differences(reference.Value.Run, run, ignore: new[] { ShardSetting, SeedSetting });
                        if (differences.Count > 0)
                            notes.Add($"{reference.Value.Path} and {path} were run with different settings ({string.Join("; ", differences)}); their metrics may not be comparable");
                    }
                }
                foreach (var record in records)
                {
                    var key = (record.Variant, record.Seed);
                    if (!chosen.TryGetValue(key, out var previous))
                    {
                        chosen[key] = record;
                        continue;
                    }
                    var keep = Preferred(previous, record);
                    notes.Add($"variant '{record.Variant}' (seed {record.Seed}) is in {previous.SourceDb} ({Describe(previous)}) and in {record.SourceDb} ({Describe(record)}); using {keep.SourceDb}");
                    chosen[key] = keep;
                }
            }
            warnings = notes;
            return chosen.Values
                .OrderBy(r => r.Sweep, StringComparer.Ordinal)
                .ThenBy(r => r.Index)
                .ThenBy(r => r.Variant, StringComparer.Ordinal)
                .ThenBy(r => r.Seed)
                .ToList();
        }

        private static VariantRecord Preferred(VariantRecord first, VariantRecord second)
        {
            static int Rank(string status) => status switch
            {
                VariantStatus.Done => 4,
                VariantStatus.Pruned => 3,
                VariantStatus.Failed => 2,
                VariantStatus.Running => 1,
                _ => 0,
            };
            int byStatus = Rank(second.Status).CompareTo(Rank(first.Status));
            if (byStatus != 0) return byStatus > 0 ? second : first;
            // Same status: the later finish wins; a tie keeps the database named first.
            return Nullable.Compare(second.Finished, first.Finished) > 0 ? second : first;
        }

        private static string Describe(VariantRecord r) =>
            r.Finished is { } t ? $"{r.Status}, finished {Iso(t)}" : r.Status;

        public void Dispose()
        {
            if (_writerLock != null)
            {
                try { Write(() => Execute("DELETE FROM meta WHERE key = $k", ("$k", WriterKey))); }
                catch (Exception e) when (e is SqliteException || e is InvalidDataException || e is IOException || e is InvalidOperationException)
                {
                    // Closing must not fail; a stale meta.writer is only ever shown while someone holds the lock.
                }
            }
            _connection.Dispose();
            _writerLock?.Dispose();
            _writerLock = null;
        }

        private void RequireNotDone(string variant, long seed, string verb)
        {
            string? status = null;
            using (var command = Command("SELECT status FROM variants WHERE variant = $v AND seed = $seed", ("$v", variant), ("$seed", seed)))
            using (var reader = command.ExecuteReader())
                if (reader.Read()) status = new StoredRow(Path, "variants", $"row {StoredRow.Quote(variant)} seed {seed}", reader).OneOf(0, "status", Statuses);
            if (status == null)
                throw new InvalidOperationException($"{Path}: cannot {verb} variant '{variant}' (seed {seed}): it was not planned (call Plan with it first)");
            if (status == VariantStatus.Done)
                throw new InvalidOperationException($"{Path}: cannot {verb} variant '{variant}' (seed {seed}): it is done, and a done run is never run or written again");
        }

        private List<VariantRecord> ReadRecords((string Variant, long Seed)? only)
        {
            var run = StoredRunJson() ?? "";
            // A version-1 file opened read-only has no seed column: every run has the one seed of its run settings.
            var seedColumn = _version == 1 ? "$v1seed AS seed" : "seed";
            var filter = only == null ? "" : _version == 1 ? " WHERE variant = $v AND $v1seed = $seed" : " WHERE variant = $v AND seed = $seed";
            void Bind(SqliteCommand command)
            {
                if (_version == 1) command.Parameters.AddWithValue("$v1seed", _v1Seed);
                if (only == null) return;
                command.Parameters.AddWithValue("$v", only.Value.Variant);
                command.Parameters.AddWithValue("$seed", only.Value.Seed);
            }
            var curves = new Dictionary<(string, long), List<LossPoint>>();
            using (var read = Command($"SELECT variant, {seedColumn}, step, loss FROM loss_curve{filter} ORDER BY variant, seed, step"))
            {
                Bind(read);
                using var reader = read.ExecuteReader();
                for (int n = 1; reader.Read(); n++)
                {
                    var (name, seed, point) = new StoredRow(Path, "loss_curve", "row " + n.ToString(CultureInfo.InvariantCulture) + " (ordered by variant, seed, step)", reader).CurvePoint();
                    if (!curves.TryGetValue((name, seed), out var curve)) curves[(name, seed)] = curve = new List<LossPoint>();
                    curve.Add(point);
                }
            }

            var evals = new Dictionary<(string, long), List<EvalCurvePoint>>();
            if (_version >= 3)
            {
                using var read = Command($"SELECT variant, seed, step, eval_loss, eval_acc FROM eval_curve{filter} ORDER BY variant, seed, step");
                Bind(read);
                using var reader = read.ExecuteReader();
                for (int n = 1; reader.Read(); n++)
                {
                    var (name, seed, point) = new StoredRow(Path, "eval_curve", "row " + n.ToString(CultureInfo.InvariantCulture) + " (ordered by variant, seed, step)", reader).EvalPoint();
                    if (!evals.TryGetValue((name, seed), out var curve)) evals[(name, seed)] = curve = new List<EvalCurvePoint>();
                    curve.Add(point);
                }
            }

            var records = new List<VariantRecord>();
            var runs = new HashSet<(string, long)>();
            // Versions 1 and 2 measured no forward throughput.
            var columns = Columns.Replace("seed,", seedColumn + ",").Replace("forward_images_per_s", _version >= 3 ? "forward_images_per_s" : "NULL AS forward_images_per_s");
            using (var read = Command($"SELECT {columns} FROM variants{filter} ORDER BY sweep, grid_index, variant, seed"))
            {
                Bind(read);
                using var reader = read.ExecuteReader();
                for (int n = 1; reader.Read(); n++)
                {
                    records.Add(new StoredRow(Path, "variants", "row " + n.ToString(CultureInfo.InvariantCulture) + " (ordered by sweep, grid_index, variant, seed)", reader)
                        .Variant(run, Path, runs, curves, evals, Statuses, TimeFormat));
                }
            }
            return records;
        }

        /// <summary>The ISO-8601 UTC text the database stores (and sorts correctly as text).</summary>
        public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

        private static object? Finite(double value) => double.IsFinite(value) ? value : null;

        /// <summary>Runs <paramref name="body"/> in one IMMEDIATE transaction: committed whole, or rolled back on any exception.</summary>
        private void Write(Action body) => InTransaction(deferred: false, () =>
        {
            body();
            return 0;
        });

        private T Read<T>(Func<T> body) => InTransaction(deferred: true, body);

        private T InTransaction<T>(bool deferred, Func<T> body)
        {
            lock (_gate)
            {
                try
                {
                    using var tx = _connection.BeginTransaction(deferred);
                    _transaction = tx;
                    var result = body();
                    tx.Commit();
                    return result;
                }
                catch (SqliteException e) when (Unreadable(Path, _writable, e) is { } unreadable)
                {
                    throw unreadable;
                }
                finally
                {
                    _transaction = null;
                }
            }
        }

        /// <summary>meta.value of <paramref name="key"/> (checked to be text), or null when there is no such row.</summary>
        private string? MetaValue(string key)
        {
            using var command = Command("SELECT value FROM meta WHERE key = $k", ("$k", key));
            using var reader = command.ExecuteReader();
            return reader.Read() ? new StoredRow(Path, "meta", "row " + StoredRow.Quote(key), reader).Text(0, "value") : null;
        }

        private string? StoredRunJson()
        {
            using var command = Command("SELECT value FROM meta WHERE key = 'run_json'");
            using var reader = command.ExecuteReader();
            return reader.Read() ? new StoredRow(Path, "meta", "row 'run_json'", reader).JsonObject(0, "value") : null;
        }

        private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            command.Transaction = _transaction;
            foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
            return command;
        }

        private void Execute(string sql, params (string Name, object? Value)[] parameters)
        {
            using var command = Command(sql, parameters);
            command.ExecuteNonQuery();
        }

        private List<string> Strings(string sql)
        {
            using var command = Command(sql);
            using var reader = command.ExecuteReader();
            var values = new List<string>();
            while (reader.Read()) values.Add(reader.GetString(0));
            return values;
        }
    }
}
