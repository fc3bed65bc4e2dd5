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
    /// What builds, costs and emits one block of the IR (<see cref="BlockIR.Kind"/>): the kind the summary and the spec
    /// JSON print, its family, its shape and cost rule, the C# that constructs its Runtime module and its spec members.
    /// A kind chosen by a word is a <see cref="BlockDefinition"/>; a self-attention bottleneck is a
    /// <see cref="SelfAttnBlockKind"/> around its slot's <see cref="SelfAttentionDefinition"/>.
    /// </summary>
    public abstract class BlockKind
    {
        /// <summary>The kind the summary, the cost rows and the spec JSON print (the Runtime class name, or for a
        /// self-attention bottleneck its slot's kind, e.g. BotBottleneck).</summary>
        public abstract string KindName { get; }

        /// <summary>The family whose layout a stage of this kind follows.</summary>
        public abstract FamilyDefinition Family { get; }

        /// <summary>What the block is called in messages ("bottleneck", "MHSA").</summary>
        public abstract string Noun { get; }

        /// <summary>Whether the Runtime module fixes its input map size at construction (relative-position tables, ResT's token reshapes).</summary>
        public virtual bool FixesMapSize => false;

        /// <summary>
        /// Whether the block trains slower channels-last than contiguous, which keeps a whole network that uses it
        /// contiguous in training (<see cref="ArchitectureIR.TrainChannelsLast"/>), whatever its family prefers. Measured
        /// per kind (docs/training.md).
        /// </summary>
        public virtual bool TrainsSlowerChannelsLast => false;

        /// <summary>What fixes the map size, for messages ("MHSA (the relative-position tables fix each map's size)").</summary>
        public virtual string FixedMapSizeReason => "";

        /// <summary>The fix a size-fixing block's input guard suggests, given its cost row and the checked input.</summary>
        public virtual string FixedInputHint(LayerInfo row, Shape input) => "";

        /// <summary>Checks that need the block's input map (known once the costs are): reported through the context.</summary>
        public virtual void CheckInputMap(BlockMapCheck check) { }

        /// <summary>Adds the block's parameters and MACs to <paramref name="a"/> and returns its output shape.</summary>
        public abstract Shape Cost(CostSheet a, BlockIR b, Shape x);

        /// <summary>The C# expression that constructs the Runtime module, given its registered name and input map.</summary>
        public abstract string Create(BlockIR b, string name, Shape input);

        /// <summary>The kind's settings as spec-JSON members (long, bool, double or string values).</summary>
        public abstract IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b);

        public override string ToString() => KindName;
    }

    /// <summary>
    /// A block kind chosen by a word (<c>block = splat</c>), in one place: the word, the fields it reads (with their
    /// defaults and checks) and how it builds a stage, besides what every <see cref="BlockKind"/> has.
    /// Adding a kind is a subclass here, its Runtime module and a line in <see cref="Definitions"/>.
    /// </summary>
    public abstract class BlockDefinition : BlockKind
    {
        /// <summary>The word that selects the kind for a stage (<c>block = splat</c>).</summary>
        public abstract string Word { get; }

        public override string Noun => Word;

        /// <summary>One line for docs/fields.md and the catalog: what the word builds.</summary>
        public abstract string Summary { get; }

        /// <summary>The fields only this kind reads (the catalog and docs list them; the builder reads them through <see cref="BuildStage"/>).</summary>
        public virtual IEnumerable<FieldInfo> Fields => Array.Empty<FieldInfo>();

        /// <summary>Builds the stage's blocks, reading and checking the kind's fields; null when an error makes them meaningless.</summary>
        public abstract List<BlockIR>? BuildStage(StageContext stage);
    }

    /// <summary>What a block's map check needs: the fields, the IR, where the block is, the map it receives, the
    /// network's total stride and whether an error was already reported.</summary>
    public sealed class BlockMapCheck
    {
        public BlockMapCheck(FieldReader fields, ArchitectureIR ir, int stage, int block, Shape input, long totalStride, bool hasErrors)
        {
            Fields = fields;
            Ir = ir;
            Stage = stage;
            Block = block;
            Input = input;
            TotalStride = totalStride;
            HasErrors = hasErrors;
        }

        public FieldReader Fields { get; }
        public ArchitectureIR Ir { get; }
        public int Stage { get; }
        public int Block { get; }
        public Shape Input { get; }
        public long TotalStride { get; }
        public bool HasErrors { get; }
        public BlockIR BlockIR => Ir.Stages[Stage].Blocks[Block];
        public string StageName => FieldCatalog.StageName(Stage);
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

        /// <summary>The convolution → norm pairs the stem's emitted parts hold in typed fields (state-dict paths), which
        /// the inference optimiser folds (Runtime modules such as ResT's stems declare their own).</summary>
        public virtual IEnumerable<(string Conv, string Norm)> ConvNormPairs(StemIR stem) => Array.Empty<(string, string)>();

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

        /// <summary>The dilation the family's output stride derives for the stage's blocks after the first (null: none; the
        /// stage's own cN.dilation). Set by the builder.</summary>
        public long? DerivedDilation { get; init; }

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
            BasicDefinition.Instance,
            VanDefinition.Instance,
            RestDefinition.Instance,
        };

        /// <summary>The self-attention kinds of the ResNet-family bottleneck's slot (<c>cN.self_attn</c>), placed by <c>cN.mhsa</c> / <c>cN.mhsa_every</c>.</summary>
        public static readonly IReadOnlyList<SelfAttentionDefinition> SelfAttentions = new SelfAttentionDefinition[]
        {
            BotAttentionDefinition.Instance,
            HaloAttentionDefinition.Instance,
            LambdaAttentionDefinition.Instance,
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

        public static SelfAttentionDefinition? SelfAttention(string word) => SelfAttentions.FirstOrDefault(a => a.Word == word);

        public static ChannelAttentionDefinition? ChannelAttention(string word) => ChannelAttentions.FirstOrDefault(a => a.Word == word);
    }

    /// <summary>Kind lists for documentation and messages, derived from the definitions ("bottleneck, splat and cot blocks").
    /// No static state, so static field initialisers of the definitions may call it.</summary>
    public static class KindText
    {
        public static string Phrase(IEnumerable<string> nouns, string what = "blocks", string conjunction = "and")
        {
            var list = nouns.Distinct().ToList();
            if (list.Count == 0) return "";
            var head = list.Count == 1 ? list[0] : string.Join(", ", list.Take(list.Count - 1)) + " " + conjunction + " " + list[list.Count - 1];
            return head + " " + what;
        }
    }
}
