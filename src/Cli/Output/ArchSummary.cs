using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Model;

namespace Torchwright.Cli.Output
{
    /// <summary>What the summary formats print for one architecture or sweep variant, taken from the checked IR.</summary>
    public sealed record ArchSummary(
        string Name,
        string? Sweep,
        Shape Input,
        bool InputDeclared,
        long Params,
        long Macs,
        long AttentionMacs,
        IReadOnlyList<LayerInfo> Layers,
        string? FeatureNote = null)
    {
        public long MacsWithoutAttention => Macs - AttentionMacs;

        public long ParamBytesFp32 => Params * Numbers.BytesPerFp32;

        public static ArchSummary From(CheckedArchitecture a) => new ArchSummary(
            a.Name, a.Variant?.Sweep, a.Ir.Input, a.Ir.InputDeclared,
            a.Costs.Params, a.Costs.Macs, a.Costs.AttentionMacs, a.Costs.Layers.ToList(), FeatureNoteOf(a));

        /// <summary>A feature backbone's line: what forward returns, and what is not built (hence not counted).</summary>
        private static string? FeatureNoteOf(CheckedArchitecture a) => !a.Ir.IsFeatureBackbone ? null
            : $"Feature backbone (out_indices = [{string.Join(", ", a.Ir.OutIndices)}]): returns "
              + string.Join(", ", a.FeatureLevels.Select(l => $"{l.Stage} ({l.Module}, {l.Channels} channels, stride {l.Stride})"))
              + $"; the stages after {a.Ir.Stages[a.Ir.Stages.Count - 1].Name}, the pool and the classifier are not built, and the counts leave them out";
    }

    /// <summary>A sweep in the summary: its variants (checked) and those that failed their checks.</summary>
    public sealed record SweepSummary(string Name, string Base, IReadOnlyList<string> Axes, IReadOnlyList<ArchSummary> Variants, IReadOnlyList<string> InvalidVariants)
    {
        public static SweepSummary From(CheckedSweep s) => new SweepSummary(
            s.Info.Name, s.Info.Base, s.Info.Axes.ToList(), s.Variants.Select(ArchSummary.From).ToList(), s.InvalidVariants.ToList());
    }

    /// <summary>Everything one <c>summary</c> invocation prints.</summary>
    public sealed record SummaryDocument(IReadOnlyList<ArchSummary> Architectures, IReadOnlyList<SweepSummary> Sweeps);

    /// <summary>The conventions every printed cost follows (stated next to the numbers, as torchinfo/fvcore do).</summary>
    public static class Conventions
    {
        public const string Macs = "MACs: multiply-accumulates of conv, linear and attention matmuls; 1 MAC = 2 FLOPs";

        public const string NotCounted = "Not counted: normalisation, activations, pooling, softmax, element-wise ops";

        public const string ParamMemory = "Parameter memory: fp32, 4 bytes per parameter (1 MiB = 1,048,576 bytes)";
    }
}
