using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using Torchwright.Cli.Loading;
using Torchwright.Cli.Output;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Syntax;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright sweep &lt;file.arch&gt; [--name S] [--set path=v1,v2 ...] [--steps N | --epochs E] [--batch B] [--lr X]
    /// [--seed S] [--seeds N] [--device D] [--dataset DS] --db results.db [--resume] [--shard i/n]</c>: checks and costs every variant
    /// at compile time (invalid ones are reported and skipped), then trains each under the same seeds (one run per
    /// variant and seed), evaluates it and records it in the results database (src/Sweeps), showing progress as it goes.
    /// </summary>
    internal static class SweepCommand
    {
        internal sealed record Settings(
            string File, string? Name, IReadOnlyList<string> Sets, string? SweepName, TrainSettings Train, int Seeds, string? Lease,
            string Device, string Dataset, string Db, bool Resume, string? Shard, int? Threads, int Workers, bool DryRun, string Progress,
            string? Checkpoints, bool NoCheckpoints, int? SaveEvery, bool SkipBadImages = false);

        public static Command Create(CliContext ctx)
        {
            var file = new Argument<string>("file") { Description = "the .arch file declaring the sweep or architecture" };
            var name = new Option<string?>("--name", "-n") { Description = "the sweep (or architecture) to run; needed when the file declares several" };
            var set = new Option<string[]>("--set") { Description = "a setting 'path=v1,v2,...' (repeatable): several values make a sweep axis, one value is fixed for all variants, e.g. --set c5.mhsa=[0,0,1],[0,1,1] --set width=0.5,1.0" };
            var sweepName = new Option<string?>("--sweep-name") { Description = "name of the sweep (the first part of every variant name)" };
            var trainSettings = new SettingOptions(("batch", "-b"));
            var leaseOption = new Option<string?>("--lease") { Description = $"how long a run's claim lasts without a heartbeat before another worker takes it over, e.g. 90s or 5m (default {ResultsStore.DefaultLease.TotalMinutes:0} m; PostgreSQL)" };
            var seeds = new Option<int>("--seeds") { Description = "train every variant under N seeds: --seed, --seed + 1, ..., --seed + N - 1 (the report aggregates them)", DefaultValueFactory = _ => 1 };
            var device = new Option<string>("--device", "-d") { Description = "cpu or cuda[:index]", DefaultValueFactory = _ => "cpu" };
            var dataset = new Option<string>("--dataset") { Description = "shapes (embedded, default), shapes:SIZE, cifar10:DIR (the CIFAR-10 binary version), or imagefolder:DIR (DIR/train/CLASS/*, DIR/val/CLASS/*)", DefaultValueFactory = _ => "shapes" };
            var skipBad = new Option<bool>("--skip-bad-images") { Description = "image folders: skip (and count) files that cannot be decoded instead of stopping at the first" };
            var db = new Option<string>("--db") { Description = "results store: a SQLite file (created if missing), or a PostgreSQL URI (postgres://user:pass@host:5432/db) or connection string (Host=…;Database=…) shared by many workers", Required = true };
            var resume = new Option<bool>("--resume") { Description = "continue the sweep recorded in --db: skip done variants, rerun interrupted and failed ones" };
            var shard = new Option<string?>("--shard") { Description = "run only part i of n of the grid (i/n, 1-based; grid index mod n = i-1)" };
            var threads = new Option<int?>("--threads") { Description = "CPU threads for libtorch (default: libtorch's choice)" };
            var checkpoints = new Option<string?>("--checkpoints") { Description = "folder of every run's weights, resumable state and curves (default: beside a SQLite store, DB.runs/; a PostgreSQL sweep keeps them only when given: a path every worker shares)" };
            var saveEvery = new Option<int?>("--save-every") { Description = "save each run's state also every N steps (default: every 5 minutes of training, and at the end)" };
            var noCheckpoints = new Option<bool>("--no-checkpoints") { Description = "keep no run folders (an interrupted run then starts again from step 0)" };
            var workers = new Option<int>("--workers") { Description = "threads that decode and augment training images (the batches do not depend on it)", DefaultValueFactory = _ => 1 };
            var dryRun = new Option<bool>("--dry-run") { Description = "check and cost the variants, print the plan, train nothing" };
            var progress = new Option<string>("--progress") { Description = "auto (live on a terminal, plain otherwise), live, or plain", DefaultValueFactory = _ => "auto" };
            progress.AcceptOnlyFromAmong("auto", "live", "plain");
            var command = new Command("sweep", "Train and evaluate every variant of a sweep into a results database")
            {
                file, name, set, sweepName, seeds, leaseOption, device, dataset, db, resume, shard, threads, workers, checkpoints, noCheckpoints, saveEvery, dryRun, progress, skipBad,
            };
            foreach (var option in trainSettings.Options) command.Options.Add(option);
            command.SetAction(parse =>
            {
                var train = trainSettings.Read(parse, TrainSettings.Default, out var settingError);
                if (train == null) return Usage(ctx, settingError!);
                return TorchEngine.Missing(ctx, "sweep") ?? Run(ctx, new Settings(
                    parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(set) ?? Array.Empty<string>(), parse.GetValue(sweepName),
                    train, parse.GetValue(seeds), parse.GetValue(leaseOption),
                    parse.GetValue(device)!, parse.GetValue(dataset)!, parse.GetValue(db)!, parse.GetValue(resume), parse.GetValue(shard),
                    parse.GetValue(threads), parse.GetValue(workers), parse.GetValue(dryRun), parse.GetValue(progress)!,
                    parse.GetValue(checkpoints), parse.GetValue(noCheckpoints), parse.GetValue(saveEvery), parse.GetValue(skipBad)));
            });
            return command;
        }

        private static int Usage(CliContext ctx, string message)
        {
            ctx.Error.WriteLine("torchwright sweep: " + message);
            return ExitCodes.Usage;
        }

        private static int InputError(CliContext ctx, string message)
        {
            ctx.Error.WriteLine("torchwright sweep: " + message);
            return ExitCodes.DeclarationErrors;
        }

        private static int Run(CliContext ctx, Settings s)
        {
            // --- options that need no file -----------------------------------------------------------------------
            if (s.Threads is < 1) return Usage(ctx, $"--threads must be at least 1 (got {s.Threads})");
            if (s.Workers < 1) return Usage(ctx, $"--workers must be at least 1 (got {s.Workers})");
            if (s.SaveEvery is < 1) return Usage(ctx, $"--save-every must be at least 1 step (got {s.SaveEvery})");
            if (s.Checkpoints != null && s.NoCheckpoints) return Usage(ctx, "give --checkpoints or --no-checkpoints, not both");
            if (s.Checkpoints != null && File.Exists(s.Checkpoints)) return Usage(ctx, $"--checkpoints {s.Checkpoints} is a file; give a folder");
            var t = s.Train;
            if (s.Seeds < 1) return Usage(ctx, $"--seeds must be at least 1 (got {s.Seeds})");
            TimeSpan? lease = null;
            if (s.Lease != null)
            {
                if (!TryParseDuration(s.Lease, out var parsed) || parsed < TimeSpan.FromSeconds(1))
                    return Usage(ctx, $"--lease {s.Lease}: give a duration of at least 1 s, e.g. 90s, 5m or 1h (a bare number is seconds)");
                lease = parsed;
            }
            if (t.Seed > long.MaxValue - (s.Seeds - 1)) return Usage(ctx, $"--seed {t.Seed} with --seeds {s.Seeds} runs past the largest seed ({long.MaxValue})");
            var shard = Shard.All;
            if (s.Shard != null && !Shard.TryParse(s.Shard, out shard, out var shardError)) return Usage(ctx, shardError);
            if (!CommandSupport.TryGetDevice(ctx, "sweep", s.Device, out var device)) return ExitCodes.Usage;

            // --- declarations: check and cost every variant before anything trains --------------------------------
            var ws = CommandSupport.LoadOrReport(ctx, "sweep", new[] { s.File }, allowDirectories: false);
            if (ws == null) return ExitCodes.Usage;
            var settingDiagnostics = new List<Diagnostic>();
            var definition = SweepDefinition.Create(ws, s.Name, s.Sets, s.SweepName, settingDiagnostics, out var definitionError);
            if (definition == null)
            {
                if (definitionError != null) return Usage(ctx, definitionError);
                DiagnosticPrinter.Print(ctx.Error, settingDiagnostics);
                ctx.Error.WriteLine("sweep: the --set settings above are malformed (--set #k is the k-th --set option)");
                return ExitCodes.DeclarationErrors;
            }
            // A setting that does not resolve (unknown field, a value of the wrong kind) would be dropped by the resolver's
            // recovery and the sweep would train something other than what was asked: refuse before anything runs.
            var settingErrors = definition.SettingErrors();
            if (settingErrors.Count > 0)
            {
                DiagnosticPrinter.Print(ctx.Error, settingErrors);
                ctx.Error.WriteLine("sweep: the --set settings above do not check (--set #k is the k-th --set option); fix them; nothing was trained");
                return ExitCodes.DeclarationErrors;
            }
            var result = ws.Compile(definition.Files);
            var checkedSweep = result.Sweeps.FirstOrDefault(x => x.Info.Name == definition.SweepName);
            DiagnosticPrinter.Print(ctx.Error, result.Diagnostics);
            // Only a grid point's own errors skip that point; any other error (a repeated grid value, a fixed --set the
            // base does not read or takes out of range) stops the sweep here, before the store is opened or created.
            var outside = definition.ErrorsOutsideGridPoints(ws.Compile);
            if (outside.Count > 0)
            {
                DiagnosticPrinter.Print(ctx.Error, outside.Where(d => !result.Diagnostics.Contains(d)).ToList());
                ctx.Error.WriteLine($"sweep: {definition.SweepName} does not check (the errors above are not one grid point's own); fix them; nothing was trained");
                return ExitCodes.DeclarationErrors;
            }
            if (checkedSweep == null || checkedSweep.Variants.Count == 0)
            {
                ctx.Error.WriteLine($"sweep: {definition.SweepName} has no valid variant ({DiagnosticPrinter.Tally(result.Diagnostics)}); fix the errors above");
                return ExitCodes.DeclarationErrors;
            }
            foreach (var invalid in checkedSweep.InvalidVariants)
                ctx.Error.WriteLine($"sweep: skipping {invalid}: it does not check (diagnostics above)");

            // --- data: every variant must take the dataset's images and predict its classes -----------------------
            DatasetPair data;
            try { data = Datasets.Open(s.Dataset, TrainCommand.Options(checkedSweep.Variants[0], s.Dataset, t, s.SkipBadImages, s.Workers)); }
            catch (Exception e) when (e is ArgumentException || e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
            {
                return Usage(ctx, $"--dataset {s.Dataset}: {e.Message}");
            }
            var train = data.Train;
            var runnable = new List<CheckedArchitecture>();
            var misfits = new List<(CheckedArchitecture Variant, string Why)>();
            foreach (var v in checkedSweep.Variants)
            {
                var why = DatasetMisfit(v, train);
                if (why == null) runnable.Add(v); else misfits.Add((v, why));
            }
            // Usually every variant misses the dataset the same way: say it once.
            foreach (var group in misfits.GroupBy(m => m.Why))
            {
                var names = group.Select(m => m.Variant.Name).ToList();
                ctx.Error.WriteLine($"sweep: skipping {(names.Count == checkedSweep.Variants.Count && names.Count > 1 ? "all " + names.Count + " variants" : string.Join(", ", names))}: {group.Key}");
            }
            if (runnable.Count == 0) return Usage(ctx, $"no variant of {definition.SweepName} fits the dataset {s.Dataset} (see above)");

            var mine = runnable.Where(v => shard.Contains(v.Variant?.Index ?? 0)).ToList();
            int steps;
            try { steps = Trainer.StepsOf(t, train.Count); }
            catch (ArgumentOutOfRangeException e) { return Usage(ctx, $"--epochs {t.Epochs}: {CommandSupport.OneLine(e)}"); }
            // Seed-major: the first seed of every variant trains before the second, so an early look at the database
            // already compares every variant.
            var plans = Enumerable.Range(0, s.Seeds).SelectMany(k => mine.Select(v => new VariantPlan(v.Name, definition.SweepName, v.Variant?.Index ?? 0,
                ConfigJson(definition.FixedSettings, v), v.Costs.Params, v.Costs.Macs, t.Seed + k))).ToList();
            var runJson = RunJson(s, steps, data);
            ctx.Out.WriteLine($"sweep {definition.SweepName}: {checkedSweep.Variants.Count + checkedSweep.InvalidVariants.Count} grid points, "
                + $"{runnable.Count} runnable, {mine.Count} in shard {shard}"
                + (s.Seeds > 1 ? $" x {s.Seeds} seeds ({t.Seed}..{t.Seed + s.Seeds - 1}) = {plans.Count} runs" : "")
                + $"; {data.Description}; {steps} steps of batch {t.Batch}, {(t.Optimizer == OptimizerKind.AdamW ? "adamw" : "sgd")} lr {t.LearningRate.ToString(CultureInfo.InvariantCulture)}, "
                + (s.Seeds > 1 ? "" : $"seed {t.Seed}, ") + s.Device);
            if (s.DryRun)
            {
                foreach (var p in plans.Where(p => p.Seed == t.Seed))
                    ctx.Out.WriteLine($"  {p.Variant}  {Numbers.Grouped(p.Params)} params  {Numbers.Scaled(p.Macs)}MACs");
                return ExitCodes.Ok;
            }
            if (plans.Count == 0)
            {
                ctx.Out.WriteLine($"sweep: shard {shard} has no variants (the grid has {runnable.Count})");
                return ExitCodes.Ok;
            }

            // --- train --------------------------------------------------------------------------------------------
            IResultsStore results;
            var shownDb = ResultsStore.Display(s.Db);
            try { results = ResultsStore.Open(s.Db); }
            catch (Exception e) when (e is InvalidDataException || e is ResultsDbBusyException)
            {
                // Not a results database, a damaged one, or one another sweep is writing: refused before training.
                return InputError(ctx, $"--db {shownDb}: {e.Message}");
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is System.Data.Common.DbException)
            {
                return Usage(ctx, $"--db {shownDb}: {e.Message}");
            }
            using (results)
            {
                IReadOnlyList<VariantRecord> existing;
                try { existing = results.ReadAll(); }
                catch (InvalidDataException e) { return InputError(ctx, $"--db {shownDb}: {e.Message}"); }
                if (existing.Count > 0 && !s.Resume)
                    return Usage(ctx, $"{shownDb} already holds {Numbers.Plural(existing.Count, "run")} ({existing.Count(r => r.Status == "done")} done); "
                        + "pass --resume to continue that sweep (every worker of a shared sweep passes it), or give a new --db");
                if (s.Threads != null) torch.set_num_threads(s.Threads.Value);
                var byName = mine.ToDictionary(v => v.Name, StringComparer.Ordinal);
                var jobs = plans.Select(p => new SweepJob(p, () => ModuleCompiler.Build(byName[p.Variant]))).ToList();
                var run = new TrainRun { Device = device, Workers = s.Workers, Directory = CheckpointFolder(s), SaveEvery = s.SaveEvery };

                using var cancel = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
                Console.CancelKeyPress += onCancel;
                SweepOutcome outcome;
                try
                {
                    bool live = s.Progress == "live" || (s.Progress == "auto" && ReferenceEquals(ctx.Out, Console.Out) && SweepProgress.TerminalIsInteractive());
                    var worker = SweepWorker.Create(lease);
                    outcome = SweepProgress.Run(ctx.Out, live, steps, observer => SweepRunner.Run(results, jobs, data, t, run, runJson, observer, cancel.Token, worker));
                }
                catch (InvalidOperationException e)
                {
                    // Plan: the database was made with other training settings.
                    return Usage(ctx, $"--db {shownDb}: {e.Message}");
                }
                catch (Exception e) when (e is ResultsStoreUnavailableException || e is IOException)
                {
                    // The server went away mid-sweep: what is done is recorded; the run in flight is taken over after its lease.
                    ctx.Error.WriteLine($"sweep: {e.Message}. Every run finished before is recorded; the one in flight stays 'running' "
                        + "and is taken over after its lease. Run the same command again (with --resume) when the store is back.");
                    return ExitCodes.DeclarationErrors;
                }
                catch (TrainStateException e)
                {
                    // A run folder left by another sweep (a store deleted and made again with other settings).
                    return InputError(ctx, $"--checkpoints {run.Directory}: {e.Message}; delete the folder of that run or give another --checkpoints");
                }
                catch (InvalidDataException e)
                {
                    // The database was damaged while the sweep ran (every finished variant is committed).
                    return InputError(ctx, $"--db {shownDb}: {e.Message}");
                }
                finally { Console.CancelKeyPress -= onCancel; }

                ctx.Out.WriteLine();
                var all = results.ReadAll();
                var records = ReportSort.Apply(all, ReportSort.Default);
                var aggregates = ReportAggregates.Build(all, baseline: null, out _)!;
                ReportText.Write(ctx.Out, new ReportDocument(new[] { shownDb }, records, ReportSort.Default, Array.Empty<string>(), aggregates), markdown: false);
                if (outcome.Cancelled)
                {
                    ctx.Error.WriteLine($"sweep: interrupted; the run in flight stays 'running'. Continue with the same command and --resume.");
                    return ExitCodes.DeclarationErrors;
                }
                ctx.Out.WriteLine($"sweep: {outcome.Done} trained, {outcome.SkippedDone} already done, {outcome.Failed} failed; results in {shownDb} (torchwright report '{shownDb}')"
                    + (run.Directory != null ? $"; run folders (weights, state, curves) in {run.Directory}" : ""));
                return outcome.Failed > 0 ? ExitCodes.DeclarationErrors : ExitCodes.Ok;
            }
        }

        /// <summary>Where the runs keep their folders: --checkpoints, else DB.runs beside a SQLite store; none for
        /// PostgreSQL without --checkpoints (its workers may not share a disk) or with --no-checkpoints.</summary>
        internal static string? CheckpointFolder(Settings s) =>
            s.NoCheckpoints ? null : s.Checkpoints ?? (ResultsStore.IsPostgres(s.Db) ? null : s.Db + ".runs");

        /// <summary>"90", "90s", "5m", "1h", "1.5m".</summary>
        internal static bool TryParseDuration(string text, out TimeSpan duration)
        {
            duration = default;
            var t = text.Trim();
            double scale = 1;
            if (t.EndsWith("ms", StringComparison.Ordinal)) { scale = 0.001; t = t[..^2]; }
            else if (t.EndsWith('s')) t = t[..^1];
            else if (t.EndsWith('m')) { scale = 60; t = t[..^1]; }
            else if (t.EndsWith('h')) { scale = 3600; t = t[..^1]; }
            if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || !(value * scale < 1e7)) return false;
            duration = TimeSpan.FromSeconds(value * scale);
            return true;
        }

        /// <summary>Why a variant cannot train on the dataset (its input shape or class count), with the fix; null when it fits.</summary>
        private static string? DatasetMisfit(CheckedArchitecture v, IImageDataset data)
        {
            var problems = new List<string>();
            var fixes = new List<string>();
            var input = v.Ir.Input;
            var images = $"{data.Channels}x{data.Height}x{data.Width}";
            if (input.C != data.Channels || input.H != data.Height || input.W != data.Width)
            {
                problems.Add($"it declares input {input} but {data.Name} images are {images}");
                fixes.Add("input=" + images);
            }
            if (v.Ir.Classes != data.Classes)
            {
                problems.Add($"it declares classes = {v.Ir.Classes} but {data.Name} has {data.Classes} classes");
                fixes.Add("classes=" + data.Classes.ToString(CultureInfo.InvariantCulture));
            }
            if (problems.Count == 0) return null;
            return string.Join("; ", problems) + "; declare " + string.Join(" and ", fixes.Select(f => f.Replace("=", " = ")))
                + " (or pass " + string.Join(" ", fixes.Select(f => "--set " + f)) + ")";
        }

        /// <summary>The settings that make a variant: the fixed --set values, then its axis values, as a JSON object.</summary>
        internal static string ConfigJson(IReadOnlyList<FieldAssignment> fixedSettings, CheckedArchitecture variant)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                foreach (var f in fixedSettings)
                {
                    w.WritePropertyName(f.Path);
                    WriteValue(w, f.Values[0]);
                }
                foreach (var setting in variant.Variant?.Settings ?? default)
                {
                    w.WritePropertyName(setting.Path);
                    WriteValue(w, setting.Value);
                }
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        private static void WriteValue(Utf8JsonWriter w, ArchValue value)
        {
            switch (value)
            {
                case IntValue i: w.WriteNumberValue(i.Value); break;
                case FloatValue f: w.WriteNumberValue(f.Value); break;
                case BoolValue b: w.WriteBooleanValue(b.Value); break;
                case ListValue l:
                    w.WriteStartArray();
                    foreach (var item in l.Items) WriteValue(w, item);
                    w.WriteEndArray();
                    break;
                default: w.WriteStringValue(value.ToText()); break; // words, shapes (3x64x64)
            }
        }

        /// <summary>
        /// The training settings a database's rows were made with; --resume refuses a run with other ones. The seed is
        /// not one of them: it is per run (a resume with more --seeds adds runs). Every other catalog setting is, as text.
        /// </summary>
        private static string RunJson(Settings s, int steps, DatasetPair data)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("dataset", s.Dataset);
                w.WriteString("data", data.Description);
                w.WriteNumber("steps", steps);
                w.WriteString("device", s.Device);
                foreach (var (key, value) in s.Train.ToPairs())
                    if (key is not ("seed" or "steps" or "epochs")) w.WriteString(key, value);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
