using System;
using System.CommandLine;
using Torchwright.Cli.Running;
using Torchwright.Runtime;
using TorchSharp;
using static TorchSharp.torch;

using Torchwright.Runtime.Measurement;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright bench &lt;file.arch&gt; --name N [--batch B] [--mode infer|train] [--device cpu|cuda] [--threads T]
    /// [--warmup W] [--iterations I] [--precision fp32|bf16-mixed|bf16] [--format table|json] [--python P | --no-reference] [--no-best]
    /// [--best-budget S] [--optimize] [--train-layout family|contiguous|channels-last] [--heap-profile]</c>: images/s, GFLOP/s against the machine's measured peak, page faults and peak memory of the Torchwright
    /// module (TorchSharp/libtorch; with --optimize also its inference form, with bf16-mixed also in bf16-mixed) and, in the
    /// same run, of the PyTorch reference of the same architecture (the python's own torch: Debian's PyTorch 1.13 by default)
    /// eager and on the fastest of PyTorch's own paths, on the same thread count (interleaved iterations), and the ratios.
    /// </summary>
    internal static class BenchCommand
    {
        private const string Verb = "bench";

        public static Command Create(CliContext ctx)
        {
            var file = new Argument<string>("file") { Description = "the .arch file declaring the architecture" };
            var name = new Option<string?>("--name", "-n") { Description = "architecture name (needed when the file declares several)" };
            var batch = new Option<int>("--batch", "-b") { Description = "images per batch", DefaultValueFactory = _ => 8 };
            var mode = new Option<string>("--mode", "-m") { Description = "infer (eval forward, no grad) or train (forward, cross-entropy, backward, SGD step)", DefaultValueFactory = _ => "infer" };
            mode.AcceptOnlyFromAmong("infer", "train");
            var device = new Option<string>("--device", "-d") { Description = "cpu or cuda[:index]", DefaultValueFactory = _ => "cpu" };
            var threads = new Option<int>("--threads", "-t") { Description = "intra-op threads on both sides (default: the processor count)", DefaultValueFactory = _ => Environment.ProcessorCount };
            var warmup = new Option<int>("--warmup") { Description = "untimed iterations per side first", DefaultValueFactory = _ => 2 };
            var iterations = new Option<int>("--iterations", "-i") { Description = "timed iterations per side, run in alternating rounds", DefaultValueFactory = _ => 10 };
            var precision = new Option<string>("--precision")
            {
                Description = "fp32; bf16-mixed: adds the row \"Torchwright bf16-mixed\" (bf16 convolutions, linears, attention matmuls, BatchNorm and GroupNorm; fp32 statistics, other norms, softmax and weights) beside fp32, same rounds; " +
                    "or bf16: model and input cast to bfloat16 on both sides (TorchSharp 0.107.0 has no autocast)",
                DefaultValueFactory = _ => "fp32",
            };
            precision.AcceptOnlyFromAmong("fp32", "bf16-mixed", "bf16");
            var format = new Option<string>("--format", "-f") { Description = "table or json", DefaultValueFactory = _ => "table" };
            format.AcceptOnlyFromAmong("table", "json");
            var python = new Option<string?>("--python") { Description = "python with torch for the reference side (default: $TORCHWRIGHT_PYTHON, else /usr/bin/python3)" };
            var noReference = new Option<bool>("--no-reference") { Description = "time the Torchwright side only" };
            var noBest = new Option<bool>("--no-best") { Description = "PyTorch eager only: leave out the side that runs the fastest of PyTorch's own paths (PyTorch best)" };
            var bestBudget = new Option<double?>("--best-budget")
            {
                Description = $"seconds PyTorch best may spend choosing its path (builds, checks, trials; default {BenchSettings.DefaultBestBudgetSeconds:0}): paths it could not time are listed as skipped",
            };
            var optimize = new Option<bool>("--optimize") { Description = "also time the inference-optimised module (norms folded, the family's layout) as the side \"Torchwright optimised\" (infer mode; with --precision bf16-mixed also \"Torchwright optimised bf16-mixed\")" };
            var trainLayout = new Option<string>("--train-layout")
            {
                Description = "the memory layout the Torchwright side trains in (train mode): the family's (the one measured faster, as train and sweep use), contiguous or channels-last",
                DefaultValueFactory = _ => "family",
            };
            trainLayout.AcceptOnlyFromAmong("family", "contiguous", "channels-last");
            var heapProfile = new Option<bool>("--heap-profile")
            {
                Description = "also sample glibc malloc's in-use and held bytes every 1 ms on every side (mallinfo2): the peak heap columns, which split a peak RSS into live allocations, free memory malloc keeps, and the rest",
            };
            var command = new Command(Verb, "Images/s, GFLOP/s and peak memory of an architecture, side by side with its PyTorch reference (by default Debian python3-torch 1.13, same threads)")
            {
                file, name, batch, mode, device, threads, warmup, iterations, precision, format, python, noReference, noBest, bestBudget, optimize, trainLayout, heapProfile,
            };
            command.SetAction(parse => TorchEngine.Missing(ctx, Verb) ?? Run(ctx, parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(batch), parse.GetValue(mode)!,
                parse.GetValue(device)!, parse.GetValue(threads), parse.GetValue(warmup), parse.GetValue(iterations), parse.GetValue(format)!,
                parse.GetValue(noReference) ? null : parse.GetValue(python) ?? DefaultPython, parse.GetValue(precision)!, !parse.GetValue(noBest), parse.GetValue(optimize),
                parse.GetValue(bestBudget), parse.GetValue(trainLayout)!, parse.GetValue(heapProfile)));
            return command;
        }

        /// <summary>$TORCHWRIGHT_PYTHON when set (as the reference tests use), else Debian's python3 with python3-torch.</summary>
        public static string DefaultPython => Environment.GetEnvironmentVariable("TORCHWRIGHT_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

        public static int Run(CliContext ctx, string file, string? name, int batch, string mode, string deviceName,
            int threads, int warmup, int iterations, string format, string? python, string precision = "fp32", bool pytorchBest = true, bool optimize = false,
            double? bestBudget = null, string trainLayout = "family", bool heapProfile = false)
        {
            foreach (var (option, value, min) in new[] { ("--batch", batch, 1), ("--threads", threads, 1), ("--warmup", warmup, 0), ("--iterations", iterations, 1) })
                if (value < min)
                {
                    ctx.Error.WriteLine($"torchwright {Verb}: {option} must be at least {min} (got {value})");
                    return ExitCodes.Usage;
                }
            if (bestBudget is double budget)
            {
                // Only PyTorch best chooses a path: a budget without it would have no effect.
                string? without = python == null ? "--no-reference" : !pytorchBest ? "--no-best" : null;
                if (without != null)
                {
                    ctx.Error.WriteLine($"torchwright {Verb}: --best-budget bounds how PyTorch best chooses its path, which {without} leaves out: drop one of them");
                    return ExitCodes.Usage;
                }
                if (!(budget >= 0) || double.IsInfinity(budget))
                {
                    ctx.Error.WriteLine($"torchwright {Verb}: --best-budget must be a number of seconds, 0 or more (got {budget.ToString(System.Globalization.CultureInfo.InvariantCulture)})");
                    return ExitCodes.Usage;
                }
            }
            if (optimize && mode == "train")
            {
                ctx.Error.WriteLine($"torchwright {Verb}: --optimize times the inference-optimised module, which cannot train (its norms are folded): use --mode infer");
                return ExitCodes.Usage;
            }
            if (trainLayout != "family" && mode != "train")
            {
                ctx.Error.WriteLine($"torchwright {Verb}: --train-layout {trainLayout} sets the layout of training; use --mode train, or --optimize for the inference layout");
                return ExitCodes.Usage;
            }
            if (heapProfile && !HeapSampler.Available)
            {
                ctx.Error.WriteLine($"torchwright {Verb}: --heap-profile reads glibc's mallinfo2 (glibc 2.33 or later), which this C library does not have: drop --heap-profile");
                return ExitCodes.Usage;
            }
            if (!CommandSupport.TryGetDevice(ctx, Verb, deviceName, out var device)) return ExitCodes.Usage;

            var ws = CommandSupport.LoadOrReport(ctx, Verb, new[] { file }, allowDirectories: false);
            if (ws == null) return ExitCodes.Usage;
            var arch = CommandSupport.CompileOne(ctx, Verb, ws, file, name, out var compileExit);
            if (arch == null) return compileExit;

            var settings = new BenchSettings(batch, mode == "train" ? BenchMode.Train : BenchMode.Infer, device, warmup, iterations, threads, python,
                precision switch { "bf16" => BenchPrecision.Bf16, "bf16-mixed" => BenchPrecision.Bf16Mixed, _ => BenchPrecision.Fp32 }, pytorchBest, optimize,
                bestBudget ?? BenchSettings.DefaultBestBudgetSeconds,
                trainLayout switch { "contiguous" => false, "channels-last" => true, _ => (bool?)null }, heapProfile);
            BenchResult bench;
            try
            {
                bench = BenchRunner.Run(arch, settings, problem => ctx.Error.WriteLine($"torchwright {Verb}: PyTorch side not run: {problem}"));
            }
            catch (ModuleBuildException e)
            {
                ctx.Error.WriteLine($"torchwright {Verb}: {e.Message}");
                return ExitCodes.DeclarationErrors;
            }
            catch (Exception e) when (e is ArgumentException || e is System.Runtime.InteropServices.ExternalException || e is InvalidOperationException)
            {
                // Shape guards and libtorch errors (e.g. out of memory at this batch size) say what is wrong.
                ctx.Error.WriteLine($"torchwright {Verb}: {arch.Name} failed: {e.Message}");
                return ExitCodes.DeclarationErrors;
            }
            if (format == "json") BenchReport.WriteJson(ctx.Out, bench);
            else BenchReport.WriteText(ctx.Out, bench);
            return ExitCodes.Ok;
        }
    }
}
