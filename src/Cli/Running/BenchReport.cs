using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
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
            w.WriteLine($"{r.Architecture} ({Mode(s)}, {PrecisionLabel(s.Precision)}): input {string.Join("x", r.InputShape)} on {s.Device}, {Numbers.Plural(s.Threads, "thread")} on every side");
            w.WriteLine($"Torchwright: the emitted C# on {r.Engines.Torchwright}");
            if (r.Engines.PyTorch is { } pt)
                w.WriteLine($"PyTorch:     the reference network on {pt} -- its own libtorch, not {r.Engines.LibTorchVersion}; " +
                    (r.PyTorchBest is null ? "eager" : "eager, and the fastest of its own paths (PyTorch best)"));
            w.WriteLine($"ISA: {CpuIsa.Describe(r.Peak.Isa)} (from /proc/cpuinfo flags)");
            w.WriteLine($"{s.Warmup} warm-up + {Numbers.Plural(s.Iterations, "timed iteration")} per side, sides alternating iteration by iteration; ms/batch is the median");
            var columns = new List<(string, bool)> { ("side", false), ("images/s", true), ("ms/batch (median)", true), ("ms min..max", true),
                ("peak RSS", true), ("peak - setup RSS", true) };
            if (s.HeapProfile) columns.AddRange(new[] { ("heap in use at start", true), ("peak heap in use", true), ("peak heap held", true) });
            var table = new TextTable(columns.ToArray());
            foreach (var side in r.Sides)
            {
                var cells = new List<string> { Label(side), F(side.ImagesPerSecond(s.Batch), "0.00"), F(side.MedianMs, "0.0"),
                    $"{F(side.MinMs, "0.0")}..{F(side.MaxMs, "0.0")}", Numbers.MiB(side.PeakRssBytes), Numbers.MiB(side.PeakOverSetupBytes) };
                if (s.HeapProfile)
                    cells.AddRange(side.Heap is { } heap
                        ? new[] { Numbers.MiB(heap.StartInUseBytes), Numbers.MiB(heap.InUseBytes), Numbers.MiB(heap.HeldBytes) } : new[] { "n/a", "n/a", "n/a" });
                table.Add(cells.ToArray());
            }
            table.WriteText(w);
            w.WriteLine(r.Ratio is double ratio
                ? $"ratio (Torchwright/PyTorch eager images/s) = {F(ratio, "0.00")}"
                : $"ratio (Torchwright/PyTorch eager images/s) = n/a ({r.ReferenceProblem ?? "--no-reference"})");
            if (s.PyTorchBest && s.Python != null)
                w.WriteLine(r.RatioBest is double best
                    ? $"ratio (Torchwright/PyTorch best images/s) = {F(best, "0.00")}"
                    : $"ratio (Torchwright/PyTorch best images/s) = n/a ({r.BestProblem ?? r.ReferenceProblem})");
            if (r.OptimisedSpeedup is double speedup)
                w.WriteLine($"optimised: {F(speedup, "0.00")}x plain Torchwright"
                    + (r.OptimisedRatio is double o ? $", {F(o, "0.00")}x PyTorch eager" : "")
                    + (r.OptimisedRatioBest is double ob ? $", {F(ob, "0.00")}x PyTorch best" : "")
                    + (r.Bf16Mixed is null ? " (the Torchwright sides share one process: one peak RSS)" : ""));
            if (r.PyTorchBest is { Candidates: { } candidates } pb)
                w.WriteLine($"PyTorch best ran {pb.Path}, the lowest median of up to {BenchSettings.PathTrials} round-robin trial iterations per path " +
                    $"within a {F(s.BestBudgetSeconds, "0.###")} s budget (the choice took {F(pb.SelectionSeconds ?? 0, "0.0")} s): " +
                    string.Join("; ", candidates.Select(Candidate)));
            if (r.MixedRatio is double mixedRatio)
                w.WriteLine($"ratio (Torchwright bf16-mixed/Torchwright fp32 images/s) = {F(mixedRatio, "0.00")}"
                    + (r.MixedRatioEager is double me ? $"; bf16-mixed/PyTorch eager = {F(me, "0.00")}" : "")
                    + (r.MixedRatioBest is double mb ? $"; bf16-mixed/PyTorch best = {F(mb, "0.00")}" : ""));
            if (r.OptimisedMixedSpeedup is double om)
                w.WriteLine($"optimised bf16-mixed: {F(om, "0.00")}x plain Torchwright fp32, {F(r.OptimisedMixedOverOptimised!.Value, "0.00")}x optimised fp32");

            var compute = new TextTable(("side", false), ("GFLOP/s", true), ("% of measured peak", true), ("page faults/iteration", true));
            foreach (var side in r.Sides)
            {
                double g = side.Gflops(s.Batch, r.FlopsPerImage);
                compute.Add(Label(side), F(g, "0.0"), Percent(g / r.Peak.Measured.Gflops), Numbers.Grouped((long)Math.Round(side.FaultsPerIteration)));
            }
            compute.WriteText(w);
            w.WriteLine($"FLOPs: {Numbers.Scaled(r.FlopsPerImage)}FLOP per image = {BenchFlops.Convention(r.Macs, s.Mode)}; GFLOP/s = FLOPs per image x images/s");
            foreach (var m in new[] { r.Peak.Fp32, r.Peak.Bf16 })
                if (m != null) w.WriteLine($"measured peak ({m.Precision}): {F(m.Gflops, "0.0")} GFLOP/s = {m.How}");
            w.WriteLine($"% of measured peak: against the measured {r.Peak.Measured.Precision} peak, not the derived one below (" +
                (r.Peak.DerivedGflops is double d && d < r.Peak.Fp32.Gflops
                    ? "which assumes the nominal clock and understates it here)"
                    : "the matmul measured below it: the machine was busy while it ran, or runs below the clock cpuinfo gives)"));
            w.WriteLine(r.Peak.DerivedGflops is double derived
                ? $"derived peak (fp32): {F(derived, "0.0")} GFLOP/s = {r.Peak.DerivedHow}"
                : $"derived peak (fp32): {r.Peak.DerivedHow}");
            if (s.Precision == BenchPrecision.Bf16Mixed)
                w.WriteLine("bf16-mixed: % of measured peak is against the fp32 matmul (bf16 dot products can exceed it); peak RSS of each Torchwright row is its own iterations' high-water mark in the one process");
            if (s.Precision != BenchPrecision.Fp32)
                w.WriteLine($"bf16 instructions: {CpuIsa.Bf16Note(r.Peak.Isa)}");
            w.WriteLine("peak RSS: the side's process's resident-set high-water mark over the timed iterations (VmHWM after clear_refs)");
            w.WriteLine("setup RSS: its resident set with model, weights and batch loaded, before the first iteration");
            w.WriteLine("page faults: minor + major faults of the side's process per timed iteration (memory it touched afresh)");
            if (s.HeapProfile)
                w.WriteLine("peak heap: glibc malloc's bytes in use (live allocations: tensors and native buffers) and held (in use plus the free chunks it keeps), largest of samples every 1 ms (mallinfo2) over the timed iterations, and in use at their start (weights, optimizer state, the runtimes' own state); peak RSS minus held is memory malloc does not manage (.NET or Python heap, code, stacks)");
        }

        /// <summary>One tried path in the "PyTorch best ran" line: median and trial count, and why it was timed less or not at all.</summary>
        private static string Candidate(BenchCandidate c) =>
            c.Error != null ? $"{c.Path} not possible ({c.Error})"
            : c.Skipped != null ? $"{c.Path} not timed ({c.Skipped})"
            : $"{c.Path} {F(c.Ms ?? 0, "0.0")} ms x{c.Trials}" + (c.Stopped != null ? $" (stopped at {c.Stopped})" : "");

        /// <summary>The side's table label: "PyTorch best" says which path it ran.</summary>
        private static string Label(BenchSide side) => side.Path is { } path ? $"{side.Name} ({path})" : side.Name;

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
                if (s.Precision != BenchPrecision.Fp32) json.WriteString("bf16_isa", CpuIsa.Bf16Note(r.Peak.Isa));
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
                json.WriteStartArray("isa");
                foreach (var isa in r.Peak.Isa) json.WriteStringValue(isa);
                json.WriteEndArray();
                json.WriteStartObject("peak");
                if (r.Peak.DerivedGflops is double derived) json.WriteNumber("derived_gflops", derived);
                else json.WriteNull("derived_gflops");
                json.WriteString("derived", r.Peak.DerivedHow);
                json.WriteNumber("measured_gflops", r.Peak.Measured.Gflops);
                json.WriteString("measured", r.Peak.Measured.How);
                json.WriteNumber("measured_fp32_gflops", r.Peak.Fp32.Gflops);
                if (r.Peak.Bf16 is { } bf16) json.WriteNumber("measured_bf16_gflops", bf16.Gflops);
                else json.WriteNull("measured_bf16_gflops");
                json.WriteEndObject();
                json.WriteStartArray("sides");
                foreach (var side in r.Sides)
                {
                    double g = side.Gflops(s.Batch, r.FlopsPerImage);
                    json.WriteStartObject();
                    json.WriteString("side", side.Name);
                    if (side.Path != null) json.WriteString("path", side.Path);
                    if (side.Candidates != null)
                    {
                        json.WriteStartArray("candidates");
                        foreach (var c in side.Candidates)
                        {
                            json.WriteStartObject();
                            json.WriteString("path", c.Path);
                            json.WriteNumber("trials", c.Trials);
                            if (c.Ms is double cms) json.WriteNumber("ms", cms);
                            if (c.Parity is double parity) json.WriteNumber("parity", parity);
                            if (c.Error != null) json.WriteString("error", c.Error);
                            if (c.Skipped != null) json.WriteString("skipped", c.Skipped);
                            if (c.Stopped != null) json.WriteString("stopped", c.Stopped);
                            json.WriteEndObject();
                        }
                        json.WriteEndArray();
                        json.WriteNumber("selection_budget_s", s.BestBudgetSeconds);
                        if (side.SelectionSeconds is double took) json.WriteNumber("selection_s", took);
                    }
                    json.WriteNumber("images_per_s", side.ImagesPerSecond(s.Batch));
                    json.WriteNumber("ms_per_batch", side.MedianMs);
                    json.WriteStartArray("ms");
                    foreach (var ms in side.Milliseconds) json.WriteNumberValue(ms);
                    json.WriteEndArray();
                    json.WriteNumber("gflops", g);
                    if (r.Peak.DerivedGflops is double d) json.WriteNumber("fraction_of_derived_peak", g / d);
                    else json.WriteNull("fraction_of_derived_peak");
                    json.WriteNumber("fraction_of_measured_peak", g / r.Peak.Measured.Gflops);
                    json.WriteStartArray("faults");
                    foreach (var f in side.Faults) json.WriteNumberValue(f);
                    json.WriteEndArray();
                    json.WriteNumber("faults_per_iteration", side.FaultsPerIteration);
                    json.WriteNumber("setup_rss_bytes", side.SetupRssBytes);
                    json.WriteNumber("peak_rss_bytes", side.PeakRssBytes);
                    if (side.Heap is { } heap)
                    {
                        json.WriteNumber("peak_heap_in_use_bytes", heap.InUseBytes);
                        json.WriteNumber("peak_heap_held_bytes", heap.HeldBytes);
                        json.WriteNumber("heap_in_use_at_start_bytes", heap.StartInUseBytes);
                    }
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                if (r.Ratio is double ratio) json.WriteNumber("ratio", ratio);
                else json.WriteNull("ratio");
                if (r.RatioBest is double ratioBest) json.WriteNumber("ratio_best", ratioBest);
                else json.WriteNull("ratio_best");
                if (r.OptimisedRatio is double optimisedRatio) json.WriteNumber("ratio_optimised", optimisedRatio);
                if (r.OptimisedRatioBest is double optimisedRatioBest) json.WriteNumber("ratio_optimised_best", optimisedRatioBest);
                if (r.OptimisedSpeedup is double speedup) json.WriteNumber("optimised_speedup", speedup);
                if (r.MixedRatio is double mixedRatio) json.WriteNumber("bf16_mixed_ratio", mixedRatio);
                if (r.MixedRatioEager is double mixedEager) json.WriteNumber("bf16_mixed_ratio_eager", mixedEager);
                if (r.MixedRatioBest is double mixedBest) json.WriteNumber("bf16_mixed_ratio_best", mixedBest);
                if (r.OptimisedMixedSpeedup is double om) json.WriteNumber("optimised_bf16_mixed_speedup", om);
                if (r.OptimisedMixedOverOptimised is double oo) json.WriteNumber("optimised_bf16_mixed_over_optimised", oo);
                if (r.ReferenceProblem != null) json.WriteString("reference_problem", r.ReferenceProblem);
                if (r.BestProblem != null) json.WriteString("best_problem", r.BestProblem);
                json.WriteEndObject();
            }
            w.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
        }

        /// <summary>What --precision did, in words: bf16 is a cast, not autocast.</summary>
        public static string PrecisionLabel(BenchPrecision p) => p switch
        {
            BenchPrecision.Bf16 => "bf16 (weights and activations cast, no autocast)",
            BenchPrecision.Bf16Mixed => "fp32 and bf16-mixed (bf16 convolutions, linears, attention matmuls, BatchNorm and GroupNorm; fp32 statistics, other norms, softmax and weights; PyTorch side fp32)",
            _ => "fp32",
        };

        /// <summary>The --precision word.</summary>
        public static string PrecisionWord(BenchPrecision p) => p switch
        {
            BenchPrecision.Bf16 => "bf16",
            BenchPrecision.Bf16Mixed => "bf16-mixed",
            _ => "fp32",
        };

        private static string Percent(double fraction) => F(100 * fraction, "0.0") + " %";

        private static string Mode(BenchSettings s) => s.Mode == BenchMode.Train ? "train" : "infer";

        private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
    }
}
