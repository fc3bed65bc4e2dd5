using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>
    /// One block kind, in one place: its .arch word, the fields it reads (with their defaults and checks), its shape and
    /// cost rule and the C# that constructs its Runtime module (src/Runtime/Blocks/<see cref="RuntimeType"/>.cs).
    /// Adding a kind is a subclass here, its Runtime module and a line in <see cref="Definitions"/>.
    /// </summary>
    public abstract class BlockDefinition
    {
        /// <summary>The Runtime module's class name; also the kind the summary and the spec JSON print.</summary>
        public abstract string RuntimeType { get; }

        /// <summary>The word that selects the kind for a stage (<c>block = splat</c>); null for a kind chosen otherwise (MHSA, by mask).</summary>
        public abstract string? Word { get; }

        /// <summary>The family whose layout a stage of this kind follows.</summary>
        public abstract FamilyDefinition Family { get; }

        /// <summary>One line for docs/fields.md and the catalog: what the word builds.</summary>
        public abstract string Summary { get; }

        /// <summary>The fields only this kind reads (the catalog and docs list them; the builder reads them through <see cref="Read"/>).</summary>
        public virtual IEnumerable<FieldInfo> Fields => Array.Empty<FieldInfo>();

        /// <summary>Whether the Runtime module fixes its input map size at construction (relative-position tables, ResT's token reshapes).</summary>
        public virtual bool FixesMapSize => false;

        /// <summary>What fixes the map size, for messages ("MHSA (the relative-position tables fix each map's size)").</summary>
        public virtual string FixedMapSizeReason => "";

        /// <summary>The fix a size-fixing block's input guard suggests, given its cost row and the checked input.</summary>
        public virtual string FixedInputHint(LayerInfo row, Shape input) => "";

        /// <summary>Builds the stage's blocks, reading and checking the kind's fields; null when an error makes them meaningless.</summary>
        public abstract List<BlockIR>? BuildStage(StageContext stage);

        /// <summary>Adds the block's parameters and MACs to <paramref name="a"/> and returns its output shape.</summary>
        public abstract Shape Cost(CostSheet a, BlockIR b, Shape x);

        /// <summary>The C# expression that constructs the Runtime module, given its registered name and input map.</summary>
        public abstract string Create(BlockIR b, string name, Shape input);

        /// <summary>The kind's settings as spec-JSON members (long, bool, double or string values).</summary>
        public abstract IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b);

        public override string ToString() => RuntimeType;
    }

    /// <summary>
    /// A stem, in one place: its word, fields, the check that reads them, its cost rows and its emitted parts and forward.
    /// </summary>
    public abstract class StemDefinition
    {
        public abstract string Word { get; }

        public abstract string Summary { get; }

        public virtual IEnumerable<FieldInfo> Fields => Array.Empty<FieldInfo>();

        /// <summary>The families whose stages may follow this stem.</summary>
        public abstract IReadOnlyList<FamilyDefinition> Families { get; }

        /// <summary>The stem's total downsampling (4 for the ResNet stems, 1 for none).</summary>
        public abstract long Stride { get; }

        /// <summary>Reads and checks the stem's fields; null on an error that stops the build.</summary>
        public abstract StemIR? Read(StemContext stem);

        /// <summary>Adds one cost row per top-level part (row(path, kind, input, output, sheet)) and returns the output shape.</summary>
        public abstract Shape Cost(StemIR stem, Shape x, Action<string, string, Shape, Shape, CostSheet> row);

        /// <summary>The registered top-level modules, in order.</summary>
        public abstract IEnumerable<EmittedPart> Parts(StemIR stem, long inChannels);

        /// <summary>The body of <c>Stem(input)</c> (an expression), or null when there is no stem.</summary>
        public abstract string? Forward(StemIR stem);

        public override string ToString() => Word;
    }

    /// <summary>
    /// A channel-attention option (squeeze-excitation, ECA), in one place: its word, fields, the sizes it computes,
    /// its cost rule and the Runtime <c>ChannelAttentionKind</c> it asks the blocks for.
    /// </summary>
    public abstract class ChannelAttentionDefinition
    {
        public abstract string Word { get; }

        /// <summary>The member of Torchwright.Runtime.Blocks.ChannelAttentionKind.</summary>
        public abstract string RuntimeKind { get; }

        public abstract string Summary { get; }

        public virtual IEnumerable<FieldInfo> Fields => Array.Empty<FieldInfo>();

        /// <summary>Reads the option's fields for a stage and sizes it for <paramref name="channels"/>; null on an error.</summary>
        public abstract ChannelAttentionIR? Read(FieldReader fields, int stage, string owner, long channels);

        public abstract void Cost(CostSheet a, ChannelAttentionIR attention, long channels);

        public override string ToString() => Word;
    }

    /// <summary>What a block definition needs to build one stage: the tracked fields and what the builder resolved.</summary>
    public sealed class StageContext
    {
        public StageContext(FieldReader fields, int index, int depth, long inChannels, long width, long outChannels, long stride, long previousDilation)
        {
            Fields = fields;
            Index = index;
            Depth = depth;
            InChannels = inChannels;
            Width = width;
            OutChannels = outChannels;
            Stride = stride;
            PreviousDilation = previousDilation;
            Dilation = previousDilation;
        }

        public FieldReader Fields { get; }
        public int Index { get; }
        public string Name => FieldCatalog.StageName(Index);
        public int Depth { get; }
        public long InChannels { get; }
        public long Width { get; }
        public long OutChannels { get; }
        public long Stride { get; }

        /// <summary>The dilation the previous stage ended with: this stage's first block keeps it (torchvision, timm).</summary>
        public long PreviousDilation { get; }

        /// <summary>Set by the definition: the dilation this stage ends with (the next stage's first block takes it).</summary>
        public long Dilation { get; set; }

        /// <summary>Set by the definition: whether the stage read its cN.dilation (the ResNet family does).</summary>
        public bool DilationRead { get; set; }

        /// <summary>Set by the definition: whether a block after the first takes the stage's dilation.</summary>
        public bool DilationActsHere { get; set; }

        /// <summary>Set by the definition: what the first block is when it takes no dilation ("an MHSA block"), null when it
        /// takes <see cref="PreviousDilation"/>.</summary>
        public string? FirstBlockUndilated { get; set; }

        public string StagePath(string field) => FieldReader.StagePath(Index, field);
    }

    /// <summary>What a stem definition needs: the tracked fields, the family, the first stage's width and the width multiplier.</summary>
    public sealed class StemContext
    {
        public StemContext(FieldReader fields, FamilyDefinition family, long firstStageWidth, Func<long, long> scale)
        {
            Fields = fields;
            Family = family;
            FirstStageWidth = firstStageWidth;
            Scale = scale;
        }

        public FieldReader Fields { get; }
        public FamilyDefinition Family { get; }
        public long FirstStageWidth { get; }
        public Func<long, long> Scale { get; }
    }

    /// <summary>Every family, block kind, stem and channel-attention option the language knows. The one registration point.</summary>
    public static class Definitions
    {
        public static readonly IReadOnlyList<FamilyDefinition> Families = new FamilyDefinition[]
        {
            ResNetFamilyDefinition.Instance,
            VanFamilyDefinition.Instance,
            RestFamilyDefinition.Instance,
        };

        public static readonly IReadOnlyList<BlockDefinition> Blocks = new BlockDefinition[]
        {
            BottleneckDefinition.Instance,
            SplitAttnDefinition.Instance,
            CotDefinition.Instance,
            VanDefinition.Instance,
            RestDefinition.Instance,
            BotDefinition.Instance,
        };

        public static readonly IReadOnlyList<StemDefinition> Stems = new StemDefinition[]
        {
            ResNetStemDefinition.Instance,
            DeepStemDefinition.Instance,
            RestStemDefinition.Released,
            RestStemDefinition.Paper,
            NoStemDefinition.Instance,
        };

        public static readonly IReadOnlyList<ChannelAttentionDefinition> ChannelAttentions = new ChannelAttentionDefinition[]
        {
            SqueezeExciteDefinition.Instance,
            EcaDefinition.Instance,
        };

        public static BlockDefinition? Block(string word) => Blocks.FirstOrDefault(b => b.Word == word);

        public static StemDefinition? Stem(string word) => Stems.FirstOrDefault(s => s.Word == word);

        public static ChannelAttentionDefinition? ChannelAttention(string word) => ChannelAttentions.FirstOrDefault(a => a.Word == word);
    }
}
