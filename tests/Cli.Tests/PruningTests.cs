using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Torchwright.Tests.Shared;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Early stopping on a seeded 16-run sweep of the shapes set: 4 learning rates × 4 widths of a small CNN. The learning
    /// rate axis is exact without per-run settings: every variant multiplies the gradient reaching its logits by its
    /// factor (the forward values are untouched), and SGD with momentum is linear in the gradient, so a factor g trains
    /// exactly as learning rate g × 0.1 would.
    /// </summary>
    public sealed class PruningTests : IClassFixture<PruningTests.Server>, IDisposable
    {
        public sealed class Server : IDisposable
        {
            public PostgresServer Pg { get; } = new PostgresServer();

            public void Dispose() => Pg.Dispose();
        }

        private const int Steps = 162;
        private static readonly double[] LearningRates = { 0.03, 0.003, 0.0003, 0.00003 };
        private static readonly int[] Widths = { 4, 8, 16, 24 };
        private static readonly DatasetPair Data = Datasets.Open("shapes:16:n=1024:test=256");
        private static readonly TrainSettings Settings = TrainSettings.Default with { Steps = Steps, Batch = 32, LearningRate = 0.1, Seed = 3 };
        private static readonly Pruning Asha = new Pruning(PruneRule.Asha, MinSteps: 27, Eta: 3, ContinuePruned: false);

        private readonly PostgresServer _pg;
        private readonly ITestOutputHelper _log;
        private readonly string _dir = Directory.CreateTempSubdirectory("tw-prune-").FullName;

        public PruningTests(Server server, ITestOutputHelper log)
        {
            _pg = server.Pg;
            _log = log;
            set_num_threads(1);
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        /// <summary>Passes the logits on unchanged and scales the gradient that flows back through them by <paramref name="g"/>.</summary>
        private sealed class GradientScale : nn.Module<Tensor, Tensor>
        {
            private readonly nn.Module<Tensor, Tensor> _inner;
            private readonly double _g;

            public GradientScale(nn.Module<Tensor, Tensor> inner, double g) : base("GradientScale")
            {
                _inner = inner;
                _g = g;
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var y = _inner.call(x);
                return y * _g + (y * (1 - _g)).detach();
            }
        }

        private static readonly object InitGate = new object();

        private static nn.Module<Tensor, Tensor> Model(int width, double g)
        {
            // Seeded under a lock: two workers in one process must not interleave their weight initialisations.
            lock (InitGate)
            {
                manual_seed(Settings.Seed + width);
                return new GradientScale(nn.Sequential(
                    nn.Conv2d(3, width, 3, padding: 1, bias: false), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Conv2d(width, 2 * width, 3, padding: 1, bias: false), nn.BatchNorm2d(2 * width), nn.ReLU(), nn.MaxPool2d(2),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 8)), g / Settings.LearningRate);
            }
        }

        private static List<SweepJob> Jobs()
        {
            var jobs = new List<SweepJob>();
            int index = 0;
            foreach (var lr in LearningRates)
                foreach (var width in Widths)
                {
                    var name = FormattableString.Invariant($"Grid/lr={lr:0.#####}/width={width}");
                    var config = FormattableString.Invariant($"{{\"lr\":{lr},\"width\":{width}}}");
                    jobs.Add(new SweepJob(new VariantPlan(name, "Grid", index++, config, 1000 + width, 2000 + width, Settings.Seed), () => Model(width, lr), Settings));
                }
            return jobs;
        }

        private sealed class Quiet : ISweepObserver
        {
            public List<string> Notes { get; } = new List<string>();
            public int Pruned;

            public void Started(int planned, int toRun, int skippedDone) { }
            public void VariantStarted(int k, int n, VariantPlan plan) { }
            public void VariantProgress(int k, int n, VariantPlan plan, TrainProgress progress) { }
            public void VariantDone(int k, int n, VariantPlan plan, TrainResult result) { }
            public void VariantFailed(int k, int n, VariantPlan plan, string error) => Notes.Add("failed: " + error);
            public void VariantPruned(int k, int n, VariantPlan plan, TrainResult result, string why) => Interlocked.Increment(ref Pruned);
            public void Note(string message) { lock (Notes) Notes.Add(message); }
        }

        private SweepOutcome Sweep(IResultsStore db, string runs, Pruning pruning, Quiet? observer = null, SweepWorker? worker = null) =>
            SweepRunner.Run(db, Jobs(), Data, new TrainRun { Directory = runs, LossCurveEvery = 3 }, "{\"steps\":162}",
                observer ?? new Quiet(), default, worker, pruning);

        /// <summary>Training steps a store's runs took: the last step of each run's loss curve, summed.</summary>
        private static int StepsTrained(IReadOnlyList<VariantRecord> records) => records.Sum(r => r.LossCurve.Count == 0 ? 0 : r.LossCurve.Max(p => p.Step));

        private static VariantRecord Best(IReadOnlyList<VariantRecord> records) =>
            records.Where(r => r.Status == VariantStatus.Done).OrderByDescending(r => r.EvalAccuracy).ThenBy(r => r.Index).First();

        private static IReadOnlyList<VariantRecord> FullGrid
        {
            get
            {
                lock (FullGate)
                {
                    if (_full != null) return _full;
                    var dir = Directory.CreateTempSubdirectory("tw-prune-full-").FullName;
                    try
                    {
                        using var db = ResultsDb.Open(Path.Combine(dir, "full.db"));
                        SweepRunner.Run(db, Jobs(), Data, new TrainRun { LossCurveEvery = 3 }, "{\"steps\":162}", new Quiet());
                        return _full = db.ReadAll();
                    }
                    finally { Directory.Delete(dir, recursive: true); }
                }
            }
        }

        private static readonly object FullGate = new object();
        private static IReadOnlyList<VariantRecord>? _full;

        private void Show(string what, IReadOnlyList<VariantRecord> records)
        {
            foreach (var r in records)
                _log.WriteLine(FormattableString.Invariant($"{what} {r.Variant} {r.Status} acc {r.EvalAccuracy} steps {(r.LossCurve.Count == 0 ? 0 : r.LossCurve.Max(p => p.Step))} evals {string.Join(" ", r.EvalCurve.Select(p => $"{p.Step}:{p.Accuracy:0.###}"))}"));
        }

        [Fact]
        public void Asha_on_sqlite_trains_at_most_40_percent_of_the_grid_and_names_the_same_best_variant()
        {
            var full = FullGrid;
            Show("full", full);
            Assert.Equal(16 * Steps, StepsTrained(full));

            using var db = ResultsDb.Open(Path.Combine(_dir, "asha.db"));
            var observer = new Quiet();
            var outcome = Sweep(db, Path.Combine(_dir, "asha.runs"), Asha, observer);
            var asha = db.ReadAll();
            Show("asha", asha);
            Assert.DoesNotContain(observer.Notes, n => n.StartsWith("failed", StringComparison.Ordinal));
            Assert.Equal(new[] { 27, 81, 162 }, Asha.Rungs(Steps));
            // Rung 27: all 16; rung 81: the top ⌊16/3⌋ = 5, then one more (⌈16/3⌉ = 6) once none is left to start;
            // the end: ⌊6/3⌋ = 2. The steps are exact: 16·27 + 6·54 + 2·81 = 918 of 2,592 (35 %).
            Assert.Equal(16 * 27 + 6 * 54 + 2 * 81, StepsTrained(asha));
            Assert.True(StepsTrained(asha) <= 0.4 * StepsTrained(full));
            Assert.Equal(2, asha.Count(r => r.Status == VariantStatus.Done));
            Assert.Equal(14, asha.Count(r => r.Status == VariantStatus.Pruned));
            Assert.Equal(2, outcome.Done);
            Assert.Equal("Grid/lr=0.03/width=24", Best(full).Variant);
            Assert.Equal(Best(full).Variant, Best(asha).Variant);
            // A run trained to the end through its rungs is the same computation as one trained straight through.
            var bestFull = full.Single(r => r.Variant == Best(full).Variant);
            Assert.Equal(bestFull.EvalAccuracy, Best(asha).EvalAccuracy);
            Assert.Equal(bestFull.LossCurve, Best(asha).LossCurve);
            // Every pruned run keeps its partial curves and its state; its last evaluation is a rung.
            foreach (var r in asha.Where(r => r.Status == VariantStatus.Pruned))
            {
                Assert.Contains(Pruning.LastEvaluation(r), new[] { 27, 81 });
                Assert.Equal(Pruning.LastEvaluation(r), r.LossCurve.Max(p => p.Step));
                Assert.Equal(r.EvalCurve[^1].Accuracy, r.EvalAccuracy);
                Assert.Equal(Pruning.LastEvaluation(r), TrainCheckpoint.Peek(SweepRunner.RunFolder(Path.Combine(_dir, "asha.runs"), Plan(r)))!.Value.Step);
            }
        }

        [Fact]
        public void The_median_rule_stops_runs_below_the_others_and_no_prune_continues_them_exactly()
        {
            var full = FullGrid;
            // The fastest and the slowest learning rate. The first three train to the end (fewer than three others to
            // compare with, or above their median); the rest fall below the median at their first evaluation — the
            // fourth, lr 0.03 width 24, too, although it ends best of all: the rule's price, which --no-prune undoes.
            var jobs = Jobs().Where(j => j.Plan.Index < 4 || j.Plan.Index >= 12).ToList();
            var median = new Pruning(PruneRule.Median, MinSteps: 27, Eta: 0, ContinuePruned: false);
            Assert.Equal(new[] { 27, 54, 81, 108, 135 }, median.Rungs(Steps));
            var path = Path.Combine(_dir, "median.db");
            var runs = Path.Combine(_dir, "median.runs");
            var observer = new Quiet();
            using (var db = ResultsDb.Open(path))
            {
                var outcome = SweepRunner.Run(db, jobs, Data, new TrainRun { Directory = runs, LossCurveEvery = 3 }, "{\"steps\":162}", observer, default, null, median);
                var after = db.ReadAll();
                Show("median", after);
                Assert.Equal((3, 5), (outcome.Done, outcome.Pruned));
                Assert.Equal(new[] { 0, 1, 2 }, after.Where(r => r.Status == VariantStatus.Done).Select(r => r.Index));
                foreach (var r in after.Where(r => r.Status == VariantStatus.Pruned))
                {
                    // Stopped at its first evaluation, below the median of the runs recorded before it (one worker: in plan order).
                    Assert.Equal(27, Pruning.LastEvaluation(r));
                    var others = after.Where(o => o.Index < r.Index).Select(o => o.EvalCurve.Single(p => p.Step == 27).Accuracy).OrderBy(a => a).ToList();
                    double middle = others.Count % 2 == 1 ? others[others.Count / 2] : (others[others.Count / 2 - 1] + others[others.Count / 2]) / 2;
                    Assert.True(r.EvalAccuracy < middle, $"{r.Variant}: {r.EvalAccuracy} vs {string.Join(", ", others)}");
                    Assert.Equal(27, r.LossCurve.Max(p => p.Step));
                }
                Assert.Equal(0.1640625, after.Single(r => r.Index == 3).EvalAccuracy); // below the median 0.1796875 of the first three
                // The done runs evaluated at every multiple of 27 and at the end; their results are the full grid's.
                foreach (var r in after.Where(r => r.Status == VariantStatus.Done))
                {
                    Assert.Equal(new[] { 27, 54, 81, 108, 135, 162 }, r.EvalCurve.Select(p => p.Step));
                    Assert.Equal(full.Single(f => f.Variant == r.Variant).EvalAccuracy, r.EvalAccuracy);
                }
                Assert.Equal(5, observer.Pruned);
            }

            // --resume --no-prune: the pruned runs continue from their saved step 27 to the end, exactly as if never stopped.
            var again = new Quiet();
            using (var db = ResultsDb.Open(path))
            {
                var outcome = SweepRunner.Run(db, jobs, Data, new TrainRun { Directory = runs, LossCurveEvery = 3 }, "{\"steps\":162}", again, default, null,
                    Pruning.None with { ContinuePruned = true });
                Assert.Equal((5, 3, 0), (outcome.Done, outcome.SkippedDone, outcome.Pruned));
                Assert.Contains("continuing 5 pruned run(s) to the end (--no-prune)", again.Notes);
                Assert.Equal(5, again.Notes.Count(n => n.Contains(": continuing from step 27 of 162", StringComparison.Ordinal)));
                var after = db.ReadAll();
                Assert.All(after, r => Assert.Equal(VariantStatus.Done, r.Status));
                foreach (var r in after.Where(r => r.Index >= 3))
                {
                    var straight = full.Single(f => f.Variant == r.Variant);
                    Assert.Equal(straight.EvalAccuracy, r.EvalAccuracy);
                    Assert.Equal(straight.LossCurve, r.LossCurve);
                    Assert.Equal(new[] { 27, 162 }, r.EvalCurve.Select(p => p.Step));
                }
            }
        }

        private string[] CliSweep(string db, params string[] extra) =>
            new[] { "sweep", WriteTiny(), "--db", db, "--dataset", "shapes:32:n=256:test=64", "--batch", "8", "--lr", "0.05", "--threads", "1", "--progress", "plain" }
                .Concat(extra).ToArray();

        private string WriteTiny()
        {
            var path = Path.Combine(_dir, "tiny.arch");
            File.WriteAllText(path, SweepTests.TinyArch);
            return path;
        }

        [Fact]
        public void Sweep_prune_asha_from_the_command_line_records_pruned_runs_and_the_report_shows_them_apart()
        {
            var db = Path.Combine(_dir, "cli.db");
            var (code, stdout, stderr) = CliRunner.Run(CliSweep(db, "--steps", "9", "--prune", "asha", "--prune-min-steps", "1"));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("; pruning: ASHA, eta 3, rungs at steps 1, 3, 9", stdout);
            using (var read = ResultsDb.OpenReadOnly(db))
            {
                var runs = read.ReadAll();
                // All four reach rung 1 (accuracies tie at 12.5 %: grid order decides). The first is promoted once three
                // have a result (⌊3/3⌋ = 1) and pruned at rung 3; when none is left to start the quotas round up:
                // ⌈1/3⌉ = 1 takes it to the end, ⌈4/3⌉ = 2 takes the second to rung 3, and ⌈2/3⌉ = 1 that one to the end.
                Assert.Equal((2, 2), (runs.Count(r => r.Status == VariantStatus.Done), runs.Count(r => r.Status == VariantStatus.Pruned)));
                Assert.Equal(4 * 1 + 2 * 2 + 2 * 6, runs.Sum(r => r.LossCurve.Max(p => p.Step)));
                Assert.Equal(new[] { VariantStatus.Done, VariantStatus.Done, VariantStatus.Pruned, VariantStatus.Pruned }, runs.Select(r => r.Status));
                Assert.Contains("sweep: 2 trained, 0 already done, 0 failed, 2 pruned (continue them with --resume --no-prune)", stdout);
            }
            var report = CliRunner.Run("report", db);
            Assert.Equal(0, report.ExitCode);
            Assert.Contains("pruned", report.Out);

            // --resume --no-prune trains the other two to the end.
            var resumed = CliRunner.Run(CliSweep(db, "--steps", "9", "--resume", "--no-prune"));
            Assert.True(resumed.ExitCode == 0, resumed.Error + resumed.Out);
            Assert.Contains("sweep: continuing 2 pruned run(s) to the end (--no-prune)", resumed.Out);
            Assert.Contains("sweep: 2 trained, 2 already done, 0 failed;", resumed.Out);
            using (var read = ResultsDb.OpenReadOnly(db))
                Assert.All(read.ReadAll(), r => Assert.Equal((VariantStatus.Done, 9), (r.Status, r.LossCurve.Max(p => p.Step))));
        }

        [Theory]
        [InlineData("--no-prune", "torchwright sweep: --no-prune continues the pruned runs of a sweep: give it with --resume")]
        [InlineData("--resume --no-prune --prune asha", "torchwright sweep: give --prune asha or --no-prune, not both")]
        [InlineData("--prune median --prune-eta 3", "torchwright sweep: --prune-eta applies to --prune asha only (got --prune median)")]
        [InlineData("--prune-min-steps 2", "torchwright sweep: --prune-min-steps applies to --prune asha or median only")]
        [InlineData("--prune asha --prune-eta 1", "torchwright sweep: --prune-eta must be at least 2 (got 1)")]
        [InlineData("--prune asha --prune-min-steps 0", "torchwright sweep: --prune-min-steps must be at least 1 (got 0)")]
        [InlineData("--prune asha --prune-min-steps 6", "torchwright sweep: --prune-min-steps 6 must be below the run's 6 steps (the first rung comes before the end)")]
        public void Pruning_options_that_would_do_nothing_or_cannot_work_are_refused(string options, string message)
        {
            var db = Path.Combine(_dir, "refused.db");
            var (code, _, stderr) = CliRunner.Run(CliSweep(db, new[] { "--steps", "6" }.Concat(options.Split(' ')).ToArray()));
            Assert.Equal((2, message + "\n"), (code, stderr));
            Assert.False(File.Exists(db));
        }

        [Fact]
        public void Measure_latency_stores_a_forward_throughput_per_variant_and_the_report_draws_its_front()
        {
            var db = Path.Combine(_dir, "latency.db");
            var (code, stdout, stderr) = CliRunner.Run(CliSweep(db, "--steps", "2", "--seeds", "2", "--measure-latency"));
            Assert.True(code == 0, stderr + stdout);
            using (var read = ResultsDb.OpenReadOnly(db))
            {
                var runs = read.ReadAll();
                Assert.Equal(8, runs.Count);
                Assert.All(runs, r => Assert.True(r.ForwardImagesPerSecond > 0, $"{r.Variant}: {r.ForwardImagesPerSecond}"));
                // Measured once per variant: both seeds of a variant carry the same figure, and the log says it once.
                Assert.All(runs.GroupBy(r => r.Variant), g => Assert.Single(g.Select(r => r.ForwardImagesPerSecond).Distinct()));
                Assert.Equal(4, stdout.Split('\n').Count(l => l.Contains("images/s (--measure-latency)", StringComparison.Ordinal)));
            }
            var html = Path.Combine(_dir, "latency.html");
            Assert.Equal(0, CliRunner.Run("report", db, "--format", "html", "--output", html).ExitCode);
            var page = File.ReadAllText(html);
            Assert.Contains("id=\"front-forward-images-per-s\"", page);
            Assert.Contains("id=\"acc-vs-forward-images-per-s\"", page);
        }

        private static VariantPlan Plan(VariantRecord r) => new VariantPlan(r.Variant, r.Sweep, r.Index, r.ConfigJson, r.Params, r.Macs, r.Seed);

        [Fact]
        public async Task Asha_with_two_postgres_workers_trains_at_most_40_percent_and_names_the_same_best_variant()
        {
            var full = FullGrid;
            var uri = _pg.Uri(_pg.NewDatabase());
            var runs = Path.Combine(_dir, "pg.runs");
            var workers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                using var db = PostgresResultsDb.Open(uri);
                return Sweep(db, runs, Asha, worker: new SweepWorker(ResultsStore.NewWorkerId(), TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(100)));
            })).ToArray();
            await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(5));
            using var read = PostgresResultsDb.Open(uri, create: false);
            var asha = read.ReadAll();
            Show("pg", asha);
            Assert.True(StepsTrained(asha) <= 0.4 * StepsTrained(full), $"{StepsTrained(asha)} steps of {StepsTrained(full)}");
            Assert.Equal(Best(full).Variant, Best(asha).Variant);
            Assert.Equal(16, asha.Count(r => r.Status is VariantStatus.Done or VariantStatus.Pruned));
            // Both workers trained: the claims are shared, not serialised behind one worker.
            Assert.All(workers, w => Assert.True(w.Result.Done + w.Result.Pruned > 0));
        }
    }
}
