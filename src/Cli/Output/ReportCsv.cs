using System.Globalization;
using System.IO;
using System.Linq;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// The report as RFC 4180 CSV: a header row, one record per run (variant and seed) in report order; the seed is the last column, CRLF line ends; a field holding
    /// a comma, a double quote, CR or LF is quoted, with its quotes doubled. Numbers are unscaled and invariant
    /// (shortest round-trip form); a value not measured is an empty field.
    /// </summary>
    internal static class ReportCsv
    {
        public static readonly string[] Header =
        {
            "variant", "sweep", "index", "status", "started", "finished", "params", "macs", "images_per_s",
            "peak_memory_bytes", "train_loss", "eval_loss", "eval_acc", "error", "config", "db", "seed",
        };

        public static void Write(TextWriter w, ReportDocument doc)
        {
            WriteRecord(w, Header);
            foreach (var v in doc.Variants)
                WriteRecord(w, new[]
                {
                    v.Variant, v.Sweep, v.Index.ToString(CultureInfo.InvariantCulture), v.Status, Time(v.Started), Time(v.Finished),
                    v.Params.ToString(CultureInfo.InvariantCulture), v.Macs.ToString(CultureInfo.InvariantCulture),
                    Number(v.ImagesPerSecond), v.PeakMemoryBytes?.ToString(CultureInfo.InvariantCulture) ?? "",
                    Number(v.TrainLoss), Number(v.EvalLoss), Number(v.EvalAccuracy), v.Error ?? "", v.ConfigJson, v.SourceDb,
                    v.Seed.ToString(CultureInfo.InvariantCulture),
                });
        }

        private static void WriteRecord(TextWriter w, string[] fields)
        {
            w.Write(string.Join(",", fields.Select(Field)));
            w.Write("\r\n");
        }

        private static string Field(string value) =>
            value.IndexOfAny(new[] { ',', '"', '\r', '\n' }) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";

        private static string Time(System.DateTimeOffset? t) => t is { } time ? ResultsDb.Iso(time) : "";

        private static string Number(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";
    }
}
