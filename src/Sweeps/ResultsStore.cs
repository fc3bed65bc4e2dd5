using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace Torchwright.Sweeps
{
    /// <summary>A run this worker holds: it trains it, keeps the claim alive with heartbeats, and records its outcome.</summary>
    /// <param name="Plan">The run.</param>
    /// <param name="Worker">The worker holding the claim (host:pid:random).</param>
    /// <param name="PreviousWorker">When the run was re-claimed from a worker whose lease expired, that worker; otherwise null.</param>
    public sealed record RunClaim(VariantPlan Plan, string Worker, string? PreviousWorker);

    /// <summary>What a claim attempt found: a run, nothing claimable now but runs other workers still hold, or nothing left.</summary>
    public enum ClaimState { Claimed, WaitForOthers, Finished }

    /// <summary>
    /// Where a sweep's runs live: SQLite (<see cref="ResultsDb"/>, one machine, one sweep process per file) or PostgreSQL
    /// (<see cref="PostgresResultsDb"/>, any number of workers on any number of machines). Both keep the same rows and
    /// the same guarantees: a state change is one transaction, a done run is never written again, and a run is only
    /// finished by the worker that holds its claim.
    /// </summary>
    public interface IResultsStore : IDisposable
    {
        /// <summary>The store as the user named it, safe to print (a PostgreSQL password is masked).</summary>
        string Name { get; }

        /// <summary>The training settings the runs were planned with, or null before the first <see cref="Plan"/>.</summary>
        string? RunJson { get; }

        /// <summary>Records the runs (see <see cref="ResultsDb.Plan"/>): new ones pending, failed ones pending again, done ones untouched.</summary>
        void Plan(IReadOnlyList<VariantPlan> plans, string runJson);

        /// <summary>
        /// Atomically takes the next run among <paramref name="mine"/> that is pending, or running under a claim whose
        /// last heartbeat is older than <paramref name="lease"/> (its worker died), and marks it running for
        /// <paramref name="worker"/>.
        /// </summary>
        ClaimState Claim(IReadOnlyList<VariantPlan> mine, string worker, TimeSpan lease, out RunClaim? claim);

        /// <summary>Renews the claim; false when it was lost (another worker re-claimed the run after the lease ran out).</summary>
        bool Heartbeat(RunClaim claim);

        /// <summary>Records the run done with all its metrics in one transaction; false (nothing written) when the claim was lost.</summary>
        bool Finish(RunClaim claim, DateTimeOffset finished, VariantMetrics metrics);

        /// <summary>Records the run pruned (stopped early by a pruning rule) with the metrics and curves of the step where it
        /// stopped, in one transaction; false (nothing written) when the claim was lost.</summary>
        bool Prune(RunClaim claim, DateTimeOffset stopped, VariantMetrics metrics);

        /// <summary>Atomically takes up a pruned run whose last evaluation is at <paramref name="fromStep"/> (an ASHA
        /// promotion): marked running for <paramref name="worker"/>; false when it is no longer so (another worker took it).</summary>
        bool Promote(VariantPlan plan, int fromStep, string worker, out RunClaim? claim);

        /// <summary>Makes the pruned runs among <paramref name="mine"/> pending again (continued to the end); returns how many.</summary>
        int ReopenPruned(IReadOnlyList<VariantPlan> mine);

        /// <summary>Records a variant's measured forward throughput (images per second) on every run of it.</summary>
        void RecordForwardSpeed(string variant, double imagesPerSecond);

        /// <summary>Records the run failed with the reason; false (nothing written) when the claim was lost.</summary>
        bool Fail(RunClaim claim, DateTimeOffset finished, string error);

        /// <summary>Every run, ordered by sweep, grid index, name and seed.</summary>
        IReadOnlyList<VariantRecord> ReadAll();
    }

    /// <summary>Opens the store a <c>--db</c> value names: a PostgreSQL connection string or URI, else a SQLite file.</summary>
    public static class ResultsStore
    {
        /// <summary>The default lease: a run whose worker sent no heartbeat for this long is re-claimed by another.</summary>
        public static readonly TimeSpan DefaultLease = TimeSpan.FromMinutes(2);

        /// <summary>True for <c>postgres://…</c>, <c>postgresql://…</c> and key=value connection strings with a Host.</summary>
        public static bool IsPostgres(string db) => PostgresResultsDb.IsConnectionString(db);

        public static IResultsStore Open(string db) => IsPostgres(db) ? PostgresResultsDb.Open(db) : ResultsDb.Open(db);

        /// <summary>The --db value as it may be printed: a PostgreSQL password is masked.</summary>
        public static string Display(string db)
        {
            if (!IsPostgres(db)) return db;
            try { return PostgresResultsDb.Parse(db).Name; }
            catch (ArgumentException) { return "(a PostgreSQL connection)"; }
        }

        /// <summary>Opens for reading (a sweep may be writing at the same time).</summary>
        public static IResultsStore OpenReadOnly(string db) => IsPostgres(db) ? PostgresResultsDb.Open(db, create: false) : ResultsDb.OpenReadOnly(db);

        /// <summary>"host:pid:random": names the worker in the store and in messages.</summary>
        public static string NewWorkerId() =>
            $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N").Substring(0, 8)}";
    }

    /// <summary>The rules both stores apply to what they are given (so SQLite and PostgreSQL accept and refuse the same).</summary>
    internal static class StoreRules
    {
        /// <summary>What Plan refuses before it writes anything: settings or a configuration that is not a JSON object, a run named twice.</summary>
        internal static void CheckPlan(IReadOnlyList<VariantPlan> plans, string runJson)
        {
            RequireJsonObject(runJson, nameof(runJson));
            var twice = plans.GroupBy(p => (p.Variant, p.Seed)).FirstOrDefault(g => g.Count() > 1);
            if (twice != null)
                throw new ArgumentException($"the plan names variant '{twice.Key.Variant}' with seed {twice.Key.Seed} {twice.Count()} times; runs must be unique", nameof(plans));
            foreach (var p in plans) RequireJsonObject(p.ConfigJson, $"the configuration of variant '{p.Variant}'");
        }

        /// <summary>A done run is never trained again, so its declaration must be the one it was trained with.</summary>
        internal static void RequireUnchanged(string store, VariantPlan plan, string storedConfig, long storedParams, long storedMacs)
        {
            var changes = Differences(storedConfig, plan.ConfigJson, ignore: null);
            if (storedParams != plan.Params) changes.Add(FormattableString.Invariant($"params: {storedParams} vs {plan.Params}"));
            if (storedMacs != plan.Macs) changes.Add(FormattableString.Invariant($"macs: {storedMacs} vs {plan.Macs}"));
            if (changes.Count > 0)
                throw new InvalidOperationException(
                    $"{store}: variant '{plan.Variant}' (seed {plan.Seed}) is done, but its declaration changed since it was trained (database vs now: {string.Join("; ", changes)}); "
                    + "use a new --db for the changed declarations, or restore them to resume");
        }

        /// <summary>A loss curve must have distinct steps and finite losses (a run that diverged is failed, not done).</summary>
        internal static void CheckLossCurve(string variant, VariantMetrics metrics)
        {
            CheckEvalCurve(variant, metrics);
            var steps = new HashSet<int>();
            foreach (var point in metrics.LossCurve)
            {
                if (!steps.Add(point.Step))
                    throw new ArgumentException($"variant '{variant}': the loss curve has step {point.Step} twice; nothing was written", nameof(metrics));
                if (!double.IsFinite(point.Loss))
                    throw new ArgumentException($"variant '{variant}': the loss at step {point.Step} is {point.Loss.ToString(CultureInfo.InvariantCulture)}; a run that diverged is failed, not done; nothing was written", nameof(metrics));
            }
        }

        /// <summary>An eval curve must have distinct steps, finite losses and accuracies in [0, 1].</summary>
        internal static void CheckEvalCurve(string variant, VariantMetrics metrics)
        {
            var steps = new HashSet<int>();
            foreach (var point in metrics.EvalCurve)
            {
                if (!steps.Add(point.Step))
                    throw new ArgumentException($"variant '{variant}': the eval curve has step {point.Step} twice; nothing was written", nameof(metrics));
                if (point.Step < 1 || !double.IsFinite(point.Loss) || point.Loss < 0 || !(point.Accuracy >= 0 && point.Accuracy <= 1))
                    throw new ArgumentException(FormattableString.Invariant(
                        $"variant '{variant}': the evaluation at step {point.Step} (loss {point.Loss}, accuracy {point.Accuracy}) is not a step >= 1 with a finite loss >= 0 and an accuracy in [0, 1]; nothing was written"), nameof(metrics));
            }
        }

        internal static void CheckForwardSpeed(string variant, double imagesPerSecond)
        {
            if (!(double.IsFinite(imagesPerSecond) && imagesPerSecond > 0))
                throw new ArgumentException(FormattableString.Invariant($"variant '{variant}': a forward throughput of {imagesPerSecond} images/s is not a positive finite number; nothing was written"), nameof(imagesPerSecond));
        }

        internal static void RequireJsonObject(string json, string what)
        {
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new ArgumentException($"{what} must be a JSON object, not {doc.RootElement.ValueKind}: {json}");
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"{what} is not valid JSON ({e.Message}): {json}", e);
            }
        }

        /// <summary>"key: a vs b" for every top-level key whose values differ (objects compared as JSON).</summary>
        internal static List<string> Differences(string stored, string current, IReadOnlyCollection<string>? ignore)
        {
            using var a = JsonDocument.Parse(stored);
            using var b = JsonDocument.Parse(current);
            var keys = a.RootElement.EnumerateObject().Select(p => p.Name)
                .Concat(b.RootElement.EnumerateObject().Select(p => p.Name))
                .Distinct(StringComparer.Ordinal).Where(k => ignore == null || !ignore.Contains(k));
            var differences = new List<string>();
            foreach (var key in keys)
            {
                bool inA = a.RootElement.TryGetProperty(key, out var va);
                bool inB = b.RootElement.TryGetProperty(key, out var vb);
                if (inA && inB && JsonElement.DeepEquals(va, vb)) continue;
                differences.Add($"{key}: {(inA ? va.GetRawText() : "(absent)")} vs {(inB ? vb.GetRawText() : "(absent)")}");
            }
            return differences;
        }
    }
}
