using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Torchwright.Runtime.Training;

namespace Torchwright.Sweeps
{
    /// <summary>
    /// Reads the current row of a results-store query cell by cell, checking each cell against the schema
    /// (docs/report.md), for SQLite and PostgreSQL alike. SQLite lets any cell hold any value, and a row of either store
    /// can be edited by hand: a BLOB where text belongs, an integer no variant can have, an accuracy of 7, or JSON that
    /// does not parse is an <see cref="InvalidDataException"/> naming the store, the table, the row and the column, what
    /// the cell holds and what was expected — never a cast or overflow exception from the reader.
    /// </summary>
    internal readonly struct StoredRow
    {
        private readonly DbDataReader _reader;
        private readonly string _path;
        private readonly string _table;
        private readonly string _row;
        private readonly bool _server;

        /// <summary>The current row of <paramref name="reader"/>; <paramref name="server"/>: a PostgreSQL store (the fix names psql), not a SQLite file.</summary>
        public StoredRow(string path, string table, string row, DbDataReader reader, bool server = false)
        {
            _path = path;
            _table = table;
            _row = row;
            _reader = reader;
            _server = server;
        }

        /// <summary>The same row, named better once its key is read (e.g. "row 'S/a'" instead of "row 3").</summary>
        public StoredRow Named(string row) => new StoredRow(_path, _table, row, _reader, _server);

        /// <summary>A loss_curve row (variant, seed, step, loss), named by its key as it is read.</summary>
        public (string Variant, long Seed, LossPoint Point) CurvePoint()
        {
            var name = Text(0, "variant");
            long seed = Integer(1, "seed", long.MinValue, long.MaxValue);
            var row = Named($"the row of variant {Quote(name)} seed {seed}");
            int step = (int)row.Integer(2, "step", 0, int.MaxValue);
            row = row.Named($"the row of variant {Quote(name)} seed {seed} at step {step.ToString(CultureInfo.InvariantCulture)}");
            return (name, seed, new LossPoint(step, row.Real(3, "loss", double.NegativeInfinity, double.PositiveInfinity)));
        }

        /// <summary>An eval_curve row (variant, seed, step, eval_loss, eval_acc), named by its key as it is read.</summary>
        public (string Variant, long Seed, EvalCurvePoint Point) EvalPoint()
        {
            var name = Text(0, "variant");
            long seed = Integer(1, "seed", long.MinValue, long.MaxValue);
            var row = Named($"the row of variant {Quote(name)} seed {seed}");
            int step = (int)row.Integer(2, "step", 1, int.MaxValue);
            row = row.Named($"the row of variant {Quote(name)} seed {seed} at step {step.ToString(CultureInfo.InvariantCulture)}");
            return (name, seed, new EvalCurvePoint(step, row.Real(3, "eval_loss", 0, double.PositiveInfinity), row.Real(4, "eval_acc", 0, 1)));
        }

        /// <summary>
        /// A variants row in the column order both stores select (variant, seed, sweep, grid_index, status, started,
        /// finished, config_json, params, macs, images_per_s, peak_memory_bytes, train_loss, eval_loss, eval_acc, error,
        /// forward_images_per_s):
        /// one set of checks for both. A run that <paramref name="runs"/> already holds is a damaged primary key.
        /// </summary>
        public VariantRecord Variant(string runJson, string source, HashSet<(string, long)> runs,
            Dictionary<(string, long), List<LossPoint>> curves, Dictionary<(string, long), List<EvalCurvePoint>> evals,
            IReadOnlyList<string> statuses, string timeFormat)
        {
            var name = Text(0, "variant");
            long seed = Integer(1, "seed", long.MinValue, long.MaxValue);
            if (!runs.Add((name, seed)))
                throw Damage(_path, $"table variants holds variant {Quote(name)} with seed {seed} in two rows; expected one row per run (its primary key)", server: _server);
            var row = Named($"row {Quote(name)} seed {seed}");
            const double Unbounded = double.PositiveInfinity;
            return new VariantRecord(
                Variant: name,
                Seed: seed,
                Sweep: row.Text(2, "sweep"),
                Index: (int)row.Integer(3, "grid_index", 0, int.MaxValue),
                Status: row.OneOf(4, "status", statuses),
                Started: row.OptionalTime(5, "started", timeFormat),
                Finished: row.OptionalTime(6, "finished", timeFormat),
                ConfigJson: row.JsonObject(7, "config_json"),
                Params: row.Integer(8, "params", 0, long.MaxValue),
                Macs: row.Integer(9, "macs", 0, long.MaxValue),
                ImagesPerSecond: row.OptionalReal(10, "images_per_s", 0, Unbounded),
                PeakMemoryBytes: row.OptionalInteger(11, "peak_memory_bytes", 0, long.MaxValue),
                TrainLoss: row.OptionalReal(12, "train_loss", 0, Unbounded),
                EvalLoss: row.OptionalReal(13, "eval_loss", 0, Unbounded),
                EvalAccuracy: row.OptionalReal(14, "eval_acc", 0, 1),
                Error: row.OptionalText(15, "error"),
                RunJson: runJson,
                SourceDb: source,
                LossCurve: curves.TryGetValue((name, seed), out var curve) ? curve : (IReadOnlyList<LossPoint>)Array.Empty<LossPoint>())
            {
                EvalCurve = evals.TryGetValue((name, seed), out var eval) ? eval : Array.Empty<EvalCurvePoint>(),
                ForwardImagesPerSecond = row.OptionalReal(16, "forward_images_per_s", double.Epsilon, Unbounded),
            };
        }

        public string Text(int ordinal, string column) =>
            OptionalText(ordinal, column) ?? throw Damaged(column, DBNull.Value, "text");

        public string? OptionalText(int ordinal, string column)
        {
            var value = _reader.GetValue(ordinal);
            return value switch
            {
                DBNull => null,
                string s => s,
                _ => throw Damaged(column, value, "text"),
            };
        }

        public string OneOf(int ordinal, string column, IReadOnlyList<string> allowed)
        {
            var value = _reader.GetValue(ordinal);
            if (value is string s && ((IList<string>)allowed).Contains(s)) return s;
            throw Damaged(column, value, "one of " + string.Join(", ", allowed));
        }

        public long Integer(int ordinal, string column, long min, long max) =>
            OptionalInteger(ordinal, column, min, max) ?? throw Damaged(column, DBNull.Value, Range("an integer", min, max));

        public long? OptionalInteger(int ordinal, string column, long min, long max)
        {
            var value = _reader.GetValue(ordinal);
            if (value is DBNull) return null;
            // SQLite gives every integer as a long; PostgreSQL an INTEGER column as an int.
            if (value is long or int && Convert.ToInt64(value, CultureInfo.InvariantCulture) is var n && n >= min && n <= max) return n;
            throw Damaged(column, value, Range("an integer", min, max));
        }

        public double Real(int ordinal, string column, double min, double max) =>
            OptionalReal(ordinal, column, min, max) ?? throw Damaged(column, DBNull.Value, Range("a finite number", min, max));

        public double? OptionalReal(int ordinal, string column, double min, double max)
        {
            var value = _reader.GetValue(ordinal);
            double? number = value switch
            {
                DBNull => null,
                long n => n,
                double d => d,
                _ => throw Damaged(column, value, Range("a finite number", min, max)),
            };
            if (number is { } x && !(double.IsFinite(x) && x >= min && x <= max))
                throw Damaged(column, value, Range("a finite number", min, max));
            return number;
        }

        /// <summary>An ISO-8601 UTC timestamp in the one format the database writes, or null.</summary>
        public DateTimeOffset? OptionalTime(int ordinal, string column, string format)
        {
            if (_reader.GetValue(ordinal) is DateTime stamp) // a PostgreSQL TIMESTAMPTZ (Npgsql reads it as UTC)
                return new DateTimeOffset(stamp.ToUniversalTime(), TimeSpan.Zero);
            var text = OptionalText(ordinal, column);
            if (text == null) return null;
            if (!DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
                throw Damaged(column, text, "an ISO-8601 UTC timestamp like 2024-05-01T12:00:00.0000000Z");
            return new DateTimeOffset(time, TimeSpan.Zero);
        }

        /// <summary>Text that is a JSON object (what config_json and meta.run_json hold).</summary>
        public string JsonObject(int ordinal, string column)
        {
            var text = Text(ordinal, column);
            var why = JsonObjectProblem(text);
            if (why != null) throw Damaged(column, text, "a JSON object (" + why + ")");
            return text;
        }

        /// <summary>Why <paramref name="text"/> is not a JSON object, or null when it is.</summary>
        public static string? JsonObjectProblem(string text)
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                return doc.RootElement.ValueKind == JsonValueKind.Object ? null : "it is " + doc.RootElement.ValueKind.ToString().ToLowerInvariant();
            }
            catch (JsonException e)
            {
                // The parser's message ends with its position; keep the whole of it on one line.
                return e.Message.Replace('\n', ' ').Replace('\r', ' ');
            }
        }

        private InvalidDataException Damaged(string column, object value, string expected) =>
            Damage(_path, $"table {_table}, {_row}, column {column} holds {Describe(value)}; expected {expected}", server: _server);

        /// <summary>The one message shape for a damaged results database, with the fix (psql for a server, sqlite3 for a file).</summary>
        public static InvalidDataException Damage(string path, string what, Exception? inner = null, bool server = false) =>
            new InvalidDataException($"{path}: the results database is damaged: {what}. " + (server
                ? "Correct or delete that row with a PostgreSQL client (psql)"
                : "Correct or delete that row with an SQLite client (sqlite3), or restore the file from a copy"), inner);

        private static string Range(string kind, long min, long max) =>
            max == long.MaxValue ? (min == 0 ? kind + " >= 0" : kind + " >= " + min.ToString(CultureInfo.InvariantCulture))
            : FormattableString.Invariant($"{kind} from {min} to {max}");

        private static string Range(string kind, double min, double max) =>
            double.IsPositiveInfinity(max) ? (double.IsNegativeInfinity(min) ? kind : FormattableString.Invariant($"{kind} >= {min}"))
            : FormattableString.Invariant($"{kind} from {min} to {max}");

        /// <summary>A cell's value for a one-line message: its type and, cut short and escaped, the value.</summary>
        public static string Describe(object value) => value switch
        {
            DBNull => "NULL",
            long or int => "the integer " + Convert.ToInt64(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
            double d => "the real number " + (double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : d > 0 ? "+infinity" : d < 0 ? "-infinity" : "NaN"),
            string s => "the text " + Quote(s),
            byte[] b => b.Length == 1 ? "a BLOB of 1 byte" : $"a BLOB of {b.Length} bytes",
            _ => value.GetType().Name,
        };

        /// <summary>'text' with control and format characters and lone surrogates escaped, cut after 60 characters, for messages.</summary>
        public static string Quote(string text)
        {
            const int Max = 60;
            var b = new StringBuilder("'");
            int shown = 0;
            for (int i = 0; i < text.Length; i++)
            {
                if (shown == Max)
                {
                    b.Append("...");
                    break;
                }
                var c = text[i];
                if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    b.Append(c).Append(text[++i]); // a whole astral character (an emoji) prints as itself
                    shown++;
                    continue;
                }
                var category = char.GetUnicodeCategory(c);
                if (char.IsControl(c) || char.IsSurrogate(c) || category == UnicodeCategory.Format
                    || category == UnicodeCategory.LineSeparator || category == UnicodeCategory.ParagraphSeparator)
                    b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else b.Append(c);
                shown++;
            }
            return b.Append('\'').ToString();
        }
    }
}
