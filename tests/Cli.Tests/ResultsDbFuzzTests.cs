using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Random corruptions of a valid results database (cells of another type or out of range, invalid JSON, deleted rows,
    /// dropped tables and columns, loosened schemas, truncated and garbled bytes), with fixed seeds. An independent
    /// oracle reads each damaged file with plain SQL and judges it against the schema in docs/report.md; then
    /// <c>report --format json</c> must print exactly the stored rows when the oracle finds the file valid, and exit 1
    /// with one line naming the file otherwise (naming the table and column when one cell was changed), never anything
    /// else; and opening it for writing and reading it (what <c>sweep --resume</c> does first) must agree.
    /// </summary>
    public sealed class ResultsDbFuzzTests : IDisposable
    {
        private const int Cases = 600;
        private const int Seed = 20261203;
        private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";
        private const string Run = "{\"dataset\":\"shapes\",\"steps\":20,\"batch\":4,\"lr\":0.1,\"seed\":1,\"device\":\"cpu\"}";

        private static readonly string[] VariantColumns =
        {
            "variant", "seed", "sweep", "grid_index", "status", "started", "finished", "config_json", "params", "macs",
            "images_per_s", "peak_memory_bytes", "train_loss", "eval_loss", "eval_acc", "error", "forward_images_per_s",
        };

        private static readonly string[] CurveColumns = { "variant", "seed", "step", "loss" };

        private static readonly string[] EvalColumns = { "variant", "seed", "step", "eval_loss", "eval_acc" };

        private static string[] ColumnsOf(string table) => table switch
        {
            "variants" => VariantColumns,
            "loss_curve" => CurveColumns,
            "eval_curve" => EvalColumns,
            _ => new[] { "value" },
        };

        /// <summary>Columns the store writes (who holds a run) but never reads back into a report.</summary>
        private static readonly string[] ClaimColumns = { "worker", "heartbeat" };

        private static readonly string[] Statuses = { "pending", "running", "done", "failed", "pruned" };

        private readonly string _dir = Directory.CreateTempSubdirectory("tw-dbfuzz-").FullName;
        private readonly ITestOutputHelper _log;

        public ResultsDbFuzzTests(ITestOutputHelper log) => _log = log;

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        /// <summary>Six variants in every state, three with loss and eval curves, two with a forward throughput.</summary>
        private byte[] BaseDatabase()
        {
            var path = Path.Combine(_dir, "base.db");
            var t0 = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
            using (var db = ResultsDb.Open(path))
            {
                db.Plan(Enumerable.Range(0, 6).Select(i => new VariantPlan($"S/width={8 << i}", "S", i, $"{{\"width\":{8 << i},\"c5.mhsa\":[0,{i % 2}]}}",
                    100_000L * (i + 1), 2_000_000_000L * (i + 1), 0)).ToList(), Run);
                for (int i = 0; i < 2; i++)
                {
                    db.MarkRunning($"S/width={8 << i}", 0, t0.AddMinutes(i));
                    db.MarkDone($"S/width={8 << i}", 0, t0.AddMinutes(i + 1), new VariantMetrics(50.5 + i, 1 << 20, 1.25, 0.875 - i * 0.125, 0.5 + i * 0.25,
                        new[] { new LossPoint(10, 2.0), new LossPoint(20, 1.5 - i * 0.25) })
                    {
                        EvalCurve = new[] { new EvalCurvePoint(10, 1.0, 0.25), new EvalCurvePoint(20, 0.875 - i * 0.125, 0.5 + i * 0.25) },
                    });
                    db.RecordForwardSpeed($"S/width={8 << i}", 400.25 - i * 100);
                }
                db.MarkRunning("S/width=32", 0, t0.AddMinutes(3));
                db.MarkFailed("S/width=32", 0, t0.AddMinutes(4), "diverged at step 7: loss is NaN");
                db.MarkRunning("S/width=64", 0, t0.AddMinutes(5));
                db.MarkRunning("S/width=128", 0, t0.AddMinutes(6));
                db.MarkPruned("S/width=128", 0, t0.AddMinutes(7), new VariantMetrics(40, 1 << 20, 1.75, 1.5, 0.125, new[] { new LossPoint(10, 2.0) })
                {
                    EvalCurve = new[] { new EvalCurvePoint(10, 1.5, 0.125) },
                });
            }
            Assert.False(File.Exists(path + "-wal"), "the base database must be checkpointed into one file");
            return File.ReadAllBytes(path);
        }

        [Fact]
        public void Every_corruption_gives_the_stored_rows_or_a_one_line_error()
        {
            var original = BaseDatabase();
            var started = DateTime.UtcNow;
            var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < Cases; i++)
            {
                var rng = new Random(Seed + i);
                var path = Path.Combine(_dir, $"case-{i}.db");
                File.WriteAllBytes(path, original);
                var (kind, changed) = Corrupt(path, rng);
                var writeCopy = Path.Combine(_dir, $"case-{i}-w.db");
                File.Copy(path, writeCopy);
                var oracle = Oracle(path);
                var context = $"case {i} (seed {Seed + i}): {kind}; oracle: {oracle.Problem ?? "valid"}";

                var r = CliRunner.Run("report", path, "--format", "json");
                if (oracle.Rows != null)
                {
                    Assert.True(r.ExitCode == 0, $"{context}: exit {r.ExitCode}: {r.Error}");
                    AssertSameRows(oracle.Rows, oracle.RunJson, r.Out, context);
                    Assert.True(r.Error.Split('\n').All(l => l.Length == 0 || l.StartsWith("torchwright report: warning: ", StringComparison.Ordinal)), $"{context}: {r.Error}");
                }
                else
                {
                    Assert.True(r.ExitCode == 1, $"{context}: exit {r.ExitCode}: {r.Error}");
                    Assert.Equal("", r.Out);
                    Assert.True(r.Error.EndsWith('\n') && r.Error.IndexOf('\n') == r.Error.Length - 1, $"{context}: not one line: {r.Error}");
                    Assert.True(r.Error.StartsWith("torchwright report: ", StringComparison.Ordinal) && r.Error.Contains(path, StringComparison.Ordinal), $"{context}: {r.Error}");
                    // A changed cell of a variant or its loss curve is named exactly (meta problems have their own messages).
                    if (changed is { } cell && oracle.BadCell == cell && cell.Table != "meta")
                        Assert.True(r.Error.Contains($"table {cell.Table}, ", StringComparison.Ordinal) && r.Error.Contains($", column {cell.Column} holds ", StringComparison.Ordinal),
                            $"{context}: the message does not name table {cell.Table} and column {cell.Column}: {r.Error}");
                }

                // What sweep --resume does first: open for writing, read every row.
                try
                {
                    bool empty = new FileInfo(writeCopy).Length == 0; // an empty file is a new database to a writer
                    using var db = ResultsDb.Open(writeCopy);
                    var rows = db.ReadAll();
                    Assert.True(oracle.Rows != null || (empty && rows.Count == 0), $"{context}: opened for writing and read {rows.Count} rows of a damaged database");
                    if (!empty) Assert.Equal(oracle.Rows!.Select(x => (string)x["variant"]).OrderBy(n => n, StringComparer.Ordinal),
                        rows.Select(x => x.Variant).OrderBy(n => n, StringComparer.Ordinal));
                    try
                    {
                        db.Plan(new[] { new VariantPlan("S/width=1024", "S", 9, "{\"width\":1024}", 1, 1, 0) }, Run);
                    }
                    catch (InvalidOperationException e)
                    {
                        // Other settings than the database's (a changed run_json): refused with the differences.
                        Assert.True(e.Message.Contains("holds variants trained with other settings", StringComparison.Ordinal), $"{context}: {e.Message}");
                    }
                }
                catch (InvalidDataException e)
                {
                    // A file every read accepts can still be refused by a writer on SQLite's own verdict: its header forbids
                    // writing (a garbled format number), or a page that only a write touches is damaged.
                    Assert.True(oracle.Rows == null || e.Message.Contains(": the results database is damaged (SQLite: ", StringComparison.Ordinal),
                        $"{context}: a valid database refused for writing: {e.Message}");
                    Assert.True(e.Message.StartsWith(writeCopy, StringComparison.Ordinal) && !e.Message.Contains('\n'), $"{context}: {e.Message}");
                }

                var outcome = oracle.Rows != null ? "report" : "error";
                outcomes[kind.Split(':')[0] + " -> " + outcome] = outcomes.GetValueOrDefault(kind.Split(':')[0] + " -> " + outcome) + 1;
                foreach (var f in Directory.GetFiles(_dir, $"case-{i}*")) File.Delete(f);
            }
            _log.WriteLine($"{Cases} cases in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
            foreach (var (key, count) in outcomes.OrderBy(o => o.Key, StringComparer.Ordinal)) _log.WriteLine($"  {key}: {count}");
            // The mix must exercise both outcomes of every kind that can have both.
            Assert.True(outcomes.GetValueOrDefault("cell -> report") > 20 && outcomes.GetValueOrDefault("cell -> error") > 50, string.Join(", ", outcomes));
            Assert.True(outcomes.GetValueOrDefault("bytes -> error") > 20, string.Join(", ", outcomes));
        }

        // --- corruptions ----------------------------------------------------------------------------------------------

        private static readonly string[] Pool =
        {
            "NULL", "X''", "X'00'", "X'0102ff'", "''", "'abc'", "'12'", "'1.5'", "CAST(X'fffe41' AS TEXT)", "'\u2028\u202e'",
            "0", "1", "-1", "7", "2147483647", "2147483648", "4294967296", "-9223372036854775808", "9223372036854775807",
            "0.0", "0.5", "1.0", "-0.5", "1.5", "75", "1e300", "1e999", "-1e999",
            "'{}'", "'{\"width\":8}'", "'[1]'", "'{bad'", "'\"x\"'", "'null'", "'{\"a\":{\"b\":[1,2,{\"c\":null}]}}'",
            "'2024-05-01T12:00:00.0000000Z'", "'2024-05-01T12:00:00Z'", "'2024-13-01T12:00:00.0000000Z'", "'yesterday'",
            "'pending'", "'running'", "'done'", "'failed'", "'pruned'", "'finished'", "'DONE'",
        };

        private sealed record Cell(string Table, string Column);

        private static (string Kind, Cell? Changed) Corrupt(string path, Random rng)
        {
            int roll = rng.Next(100);
            if (roll < 50)
            {
                bool loose = rng.Next(2) == 0;
                var table = rng.Next(4) == 0 ? (rng.Next(2) == 0 ? "loss_curve" : "eval_curve") : rng.Next(6) == 0 ? "meta" : "variants";
                var columns = ColumnsOf(table);
                var column = columns[rng.Next(columns.Length)];
                var value = Pool[rng.Next(Pool.Length)];
                var where = table == "meta"
                    ? $"key = '{new[] { "application", "schema_version", "run_json" }[rng.Next(3)]}'"
                    : table == "variants" ? $"grid_index = {rng.Next(5)}" : $"step = {(rng.Next(2) + 1) * 10} AND variant = 'S/width={8 << rng.Next(table == "eval_curve" ? 5 : 2)}'";
                var sql = (loose && table != "meta" ? Loosen(table) : "") + $"UPDATE {table} SET {column} = {value} WHERE {where};";
                return Execute(path, sql) ? ($"cell: {sql}", new Cell(table, column)) : ($"cell (refused by SQLite, unchanged): {sql}", null);
            }
            if (roll < 62)
            {
                var sql = rng.Next(4) switch
                {
                    0 => $"DELETE FROM variants WHERE grid_index = {rng.Next(5)};",
                    1 => $"DELETE FROM loss_curve WHERE step = {(rng.Next(2) + 1) * 10};",
                    2 => $"DELETE FROM eval_curve WHERE step = {(rng.Next(2) + 1) * 10};",
                    _ => $"DELETE FROM meta WHERE key = '{new[] { "application", "schema_version", "run_json" }[rng.Next(3)]}';",
                };
                Execute(path, sql);
                return ("rows: " + sql, null);
            }
            if (roll < 70)
            {
                var sql = rng.Next(2) == 0
                    ? $"DROP TABLE {new[] { "meta", "variants", "loss_curve", "eval_curve" }[rng.Next(4)]};"
                    : $"ALTER TABLE variants DROP COLUMN {VariantColumns[1 + rng.Next(VariantColumns.Length - 1)]};";
                return ((Execute(path, sql) ? "schema: " : "schema (refused by SQLite, unchanged): ") + sql, null);
            }
            var bytes = File.ReadAllBytes(path);
            if (rng.Next(3) == 0)
            {
                int length = rng.Next(bytes.Length);
                File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
                return ($"bytes: truncated to {length} of {bytes.Length}", null);
            }
            int flips = 1 + rng.Next(16);
            // Mostly past the 100-byte header, where a flip damages pages rather than the file's identity.
            for (int f = 0; f < flips; f++) bytes[rng.Next(8) == 0 ? rng.Next(100) : rng.Next(bytes.Length)] ^= (byte)(1 + rng.Next(255));
            File.WriteAllBytes(path, bytes);
            return ($"bytes: {flips} garbled", null);
        }

        /// <summary>The table again without types or constraints, so any value (NULL included) can be stored as given.</summary>
        private static string Loosen(string table)
        {
            var columns = string.Join(", ", ColumnsOf(table));
            return $"ALTER TABLE {table} RENAME TO old_{table}; CREATE TABLE {table} ({columns}); INSERT INTO {table} SELECT {columns} FROM old_{table}; DROP TABLE old_{table}; ";
        }

        private static bool Execute(string path, string sql)
        {
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON; BEGIN; " + sql + " COMMIT;";
            try
            {
                cmd.ExecuteNonQuery();
                return true;
            }
            catch (SqliteException)
            {
                return false; // NOT NULL, a primary key column, an index: the file is unchanged
            }
        }

        // --- the oracle: plain SQL and the schema of docs/report.md ---------------------------------------------------

        private sealed record Verdict(List<Dictionary<string, object>>? Rows, string? RunJson, string? Problem, Cell? BadCell);

        private static Verdict Oracle(string path)
        {
            try
            {
                using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
                c.Open();
                var tables = Column(c, "SELECT name FROM sqlite_master WHERE type = 'table'");
                foreach (var (table, columns) in new[] { ("meta", new[] { "key", "value" }), ("variants", VariantColumns.Concat(ClaimColumns).ToArray()), ("loss_curve", CurveColumns), ("eval_curve", EvalColumns) })
                {
                    if (!tables.Contains(table)) return Bad($"no table {table}");
                    var present = Column(c, $"SELECT name FROM pragma_table_info('{table}')");
                    if (columns.Any(x => !present.Contains(x))) return Bad($"table {table} lacks a column");
                }
                var meta = new Dictionary<string, object>(StringComparer.Ordinal);
                foreach (var row in Select(c, "SELECT key, value FROM meta"))
                    if (row[0] is string key && !meta.ContainsKey(key)) meta[key] = row[1];
                if (!(meta.GetValueOrDefault("application") is "torchwright-results")) return Bad("meta.application", new Cell("meta", "value"));
                if (!(meta.GetValueOrDefault("schema_version") is string v && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version == 3))
                    return Bad("meta.schema_version", new Cell("meta", "value"));
                string? run = null;
                if (meta.TryGetValue("run_json", out var r))
                {
                    if (!(r is string text && IsJsonObject(text))) return Bad("meta.run_json", new Cell("meta", "value"));
                    run = text;
                }
                foreach (var row in Select(c, "SELECT variant, seed, step, loss FROM loss_curve"))
                {
                    if (!(row[0] is string)) return Bad("loss_curve.variant", new Cell("loss_curve", "variant"));
                    if (!(row[1] is long)) return Bad("loss_curve.seed", new Cell("loss_curve", "seed"));
                    if (!(row[2] is long step && step >= 0 && step <= int.MaxValue)) return Bad("loss_curve.step", new Cell("loss_curve", "step"));
                    if (!(Number(row[3]) is { } loss && double.IsFinite(loss))) return Bad("loss_curve.loss", new Cell("loss_curve", "loss"));
                }
                foreach (var row in Select(c, "SELECT variant, seed, step, eval_loss, eval_acc FROM eval_curve"))
                {
                    if (!(row[0] is string)) return Bad("eval_curve.variant", new Cell("eval_curve", "variant"));
                    if (!(row[1] is long)) return Bad("eval_curve.seed", new Cell("eval_curve", "seed"));
                    if (!(row[2] is long step && step >= 1 && step <= int.MaxValue)) return Bad("eval_curve.step", new Cell("eval_curve", "step"));
                    if (!(Number(row[3]) is { } loss && double.IsFinite(loss) && loss >= 0)) return Bad("eval_curve.eval_loss", new Cell("eval_curve", "eval_loss"));
                    if (!(Number(row[4]) is { } acc && double.IsFinite(acc) && acc >= 0 && acc <= 1)) return Bad("eval_curve.eval_acc", new Cell("eval_curve", "eval_acc"));
                }
                var rows = new List<Dictionary<string, object>>();
                foreach (var row in Select(c, $"SELECT {string.Join(", ", VariantColumns)} FROM variants"))
                {
                    var cells = new Dictionary<string, object>(StringComparer.Ordinal);
                    for (int k = 0; k < VariantColumns.Length; k++)
                    {
                        if (!ValidVariantCell(VariantColumns[k], row[k])) return Bad($"variants.{VariantColumns[k]} = {row[k]}", new Cell("variants", VariantColumns[k]));
                        cells[VariantColumns[k]] = row[k];
                    }
                    rows.Add(cells);
                }
                if (rows.Select(x => ((string)x["variant"], (long)x["seed"])).Distinct().Count() != rows.Count) return Bad("a run in two rows");
                return new Verdict(rows, run, null, null);
            }
            catch (SqliteException e)
            {
                return Bad("SQLite: " + e.Message);
            }
        }

        private static Verdict Bad(string problem, Cell? cell = null) => new Verdict(null, null, problem, cell);

        private static bool ValidVariantCell(string column, object value) => column switch
        {
            "variant" or "sweep" => value is string,
            "seed" => value is long,
            "grid_index" => value is long n && n >= 0 && n <= int.MaxValue,
            "status" => value is string s && Statuses.Contains(s),
            "started" or "finished" => value is DBNull || (value is string t && DateTime.TryParseExact(t, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out _)),
            "config_json" => value is string j && IsJsonObject(j),
            "params" or "macs" => value is long p && p >= 0,
            "peak_memory_bytes" => value is DBNull || (value is long m && m >= 0),
            "images_per_s" or "train_loss" or "eval_loss" => value is DBNull || (Number(value) is { } x && double.IsFinite(x) && x >= 0),
            "eval_acc" => value is DBNull || (Number(value) is { } a && double.IsFinite(a) && a >= 0 && a <= 1),
            "error" => value is DBNull || value is string,
            "forward_images_per_s" => value is DBNull || (Number(value) is { } f && double.IsFinite(f) && f > 0),
            _ => throw new ArgumentException(column),
        };

        private static double? Number(object value) => value switch { long n => n, double d => d, _ => null };

        private static bool IsJsonObject(string text)
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                return doc.RootElement.ValueKind == JsonValueKind.Object;
            }
            catch (JsonException)
            {
                return false;
            }
        }

        private static List<string> Column(SqliteConnection c, string sql) => Select(c, sql).Select(r => (string)r[0]).ToList();

        private static List<object[]> Select(SqliteConnection c, string sql)
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            using var reader = cmd.ExecuteReader();
            var rows = new List<object[]>();
            while (reader.Read())
            {
                var row = new object[reader.FieldCount];
                reader.GetValues(row);
                rows.Add(row);
            }
            return rows;
        }

        // --- the report against the stored rows -------------------------------------------------------------------------

        private static void AssertSameRows(List<Dictionary<string, object>> expected, string? run, string json, string context)
        {
            using var doc = JsonDocument.Parse(json);
            var got = doc.RootElement.EnumerateArray().ToList();
            var names = expected.Select(e => (string)e["variant"]).ToList();
            Assert.True(names.Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal)
                .SequenceEqual(got.Select(g => g.GetProperty("variant").GetString()!).OrderBy(n => n, StringComparer.Ordinal)),
                $"{context}: the report's variants differ from the stored ones");
            foreach (var row in got)
            {
                var stored = expected.Single(e => (string)e["variant"] == row.GetProperty("variant").GetString());
                foreach (var (column, key) in new[]
                {
                    ("sweep", "sweep"), ("grid_index", "index"), ("status", "status"), ("started", "started"), ("finished", "finished"),
                    ("params", "params"), ("macs", "macs"), ("images_per_s", "images_per_s"), ("peak_memory_bytes", "peak_memory_bytes"),
                    ("train_loss", "train_loss"), ("eval_loss", "eval_loss"), ("eval_acc", "eval_acc"), ("error", "error"),
                })
                {
                    var value = stored[column];
                    var cell = row.GetProperty(key);
                    bool same = value switch
                    {
                        DBNull => cell.ValueKind == JsonValueKind.Null,
                        string s => cell.ValueKind == JsonValueKind.String && cell.GetString() == s,
                        long n => cell.ValueKind == JsonValueKind.Number && (column is "images_per_s" or "train_loss" or "eval_loss" or "eval_acc" ? cell.GetDouble() == n : cell.GetInt64() == n),
                        double d => cell.ValueKind == JsonValueKind.Number && cell.GetDouble() == d,
                        _ => false,
                    };
                    Assert.True(same, $"{context}: {stored["variant"]}.{key}: stored {value}, reported {cell.GetRawText()}");
                }
                using var config = JsonDocument.Parse((string)stored["config_json"]);
                Assert.True(JsonElement.DeepEquals(config.RootElement, row.GetProperty("config")), $"{context}: config of {stored["variant"]}");
                if (run == null) Assert.Equal(JsonValueKind.Null, row.GetProperty("run").ValueKind);
                else
                {
                    using var runDoc = JsonDocument.Parse(run);
                    Assert.True(JsonElement.DeepEquals(runDoc.RootElement, row.GetProperty("run")), $"{context}: run of {stored["variant"]}");
                }
            }
        }
    }
}
