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
using Torchwright.Cli.Planning;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Resolution;
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
        /// <param name="GivenTrain">The training options given on the command line (name → value): they override every
        /// variant's declared <c>train.NAME</c> settings.</param>
        internal sealed record Settings(
            string File, string? Name, IReadOnlyList<string> Sets, string? SweepName, IReadOnlyList<KeyValuePair<string, string>> GivenTrain,
            int Seeds, string? Lease,
            string Device, string Dataset, string Db, bool Resume, string? Shard, int? Threads, int Workers, bool DryRun, string Progress,
            string? Checkpoints, bool NoCheckpoints, int? SaveEvery,
            int? Sample, string? SampleMethod, long? SampleSeed, string? MaxParams, string? MaxMacs, bool SkipBadImages = false)
        {
            /// <summary>--prune: none, asha or median.</summary>
            public string Prune { get; init; } = "none";

            public int? PruneMinSteps { get; init; }

            public int? PruneEta { get; init; }

            public bool NoPrune { get; init; }

            public bool MeasureLatency { get; init; }
        }

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
            var sample = new Option<int?>("--sample") { Description = "train N grid points drawn from the grid (of any size) instead of all of them; recorded in --db, so --resume continues the same sample" };
            var sampleMethod = new Option<string?>("--sample-method") { Description = "how --sample draws: sobol (default; spreads the points over every axis) or random (uniform without replacement)" };
            sampleMethod.AcceptOnlyFromAmong("sobol", "random");
            var sampleSeed = new Option<long?>("--sample-seed") { Description = "seed of the --sample draw (default 0)" };
            var maxParams = new Option<string?>("--max-params") { Description = "leave out, before anything trains, every variant with more parameters than this (the exact count summary prints), e.g. 25M" };
            var maxMacs = new Option<string?>("--max-macs") { Description = "leave out, before anything trains, every variant with more MACs per image than this (the exact count summary prints), e.g. 4.5G" };
            var prune = new Option<string>("--prune") { Description = "stop hopeless runs early: asha (asynchronous successive halving) or median (median stopping rule); see docs/sweeps.md", DefaultValueFactory = _ => "none" };
            prune.AcceptOnlyFromAmong("none", "asha", "median");
            var pruneMinSteps = new Option<int?>("--prune-min-steps") { Description = "asha: the first rung r (rungs at r, r*eta, r*eta^2, ... and the last step; default steps/eta^3); median: evaluate every r steps (default steps/10)" };
            var pruneEta = new Option<int?>("--prune-eta") { Description = $"asha: the reduction factor eta, the top 1/eta at each rung go on (default {Pruning.DefaultEta})" };
            var noPrune = new Option<bool>("--no-prune") { Description = "with --resume: continue the pruned runs to the end from their saved state, and prune nothing" };
            var measureLatency = new Option<bool>("--measure-latency") { Description = "measure each variant's forward throughput once (bench's inference timing: batch of --batch, 2 warm-up and 10 timed iterations) and store it in images/s" };
            var command = new Command("sweep", "Train and evaluate every variant of a sweep into a results database")
            {
                file, name, set, sweepName, seeds, leaseOption, device, dataset, db, resume, shard, threads, workers, checkpoints, noCheckpoints, saveEvery, dryRun, progress,
                sample, sampleMethod, sampleSeed, maxParams, maxMacs, prune, pruneMinSteps, pruneEta, noPrune, measureLatency, skipBad,
            };
            foreach (var option in trainSettings.Options) command.Options.Add(option);
            command.SetAction(parse =>
            {
                // The given options are checked here, alone (bad values, --steps with --epochs); each variant's settings
                // are its declaration's with them applied (Run).
                if (trainSettings.Read(parse, TrainSettings.Default, out var settingError) == null) return Usage(ctx, settingError!);
                return TorchEngine.Missing(ctx, "sweep") ?? Run(ctx, new Settings(
                    parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(set) ?? Array.Empty<string>(), parse.GetValue(sweepName),
                    trainSettings.Given(parse), parse.GetValue(seeds), parse.GetValue(leaseOption),
                    parse.GetValue(device)!, parse.GetValue(dataset)!, parse.GetValue(db)!, parse.GetValue(resume), parse.GetValue(shard),
                    parse.GetValue(threads), parse.GetValue(workers), parse.GetValue(dryRun), parse.GetValue(progress)!,
                    parse.GetValue(checkpoints), parse.GetValue(noCheckpoints), parse.GetValue(saveEvery),
                    parse.GetValue(sample), parse.GetValue(sampleMethod), parse.GetValue(sampleSeed), parse.GetValue(maxParams), parse.GetValue(maxMacs), parse.GetValue(skipBad))
                {
                    Prune = parse.GetValue(prune)!, PruneMinSteps = parse.GetValue(pruneMinSteps), PruneEta = parse.GetValue(pruneEta),
                    NoPrune = parse.GetValue(noPrune), MeasureLatency = parse.GetValue(measureLatency),
                });
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
            if (s.Seeds < 1) return Usage(ctx, $"--seeds must be at least 1 (got {s.Seeds})");
            if (s.PruneError() is { } pruneError) return Usage(ctx, pruneError);
            TimeSpan? lease = null;
            if (s.Lease != null)
            {
                if (!TryParseDuration(s.Lease, out var parsed) || parsed < TimeSpan.FromSeconds(1))
                    return Usage(ctx, $"--lease {s.Lease}: give a duration of at least 1 s, e.g. 90s, 5m or 1h (a bare number is seconds)");
                lease = parsed;
            }
            var shard = Shard.All;
            if (s.Shard != null && !Shard.TryParse(s.Shard, out shard, out var shardError)) return Usage(ctx, shardError);
            if (s.Sample == null && (s.SampleMethod != null || s.SampleSeed != null))
                return Usage(ctx, $"{(s.SampleMethod != null ? "--sample-method" : "--sample-seed")} applies to a sample; give --sample N too");
            if (s.Sample is < 1) return Usage(ctx, $"--sample must be at least 1 (got {s.Sample})");
            var budget = SweepBudget.None;
            foreach (var (option, text) in new[] { ("--max-params", s.MaxParams), ("--max-macs", s.MaxMacs) })
            {
                if (text == null) continue;
                var limit = SweepBudget.ParseCount(option, text, out var budgetError);
                if (limit == null) return Usage(ctx, budgetError!);
                budget = option == "--max-params" ? budget with { MaxParams = limit } : budget with { MaxMacs = limit };
            }
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
            // --sample: draw grid points from the axis sizes alone, so a grid of any size is sampled without being built.
            SweepSample? sample = null;
            long gridPoints = 0;
            var method = s.SampleMethod == "random" ? SampleMethod.Random : SampleMethod.Sobol;
            if (s.Sample is int n)
            {
                var gridDiagnostics = new List<Diagnostic>();
                var grid = ArchCompiler.SweepGrid(definition.Files, definition.SweepName, gridDiagnostics);
                if (grid == null)
                {
                    DiagnosticPrinter.Print(ctx.Error, gridDiagnostics.Where(d => d.IsError).Distinct().ToList());
                    ctx.Error.WriteLine($"sweep: {definition.SweepName} does not check (the errors above); fix them; nothing was trained");
                    return ExitCodes.DeclarationErrors;
                }
                gridPoints = grid.GridSize;
                try { sample = new SweepSample(definition.SweepName, EquatableArray.From(GridSample.Draw(grid.AxisSizes.ToArray(), n, s.SampleSeed ?? 0, method))); }
                catch (ArgumentException e) { return Usage(ctx, e.Message.Split(" (Parameter")[0]); }
            }
            // A setting that does not resolve (unknown field, a value of the wrong kind) would be dropped by the resolver's
            // recovery and the sweep would train something other than what was asked: refuse before anything runs.
            var settingErrors = definition.SettingErrors(sample);
            if (settingErrors.Count > 0)
            {
                DiagnosticPrinter.Print(ctx.Error, settingErrors);
                ctx.Error.WriteLine("sweep: the --set settings above do not check (--set #k is the k-th --set option); fix them; nothing was trained");
                return ExitCodes.DeclarationErrors;
            }
            var result = ws.Compile(definition.Files, sample);
            var checkedSweep = result.Sweeps.FirstOrDefault(x => x.Info.Name == definition.SweepName);
            DiagnosticPrinter.Print(ctx.Error, result.Diagnostics);
            // Only a grid point's own errors skip that point; any other error (a repeated grid value, a fixed --set the
            // base does not read or takes out of range) stops the sweep here, before the store is opened or created.
            var outside = definition.ErrorsOutsideGridPoints(files => ws.Compile(files), sample);
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
            if (checkedSweep.Variants.FirstOrDefault(v => v.Ir.IsFeatureBackbone) is { } backbone)
            {
                // Every variant of a sweep shares the base's out_indices: the first one stands for all.
                CommandSupport.RefuseFeatureBackbone(ctx, "sweep", backbone);
                return ExitCodes.Usage;
            }

            // --- training settings: each variant's declaration (train.NAME, swept or fixed), then the command line ----------
            // The command line overrides the file; --steps and --epochs both replace the declared length (either of the two).
            KeyValuePair<string, string>? GivenFor(string name) => s.GivenTrain.Cast<KeyValuePair<string, string>?>()
                .LastOrDefault(p => p!.Value.Key == name || (name is "steps" or "epochs" && p.Value.Key is "steps" or "epochs"));
            var overridden = TrainSettings.Catalog.Select(c => c.Name).Where(n => GivenFor(n) != null).ToHashSet(StringComparer.Ordinal);
            foreach (var f in definition.FixedSettings)
                if (TrainingFields.IsTrainingPath(f.Path) && GivenFor(TrainingFields.SettingName(f.Path)) is { } clash)
                    return Usage(ctx, $"--{clash.Key} and --set {f.Path} both set {(clash.Key == TrainingFields.SettingName(f.Path) ? f.Path : "the training length")}; give one of them");
            foreach (var v in checkedSweep.Variants)
                foreach (var axis in v.Variant?.Settings ?? default)
                    if (TrainingFields.IsTrainingPath(axis.Path) && GivenFor(TrainingFields.SettingName(axis.Path)) is { } given)
                        return Usage(ctx, $"--{given.Key} {given.Value} would replace the sweep axis {axis.Path} ({axis.PathLocation}) in every variant, so its variants would train alike; "
                            + $"drop --{given.Key}, or replace the axis with --set train.{given.Key}={given.Value}");
            var trainingDiagnostics = new List<Diagnostic>();
            var trainingOf = new Dictionary<string, TrainSettings>(StringComparer.Ordinal);
            foreach (var v in checkedSweep.Variants)
                if (DeclaredTraining.Resolve(v, s.GivenTrain, trainingDiagnostics) is { } settings) trainingOf[v.Name] = settings;
            if (trainingDiagnostics.Count > 0)
            {
                DiagnosticPrinter.Print(ctx.Error, trainingDiagnostics.Distinct().ToList());
                ctx.Error.WriteLine($"sweep: the training settings above do not check; fix them; nothing was trained");
                return ExitCodes.DeclarationErrors;
            }

            // --- budgets: variants over a limit are left out before anything trains (the plan and the report list them) ----
            var withinBudget = new List<CheckedArchitecture>();
            var excluded = new List<(CheckedArchitecture Variant, string Why)>();
            foreach (var v in checkedSweep.Variants)
            {
                if (budget.Exclusion(v) is { } why) excluded.Add((v, why));
                else withinBudget.Add(v);
            }

            // --- data: every variant must take the dataset's images and predict its classes -----------------------
            // One dataset serves every run, so its per-image augmentation is one for the sweep.
            var openWith = withinBudget.Count > 0 ? withinBudget : checkedSweep.Variants.ToList();
            var augmentations = openWith.Select(v => string.Join("; ", AugmentSettings.Settings.Select(a => a.Name + " " + a.Read(trainingOf[v.Name])))).Distinct().ToList();
            if (augmentations.Count > 1)
                return Usage(ctx, "the variants differ in their augmentation settings (" + string.Join(" | ", augmentations.Take(2)) + (augmentations.Count > 2 ? " | ..." : "")
                    + "), but a sweep opens its dataset once, with one augmentation; sweep those settings in separate sweeps");
            DatasetPair data;
            try { data = Datasets.Open(s.Dataset, TrainCommand.Options(openWith[0], s.Dataset, trainingOf[openWith[0].Name], s.SkipBadImages, s.Workers)); }
            catch (Exception e) when (e is ArgumentException || e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
            {
                return Usage(ctx, $"--dataset {s.Dataset}: {e.Message}");
            }
            var train = data.Train;
            var runnable = new List<CheckedArchitecture>();
            var misfits = new List<(CheckedArchitecture Variant, string Why)>();
            foreach (var v in withinBudget)
            {
                var why = DatasetMisfit(v, train);
                if (why == null) runnable.Add(v); else misfits.Add((v, why));
            }
            // Usually every variant misses the dataset the same way: say it once.
            foreach (var group in misfits.GroupBy(m => m.Why))
            {
                var names = group.Select(m => m.Variant.Name).ToList();
                ctx.Error.WriteLine($"sweep: skipping {(names.Count == withinBudget.Count && names.Count > 1 ? "all " + names.Count + " variants" : string.Join(", ", names))}: {group.Key}");
            }
            if (withinBudget.Count == 0)
            {
                PrintExcluded(ctx.Error, excluded);
                return Usage(ctx, $"every variant of {definition.SweepName} is over the budget (listed above); raise --max-params / --max-macs");
            }
            if (runnable.Count == 0) return Usage(ctx, $"no variant of {definition.SweepName} fits the dataset {s.Dataset} (see above)");

            // A sample's points are shared out by their place in the sample (balanced shards); a whole grid's by grid index.
            var place = sample?.Indices.Select((g, k) => (g, k)).ToDictionary(x => x.g, x => x.k);
            var mine = runnable.Where(v => shard.Contains(place != null ? place[v.Variant!.Index] : v.Variant?.Index ?? 0)).ToList();
            var stepsOf = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var v in runnable)
            {
                var settings = trainingOf[v.Name];
                try { stepsOf[v.Name] = Trainer.StepsOf(settings, train.Count); }
                catch (ArgumentOutOfRangeException e)
                {
                    var source = overridden.Contains("epochs") ? "--epochs" : v.Name + ": train.epochs";
                    return Usage(ctx, $"{source} {settings.Epochs}: {CommandSupport.OneLine(e)}");
                }
            }
            // A variant's first seed is its settings' (--seed, else a declared train.seed, else 0).
            if (runnable.FirstOrDefault(v => trainingOf[v.Name].Seed > long.MaxValue - (s.Seeds - 1)) is { } tooLarge)
                return Usage(ctx, $"seed {trainingOf[tooLarge.Name].Seed} with --seeds {s.Seeds} runs past the largest seed ({long.MaxValue})");
            var firstSeeds = runnable.Select(v => trainingOf[v.Name].Seed).Distinct().ToList();
            string seedsText = firstSeeds.Count > 1 ? "seed per variant, "
                : s.Seeds > 1 ? "" : $"seed {firstSeeds[0]}, ";
            // Seed-major: the first seed of every variant trains before the second, so an early look at the database
            // already compares every variant.
            var plans = Enumerable.Range(0, s.Seeds).SelectMany(k => mine.Select(v => new VariantPlan(v.Name, definition.SweepName, v.Variant?.Index ?? 0,
                ConfigJson(definition.FixedSettings, v, overridden), v.Costs.Params, v.Costs.Macs, trainingOf[v.Name].Seed + k))).ToList();
            var common = CommonSettings(runnable, trainingOf, stepsOf);
            var runJson = RunJson(s, common, data, sample != null ? (gridPoints, method) : null, budget, excluded);
            // Early stopping compares runs at the same steps (its rungs, the median's evaluation steps).
            var lengths = runnable.Select(v => stepsOf[v.Name]).Distinct().OrderBy(n => n).ToList();
            int steps = lengths[^1];
            if (s.Prune != "none" && lengths.Count > 1)
                return Usage(ctx, $"--prune {s.Prune} compares runs at the same steps, but these variants train for {string.Join(", ", lengths)} steps (train.steps or train.epochs differ); give them one length");
            var pruning = PruningOf(s, steps);
            if (pruning.MinSteps >= steps && pruning.Rule != PruneRule.None)
                return Usage(ctx, s.PruneMinSteps != null
                    ? $"--prune-min-steps {pruning.MinSteps} must be below the run's {steps} steps (the first rung comes before the end)"
                    : $"--prune {s.Prune}: a run of {steps} step(s) leaves no step to stop at before its end; give more --steps");
            ctx.Out.WriteLine($"sweep {definition.SweepName}: "
                + (sample != null
                    ? $"sampled {Numbers.Plural(sample.Indices.Count, "grid point")} of {Numbers.Grouped(gridPoints)} ({(method == SampleMethod.Sobol ? "sobol" : "random")}, seed {s.SampleSeed ?? 0}), "
                    : $"{checkedSweep.Variants.Count + checkedSweep.InvalidVariants.Count} grid points, ")
                + (excluded.Count > 0 ? $"{excluded.Count} over budget, " : "")
                + $"{runnable.Count} runnable, {mine.Count} in shard {shard}"
                + (s.Seeds > 1 ? $" x {s.Seeds} seeds ({(firstSeeds.Count > 1 ? "from each variant's seed" : $"{firstSeeds[0]}..{firstSeeds[0] + s.Seeds - 1}")}) = {plans.Count} runs" : "")
                + $"; {data.Description}; {Describe(common)}, "
                + seedsText + s.Device
                + (pruning.Rule != PruneRule.None ? "; pruning: " + pruning.Describe(steps) : "") + (s.NoPrune ? "; continuing pruned runs (--no-prune)" : ""));
            PrintExcluded(ctx.Out, excluded);
            if (s.DryRun)
            {
                foreach (var p in plans.Take(mine.Count)) // the first seed's runs: one per variant
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
                if (existing.Count > 0 && SampleOf(results.RunJson) is var stored && stored != SampleOf(runJson))
                    return Usage(ctx, $"{shownDb} holds {DescribeSample(stored)}, not {DescribeSample(SampleOf(runJson))}; "
                        + $"resume it with {(stored == null ? "no --sample" : $"--sample {stored.Value.N} --sample-method {stored.Value.Method} --sample-seed {stored.Value.Seed}")}, or give a new --db");
                if (s.Threads != null) torch.set_num_threads(s.Threads.Value);
                var byName = mine.ToDictionary(v => v.Name, StringComparer.Ordinal);
                var jobs = plans.Select(p => new SweepJob(p, () => ModuleCompiler.BuildForTraining(byName[p.Variant]), trainingOf[p.Variant])).ToList();
                var run = new TrainRun { Device = device, Workers = s.Workers, Directory = CheckpointFolder(s), SaveEvery = s.SaveEvery };

                using var cancel = new CancellationTokenSource();
                ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
                Console.CancelKeyPress += onCancel;
                SweepOutcome outcome;
                try
                {
                    bool live = s.Progress == "live" || (s.Progress == "auto" && ReferenceEquals(ctx.Out, Console.Out) && SweepProgress.TerminalIsInteractive());
                    var worker = SweepWorker.Create(lease);
                    Func<SweepJob, double>? measure = s.MeasureLatency ? job => ForwardImagesPerSecond(byName[job.Plan.Variant], job.Settings.Batch, device, s.Threads) : null;
                    outcome = SweepProgress.Run(ctx.Out, live, steps, observer => SweepRunner.Run(results, jobs, data, run, runJson, observer, cancel.Token, worker, pruning, measure));
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
                int stillPruned = all.Count(r => r.Status == VariantStatus.Pruned);
                ctx.Out.WriteLine($"sweep: {outcome.Done} trained, {outcome.SkippedDone} already done, {outcome.Failed} failed"
                    + (stillPruned > 0 ? $", {stillPruned} pruned (continue them with --resume --no-prune)" : "")
                    + $"; results in {shownDb} (torchwright report '{shownDb}')"
                    + (run.Directory != null ? $"; run folders (weights, state, curves) in {run.Directory}" : ""));
                return outcome.Failed > 0 ? ExitCodes.DeclarationErrors : ExitCodes.Ok;
            }
        }

        /// <summary>The pruning options' own errors (those that need no file): a setting that would have no effect is refused.</summary>
        internal static string? PruneError(this Settings s)
        {
            if (s.NoPrune && !s.Resume) return "--no-prune continues the pruned runs of a sweep: give it with --resume";
            if (s.NoPrune && s.Prune != "none") return $"give --prune {s.Prune} or --no-prune, not both";
            if (s.Prune != "asha" && s.PruneEta != null) return $"--prune-eta applies to --prune asha only (got --prune {s.Prune})";
            if (s.Prune == "none" && s.PruneMinSteps != null) return "--prune-min-steps applies to --prune asha or median only";
            if (s.PruneEta is < 2) return $"--prune-eta must be at least 2 (got {s.PruneEta})";
            if (s.PruneMinSteps is < 1) return $"--prune-min-steps must be at least 1 (got {s.PruneMinSteps})";
            return null;
        }

        internal static Pruning PruningOf(Settings s, int steps)
        {
            var rule = s.Prune switch { "asha" => PruneRule.Asha, "median" => PruneRule.Median, _ => PruneRule.None };
            int eta = s.PruneEta ?? Pruning.DefaultEta;
            return rule == PruneRule.None ? Pruning.None with { ContinuePruned = s.NoPrune }
                : new Pruning(rule, s.PruneMinSteps ?? Pruning.DefaultMinSteps(steps, eta, rule), eta, ContinuePruned: false);
        }

        /// <summary>bench's inference timing of one variant (batch of the training batch, 2 warm-up and 10 timed
        /// iterations, no PyTorch side): its median forward throughput in images per second.</summary>
        private static double ForwardImagesPerSecond(CheckedArchitecture variant, int batch, Device device, int? threads)
        {
            var settings = new BenchSettings(batch, BenchMode.Infer, device, Warmup: 2, Iterations: 10, threads ?? torch.get_num_threads(), Python: null);
            return BenchRunner.Run(variant, settings, _ => { }).Torchwright.ImagesPerSecond(batch);
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

        /// <summary>
        /// The settings that make a variant, as a JSON object: the fixed --set values, its declaration's fixed
        /// <c>train.NAME</c> settings (those the command line does not override: those are in the run settings), then its
        /// axis values.
        /// </summary>
        internal static string ConfigJson(IReadOnlyList<FieldAssignment> fixedSettings, CheckedArchitecture variant, IReadOnlySet<string> commandLineTraining)
        {
            var axes = variant.Variant?.Settings ?? default;
            var written = new HashSet<string>(fixedSettings.Select(f => f.Path).Concat(axes.Select(a => a.Path)), StringComparer.Ordinal);
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                foreach (var f in fixedSettings)
                {
                    w.WritePropertyName(f.Path);
                    WriteValue(w, f.Values[0]);
                }
                foreach (var field in variant.Training)
                {
                    if (commandLineTraining.Contains(TrainingFields.SettingName(field.Path)) || !written.Add(field.Path)) continue;
                    w.WritePropertyName(field.Path);
                    WriteValue(w, field.Value);
                }
                foreach (var setting in axes)
                {
                    w.WritePropertyName(setting.Path);
                    WriteValue(w, setting.Value);
                }
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        /// <summary>
        /// Every training setting (catalog order, "steps" for the length) with its value when all the sweep's runnable
        /// variants train with the same, or null when it differs between them (a train.* axis: then it is in each variant's
        /// configuration). The seed is per run and not listed.
        /// </summary>
        private static IReadOnlyList<(string Key, string? Value)> CommonSettings(IReadOnlyList<CheckedArchitecture> variants,
            IReadOnlyDictionary<string, TrainSettings> trainingOf, IReadOnlyDictionary<string, int> stepsOf)
        {
            var common = new List<(string, string?)>();
            var steps = variants.Select(v => stepsOf[v.Name]).Distinct().ToList();
            common.Add(("steps", steps.Count == 1 ? steps[0].ToString(CultureInfo.InvariantCulture) : null));
            var pairs = variants.Select(v => trainingOf[v.Name].ToPairs()).ToList();
            for (int i = 0; i < pairs[0].Count; i++)
            {
                var key = pairs[0][i].Key;
                if (key is "seed" or "steps" or "epochs") continue;
                var values = pairs.Select(p => p[i].Value).Distinct(StringComparer.Ordinal).ToList();
                common.Add((key, values.Count == 1 ? values[0] : null));
            }
            return common;
        }

        /// <summary>"6 steps of batch 8, sgd lr 0.05"; the settings the variants differ in are named instead: "6 steps of batch 8, lr and opt per variant".</summary>
        private static string Describe(IReadOnlyList<(string Key, string? Value)> common)
        {
            var of = common.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
            var parts = new List<string>();
            if (of["steps"] is { } steps) parts.Add(steps + " steps" + (of["batch"] is { } b ? " of batch " + b : ""));
            else if (of["batch"] is { } batch) parts.Add("batch " + batch);
            var optimizer = of["opt"] is { } opt ? opt + " " : "";
            if (of["lr"] is { } lr) parts.Add(optimizer + "lr " + lr);
            else if (optimizer.Length > 0) parts.Add(optimizer.Trim());
            var varying = common.Where(c => c.Value == null).Select(c => c.Key).ToList();
            if (varying.Count > 0) parts.Add(string.Join(", ", varying.Take(varying.Count - 1)) + (varying.Count > 1 ? " and " : "") + varying[^1] + " per variant");
            return string.Join(", ", parts);
        }

        /// <summary>The plan's list of variants left out by --max-params / --max-macs, with the limit each exceeds.</summary>
        private static void PrintExcluded(TextWriter w, IReadOnlyList<(CheckedArchitecture Variant, string Why)> excluded)
        {
            if (excluded.Count == 0) return;
            w.WriteLine($"sweep: excluded by budget ({excluded.Count}, not trained):");
            foreach (var (v, why) in excluded) w.WriteLine($"  {v.Name}: {why}");
        }

        /// <summary>The sample a run settings object records (size, method, seed, grid size), or null for the whole grid.</summary>
        private static (long N, string Method, long Seed, long Grid)? SampleOf(string? runJson)
        {
            if (runJson == null) return null;
            using var doc = JsonDocument.Parse(runJson);
            var root = doc.RootElement;
            if (!root.TryGetProperty("sample", out var n) || n.ValueKind != JsonValueKind.Number) return null;
            return (n.GetInt64(), root.TryGetProperty("sample_method", out var m) ? m.GetString() ?? "" : "",
                root.TryGetProperty("sample_seed", out var seed) && seed.ValueKind == JsonValueKind.Number ? seed.GetInt64() : 0,
                root.TryGetProperty("grid_points", out var g) && g.ValueKind == JsonValueKind.Number ? g.GetInt64() : 0);
        }

        private static string DescribeSample((long N, string Method, long Seed, long Grid)? sample) => sample is { } x
            ? $"a sample of {Numbers.Grouped(x.N)} of {Numbers.Grouped(x.Grid)} grid points ({x.Method}, seed {x.Seed})"
            : "the whole grid";

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
        /// What a database's rows were made with, which --resume must match (a run with other settings is refused): the
        /// data, the device, every training setting common to the sweep's variants (those that differ are in each variant's
        /// configuration; the seed is per run, so a resume with more --seeds adds runs), the sample (size, method, seed and
        /// the grid's size) and the budget with the variants it left out ("excluded": the report lists them).
        /// </summary>
        private static string RunJson(Settings s, IReadOnlyList<(string Key, string? Value)> common, DatasetPair data,
            (long Grid, SampleMethod Method)? sample, SweepBudget budget, IReadOnlyList<(CheckedArchitecture Variant, string Why)> excluded)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("dataset", s.Dataset);
                w.WriteString("data", data.Description);
                if (common[0] is ("steps", { } steps)) w.WriteNumber("steps", int.Parse(steps, CultureInfo.InvariantCulture));
                w.WriteString("device", s.Device);
                foreach (var (key, value) in common.Skip(1))
                    if (value != null) w.WriteString(key, value);
                if (sample is { } drawn)
                {
                    w.WriteNumber("sample", s.Sample!.Value);
                    w.WriteString("sample_method", drawn.Method == SampleMethod.Sobol ? "sobol" : "random");
                    w.WriteNumber("sample_seed", s.SampleSeed ?? 0);
                    w.WriteNumber("grid_points", drawn.Grid);
                }
                if (budget.MaxParams is { } maxParams) w.WriteNumber("max_params", maxParams);
                if (budget.MaxMacs is { } maxMacs) w.WriteNumber("max_macs", maxMacs);
                if (!budget.IsNone)
                {
                    w.WriteStartArray(ExcludedVariant.Key);
                    foreach (var (v, why) in excluded)
                    {
                        w.WriteStartObject();
                        w.WriteString("variant", v.Name);
                        w.WriteNumber("params", v.Costs.Params);
                        w.WriteNumber("macs", v.Costs.Macs);
                        w.WriteString("reason", why);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
