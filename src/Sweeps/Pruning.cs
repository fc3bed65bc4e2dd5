using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Runtime.Training;

namespace Torchwright.Sweeps
{
    /// <summary>The early-stopping rule of a sweep (<c>--prune</c>).</summary>
    public enum PruneRule { None, Asha, Median }

    /// <summary>
    /// How a sweep stops hopeless runs early (docs/sweeps.md, "Early stopping"). Every decision is made from what the
    /// results store holds — the eval curves of the runs recorded so far — so any number of workers apply the same rule
    /// without a coordinator, and one worker on SQLite is deterministic.
    /// </summary>
    /// <param name="Rule">None, ASHA or the median stopping rule.</param>
    /// <param name="MinSteps">ASHA: the first rung r (then r·η, r·η², … below the run's steps, and the last step);
    /// median: the evaluation interval and grace period (evaluations at r, 2r, …; none stops a run before step r).</param>
    /// <param name="Eta">ASHA's reduction factor η: the top 1/η of the results at a rung are promoted.</param>
    /// <param name="ContinuePruned">Continue the pruned runs to the end and prune nothing (<c>--resume --no-prune</c>).</param>
    public sealed record Pruning(PruneRule Rule, int MinSteps, int Eta, bool ContinuePruned)
    {
        public static readonly Pruning None = new(PruneRule.None, 0, 0, false);

        /// <summary>The median rule compares a run with the others at a step only once this many others have an evaluation there.</summary>
        public const int MedianMinRuns = 3;

        /// <summary>The default reduction factor η.</summary>
        public const int DefaultEta = 3;

        /// <summary>The default first rung: <paramref name="steps"/>/η³ (at least 1), so that a run has four rungs, the last one its end.</summary>
        public static int DefaultMinSteps(int steps, int eta, PruneRule rule) =>
            rule == PruneRule.Median ? Math.Max(1, steps / 10) : Math.Max(1, (int)(steps / Math.Pow(eta, 3)));

        /// <summary>The steps where a run is evaluated for the rule: ASHA's rungs (the last is <paramref name="steps"/>), or
        /// the median rule's evaluations at every multiple of <see cref="MinSteps"/> below <paramref name="steps"/>.</summary>
        public IReadOnlyList<int> Rungs(int steps)
        {
            var rungs = new List<int>();
            if (Rule == PruneRule.Asha)
            {
                for (long r = MinSteps; r < steps; r *= Eta) rungs.Add((int)r);
                rungs.Add(steps);
            }
            else if (Rule == PruneRule.Median)
                for (int r = MinSteps; r < steps; r += MinSteps) rungs.Add(r);
            return rungs;
        }

        /// <summary>A line for the plan and the log.</summary>
        public string Describe(int steps) => Rule switch
        {
            PruneRule.Asha => $"ASHA, eta {Eta}, rungs at steps {string.Join(", ", Rungs(steps))}",
            PruneRule.Median => $"median stopping rule, evaluations every {MinSteps} steps, at least {MedianMinRuns} other runs",
            _ => "none",
        };

        /// <summary>
        /// ASHA's get_job promotion: for each rung k from the highest (below the last step) down, the runs with an
        /// evaluation at rung k's step are ranked by their accuracy there (ties: sweep grid order, then seed); the first
        /// <c>⌊n_k/η⌋</c> of them — <c>⌈n_k/η⌉</c> when <paramref name="noneLeftToStart"/>, so that a finite grid
        /// ends with a run trained to the end — are the top, and the first of those still pruned at that rung (among
        /// <paramref name="mine"/>) is promoted to rung k+1. Null when none is.
        /// </summary>
        public (VariantPlan Plan, int FromStep)? Promotable(IReadOnlyList<VariantRecord> records, IReadOnlyList<VariantPlan> mine, int steps, bool noneLeftToStart)
        {
            if (Rule != PruneRule.Asha) return null;
            var rungs = Rungs(steps);
            var planned = mine.ToDictionary(p => (p.Variant, p.Seed));
            for (int k = rungs.Count - 2; k >= 0; k--)
            {
                int step = rungs[k];
                var results = records
                    .Select(r => (Record: r, At: r.EvalCurve.Where(p => p.Step == step).Select(p => (double?)p.Accuracy).FirstOrDefault()))
                    .Where(x => x.At != null)
                    .OrderByDescending(x => x.At!.Value)
                    .ThenBy(x => x.Record.Sweep, StringComparer.Ordinal).ThenBy(x => x.Record.Index)
                    .ThenBy(x => x.Record.Variant, StringComparer.Ordinal).ThenBy(x => x.Record.Seed)
                    .ToList();
                int quota = noneLeftToStart ? (results.Count + Eta - 1) / Eta : results.Count / Eta;
                foreach (var (record, _) in results.Take(quota))
                {
                    if (record.Status != VariantStatus.Pruned || LastEvaluation(record) != step) continue;
                    if (planned.TryGetValue((record.Variant, record.Seed), out var plan)) return (plan, step);
                }
            }
            return null;
        }

        /// <summary>
        /// The median stopping rule (Golovin et al. 2017): after an evaluation at step s (the last of
        /// <paramref name="evaluations"/>), stop the run when its best accuracy so far is below the median of the
        /// accuracies at step s of the other runs the store holds, once at least <see cref="MedianMinRuns"/> have one.
        /// </summary>
        public bool MedianStops(IReadOnlyList<EvalPoint> evaluations, IReadOnlyList<VariantRecord> records, VariantPlan self, out string why)
        {
            why = "";
            if (Rule != PruneRule.Median || evaluations.Count == 0) return false;
            int step = evaluations[^1].Step;
            if (step < MinSteps) return false;
            var others = records
                .Where(r => !(r.Variant == self.Variant && r.Seed == self.Seed))
                .SelectMany(r => r.EvalCurve.Where(p => p.Step == step).Select(p => p.Accuracy))
                .OrderBy(a => a).ToList();
            if (others.Count < MedianMinRuns) return false;
            double median = others.Count % 2 == 1 ? others[others.Count / 2] : (others[others.Count / 2 - 1] + others[others.Count / 2]) / 2;
            double best = evaluations.Max(e => e.Accuracy);
            if (best >= median) return false;
            why = FormattableString.Invariant($"its best accuracy {best:0.####} by step {step} is below the median {median:0.####} of {others.Count} other runs there");
            return true;
        }

        /// <summary>The step of a run's last recorded evaluation (0 when none).</summary>
        public static int LastEvaluation(VariantRecord record) => record.EvalCurve.Count == 0 ? 0 : record.EvalCurve.Max(p => p.Step);

        /// <summary>ASHA: the rung a run trains to next, from the step it has reached.</summary>
        public int NextRung(int steps, int reached) => Rungs(steps).First(r => r > reached || r == steps);
    }
}
