using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Sweeps
{
    /// <summary>One run to train (a grid point under one seed): what the database records about it and how to build its module.</summary>
    public sealed record SweepJob(VariantPlan Plan, Func<nn.Module<Tensor, Tensor>> CreateModel);

    /// <summary>What a sweep run did.</summary>
    public sealed record SweepOutcome(int Planned, int SkippedDone, int Done, int Failed, bool Cancelled);

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
    }

    /// <summary>
    /// Trains the jobs one after the other into a <see cref="ResultsDb"/>. The database is the only state: each
    /// variant is marked running (one transaction), trained, then marked done with all its metrics and loss curve
    /// (one transaction). A crash or SIGKILL therefore loses at most the variant in flight, which stays "running"
    /// and is trained again by the next run (<c>--resume</c>); done variants are never trained or written twice.
    /// </summary>
    public static class SweepRunner
    {
        public static SweepOutcome Run(ResultsDb db, IReadOnlyList<SweepJob> jobs, DatasetPair data, TrainOptions options,
            string runJson, ISweepObserver observer, CancellationToken cancel = default)
        {
            db.Plan(jobs.Select(j => j.Plan).ToList(), runJson);
            // One read of the database, not one query (and loss-curve read) per variant.
            var done = new HashSet<(string, long)>(db.ReadAll().Where(r => r.Status == VariantStatus.Done).Select(r => (r.Variant, r.Seed)));
            var todo = jobs.Where(j => !done.Contains((j.Plan.Variant, j.Plan.Seed))).ToList();
            observer.Started(jobs.Count, todo.Count, jobs.Count - todo.Count);

            int trained = 0, failed = 0;
            for (int i = 0; i < todo.Count; i++)
            {
                if (cancel.IsCancellationRequested)
                    return new SweepOutcome(jobs.Count, jobs.Count - todo.Count, trained, failed, Cancelled: true);
                var job = todo[i];
                int k = i + 1;
                observer.VariantStarted(k, todo.Count, job.Plan);
                db.MarkRunning(job.Plan.Variant, job.Plan.Seed, DateTimeOffset.UtcNow);
                TrainResult result;
                try
                {
                    var progress = new Progress(p => observer.VariantProgress(k, todo.Count, job.Plan, p));
                    result = Trainer.Run(job.CreateModel, data, options with { Seed = job.Plan.Seed }, progress, cancel);
                }
                catch (OperationCanceledException)
                {
                    // Interrupted (Ctrl+C): the row stays "running", exactly as after a kill; --resume retrains it.
                    return new SweepOutcome(jobs.Count, jobs.Count - todo.Count, trained, failed, Cancelled: true);
                }
                catch (Exception e) when (IsVariantFailure(e))
                {
                    // One variant failing (divergence, out of memory, a shape the declaration did not foresee) must
                    // not stop the grid: record why and go on.
                    db.MarkFailed(job.Plan.Variant, job.Plan.Seed, DateTimeOffset.UtcNow, e.Message);
                    observer.VariantFailed(k, todo.Count, job.Plan, e.Message);
                    failed++;
                    continue;
                }
                db.MarkDone(job.Plan.Variant, job.Plan.Seed, DateTimeOffset.UtcNow, new VariantMetrics(
                    result.ImagesPerSecond, result.PeakMemoryBytes, result.TrainLoss, result.EvalLoss, result.EvalAccuracy, result.LossCurve));
                observer.VariantDone(k, todo.Count, job.Plan, result);
                trained++;
            }
            return new SweepOutcome(jobs.Count, jobs.Count - todo.Count, trained, failed, Cancelled: false);
        }

        /// <summary>
        /// Errors that belong to one variant: divergence, a libtorch error (ExternalException, e.g. out of memory), a
        /// shape or argument the module rejects. Anything else (a bug, a database error) stops the sweep.
        /// </summary>
        private static bool IsVariantFailure(Exception e) =>
            e is TrainingDivergedException || e is ArgumentException || e is OutOfMemoryException
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
