using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Dsl.Model
{
    public enum BlockKind { Bottleneck, Bot, SplitAttn, Cot, Van, Rest }

    /// <summary>The macro layout and state-dict naming an architecture follows (decided by its block kinds).</summary>
    public enum Family { ResNet, Van, Rest }

    public enum StemKind { None, ResNet, Deep, Rest, RestPaper }

    public enum ShortcutKind { Conv, AvgDown }

    /// <summary>A feature-map shape: channels x height x width.</summary>
    public readonly record struct Shape(long C, long H, long W)
    {
        public override string ToString() => $"{C}x{H}x{W}";
    }

    /// <summary>
    /// One block with every hyper-parameter resolved. Fields that a kind does not use keep neutral values,
    /// so two declarations of the same network produce equal IR whatever they spelled out.
    /// </summary>
    public sealed record BlockIR(
        BlockKind Kind,
        long InChannels, long Width, long OutChannels, long Stride,
        long Cardinality = 1, long Radix = 1, bool Avd = false, ShortcutKind Shortcut = ShortcutKind.Conv,
        long Heads = 0, long MlpRatio = 0, long SrRatio = 0,
        long LkaKernel = 0, long LkaDilation = 0, double LayerScale = 0, bool QkvBias = false);

    /// <summary>A stage: its optional patch embedding (van/rest stages) followed by its blocks.</summary>
    public sealed record StageIR(
        int Index, long InChannels, long OutChannels, long Stride, long PatchKernel,
        EquatableArray<BlockIR> Blocks)
    {
        public string Name => FieldCatalog.StageName(Index);
    }

    /// <summary>The architecture after inheritance, defaults and width scaling: what the checker and emitter read.</summary>
    public sealed record ArchitectureIR(
        string Name,
        Family Family,
        Shape Input,
        bool InputDeclared,
        StemKind Stem,
        long StemWidth,
        EquatableArray<StageIR> Stages,
        long Classes,
        SourceLocation Location);
}
