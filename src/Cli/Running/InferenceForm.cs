using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Runtime.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// <c>--optimize</c> of infer and bench: the module folded for inference by its own generated <c>ForInference()</c>
    /// (<see cref="IHasInferenceForm"/>: the family's layout and the conv → norm pairs of its emitted Sequentials), after
    /// its weights are in.
    /// </summary>
    internal static class InferenceForm
    {
        public static InferenceModule Optimize(nn.Module<Tensor, Tensor> module) => module is IHasInferenceForm form
            ? form.ForInference()
            : throw new NotSupportedException($"{module.GetName()} has no inference form (only generated classifiers have ForInference)");

        /// <summary>One line: what was folded and what was not, and why.</summary>
        public static string Summary(InferenceReport r)
        {
            var kept = r.Kept.GroupBy(k => k.Why).Select(g => $"{g.Count()} kept ({g.Key}: {g.First().Norm}{(g.Count() > 1 ? ", ..." : "")})");
            var layout = r.Layout == InferenceLayout.ChannelsLast ? "channels-last" : "contiguous";
            return $"optimised: {r.Folded.Count} norms folded into their convolutions, {layout}" +
                (r.Kept.Count > 0 ? "; " + string.Join("; ", kept) : "");
        }
    }
}
