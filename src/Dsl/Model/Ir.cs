using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Families;

namespace Torchwright.Dsl.Model
{
    public enum ShortcutKind { Conv, AvgDown }

    /// <summary>A feature-map shape: channels x height x width.</summary>
    public readonly record struct Shape(long C, long H, long W)
    {
        public override string ToString() => $"{C}x{H}x{W}";
    }

    /// <summary>The settings one block kind reads; each <see cref="BlockDefinition"/> declares its own record beside it.</summary>
    public abstract record BlockSettings;

    /// <summary>A channel-attention option with its computed sizes (SE's rounded channels, ECA's kernel).</summary>
    public sealed record ChannelAttentionIR(ChannelAttentionDefinition Kind, long Channels, long Kernel);

    /// <summary>
    /// What every ResNet-family block takes besides its kind's settings: activation, channel attention (after bn3 on the
    /// output channels, or with <see cref="AttentionAtSpatial"/> after the 3x3 conv on the width, as timm's ByobNet), dilation,
    /// and the norm after each conv (<see cref="NormIR"/>).
    /// </summary>
    public sealed record BlockOptionsIR(string Activation, ChannelAttentionIR? Attention, long Dilation, bool AttentionAtSpatial = false, NormIR? Norm = null)
    {
        public static readonly BlockOptionsIR Default = new BlockOptionsIR("relu", null, 1);
    }

    /// <summary>
    /// One block with every hyper-parameter resolved: its kind (the one definition that builds, costs and emits it),
    /// the channels and stride every kind has, the kind's own settings and the ResNet-family options, and its
    /// stochastic-depth rate (set by the builder once the network's block count is known; see <see cref="Regularization"/>).
    /// </summary>
    public sealed record BlockIR(
        BlockKind Kind,
        long InChannels, long Width, long OutChannels, long Stride,
        BlockSettings Settings,
        BlockOptionsIR Options,
        ShortcutKind Shortcut = ShortcutKind.Conv,
        double DropPath = 0);

    /// <summary>
    /// The norm after every conv of the ResNet-family blocks and stems (field norm): batch (null, the default),
    /// frozen_batch (no parameters: its four tensors are buffers) or group with <see cref="Groups"/> groups.
    /// </summary>
    public sealed record NormIR(string Word, long Groups)
    {
        public const string Batch = "batch", FrozenBatch = "frozen_batch", Group = "group";

        /// <summary>Whether the norm's weight and bias are parameters (counted; not for frozen_batch).</summary>
        public static bool HasParams(NormIR? norm) => norm?.Word != FrozenBatch;
    }

    /// <summary>The stem: its kind and the output channels of each of its convolutions (the last is the stem's output);
    /// <see cref="Norm"/> null is BatchNorm; <see cref="Pool"/>: whether it ends in the 3x3/2 max pool (stem_pool).</summary>
    public sealed record StemIR(StemDefinition Kind, EquatableArray<long> Widths, string Activation, NormIR? Norm = null, bool Pool = true)
    {
        public long OutChannels => Widths.Count == 0 ? 0 : Widths[Widths.Count - 1];
    }

    /// <summary>A stage: its optional patch embedding (van/rest stages) followed by its blocks.</summary>
    public sealed record StageIR(
        int Index, long InChannels, long OutChannels, long Stride, long PatchKernel,
        EquatableArray<BlockIR> Blocks)
    {
        public string Name => FieldCatalog.StageName(Index);
    }

    /// <summary>The 1x1 conv (no bias), norm (<see cref="Norm"/> null is BatchNorm, as the network's norm field says) and
    /// activation after the last stage (timm's num_features), registered final_conv.0/.1/.2.</summary>
    public sealed record FinalConvIR(long Channels, string Activation, NormIR? Norm = null)
    {
        /// <summary>The emitted conv → norm pair (state-dict paths), which the inference optimiser folds.</summary>
        public static readonly (string Conv, string Norm) ConvNormPair = ("final_conv.0", "final_conv.1");
    }

    /// <summary>The architecture after inheritance, defaults and width scaling: what the checker and emitter read.
    /// <see cref="Dropout"/>: dropout before the classifier; <see cref="FrozenStages"/>: the stem and that many stages frozen (-1: none);
    /// <see cref="FinalConv"/>: the conv before the pool, if declared; <see cref="OutIndices"/>: the returned stages of a feature backbone (empty: a classifier).</summary>
    public sealed record ArchitectureIR(
        string Name,
        FamilyDefinition Family,
        Shape Input,
        bool InputDeclared,
        StemIR Stem,
        EquatableArray<StageIR> Stages,
        long Classes,
        SourceLocation Location,
        double Dropout = 0,
        int FrozenStages = -1,
        FinalConvIR? FinalConv = null,
        EquatableArray<int> OutIndices = default)
    {
        /// <summary>A feature backbone (out_indices): forward returns the stage outputs at <see cref="OutIndices"/>
        /// (1 = the first stage); the stages after the last one and the head are not built.</summary>
        public bool IsFeatureBackbone => OutIndices.Count > 0;

        /// <summary>The channels the pool and the classifier read: the final conv's, else the last stage's.</summary>
        public long FeatureChannels => FinalConv?.Channels ?? Stages[Stages.Count - 1].OutChannels;

        public bool HasStem => Stem.Kind.Word != "none";

        /// <summary>Whether train, sweep and bench --mode train re-stride the module channels-last: the family's training
        /// layout (<see cref="FamilyDefinition.TrainChannelsLast"/>) unless a block kind trains slower so
        /// (<see cref="BlockKind.TrainsSlowerChannelsLast"/>).</summary>
        public bool TrainChannelsLast => Family.TrainChannelsLast && !Stages.Any(s => s.Blocks.Any(b => b.Kind.TrainsSlowerChannelsLast));

        /// <summary>The conv → norm pairs the generated module holds in its own Sequentials (the stem's, final_conv's), by
        /// state-dict path: its ForInference folds them (the blocks declare their own pairs).</summary>
        public IEnumerable<(string Conv, string Norm)> HeldConvNormPairs()
        {
            var held = Stem.Kind.ConvNormPairs(Stem);
            return FinalConv is null ? held : held.Append(FinalConvIR.ConvNormPair);
        }
    }
}
