using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Torchwright.Cli.Loading;
using Torchwright.Cli.Output;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Runtime;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Runtime.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright train &lt;file.arch&gt; [--name N] --dataset D --out DIR [--resume] [--save-every N] [--eval-every N|Ne]
    /// [--tensorboard DIR] [--init FILE [--weights-from none|timm]] [--freeze K] [--workers N] [--device D] [--threads T]
    /// [--progress auto|live|plain] [--skip-bad-images] [--SETTING VALUE ...]</c>: builds the architecture (emitted and
    /// compiled in-process), optionally starts from a checkpoint, trains it with the settings of
    /// <see cref="TrainSettings.Catalog"/> and keeps everything in DIR (<see cref="TrainCheckpoint"/>).
    /// </summary>
    internal static class TrainCommand
    {
        public static Command Create(CliContext ctx)
        {
            var file = new Argument<string>("file") { Description = "the .arch file declaring the architecture" };
            var name = new Option<string?>("--name", "-n") { Description = "the architecture to train (needed when the file declares several)" };
            var dataset = new Option<string>("--dataset") { Description = "shapes[:SIZE][:n=N][:test=N] (embedded), cifar10:DIR, or imagefolder:DIR (DIR/train/CLASS/*, DIR/val/CLASS/*)", Required = true };
            var output = new Option<string>("--out", "-o") { Description = "folder of the run: last.safetensors, best.safetensors, state.safetensors (to resume), log.json, log.csv", Required = true };
            var resume = new Option<bool>("--resume") { Description = "continue the run saved in --out (from its last state; a fresh start when it has none yet)" };
            var saveEvery = new Option<int?>("--save-every") { Description = "also save the state every N steps (default: every 5 minutes of training; always at every evaluation and at the end)" };
            var evalEvery = new Option<string?>("--eval-every") { Description = "evaluate (and save) every N steps or Ne epochs, e.g. 500 or 1e (default 1e; always at the end)" };
            var tensorboard = new Option<string?>("--tensorboard") { Description = "also write TensorBoard event files (loss, lr, accuracy) to this folder" };
            var init = new Option<string?>("--init") { Description = "start from this checkpoint (.safetensors, or a PyTorch .pth/.pt): loaded strictly, except a classifier for another class count, which is re-initialised" };
            var from = new Option<string>("--weights-from") { Description = "whose names --init uses: none (Torchwright's = torchvision's) or timm (timm ByobNet names); see docs/weights.md", DefaultValueFactory = _ => "none" };
            var freeze = new Option<int?>("--freeze") { Description = "train without the stem and the first K stages: no gradients, their BatchNorm in eval mode (0: the stem only)" };
            var workers = new Option<int>("--workers") { Description = "threads that decode and augment training images (the batches do not depend on it)", DefaultValueFactory = _ => 1 };
            var device = new Option<string>("--device", "-d") { Description = "cpu or cuda[:index]", DefaultValueFactory = _ => "cpu" };
            var threads = new Option<int?>("--threads") { Description = "CPU threads for libtorch (default: libtorch's choice)" };
            var progress = new Option<string>("--progress") { Description = "auto (a live bar on a terminal, plain lines otherwise), live, or plain", DefaultValueFactory = _ => "auto" };
            progress.AcceptOnlyFromAmong("auto", "live", "plain");
            var skipBad = new Option<bool>("--skip-bad-images") { Description = "image folders: skip (and count) files that cannot be decoded instead of stopping at the first" };
            var settings = new SettingOptions(("batch", "-b"));
            var command = new Command("train", "Train one architecture on a dataset, keeping its weights, a resumable state and the curves")
            {
                file, name, dataset, output, resume, saveEvery, evalEvery, tensorboard, init, from, freeze, workers, device, threads, progress, skipBad,
            };
            foreach (var option in settings.Options) command.Options.Add(option);
            command.SetAction(parse =>
            {
                // The flags' values are checked here (usage errors); the run's settings are the architecture's train.NAME
                // settings with the given flags applied over them (Run).
                var train = settings.Read(parse, TrainSettings.Default, out var settingError);
                if (train == null) return Usage(ctx, settingError!);
                return TorchEngine.Missing(ctx, "train") ?? Run(ctx, new Request(
                    parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(dataset)!, parse.GetValue(output)!, parse.GetValue(resume),
                    parse.GetValue(saveEvery), parse.GetValue(evalEvery), parse.GetValue(tensorboard), parse.GetValue(init), parse.GetValue(from)!,
                    parse.GetValue(freeze), parse.GetValue(workers), parse.GetValue(device)!, parse.GetValue(threads), parse.GetValue(progress)!,
                    parse.GetValue(skipBad), settings.Given(parse)));
            });
            return command;
        }

        internal sealed record Request(
            string File, string? Name, string Dataset, string Out, bool Resume, int? SaveEvery, string? EvalEvery, string? TensorBoard,
            string? Init, string WeightsFrom, int? Freeze, int Workers, string Device, int? Threads, string Progress, bool SkipBadImages,
            IReadOnlyList<KeyValuePair<string, string>> SettingFlags)
        {
            /// <summary>The run's settings: the architecture's train.NAME settings, then <see cref="SettingFlags"/> (set in Run).</summary>
            public TrainSettings Settings { get; init; } = TrainSettings.Default;
        }

        private static int Usage(CliContext ctx, string message)
        {
            ctx.Error.WriteLine("torchwright train: " + message);
            return ExitCodes.Usage;
        }

        private static int Failed(CliContext ctx, string message)
        {
            ctx.Error.WriteLine("torchwright train: " + message);
            return ExitCodes.DeclarationErrors;
        }

        internal static int Run(CliContext ctx, Request r)
        {
            // --- options that need no file -----------------------------------------------------------------------
            if (r.SaveEvery is < 1) return Usage(ctx, $"--save-every must be at least 1 step (got {r.SaveEvery})");
            if (r.Workers < 1) return Usage(ctx, $"--workers must be at least 1 (got {r.Workers})");
            if (r.Threads is < 1) return Usage(ctx, $"--threads must be at least 1 (got {r.Threads})");
            if (r.Freeze is < 0) return Usage(ctx, $"--freeze must be 0 (the stem) or more (the stem and that many stages), not {r.Freeze}");
            Cadence evalEvery;
            try { evalEvery = Cadence.Parse(r.EvalEvery ?? "1e"); }
            catch (FormatException e) { return Usage(ctx, "--eval-every: " + e.Message); }
            KeyMap keyMap;
            try { keyMap = KeyMaps.Get(r.WeightsFrom); }
            catch (ArgumentException e) { return Usage(ctx, $"--weights-from: {e.Message.Split(" (Parameter")[0]}"); }
            if (r.WeightsFrom != "none" && r.Init == null) return Usage(ctx, "--weights-from names the key layout of --init; give --init FILE too");
            if (r.Init != null)
            {
                if (Directory.Exists(r.Init)) return Failed(ctx, $"--init {r.Init} is a directory; give the checkpoint file");
                if (!File.Exists(r.Init)) return Usage(ctx, $"--init: file not found: {r.Init}");
            }
            if (File.Exists(r.Out)) return Usage(ctx, $"--out {r.Out} is a file; give a folder for the run");
            if (!CommandSupport.TryGetDevice(ctx, "train", r.Device, out var device)) return ExitCodes.Usage;

            // --- the architecture ----------------------------------------------------------------------------------
            var ws = CommandSupport.LoadOrReport(ctx, "train", new[] { r.File }, allowDirectories: false);
            if (ws == null) return ExitCodes.Usage;
            var arch = CommandSupport.CompileOne(ctx, "train", ws, r.File, r.Name, out var compileExit);
            if (arch == null) return compileExit;
            var declared = new List<Diagnostic>();
            TrainSettings? resolved;
            try { resolved = DeclaredTraining.Resolve(arch, r.SettingFlags, declared); }
            catch (ArgumentException e) { return Usage(ctx, e.Message.Split(" (Parameter")[0]); }
            if (resolved == null)
            {
                DiagnosticPrinter.Print(ctx.Error, declared);
                return ExitCodes.DeclarationErrors;
            }
            try { Trainer.CheckSettings(resolved); }
            catch (ArgumentException e) { return Failed(ctx, $"{arch.Name}'s train settings with the command line's: {e.Message.Split(" (Parameter")[0]}"); }
            r = r with { Settings = resolved };
            if (r.Freeze is int k && k > arch.Ir.Stages.Count)
                return Usage(ctx, $"--freeze {k}: {arch.Name} has {arch.Ir.Stages.Count} stages; give 0 (the stem) to {arch.Ir.Stages.Count} (every stage: only the classifier trains)");

            // --- the data -----------------------------------------------------------------------------------------
            DatasetPair data;
            try { data = OpenDataset(r, arch); }
            catch (Exception e) when (e is ArgumentException || e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
            {
                return Usage(ctx, $"--dataset {r.Dataset}: {e.Message.Split(" (Parameter")[0]}");
            }
            var misfit = DatasetMisfit(arch, data.Train);
            if (misfit != null) return Failed(ctx, misfit);

            // --- the run folder -----------------------------------------------------------------------------------
            var statePath = Path.Combine(r.Out, TrainCheckpoint.State);
            (int Step, int Steps)? saved;
            try { saved = TrainCheckpoint.Peek(r.Out); }
            catch (TrainStateException e) { return Failed(ctx, e.Message); }
            if (saved != null && !r.Resume)
                return Usage(ctx, $"{r.Out} holds the state of a run (step {saved.Value.Step} of {saved.Value.Steps}); pass --resume to continue it, or give another --out");
            var steps = Trainer.StepsOf(r.Settings, data.Train.Count);
            ctx.Out.WriteLine($"train {arch.Name}: {Numbers.Grouped(arch.Costs.Params)} params, {Numbers.Scaled(arch.Costs.Macs)}MACs; {data.Description}; "
                + $"{steps} steps of batch {r.Settings.Batch}, {(r.Settings.Optimizer == OptimizerKind.AdamW ? "adamw" : "sgd")} lr {Text(r.Settings.LearningRate)}, seed {r.Settings.Seed}, {r.Device}"
                + (saved != null ? $"; resuming from step {saved.Value.Step}" : ""));

            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            var previousThreads = torch.get_num_threads();
            try
            {
                if (r.Threads is int t) torch.set_num_threads(t);
                using var model = Trainer.CreateModel(() => ModuleCompiler.BuildForTraining(arch), r.Settings);
                if (r.Init != null) LoadInit(ctx, model, arch, r.Init, keyMap);
                if (r.Freeze is int frozen) ctx.Out.WriteLine(Freeze(model, arch, frozen));
                var run = new TrainRun
                {
                    Device = device,
                    Threads = r.Threads,
                    Workers = r.Workers,
                    Directory = r.Out,
                    Resume = r.Resume,
                    SaveEvery = r.SaveEvery,
                    EvalEvery = evalEvery,
                    TensorBoard = r.TensorBoard,
                    Identity = Identity(arch, r),
                };
                bool live = r.Progress == "live" || (r.Progress == "auto" && ReferenceEquals(ctx.Out, Console.Out) && SweepProgress.TerminalIsInteractive());
                var result = TrainProgressDisplay.Run(ctx.Out, live, arch.Name, steps, saved?.Step ?? 0,
                    progress => Trainer.Train(model, data, r.Settings, run, progress, cancel.Token));
                var last = result.Evaluations[^1];
                ctx.Out.WriteLine($"{arch.Name}: {steps} steps done ({(result.ResumedFromStep > 0 ? $"resumed at step {result.ResumedFromStep}, " : "")}"
                    + $"{result.Duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s, {SweepProgress.Rate(result.ImagesPerSecond)}): "
                    + $"eval acc {SweepProgress.Percent(last.Accuracy)}, loss {SweepProgress.Loss(last.Loss)}"
                    + (last.EmaAccuracy is double ea ? $"; EMA acc {SweepProgress.Percent(ea)}, loss {SweepProgress.Loss(last.EmaLoss!.Value)}" : "")
                    + $"; best {SweepProgress.Percent(result.BestAccuracy)} at step {result.BestStep}");
                ctx.Out.WriteLine($"wrote {Path.Combine(r.Out, TrainCheckpoint.Best)} (best), {TrainCheckpoint.Last}, {TrainCheckpoint.State}, {TrainCheckpoint.LogJson}, {TrainCheckpoint.LogCsv}"
                    + (r.Settings.Ema > 0 ? $", {TrainCheckpoint.BestEma}, {TrainCheckpoint.Ema}" : "")
                    + (r.TensorBoard != null ? $"; TensorBoard events in {r.TensorBoard}" : ""));
                return ExitCodes.Ok;
            }
            catch (OperationCanceledException)
            {
                var at = TrainCheckpoint.Peek(r.Out);
                return Failed(ctx, "interrupted" + (at != null ? $"; the last saved state is step {at.Value.Step} of {at.Value.Steps}: continue with the same command and --resume" : "; nothing was saved yet"));
            }
            catch (TrainingDivergedException e) { return Failed(ctx, e.Message); }
            catch (TrainStateException e) { return Failed(ctx, e.Message); }
            catch (CheckpointMismatchException e) { return Failed(ctx, "--init: " + e.Message); }
            catch (Exception e) when (e is ArgumentException || e is InvalidDataException || e is IOException || e is UnauthorizedAccessException
                || e is ModuleBuildException || e is System.Runtime.InteropServices.ExternalException || e is NotSupportedException)
            {
                // libtorch's messages carry its C++ stack after the first line.
                return Failed(ctx, e.Message.Split('\n')[0].Split(" (Parameter")[0]);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
                torch.set_num_threads(previousThreads);
            }
        }

        /// <summary>The dataset of the run, for the architecture's input size and the run's augmentation.</summary>
        private static DatasetPair OpenDataset(Request r, CheckedArchitecture arch) =>
            Datasets.Open(r.Dataset, Options(arch, r.Dataset, r.Settings, r.SkipBadImages, r.Workers));

        /// <summary>How <c>train</c> and <c>sweep</c> open their dataset for an architecture: image folders at its input
        /// size (the in-memory sets keep their own, so that a misfit is reported with the declaration to change), with the
        /// run's augmentation, <c>--skip-bad-images</c> and <c>--workers</c>.</summary>
        internal static DatasetOptions Options(CheckedArchitecture arch, string spec, TrainSettings settings, bool skipBadImages, int workers) => new DatasetOptions
        {
            ImageSize = spec.StartsWith("imagefolder:", StringComparison.Ordinal) ? (int)arch.Ir.Input.H : null,
            Augment = settings.Augment,
            SkipBadImages = skipBadImages,
            Workers = workers,
        };

        /// <summary>Why the architecture cannot train on the dataset (input shape, class count), with the fix; null when it fits.</summary>
        private static string? DatasetMisfit(CheckedArchitecture arch, IImageDataset data)
        {
            var problems = new List<string>();
            var input = arch.Ir.Input;
            var images = $"{data.Channels}x{data.Height}x{data.Width}";
            if (input.C != data.Channels || (arch.Ir.InputDeclared && (input.H != data.Height || input.W != data.Width)))
                problems.Add($"{arch.Name} declares input {input} but {data.Name} images are {images}: declare input = {images}");
            if (arch.Ir.Classes != data.Classes)
                problems.Add($"{arch.Name} declares classes = {arch.Ir.Classes} but {data.Name} has {data.Classes}: declare classes = {data.Classes} "
                    + $"(e.g. arch {arch.Name}{data.Classes} : {arch.Name} {{ classes = {data.Classes} }}; with --init, a checkpoint's classifier for another class count is re-initialised)");
            return problems.Count == 0 ? null : string.Join("; ", problems);
        }

        /// <summary>Loads --init strictly; a classifier whose shape alone differs (another class count) keeps its fresh
        /// initialisation, and the output says so. Any other mismatch is the strict error.</summary>
        private static void LoadInit(CliContext ctx, nn.Module model, CheckedArchitecture arch, string path, KeyMap keyMap)
        {
            using var file = TensorFiles.Read(path);
            try
            {
                var report = model.LoadWeights(file, strict: true, keyMap);
                ctx.Out.WriteLine($"--init: {report.Summary}");
                return;
            }
            catch (CheckpointMismatchException e) when (OnlyClassifierDiffers(e.Report, arch))
            {
                var report = model.LoadWeights(file, strict: false, keyMap);
                ctx.Out.WriteLine($"--init: {report.Summary}; the classifier ({string.Join(", ", e.Report.ShapeMismatched)}) does not fit "
                    + $"{arch.Ir.Classes} classes: re-initialised");
            }
        }

        private static bool OnlyClassifierDiffers(LoadReport report, CheckedArchitecture arch)
        {
            var head = arch.Ir.Family.Head + ".";
            return report.Missing.Count == 0 && report.Unexpected.Count == 0 && report.DTypeMismatched.Count == 0
                && report.ShapeMismatched.Count > 0 && report.ShapeMismatched.All(m => m.StartsWith(head, StringComparison.Ordinal));
        }

        /// <summary>Stops gradients for the stem and the first <paramref name="stages"/> stages (every top-level part
        /// before the next stage, its patch embedding included); the trainer keeps their BatchNorm in eval mode.</summary>
        internal static string Freeze(nn.Module model, CheckedArchitecture arch, int stages)
        {
            var family = arch.Ir.Family;
            var children = model.named_children().Select(c => c.name).ToList();
            int boundary = stages < arch.Ir.Stages.Count
                ? children.IndexOf(family.StageComponents(stages).First())
                : children.IndexOf(family.StageComponents(stages - 1).Last()) + 1;
            if (boundary < 0) throw new InvalidOperationException($"{arch.Name}: no top-level part for stage {stages + 1} among {string.Join(", ", children)}");
            var frozen = model.named_children().Take(boundary).ToList();
            if (frozen.Count == 0)
                throw new ArgumentException($"--freeze {stages}: {arch.Name} has no stem before its first stage (its first part is {children[0]}), so nothing would be frozen; give --freeze 1 or more");
            long count = Freezing.Freeze(model, frozen.Select(c => c.name).ToList());
            return $"--freeze {stages}: {string.Join(", ", frozen.Select(c => c.name))} frozen ({Numbers.Grouped(count)} parameters; their BatchNorm stays in eval mode)";
        }

        /// <summary>What a resume must share with the saved run besides the settings.</summary>
        private static IReadOnlyDictionary<string, string> Identity(CheckedArchitecture arch, Request r) => new Dictionary<string, string>
        {
            ["architecture"] = arch.Name,
            ["params"] = arch.Costs.Params.ToString(CultureInfo.InvariantCulture),
            ["dataset"] = r.Dataset,
            ["init"] = r.Init == null ? "none" : Path.GetFullPath(r.Init) + (r.WeightsFrom != "none" ? " (" + r.WeightsFrom + ")" : ""),
            ["freeze"] = r.Freeze?.ToString(CultureInfo.InvariantCulture) ?? "none",
        };

        private static string Text(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    }
}
