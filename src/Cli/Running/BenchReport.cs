using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;
using Torchwright.Cli.Output;

namespace Torchwright.Cli.Running
{
    /// <summary>Prints a <see cref="BenchResult"/> as tables (speed and memory, then compute and page faults) with the ratio
    /// line and how each number is derived, or as JSON (docs/cli.md describes both).</summary>
    internal static class BenchReport
    {
        public static void WriteText(TextWriter w, BenchResult r)
        {
            var s = r.Settings;
            w.WriteLine($"{r.Architecture} ({Mode(s)}, {PrecisionLabel(s.Precision)}): input {string.Join("x", r.InputShape)} on {s.Device}, {Numbers.Plural(s.Threads, "thread")} on both sides");
            w.WriteLine($"Torchwright: the emitted C# on {r.Engines.Torchwright}");
            if (r.Engines.PyTorch is { } pt)
                w.WriteLine($"PyTorch:     the reference network, eager, on {pt} -- its own libtorch, not {r.Engines.LibTorchVersion}");
            w.WriteLine($"{s.Warmup} warm-up + {Numbers.Plural(s.Iterations, "timed iteration")} per side, sides alternating iteration by iteration; ms/batch is the median");
            var table = new TextTable(("side", false), ("images/s", true), ("ms/batch (median)", true), ("ms min..max", true),
                ("peak RSS", true), ("peak - setup RSS", true));
            foreach (var side in Sides(r))
            {
                table.Add(side.Name, F(side.ImagesPerSecond(s.Batch), "0.00"), F(side.MedianMs, "0.0"),
                    $"{F(side.MinMs, "0.0")}..{F(side.MaxMs, "0.0")}", Numbers.MiB(side.PeakRssBytes), Numbers.MiB(side.PeakOverSetupBytes));
            }
            table.WriteText(w);
            w.WriteLine(r.Ratio is double ratio
                ? $"ratio (Torchwright/PyTorch images/s) = {F(ratio, "0.00")}"
                : $"ratio (Torchwright/PyTorch images/s) = n/a ({r.ReferenceProblem ?? "--no-reference"})");
            if (r.MixedRatio is double mixedRatio)
            {
                w.WriteLine($"ratio (Torchwright bf16-mixed/Torchwright fp32 images/s) = {F(mixedRatio, "0.00")}" +
                    (r.PyTorch is null ? "" : $"; bf16-mixed/PyTorch = {F(r.Bf16Mixed!.ImagesPerSecond(s.Batch) / r.PyTorch.ImagesPerSecond(s.Batch), "0.00")}"));
            }

            var compute = new TextTable(("side", false), ("GFLOP/s", true), ("% of derived peak", true), ("% of measured peak", true), ("page faults/iteration", true));
            foreach (var side in Sides(r))
            {
                double g = side.Gflops(s.Batch, r.FlopsPerImage);
                compute.Add(side.Name, F(g, "0.0"), r.Peak.DerivedGflops is double d ? Percent(g / d) : "n/a",
                    Percent(g / r.Peak.MeasuredGflops), Numbers.Grouped((long)Math.Round(side.FaultsPerIteration)));
            }
            compute.WriteText(w);
            w.WriteLine($"FLOPs: {Numbers.Scaled(r.FlopsPerImage)}FLOP per image = {BenchFlops.Convention(r.Macs, s.Mode)}; GFLOP/s = FLOPs per image x images/s");
            w.WriteLine(r.Peak.DerivedGflops is double derived
                ? $"derived peak (fp32): {F(derived, "0.0")} GFLOP/s = {r.Peak.DerivedHow}"
                : $"derived peak (fp32): {r.Peak.DerivedHow}");
            w.WriteLine($"measured peak: {F(r.Peak.MeasuredGflops, "0.0")} GFLOP/s = {r.Peak.MeasuredHow}");
            if (s.Precision == BenchPrecision.Bf16)
                w.WriteLine("bf16: the derived peak is the fp32 one (bf16 dot products, AVX512_BF16 or AMX, can exceed it); the measured peak is a bf16 matmul");
            if (s.Precision == BenchPrecision.Bf16Mixed)
                w.WriteLine("bf16-mixed: both peaks are fp32 ones (bf16 dot products can exceed them); peak RSS of each Torchwright row is its own iterations' high-water mark in the one process");
            if (s.Precision != BenchPrecision.Fp32)
                w.WriteLine($"bf16 instructions: {CpuPeak.Bf16Isa()}");
            w.WriteLine("peak RSS: the side's process's resident-set high-water mark over the timed iterations (VmHWM after clear_refs)");
            w.WriteLine("setup RSS: its resident set with model, weights and batch loaded, before the first iteration");
            w.WriteLine("page faults: minor + major faults of the side's process per timed iteration (memory it touched afresh)");
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
                json.WriteString("precision", PrecisionWord(s.Precision));
                if (s.Precision != BenchPrecision.Fp32) json.WriteString("bf16_isa", CpuPeak.Bf16Isa());
                json.WriteString("precision_label", PrecisionLabel(s.Precision));
                json.WriteString("device", s.Device.ToString());
                json.WriteStartArray("input");
                foreach (var d in r.InputShape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteNumber("batch", s.Batch);
                json.WriteNumber("threads", s.Threads);
                json.WriteNumber("warmup", s.Warmup);
                json.WriteNumber("iterations", s.Iterations);
                if (r.TorchVersion != null) json.WriteString("torch", r.TorchVersion);
                json.WriteStartObject("engines");
                json.WriteString("torchwright", r.Engines.Torchwright);
                json.WriteString("torchsharp", r.Engines.TorchSharpVersion);
                json.WriteString("libtorch", r.Engines.LibTorchVersion);
                if (r.Engines.PyTorch is { } pt)
                {
                    json.WriteString("pytorch", pt.ToString());
                    json.WriteString("pytorch_version", pt.Version);
                    json.WriteString("pytorch_path", pt.Path);
                    json.WriteBoolean("pytorch_debian", pt.Debian);
                }
                json.WriteEndObject();
                json.WriteNumber("macs_per_image", r.Macs);
                json.WriteNumber("flops_per_image", r.FlopsPerImage);
                json.WriteString("flops_convention", BenchFlops.Convention(r.Macs, s.Mode));
                json.WriteStartObject("peak");
                if (r.Peak.DerivedGflops is double derived) json.WriteNumber("derived_gflops", derived);
                else json.WriteNull("derived_gflops");
                json.WriteString("derived", r.Peak.DerivedHow);
                json.WriteNumber("measured_gflops", r.Peak.MeasuredGflops);
                json.WriteString("measured", r.Peak.MeasuredHow);
                json.WriteEndObject();
                json.WriteStartArray("sides");
                foreach (var side in Sides(r))
                {
                    double g = side.Gflops(s.Batch, r.FlopsPerImage);
                    json.WriteStartObject();
                    json.WriteString("side", side.Name);
                    json.WriteNumber("images_per_s", side.ImagesPerSecond(s.Batch));
                    json.WriteNumber("ms_per_batch", side.MedianMs);
                    json.WriteStartArray("ms");
                    foreach (var ms in side.Milliseconds) json.WriteNumberValue(ms);
                    json.WriteEndArray();
                    json.WriteNumber("gflops", g);
                    if (r.Peak.DerivedGflops is double d) json.WriteNumber("fraction_of_derived_peak", g / d);
                    else json.WriteNull("fraction_of_derived_peak");
                    json.WriteNumber("fraction_of_measured_peak", g / r.Peak.MeasuredGflops);
                    json.WriteStartArray("faults");
                    foreach (var f in side.Faults) json.WriteNumberValue(f);
                    json.WriteEndArray();
                    json.WriteNumber("faults_per_iteration", side.FaultsPerIteration);
                    json.WriteNumber("setup_rss_bytes", side.SetupRssBytes);
                    json.WriteNumber("peak_rss_bytes", side.PeakRssBytes);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                if (r.Ratio is double ratio) json.WriteNumber("ratio", ratio);
                else json.WriteNull("ratio");
                if (r.MixedRatio is double mixedRatio) json.WriteNumber("bf16_mixed_ratio", mixedRatio);
                if (r.ReferenceProblem != null) json.WriteString("reference_problem", r.ReferenceProblem);
                json.WriteEndObject();
            }
            w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        /// <summary>What --precision did, in words: bf16 is a cast, not autocast.</summary>
        public static string PrecisionLabel(BenchPrecision p) => p switch
        {
            BenchPrecision.Bf16 => "bf16 (weights and activations cast, no autocast)",
            BenchPrecision.Bf16Mixed => "fp32 and bf16-mixed (bf16 convolutions, linears and attention matmuls, fp32 norms, softmax and weights; PyTorch side fp32)",
            _ => "fp32",
        };

        /// <summary>The --precision word.</summary>
        public static string PrecisionWord(BenchPrecision p) => p switch
        {
            BenchPrecision.Bf16 => "bf16",
            BenchPrecision.Bf16Mixed => "bf16-mixed",
            _ => "fp32",
        };

        private static IEnumerable<BenchSide> Sides(BenchResult r)
        {
            yield return r.Torchwright;
            if (r.Bf16Mixed is not null) yield return r.Bf16Mixed;
            if (r.PyTorch is not null) yield return r.PyTorch;
        }

        private static string Percent(double fraction) => F(100 * fraction, "0.0") + " %";

        private static string Mode(BenchSettings s) => s.Mode == BenchMode.Train ? "train" : "infer";

        private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
    }
}
