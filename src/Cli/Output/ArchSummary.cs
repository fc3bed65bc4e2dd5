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
        IReadOnlyList<LayerInfo> Layers)
    {
        public long MacsWithoutAttention => Macs - AttentionMacs;

        public long ParamBytesFp32 => Params * Numbers.BytesPerFp32;

        public static ArchSummary From(CheckedArchitecture a) => new ArchSummary(
            a.Name, a.Variant?.Sweep, a.Ir.Input, a.Ir.InputDeclared,
            a.Costs.Params, a.Costs.Macs, a.Costs.AttentionMacs, a.Costs.Layers.ToList());
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
