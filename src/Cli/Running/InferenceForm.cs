using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Model;
using Torchwright.Runtime.Inference;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// <c>--optimize</c> of infer and bench: the module folded for inference (<see cref="InferenceOptimizer"/>) with its
    /// family's layout (<c>FamilyDefinition.InferChannelsLast</c>) and the conv → norm pairs of its emitted Sequentials (the stem's,
    /// <c>final_conv</c>'s), after its weights are in.
    /// </summary>
    internal static class InferenceForm
    {
        public static InferenceModule Optimize(CheckedArchitecture arch, nn.Module<Tensor, Tensor> module)
        {
            var ir = arch.Ir;
            var layout = ir.Family.InferChannelsLast ? InferenceLayout.ChannelsLast : InferenceLayout.Contiguous;
            return InferenceOptimizer.Optimize(module, layout, HeldPairs(ir).ToArray());
        }

        /// <summary>The conv → norm pairs the generated module holds in its own Sequentials: the stem's and final_conv's.</summary>
        public static IEnumerable<(string Conv, string Norm)> HeldPairs(ArchitectureIR ir)
        {
            var held = ir.Stem.Kind.ConvNormPairs(ir.Stem);
            return ir.FinalConv is null ? held : held.Append(FinalConvIR.ConvNormPair);
        }

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
