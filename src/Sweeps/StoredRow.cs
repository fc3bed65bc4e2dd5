using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Torchwright.Sweeps
{
    /// <summary>
    /// Reads the current row of a results-database query cell by cell, checking each cell against the schema
    /// (docs/report.md). SQLite lets any cell hold any value, so a file edited by hand or damaged can hold a BLOB where
    /// text belongs, an integer no variant can have, or JSON that does not parse: each of those is an
    /// <see cref="InvalidDataException"/> naming the file, the table, the row and the column, what the cell holds and
    /// what was expected — never a cast or overflow exception from the reader.
    /// </summary>
    internal readonly struct StoredRow
    {
        private readonly SqliteDataReader _reader;
        private readonly string _path;
        private readonly string _table;
        private readonly string _row;

        public StoredRow(string path, string table, string row, SqliteDataReader reader)
        {
            _path = path;
            _table = table;
            _row = row;
            _reader = reader;
        }

        /// <summary>The same row, named better once its key is read (e.g. "row 'S/a'" instead of "row 3").</summary>
        public StoredRow Named(string row) => new StoredRow(_path, _table, row, _reader);

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
            if (value is long n && n >= min && n <= max) return n;
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
            Damage(_path, $"table {_table}, {_row}, column {column} holds {Describe(value)}; expected {expected}");

        /// <summary>The one message shape for a damaged results database, with the fix.</summary>
        public static InvalidDataException Damage(string path, string what, Exception? inner = null) =>
            new InvalidDataException($"{path}: the results database is damaged: {what}. "
                + "Correct or delete that row with an SQLite client (sqlite3), or restore the file from a copy", inner);

        private static string Range(string kind, long min, long max) =>
            max == long.MaxValue ? (min == 0 ? kind + " >= 0" : kind + " >= " + min.ToString(CultureInfo.InvariantCulture))
            : FormattableString.Invariant($"{kind} from {min} to {max}");

        private static string Range(string kind, double min, double max) =>
            double.IsPositiveInfinity(max) ? (double.IsNegativeInfinity(min) ? kind : FormattableString.Invariant($"{kind} >= {min}"))
            : FormattableString.Invariant($"{kind} from {min} to {max}");

        /// <summary>A cell's value for a one-line message: its SQLite type and, cut short and escaped, the value.</summary>
        public static string Describe(object value) => value switch
        {
            DBNull => "NULL",
            long n => "the integer " + n.ToString(CultureInfo.InvariantCulture),
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
