using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Torchwright.Runtime.Training;

namespace Torchwright.Runtime.Sweeps
{
    /// <summary>
    /// A sweep's results in one SQLite file: one row per variant (status, timestamps, configuration, metrics) and its
    /// loss curve. Every state change is one transaction, and the file runs in WAL mode with synchronous=FULL, so a
    /// crash or SIGKILL at any moment leaves every committed variant intact and loses at most the one in flight (it
    /// stays "running" until it is run again). The schema is documented in docs/report.md.
    /// </summary>
    public sealed class ResultsDb : IDisposable
    {
        /// <summary>The schema version this code writes and reads (meta.schema_version).</summary>
        public const int SchemaVersion = 1;

        /// <summary>meta.application: what tells a results database from any other SQLite file.</summary>
        public const string Application = "torchwright-results";

        /// <summary>meta key naming the process that holds the writer lock (pid, host, since when); removed on a clean close.</summary>
        private const string WriterKey = "writer";

        /// <summary>The run-settings key that differs between the shards of one sweep by design.</summary>
        private const string ShardSetting = "shard";

        private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

        private const string Columns =
            "variant, sweep, grid_index, status, started, finished, config_json, params, macs, "
            + "images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error";

        private static readonly string[] Schema =
        {
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
            "CREATE TABLE variants ("
                + "variant TEXT PRIMARY KEY, sweep TEXT NOT NULL, grid_index INTEGER NOT NULL, "
                + "status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')), "
                + "started TEXT, finished TEXT, config_json TEXT NOT NULL, params INTEGER NOT NULL, macs INTEGER NOT NULL, "
                + "images_per_s REAL, peak_memory_bytes INTEGER, train_loss REAL, eval_loss REAL, eval_acc REAL, error TEXT"
                + ") WITHOUT ROWID",
            "CREATE TABLE loss_curve ("
                + "variant TEXT NOT NULL REFERENCES variants (variant) ON DELETE CASCADE, "
                + "step INTEGER NOT NULL, loss REAL NOT NULL, PRIMARY KEY (variant, step)"
                + ") WITHOUT ROWID",
        };

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
            if (writable) SetDurability();
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
                foreach (var statement in Schema) Execute(statement);
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
            var missing = new[] { "variants", "loss_curve" }.Where(t => !tables.Contains(t)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{Path}: the results database is damaged (missing table {string.Join(", ", missing)}); {Fix}");
            foreach (var (table, columns) in TableColumns)
            {
                var present = Strings($"SELECT name FROM pragma_table_info('{table}')");
                var absent = columns.Where(c => !present.Contains(c)).ToList();
                if (absent.Count > 0)
                    throw new InvalidDataException($"{Path}: the results database is damaged (table {table} has no column {string.Join(", ", absent)}; "
                        + $"it has {string.Join(", ", present)}); restore the file from a copy, or {Fix}");
            }
        }

        /// <summary>Every column this code reads, per table (the schema above).</summary>
        private static readonly (string Table, string[] Columns)[] TableColumns =
        {
            ("meta", new[] { "key", "value" }),
            ("variants", Columns.Split(", ")),
            ("loss_curve", new[] { "variant", "step", "loss" }),
        };

        private static readonly string[] Statuses = { VariantStatus.Pending, VariantStatus.Running, VariantStatus.Done, VariantStatus.Failed };

        /// <summary>
        /// Records the grid in one transaction: every plan whose variant is not in the database yet becomes a pending
        /// row; rows that are not done take the plan's current configuration; done rows are never modified. The first
        /// plan stores <paramref name="runJson"/> (the training settings); planning a database that already holds
        /// variants with different settings throws <see cref="InvalidOperationException"/> naming the differences, as
        /// does a done variant whose configuration, parameters or MACs no longer match its plan.
        /// </summary>
        public void Plan(IReadOnlyList<VariantPlan> plans, string runJson)
        {
            RequireJsonObject(runJson, nameof(runJson));
            var twice = plans.GroupBy(p => p.Variant, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (twice != null)
                throw new ArgumentException($"the plan names variant '{twice.Key}' {twice.Count()} times; variant names must be unique", nameof(plans));
            foreach (var p in plans) RequireJsonObject(p.ConfigJson, $"the configuration of variant '{p.Variant}'");

            Write(() =>
            {
                // Every stored row is read and checked first: a damaged cell stops the plan before anything is written.
                var existing = ReadRecords(null).ToDictionary(r => r.Variant, StringComparer.Ordinal);
                var storedRun = StoredRunJson();
                if (storedRun != null && existing.Count > 0)
                {
                    var differences = Differences(storedRun, runJson, ignore: null);
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
                        ("$v", p.Variant), ("$s", p.Sweep), ("$i", p.Index), ("$c", p.ConfigJson), ("$p", p.Params), ("$m", p.Macs),
                    };
                    if (!existing.TryGetValue(p.Variant, out var row))
                        Execute("INSERT INTO variants (variant, sweep, grid_index, status, config_json, params, macs) "
                            + "VALUES ($v, $s, $i, 'pending', $c, $p, $m)", values);
                    else if (row.Status != VariantStatus.Done)
                        Execute("UPDATE variants SET sweep = $s, grid_index = $i, config_json = $c, params = $p, macs = $m WHERE variant = $v", values);
                    else
                    {
                        var changes = Differences(row.ConfigJson, p.ConfigJson, ignore: null);
                        if (row.Params != p.Params) changes.Add(FormattableString.Invariant($"params: {row.Params} vs {p.Params}"));
                        if (row.Macs != p.Macs) changes.Add(FormattableString.Invariant($"macs: {row.Macs} vs {p.Macs}"));
                        if (changes.Count > 0)
                            throw new InvalidOperationException(
                                $"{Path}: variant '{p.Variant}' is done, but its declaration changed since it was trained (database vs now: {string.Join("; ", changes)}); "
                                + "use a new --db for the changed declarations, or restore them to resume");
                    }
                }
            });
        }

        /// <summary>Starts (or restarts, after an interrupted run) a variant: status running, metrics and loss curve cleared.</summary>
        public void MarkRunning(string variant, DateTimeOffset started)
        {
            Write(() =>
            {
                RequireNotDone(variant, "start");
                Execute("UPDATE variants SET status = 'running', started = $t, finished = NULL, images_per_s = NULL, peak_memory_bytes = NULL, "
                    + "train_loss = NULL, eval_loss = NULL, eval_acc = NULL, error = NULL WHERE variant = $v",
                    ("$v", variant), ("$t", Iso(started)));
                Execute("DELETE FROM loss_curve WHERE variant = $v", ("$v", variant));
            });
        }

        /// <summary>
        /// Finishes a variant: status, finish time, every metric and the whole loss curve in one transaction, so the row
        /// is either done with all of it or untouched. Metrics that are not finite, and a peak memory of 0 (no /proc), are
        /// stored as null (not measured).
        /// The loss curve's steps must be distinct and its losses finite (a diverged run is a failure: <see cref="MarkFailed"/>).
        /// </summary>
        public void MarkDone(string variant, DateTimeOffset finished, VariantMetrics metrics)
        {
            var steps = new HashSet<int>();
            foreach (var point in metrics.LossCurve)
            {
                if (!steps.Add(point.Step))
                    throw new ArgumentException($"variant '{variant}': the loss curve has step {point.Step} twice; nothing was written", nameof(metrics));
                if (!double.IsFinite(point.Loss))
                    throw new ArgumentException($"variant '{variant}': the loss at step {point.Step} is {point.Loss.ToString(CultureInfo.InvariantCulture)}; a run that diverged is failed, not done; nothing was written", nameof(metrics));
            }

            Write(() =>
            {
                RequireNotDone(variant, "finish");
                Execute("UPDATE variants SET status = 'done', finished = $t, images_per_s = $ips, peak_memory_bytes = $mem, "
                    + "train_loss = $tl, eval_loss = $el, eval_acc = $ea, error = NULL WHERE variant = $v",
                    ("$v", variant), ("$t", Iso(finished)), ("$ips", Finite(metrics.ImagesPerSecond)), ("$mem", metrics.PeakMemoryBytes > 0 ? metrics.PeakMemoryBytes : null),
                    ("$tl", Finite(metrics.TrainLoss)), ("$el", Finite(metrics.EvalLoss)), ("$ea", Finite(metrics.EvalAccuracy)));
                Execute("DELETE FROM loss_curve WHERE variant = $v", ("$v", variant));
                using (var insert = Command("INSERT INTO loss_curve (variant, step, loss) VALUES ($v, $s, $l)"))
                {
                    insert.Parameters.AddWithValue("$v", variant);
                    var step = insert.Parameters.Add("$s", SqliteType.Integer);
                    var loss = insert.Parameters.Add("$l", SqliteType.Real);
                    foreach (var point in metrics.LossCurve)
                    {
                        step.Value = point.Step;
                        loss.Value = point.Loss;
                        insert.ExecuteNonQuery();
                    }
                }
            });
        }

        /// <summary>Records that a variant failed, with the reason; its metrics and loss curve are cleared.</summary>
        public void MarkFailed(string variant, DateTimeOffset finished, string error)
        {
            Write(() =>
            {
                RequireNotDone(variant, "fail");
                Execute("UPDATE variants SET status = 'failed', finished = $t, images_per_s = NULL, peak_memory_bytes = NULL, "
                    + "train_loss = NULL, eval_loss = NULL, eval_acc = NULL, error = $e WHERE variant = $v",
                    ("$v", variant), ("$t", Iso(finished)), ("$e", error));
                Execute("DELETE FROM loss_curve WHERE variant = $v", ("$v", variant));
            });
        }

        /// <summary>Every variant, ordered by sweep, grid index and name.</summary>
        public IReadOnlyList<VariantRecord> ReadAll()
        {
            // One read transaction: a concurrent writer cannot slip a commit between the rows and their curves.
            return Read(() => ReadRecords(null));
        }

        /// <summary>One variant, or null when the database does not hold it.</summary>
        public VariantRecord? Get(string variant)
        {
            return Read(() => ReadRecords(variant).FirstOrDefault());
        }

        /// <summary>
        /// The union of several databases (the shards of a sweep, or runs to compare), ordered by sweep, grid index and
        /// name. A variant held by more than one database is taken from the one where it is done (among those, the one
        /// finished last; otherwise failed over running over pending), with a warning naming both files. Databases
        /// planned with different training settings (other than the shard) are merged with a warning.
        /// </summary>
        public static IReadOnlyList<VariantRecord> Merge(IEnumerable<string> paths, out IReadOnlyList<string> warnings)
        {
            var notes = new List<string>();
            var chosen = new Dictionary<string, VariantRecord>(StringComparer.Ordinal);
            var opened = new HashSet<string>(StringComparer.Ordinal);
            (string Path, string Run)? reference = null;
            foreach (var path in paths)
            {
                if (!opened.Add(System.IO.Path.GetFullPath(path)))
                {
                    notes.Add($"{path} is named more than once; it was read once");
                    continue;
                }
                string? run;
                IReadOnlyList<VariantRecord> records;
                try
                {
                    using var db = OpenReadOnly(path);
                    run = db.RunJson;
                    records = db.ReadAll();
                }
                catch (SqliteException e)
                {
                    throw new IOException($"cannot read the results database {path}: {e.Message}", e);
                }
                if (run != null)
                {
                    if (reference == null) reference = (path, run);
                    else
                    {
                        var differences = Differences(reference.Value.Run, run, ignore: ShardSetting);
                        if (differences.Count > 0)
                            notes.Add($"{reference.Value.Path} and {path} were run with different settings ({string.Join("; ", differences)}); their metrics may not be comparable");
                    }
                }
                foreach (var record in records)
                {
                    if (!chosen.TryGetValue(record.Variant, out var previous))
                    {
                        chosen[record.Variant] = record;
                        continue;
                    }
                    var keep = Preferred(previous, record);
                    notes.Add($"variant '{record.Variant}' is in {previous.SourceDb} ({Describe(previous)}) and in {record.SourceDb} ({Describe(record)}); using {keep.SourceDb}");
                    chosen[record.Variant] = keep;
                }
            }
            warnings = notes;
            return chosen.Values
                .OrderBy(r => r.Sweep, StringComparer.Ordinal)
                .ThenBy(r => r.Index)
                .ThenBy(r => r.Variant, StringComparer.Ordinal)
                .ToList();
        }

        private static VariantRecord Preferred(VariantRecord first, VariantRecord second)
        {
            static int Rank(string status) => status switch
            {
                VariantStatus.Done => 3,
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

        private void RequireNotDone(string variant, string verb)
        {
            string? status = null;
            using (var command = Command("SELECT status FROM variants WHERE variant = $v", ("$v", variant)))
            using (var reader = command.ExecuteReader())
                if (reader.Read()) status = new StoredRow(Path, "variants", "row " + StoredRow.Quote(variant), reader).OneOf(0, "status", Statuses);
            if (status == null)
                throw new InvalidOperationException($"{Path}: cannot {verb} variant '{variant}': it was not planned (call Plan with it first)");
            if (status == VariantStatus.Done)
                throw new InvalidOperationException($"{Path}: cannot {verb} variant '{variant}': it is done, and a done variant is never run or written again");
        }

        private List<VariantRecord> ReadRecords(string? only)
        {
            var run = StoredRunJson() ?? "";
            var filter = only == null ? "" : " WHERE variant = $v";
            var curves = new Dictionary<string, List<LossPoint>>(StringComparer.Ordinal);
            using (var read = Command("SELECT variant, step, loss FROM loss_curve" + filter + " ORDER BY variant, step"))
            {
                if (only != null) read.Parameters.AddWithValue("$v", only);
                using var reader = read.ExecuteReader();
                for (int n = 1; reader.Read(); n++)
                {
                    var row = new StoredRow(Path, "loss_curve", "row " + n.ToString(CultureInfo.InvariantCulture) + " (ordered by variant, step)", reader);
                    var name = row.Text(0, "variant");
                    row = row.Named("the row of variant " + StoredRow.Quote(name));
                    int step = (int)row.Integer(1, "step", 0, int.MaxValue);
                    row = row.Named("the row of variant " + StoredRow.Quote(name) + " at step " + step.ToString(CultureInfo.InvariantCulture));
                    double loss = row.Real(2, "loss", double.NegativeInfinity, double.PositiveInfinity);
                    if (!curves.TryGetValue(name, out var curve)) curves[name] = curve = new List<LossPoint>();
                    curve.Add(new LossPoint(step, loss));
                }
            }

            var records = new List<VariantRecord>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            using (var read = Command($"SELECT {Columns} FROM variants{filter} ORDER BY sweep, grid_index, variant"))
            {
                if (only != null) read.Parameters.AddWithValue("$v", only);
                using var reader = read.ExecuteReader();
                for (int n = 1; reader.Read(); n++)
                {
                    var row = new StoredRow(Path, "variants", "row " + n.ToString(CultureInfo.InvariantCulture) + " (ordered by sweep, grid_index, variant)", reader);
                    var name = row.Text(0, "variant");
                    // Only a file whose primary key was taken away can hold a variant twice.
                    if (!names.Add(name))
                        throw StoredRow.Damage(Path, $"table variants holds variant {StoredRow.Quote(name)} in two rows; expected one row per variant (its primary key)");
                    row = row.Named("row " + StoredRow.Quote(name));
                    const double Unbounded = double.PositiveInfinity;
                    records.Add(new VariantRecord(
                        Variant: name,
                        Sweep: row.Text(1, "sweep"),
                        Index: (int)row.Integer(2, "grid_index", 0, int.MaxValue),
                        Status: row.OneOf(3, "status", Statuses),
                        Started: row.OptionalTime(4, "started", TimeFormat),
                        Finished: row.OptionalTime(5, "finished", TimeFormat),
                        ConfigJson: row.JsonObject(6, "config_json"),
                        Params: row.Integer(7, "params", 0, long.MaxValue),
                        Macs: row.Integer(8, "macs", 0, long.MaxValue),
                        ImagesPerSecond: row.OptionalReal(9, "images_per_s", 0, Unbounded),
                        PeakMemoryBytes: row.OptionalInteger(10, "peak_memory_bytes", 0, long.MaxValue),
                        TrainLoss: row.OptionalReal(11, "train_loss", 0, Unbounded),
                        EvalLoss: row.OptionalReal(12, "eval_loss", 0, Unbounded),
                        EvalAccuracy: row.OptionalReal(13, "eval_acc", 0, 1),
                        Error: row.OptionalText(14, "error"),
                        RunJson: run,
                        SourceDb: Path,
                        LossCurve: curves.TryGetValue(name, out var curve) ? curve : (IReadOnlyList<LossPoint>)Array.Empty<LossPoint>()));
                }
            }
            return records;
        }

        /// <summary>The ISO-8601 UTC text the database stores (and sorts correctly as text).</summary>
        public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

        private static object? Finite(double value) => double.IsFinite(value) ? value : null;

        private static void RequireJsonObject(string json, string what)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new ArgumentException($"{what} must be a JSON object, not {doc.RootElement.ValueKind}: {json}");
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"{what} is not valid JSON ({e.Message}): {json}", e);
            }
        }

        /// <summary>"key: a vs b" for every top-level key whose values differ (objects compared as JSON).</summary>
        private static List<string> Differences(string stored, string current, string? ignore)
        {
            using var a = JsonDocument.Parse(stored);
            using var b = JsonDocument.Parse(current);
            var keys = a.RootElement.EnumerateObject().Select(p => p.Name)
                .Concat(b.RootElement.EnumerateObject().Select(p => p.Name))
                .Distinct(StringComparer.Ordinal).Where(k => k != ignore);
            var differences = new List<string>();
            foreach (var key in keys)
            {
                bool inA = a.RootElement.TryGetProperty(key, out var va);
                bool inB = b.RootElement.TryGetProperty(key, out var vb);
                if (inA && inB && JsonElement.DeepEquals(va, vb)) continue;
                differences.Add($"{key}: {(inA ? va.GetRawText() : "(absent)")} vs {(inB ? vb.GetRawText() : "(absent)")}");
            }
            return differences;
        }

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
