using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Torchwright.Cli.Output;

namespace Torchwright.Cli.Running
{
    /// <summary>Prints a <see cref="BenchResult"/> as a table with the ratio line, or as JSON (docs/cli.md describes both).</summary>
    internal static class BenchReport
    {
        public static void WriteText(TextWriter w, BenchResult r)
        {
            var s = r.Settings;
            w.WriteLine($"{r.Architecture} ({Mode(s)}): input {string.Join("x", r.InputShape)} on {s.Device}, {Numbers.Plural(s.Threads, "thread")} on both sides" +
                (r.TorchVersion != null ? $"; Torchwright on TorchSharp 0.107.0 (libtorch 2.10.0); PyTorch {r.TorchVersion} eager (Debian python3-torch, the PyTorch of this machine)" : ""));
            w.WriteLine($"{s.Warmup} warm-up + {Numbers.Plural(s.Iterations, "timed iteration")} per side, sides alternating iteration by iteration; ms/batch is the median");
            var table = new TextTable(("side", false), ("images/s", true), ("ms/batch (median)", true), ("ms min..max", true),
                ("peak RSS", true), ("peak - setup RSS", true));
            foreach (var side in new[] { r.Torchwright, r.PyTorch })
            {
                if (side is null) continue;
                table.Add(side.Name, F(side.ImagesPerSecond(s.Batch), "0.00"), F(side.MedianMs, "0.0"),
                    $"{F(side.MinMs, "0.0")}..{F(side.MaxMs, "0.0")}", Numbers.MiB(side.PeakRssBytes), Numbers.MiB(side.PeakOverSetupBytes));
            }
            table.WriteText(w);
            w.WriteLine(r.Ratio is double ratio
                ? $"ratio (Torchwright/PyTorch images/s) = {F(ratio, "0.00")}"
                : $"ratio (Torchwright/PyTorch images/s) = n/a ({r.ReferenceProblem ?? "--no-reference"})");
            w.WriteLine("peak RSS: the side's process's resident-set high-water mark over the timed iterations (VmHWM after clear_refs)");
            w.WriteLine("setup RSS: its resident set with model, weights and batch loaded, before the first iteration");
        }

        public static void WriteJson(TextWriter w, BenchResult r)
        {
            var s = r.Settings;
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteString("name", r.Architecture);
                json.WriteString("mode", Mode(s));
                json.WriteString("device", s.Device.ToString());
                json.WriteStartArray("input");
                foreach (var d in r.InputShape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteNumber("batch", s.Batch);
                json.WriteNumber("threads", s.Threads);
                json.WriteNumber("warmup", s.Warmup);
                json.WriteNumber("iterations", s.Iterations);
                if (r.TorchVersion != null) json.WriteString("torch", r.TorchVersion);
                json.WriteStartArray("sides");
                foreach (var side in new[] { r.Torchwright, r.PyTorch })
                {
                    if (side is null) continue;
                    json.WriteStartObject();
                    json.WriteString("side", side.Name);
                    json.WriteNumber("images_per_s", side.ImagesPerSecond(s.Batch));
                    json.WriteNumber("ms_per_batch", side.MedianMs);
                    json.WriteStartArray("ms");
                    foreach (var ms in side.Milliseconds) json.WriteNumberValue(ms);
                    json.WriteEndArray();
                    json.WriteNumber("setup_rss_bytes", side.SetupRssBytes);
                    json.WriteNumber("peak_rss_bytes", side.PeakRssBytes);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                if (r.Ratio is double ratio) json.WriteNumber("ratio", ratio);
                else json.WriteNull("ratio");
                if (r.ReferenceProblem != null) json.WriteString("reference_problem", r.ReferenceProblem);
                json.WriteEndObject();
            }
            w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        private static string Mode(BenchSettings s) => s.Mode == BenchMode.Train ? "train" : "infer";

        private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
    }
}
