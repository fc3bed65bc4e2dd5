using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Torchwright.Runtime;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using static TorchSharp.torch;

namespace Torchwright.Sweeps
{
    /// <summary>One run to train (a grid point under one seed): what the database records about it, how to build its module,
    /// and its training settings (a sweep's variants may differ in them: train.* axes); the run's seed replaces theirs.</summary>
    public sealed record SweepJob(VariantPlan Plan, Func<nn.Module<Tensor, Tensor>> CreateModel, TrainSettings Settings);

    /// <summary>What a sweep run did.</summary>
    public sealed record SweepOutcome(int Planned, int SkippedDone, int Done, int Failed, bool Cancelled)
    {
        /// <summary>Runs this worker stopped early (<see cref="Pruning"/>); an ASHA run pruned at several rungs counts each time.</summary>
        public int Pruned { get; init; }
    }

    /// <summary>Receives the events of a sweep run (the CLI's live display or plain log lines).</summary>
    public interface ISweepObserver
    {
        /// <summary>Before the first variant: <paramref name="toRun"/> of <paramref name="planned"/> remain.</summary>
        void Started(int planned, int toRun, int skippedDone);

        /// <summary>Variant <paramref name="k"/> (1-based) of <paramref name="n"/> to run begins training.</summary>
        void VariantStarted(int k, int n, VariantPlan plan);

        void VariantProgress(int k, int n, VariantPlan plan, TrainProgress progress);

        void VariantDone(int k, int n, VariantPlan plan, TrainResult result);

        void VariantFailed(int k, int n, VariantPlan plan, string error);

        /// <summary>The run was stopped early by the pruning rule at <see cref="TrainResult.StoppedAt"/> (recorded pruned).</summary>
        void VariantPruned(int k, int n, VariantPlan plan, TrainResult result, string why) =>
            Note($"{plan.Variant} seed {plan.Seed}: pruned at step {result.StoppedAt}: {why}");

        /// <summary>Something the user should know that is not a run's outcome (a run taken over from a dead worker, waiting for others).</summary>
        void Note(string message);
    }

    /// <summary>The results store could not be reached while the sweep ran (a PostgreSQL server that went away). Every
    /// run finished before is recorded; the one in flight is taken over after its lease.</summary>
    public sealed class ResultsStoreUnavailableException : Exception
    {
        public ResultsStoreUnavailableException(string store, Exception cause)
            : base($"{store}: the results store cannot be reached ({cause.Message.Split('\n')[0].Trim()})", cause)
        {
        }
    }

    /// <summary>Who this sweep process is in the store, and how long its claims last without a heartbeat.</summary>
    /// <param name="Id">The worker's name in the store and in messages (host:pid:random).</param>
    /// <param name="Lease">A run whose last heartbeat is older than this is re-claimed by another worker (PostgreSQL).</param>
    /// <param name="Poll">How often a worker with nothing to claim looks again while other workers still hold runs.</param>
    public sealed record SweepWorker(string Id, TimeSpan Lease, TimeSpan Poll)
    {
        public static SweepWorker Create(TimeSpan? lease = null)
        {
            var l = lease ?? ResultsStore.DefaultLease;
            return new SweepWorker(ResultsStore.NewWorkerId(), l, TimeSpan.FromMilliseconds(Math.Clamp(l.TotalMilliseconds / 4, 200, 10_000)));
        }

        /// <summary>Heartbeats come three times per lease, so one late or lost heartbeat never costs the claim.</summary>
        public TimeSpan HeartbeatEvery => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, Lease.Ticks / 3));
    }

    /// <summary>
    /// Trains runs from a results store until none is left. The store is the only state, shared by every worker of
    /// the sweep: a worker claims the next run atomically (marked running under its name), keeps the claim alive with
    /// heartbeats while it trains, then records the run done with all its metrics and loss curve in one transaction —
    /// only if it still holds the claim. A crash, SIGKILL or lost machine therefore loses at most the runs in flight;
    /// their claims run out after the lease and another worker (or the next <c>--resume</c>) trains them again. Done
    /// runs are never trained or written twice. A worker with nothing to claim waits while others still hold runs
    /// (one of them may die), and stops when every run is done or failed.
    /// </summary>
    public static class SweepRunner
    {
        /// <summary>Trains every planned run with its job's settings (the seed replaced by the run's) through
        /// <see cref="Trainer.Run"/>, carried out as <paramref name="run"/> says. With <see cref="TrainRun.Directory"/>,
        /// each run keeps its folder there (<see cref="RunFolder"/>: weights, resumable state, curves), and a run claimed
        /// again — interrupted, killed, or taken over from a dead worker — continues from its last saved state.</summary>
        /// <remarks><paramref name="pruning"/> is the early-stopping rule (<see cref="Pruning"/>; null: every run trains to the
        /// end); <paramref name="measureForward"/> measures a variant's forward throughput (images per second) once, before
        /// its first run trains (<c>--measure-latency</c>; null: not measured).</remarks>
        public static SweepOutcome Run(IResultsStore db, IReadOnlyList<SweepJob> jobs, DatasetPair data, TrainRun run,
            string runJson, ISweepObserver observer, CancellationToken cancel = default, SweepWorker? worker = null,
            Pruning? pruning = null, Func<SweepJob, double>? measureForward = null)
        {
            worker ??= SweepWorker.Create();
            pruning ??= Pruning.None;
            var plans = jobs.Select(j => j.Plan).ToList();
            db.Plan(plans, runJson);
            // Early stopping compares runs at the same steps (rungs, the median's evaluation steps): the command line
            // refuses pruning when train.* axes give variants different lengths.
            var lengths = jobs.Select(j => Trainer.StepsOf(j.Settings, data.Train.Count)).Distinct().ToList();
            if (pruning.Rule != PruneRule.None && lengths.Count > 1)
                throw new ArgumentException($"early stopping compares runs at the same steps, but these variants train for {string.Join(", ", lengths)} steps", nameof(pruning));
            int steps = lengths.Count == 0 ? 0 : lengths.Max();
            if (pruning.ContinuePruned && db.ReopenPruned(plans) is var reopened && reopened > 0)
                observer.Note($"continuing {reopened} pruned run(s) to the end (--no-prune)");
            var rule = pruning.ContinuePruned ? PruneRule.None : pruning.Rule;
            var measured = new HashSet<string>(db.ReadAll().Where(r => r.ForwardImagesPerSecond != null).Select(r => r.Variant), StringComparer.Ordinal);
            // One read of the database, not one query (and loss-curve read) per variant.
            var done = new HashSet<(string, long)>(db.ReadAll().Where(r => r.Status == VariantStatus.Done).Select(r => (r.Variant, r.Seed)));
            var byRun = jobs.ToDictionary(j => (j.Plan.Variant, j.Plan.Seed));
            int toRun = jobs.Count(j => !done.Contains((j.Plan.Variant, j.Plan.Seed)));
            int skipped = jobs.Count - toRun;
            observer.Started(jobs.Count, toRun, skipped);

            int count = 0, trained = 0, failed = 0, pruned = 0;
            var numbers = new Dictionary<(string, long), int>();
            bool waiting = false;
            SweepOutcome Outcome(bool cancelled) => new SweepOutcome(jobs.Count, skipped, trained, failed, cancelled) { Pruned = pruned };
            var asha = rule == PruneRule.Asha ? pruning : null;
            while (true)
            {
                if (cancel.IsCancellationRequested) return Outcome(cancelled: true);
                RunClaim? claim = null;
                IReadOnlyList<VariantRecord>? snapshot = null;
                if (asha != null)
                {
                    // ASHA's get_job: promote a run from the highest rung where one is due, else start a new run.
                    snapshot = db.ReadAll();
                    if (asha.Promotable(snapshot, plans, steps, noneLeftToStart: false) is { } due && !db.Promote(due.Plan, due.FromStep, worker.Id, out claim))
                        continue; // another worker promoted it first: look again
                }
                if (claim == null)
                {
                    var state = db.Claim(plans, worker.Id, worker.Lease, out claim);
                    if (state == ClaimState.Finished)
                    {
                        // Nothing left to start and nothing in flight: a finite grid's last promotions (ceil quotas).
                        if (asha == null) return Outcome(cancelled: false);
                        snapshot = db.ReadAll();
                        if (asha.Promotable(snapshot, plans, steps, noneLeftToStart: true) is not { } last) return Outcome(cancelled: false);
                        if (!db.Promote(last.Plan, last.FromStep, worker.Id, out claim)) continue;
                    }
                    else if (state == ClaimState.WaitForOthers)
                    {
                        if (!waiting) observer.Note("waiting: the runs left are held by other workers (a run whose worker dies is taken over when its lease runs out)");
                        waiting = true;
                        if (cancel.WaitHandle.WaitOne(worker.Poll)) return Outcome(cancelled: true);
                        continue;
                    }
                }
                waiting = false;
                var plan = claim!.Plan;
                var job = byRun[(plan.Variant, plan.Seed)];
                if (!numbers.TryGetValue((plan.Variant, plan.Seed), out var k)) numbers[(plan.Variant, plan.Seed)] = k = ++count;
                if (claim.PreviousWorker != null)
                    observer.Note($"{plan.Variant} seed {plan.Seed}: taken over from {claim.PreviousWorker}, whose claim ran out (no heartbeat for {worker.Lease.TotalSeconds:0.#} s)");
                observer.VariantStarted(k, toRun, plan);
                var runOfPlan = RunOf(run, plan, runJson);
                int reached = 0;
                if (runOfPlan.Directory != null && TrainCheckpoint.Peek(runOfPlan.Directory) is { } saved)
                {
                    observer.Note($"{plan.Variant} seed {plan.Seed}: continuing from step {saved.Step} of {saved.Steps} (its state in {runOfPlan.Directory})");
                    reached = saved.Step;
                }
                string why = "";
                if (asha != null)
                {
                    // Without a run folder a promoted run trains again from step 0, to the rung after the one it reached.
                    var record = snapshot?.FirstOrDefault(r => r.Variant == plan.Variant && r.Seed == plan.Seed);
                    int target = asha.NextRung(steps, Math.Max(reached, record == null ? 0 : Pruning.LastEvaluation(record)));
                    runOfPlan = runOfPlan with { EvalAt = asha.Rungs(steps), StopAfterEvaluation = e => e[^1].Step >= target };
                    why = $"it reached rung step {target}; it continues when its accuracy there ranks in the top 1/{asha.Eta} of the runs that reached it";
                }
                else if (rule == PruneRule.Median)
                {
                    runOfPlan = runOfPlan with
                    {
                        EvalAt = pruning.Rungs(steps),
                        StopAfterEvaluation = e => pruning.MedianStops(e, db.ReadAll(), plan, out why),
                    };
                }

                TrainResult result;
                using (var heartbeat = new Heartbeat(db, claim, worker.HeartbeatEvery))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancel, heartbeat.Lost))
                {
                    try
                    {
                        // Under the claim's heartbeat: timing a slow variant must not let the lease run out.
                        if (measureForward != null && measured.Add(plan.Variant))
                        {
                            var forward = measureForward(job);
                            db.RecordForwardSpeed(plan.Variant, forward);
                            observer.Note(FormattableString.Invariant($"{plan.Variant}: forward {forward:0.#} images/s (--measure-latency)"));
                        }
                        var progress = new Progress(p => observer.VariantProgress(k, toRun, plan, p));
                        result = Trainer.Run(job.CreateModel, data, job.Settings with { Seed = plan.Seed }, runOfPlan, progress, linked.Token);
                    }
                    catch (OperationCanceledException) when (cancel.IsCancellationRequested)
                    {
                        // Interrupted (Ctrl+C): the row stays "running", exactly as after a kill; its claim runs out.
                        return Outcome(cancelled: true);
                    }
                    catch (OperationCanceledException) when (heartbeat.Lost.IsCancellationRequested)
                    {
                        heartbeat.ThrowIfStoreFailed();
                        observer.Note($"{plan.Variant} seed {plan.Seed}: dropped: another worker took the run over (this worker's heartbeats came too late)");
                        continue;
                    }
                    catch (Exception e) when (IsVariantFailure(e))
                    {
                        // One run failing (divergence, out of memory, a shape the declaration did not foresee) must
                        // not stop the grid: record why and go on.
                        heartbeat.Stop();
                        heartbeat.ThrowIfStoreFailed();
                        if (db.Fail(claim, DateTimeOffset.UtcNow, e.Message))
                        {
                            observer.VariantFailed(k, toRun, plan, e.Message);
                            failed++;
                        }
                        else observer.Note($"{plan.Variant} seed {plan.Seed}: failed, but another worker had taken it over; its outcome stands");
                        continue;
                    }
                    heartbeat.Stop();
                    heartbeat.ThrowIfStoreFailed();
                }
                var metrics = new VariantMetrics(result.ImagesPerSecond, result.PeakMemoryBytes, result.TrainLoss, result.EvalLoss, result.EvalAccuracy, result.LossCurve)
                {
                    EvalCurve = result.Evaluations.Select(e => new EvalCurvePoint(e.Step, e.Loss, e.Accuracy)).ToList(),
                };
                if (result.StoppedAt != null)
                {
                    if (!db.Prune(claim, DateTimeOffset.UtcNow, metrics))
                    {
                        observer.Note($"{plan.Variant} seed {plan.Seed}: stopped, but another worker had taken it over; not recorded twice");
                        continue;
                    }
                    observer.VariantPruned(k, toRun, plan, result, why);
                    pruned++;
                    continue;
                }
                if (!db.Finish(claim, DateTimeOffset.UtcNow, metrics))
                {
                    observer.Note($"{plan.Variant} seed {plan.Seed}: finished, but another worker had taken it over; not recorded twice");
                    continue;
                }
                observer.VariantDone(k, toRun, plan, result);
                trained++;
            }
        }

        /// <summary>The folder of one run under a sweep's checkpoint folder: the variant name made file-safe, a hash of the
        /// exact name (two names that differ only in unsafe characters stay apart), and the seed.</summary>
        public static string RunFolder(string checkpoints, VariantPlan plan)
        {
            var safe = new string(plan.Variant.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '=' ? c : '_').ToArray());
            var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(plan.Variant))).Substring(0, 8).ToLowerInvariant();
            return System.IO.Path.Combine(checkpoints, $"{safe}-{hash}", "seed" + plan.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        /// <summary>One run's carrying-out: the sweep's, with the run's own folder (resumed when it holds a state) and what a
        /// resume must match besides the settings (the variant, its configuration and the sweep's run settings).</summary>
        private static TrainRun RunOf(TrainRun run, VariantPlan plan, string runJson) => run.Directory is null ? run : run with
        {
            Directory = RunFolder(run.Directory, plan),
            Resume = true,
            Identity = new Dictionary<string, string> { ["variant"] = plan.Variant, ["config"] = plan.ConfigJson, ["sweep_run"] = runJson },
        };

        /// <summary>
        /// Renews a claim on a timer thread while the run trains. A lost claim, or a store that cannot be reached,
        /// cancels <see cref="Lost"/> so training stops at the next step; the store's error is rethrown on the sweep's thread.
        /// </summary>
        private sealed class Heartbeat : IDisposable
        {
            private readonly IResultsStore _db;
            private readonly RunClaim _claim;
            private readonly CancellationTokenSource _lost = new CancellationTokenSource();
            private readonly Timer _timer;
            private readonly object _gate = new object();
            private bool _stopped;
            private Exception? _failure;

            public Heartbeat(IResultsStore db, RunClaim claim, TimeSpan every)
            {
                _db = db;
                _claim = claim;
                _timer = new Timer(_ => Beat(), null, every, every);
            }

            public CancellationToken Lost => _lost.Token;

            private void Beat()
            {
                lock (_gate)
                {
                    if (_stopped || _lost.IsCancellationRequested) return;
                    try
                    {
                        if (!_db.Heartbeat(_claim)) _lost.Cancel();
                    }
                    catch (Exception e) when (e is System.Data.Common.DbException || e is System.IO.IOException || e is TimeoutException || e is InvalidOperationException)
                    {
                        _failure = e;
                        _lost.Cancel();
                    }
                }
            }

            /// <summary>No heartbeat after this returns (the outcome is about to be written).</summary>
            public void Stop()
            {
                lock (_gate) _stopped = true;
                _timer.Dispose();
            }

            public void ThrowIfStoreFailed()
            {
                if (_failure != null) throw new ResultsStoreUnavailableException(_db.Name, _failure);
            }

            public void Dispose()
            {
                Stop();
                _lost.Dispose();
            }
        }

        /// <summary>
        /// Errors that belong to one variant: divergence, a module that could not be built, a libtorch error (ExternalException, e.g. out of memory), a
        /// shape or argument the module rejects. Anything else (a bug, a database error) stops the sweep.
        /// </summary>
        private static bool IsVariantFailure(Exception e) =>
            e is TrainingDivergedException || e is ModuleBuildException || e is ArgumentException || e is OutOfMemoryException
            || (e is System.Runtime.InteropServices.ExternalException && e is not System.Data.Common.DbException);

        /// <summary>Synchronous IProgress (System.Progress posts to the thread pool, which would reorder events).</summary>
        private sealed class Progress : IProgress<TrainProgress>
        {
            private readonly Action<TrainProgress> _report;
            public Progress(Action<TrainProgress> report) => _report = report;
            public void Report(TrainProgress value) => _report(value);
        }
    }
}
