using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// The machine-readable report. A CONTRACT (docs/report.md): an array, in report order, of
    /// <c>{"variant", "status", "started", "finished", "config", "params", "macs", "images_per_s", "eval_loss", "eval_acc"}</c>
    /// (status "done" | "failed" | "running" | "pending"; config a JSON object; timestamps ISO-8601 UTC or null; measured
    /// numbers null until measured), followed in each object by the documented additions
    /// <c>"sweep", "index", "peak_memory_bytes", "train_loss", "error", "run", "db"</c>, then <c>"seed"</c> (the run's seed) and
    /// <c>"summary"</c> (its variant over all its runs: counts, mean/sd/95 % interval of eval acc and loss, the comparison
    /// with the baseline, and — added for sweeps — the pruned count, the forward throughput, the Pareto membership per cost
    /// axis and the main effect at the variant's level of each axis), then <c>"last_step"</c>. Change it only by adding keys.
    /// </summary>
    internal static class ReportJson
    {
        public static void Write(TextWriter w, ReportDocument doc)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartArray();
                var summaries = doc.Aggregates.Variants.ToDictionary(a => a.Variant, System.StringComparer.Ordinal);
                foreach (var v in doc.Variants) WriteVariant(json, v, summaries[v.Variant], doc);
                json.WriteEndArray();
            }
            w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        private static void WriteVariant(Utf8JsonWriter json, VariantRecord v, VariantAggregate summary, ReportDocument doc)
        {
            json.WriteStartObject();
            json.WriteString("variant", v.Variant);
            json.WriteString("status", v.Status);
            WriteTime(json, "started", v.Started);
            WriteTime(json, "finished", v.Finished);
            WriteObject(json, "config", v.ConfigJson);
            json.WriteNumber("params", v.Params);
            json.WriteNumber("macs", v.Macs);
            WriteNumber(json, "images_per_s", v.ImagesPerSecond);
            WriteNumber(json, "eval_loss", v.EvalLoss);
            WriteNumber(json, "eval_acc", v.EvalAccuracy);
            // Additions (documented): where the row sits and what else was measured.
            json.WriteString("sweep", v.Sweep);
            json.WriteNumber("index", v.Index);
            if (v.PeakMemoryBytes is { } bytes) json.WriteNumber("peak_memory_bytes", bytes);
            else json.WriteNull("peak_memory_bytes");
            WriteNumber(json, "train_loss", v.TrainLoss);
            if (v.Error != null) json.WriteString("error", v.Error);
            else json.WriteNull("error");
            WriteObject(json, "run", v.RunJson);
            json.WriteString("db", v.SourceDb);
            json.WriteNumber("seed", v.Seed);
            WriteSummary(json, summary, doc.Aggregates);
            if (doc.LastStep(v) is { } step) json.WriteNumber("last_step", step);
            else json.WriteNull("last_step");
            json.WriteEndObject();
        }

        private static void WriteSummary(Utf8JsonWriter json, VariantAggregate a, ReportAggregates stats)
        {
            var baseline = stats.Baseline;
            json.WriteStartObject("summary");
            json.WriteNumber("runs", a.Runs);
            json.WriteNumber("done", a.Done);
            WriteSample(json, "eval_acc", a.EvalAccuracy);
            WriteSample(json, "eval_loss", a.EvalLoss);
            if (baseline != null) json.WriteString("baseline", baseline);
            else json.WriteNull("baseline");
            json.WritePropertyName("vs_baseline");
            if (a.VsBaseline is { } c)
            {
                json.WriteStartObject();
                json.WriteString("test", "welch_t");
                WriteNumber(json, "difference", c.Difference);
                WriteNumber(json, "t", c.Test.T);
                WriteNumber(json, "df", c.Test.DegreesOfFreedom);
                WriteNumber(json, "p", c.Test.PValue);
                WriteNumber(json, "p_holm", c.AdjustedP);
                json.WriteBoolean("significant", c.Significant);
                json.WriteEndObject();
            }
            else json.WriteNullValue();
            json.WriteNumber("pruned", a.Pruned);
            WriteNumber(json, "forward_images_per_s", a.ForwardImagesPerSecond);
            json.WriteStartObject("pareto");
            foreach (var front in stats.Fronts)
            {
                if (front.On(a.Variant) is { } on) json.WriteBoolean(front.Axis.Key, on);
                else json.WriteNull(front.Axis.Key);
            }
            json.WriteEndObject();
            json.WriteStartObject("main_effects");
            foreach (var effect in stats.Effects.Where(e => e.Sweep == a.Sweep))
            {
                var level = effect.Levels.First(l => l.Level == a.Levels[effect.Axis.Name]);
                json.WriteStartObject(effect.Axis.Name);
                json.WriteString("level", level.Level);
                json.WriteNumber("variants", level.Variants);
                WriteSample(json, "eval_acc", level.EvalAccuracy);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }

        /// <summary>{"n", "mean", "sd", "ci95_low", "ci95_high"} of the done runs (sd and interval null for one run), or null for none.</summary>
        private static void WriteSample(Utf8JsonWriter json, string name, SampleSummary? s)
        {
            json.WritePropertyName(name);
            if (s == null)
            {
                json.WriteNullValue();
                return;
            }
            json.WriteStartObject();
            json.WriteNumber("n", s.Count);
            WriteNumber(json, "mean", s.Mean);
            WriteNumber(json, "sd", s.StdDev);
            WriteNumber(json, "ci95_low", s.Low);
            WriteNumber(json, "ci95_high", s.High);
            json.WriteEndObject();
        }

        private static void WriteTime(Utf8JsonWriter json, string name, System.DateTimeOffset? time)
        {
            if (time is { } t) json.WriteString(name, ResultsDb.Iso(t));
            else json.WriteNull(name);
        }

        private static void WriteNumber(Utf8JsonWriter json, string name, double? value)
        {
            // JSON has no NaN or infinity; the database stores those as "not measured" already.
            if (value is { } v && double.IsFinite(v)) json.WriteNumber(name, v);
            else json.WriteNull(name);
        }

        /// <summary>Embeds stored JSON text as a value (an object, not a string); text that is empty (never planned) is null.</summary>
        private static void WriteObject(Utf8JsonWriter json, string name, string text)
        {
            json.WritePropertyName(name);
            if (text.Length == 0)
            {
                json.WriteNullValue();
                return;
            }
            using var parsed = JsonDocument.Parse(text);
            parsed.RootElement.WriteTo(json);
        }
    }
}
