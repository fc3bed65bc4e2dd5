using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Families
{
    /// <summary>
    /// One family's macro layout, in one place, as a <see cref="BlockDefinition"/> holds a block kind: the state-dict
    /// names of its stages and top-level parts (as the reference implementations name them), what a stage outputs,
    /// the per-stage parts around its blocks (patch embeddings, norms) and their cost rows, the final norm and
    /// pooling, the emitted parts and forward of each stage and of the head, and the Runtime initialisation.
    /// A block kind names its family (<see cref="BlockDefinition.Family"/>); adding a family is a subclass here
    /// and a line in <see cref="Definitions.Families"/>.
    /// </summary>
    public abstract class FamilyDefinition
    {
        /// <summary>The family's word in the spec JSON (<c>"family": "resnet"</c>).</summary>
        public abstract string Word { get; }

        /// <summary>The family's name in messages ("ResNet").</summary>
        public abstract string Name { get; }

        /// <summary>The stem a declaration without <c>stem</c> gets.</summary>
        public abstract string DefaultStem { get; }

        /// <summary>Added to the "takes stem ..." message (VAN: why it has no stem).</summary>
        public virtual string StemNote => "";

        /// <summary>The method of Torchwright.Runtime.CompilerServices.Init the generated constructor calls.</summary>
        public abstract string InitMethod { get; }

        /// <summary>
        /// Whether the family's inference-optimised module runs channels-last (Torchwright.Runtime.Inference.InferenceLayout):
        /// the layout measured fastest for the family (docs/inference.md has the measurement).
        /// </summary>
        public abstract bool InferChannelsLast { get; }

        /// <summary>
        /// Whether the family trains channels-last (Torchwright.Runtime.ChannelsLast.Restride on the built module: train,
        /// sweep and bench --mode train): the layout measured faster for the family's training step (docs/training.md
        /// has the measurement).
        /// </summary>
        public abstract bool TrainChannelsLast { get; }

        // ---- naming ---------------------------------------------------------------------------------

        /// <summary>The registered name of a stage's block container (layer1, block1, stage1).</summary>
        public abstract string Stage(int stage);

        public string Block(int stage, int block) => $"{Stage(stage)}.{block}";

        /// <summary>The patch embedding in front of a stage (null where the stage has none).</summary>
        public virtual string? PatchEmbed(int stage) => null;

        /// <summary>The norm after a stage's blocks (VAN's norm1..), null where there is none.</summary>
        public virtual string? StageNorm(int stage) => null;

        /// <summary>The classifier's name (fc, head).</summary>
        public abstract string Head { get; }

        /// <summary>Every top-level part of a stage, in registration order (patch embedding, blocks, norm).</summary>
        public IEnumerable<string> StageComponents(int stage)
        {
            if (PatchEmbed(stage) is string patch) yield return patch;
            yield return Stage(stage);
            if (StageNorm(stage) is string norm) yield return norm;
        }

        // ---- building -------------------------------------------------------------------------------

        /// <summary>A stage's output channels (scaled); null after reporting an error that stops the build.</summary>
        public abstract long? OutChannels(FamilyStage stage);

        /// <summary>Reads the family's conv between the last stage and the pool (the ResNet family's num_features); false
        /// after reporting an error. <paramref name="finalConv"/> is null where none is declared.</summary>
        public virtual bool ReadFinalConv(FieldReader f, Func<long, long> scale, long maxChannels, out FinalConvIR? finalConv)
        {
            finalConv = null;
            return true;
        }

        /// <summary>How the family turns strides into dilation past an output stride (the ResNet family's output_stride);
        /// <see cref="OutputStridePlan.None"/> where it has none. Null after reporting an error.</summary>
        public virtual OutputStridePlan? ReadOutputStride(FieldReader f, long stemStride) => OutputStridePlan.None;

        /// <summary>Checks the stage's stride against the family's layout (ResT's first stage runs at the stem's resolution).</summary>
        public virtual void CheckStride(FamilyStage stage, long stride) { }

        /// <summary>The kernel of the stage's patch embedding (0 where it has none or the stride fixes it); null after an error.</summary>
        public virtual long? PatchKernel(FamilyStage stage, long stride) => 0;

        /// <summary>Checks that need the layers' shapes (kernels larger than their map); reported through <paramref name="f"/>.</summary>
        public virtual void CheckMaps(ArchitectureIR ir, CostReport costs, FieldReader f) { }

        // ---- costs ----------------------------------------------------------------------------------

        /// <summary>Cost rows before a stage's blocks (its patch embedding); returns the blocks' input.</summary>
        public virtual Shape CostBeforeBlocks(StageIR stage, Shape x, CostRow row) => x;

        /// <summary>Cost rows after a stage's blocks (its norm).</summary>
        public virtual void CostAfterBlocks(StageIR stage, Shape x, CostRow row) { }

        /// <summary>Cost rows between the last stage and the classifier (ResT's final norm).</summary>
        public virtual void CostBeforeHead(Shape x, CostRow row) { }

        // ---- emission -------------------------------------------------------------------------------

        /// <summary>The registered parts of a stage: its patch embedding, its block container (built from the blocks'
        /// construction expressions) and its norm.</summary>
        public abstract IEnumerable<EmittedPart> StageParts(StageIR stage, IReadOnlyList<string> blocks);

        /// <summary>The registered parts between the last stage and the classifier (norm, pooling).</summary>
        public abstract IEnumerable<EmittedPart> PoolParts(long channels);

        /// <summary>The private method that runs one stage (<paramref name="method"/>(input)).</summary>
        internal abstract void WriteStageForward(CodeWriter w, StageIR stage, string method);

        /// <summary>The start of <c>Head(features)</c>: the statements that leave the pooled (N, C) features in <c>x</c>.</summary>
        internal abstract void WritePool(CodeWriter w);

        public override string ToString() => Name;
    }

    /// <summary>A cost row: path, kind, input, output and the sheet its costs were added to.</summary>
    public delegate void CostRow(string path, string kind, Shape input, Shape output, CostSheet sheet);

    /// <summary>What a family needs to size one stage: the tracked fields, the stage's kind and its resolved width.</summary>
    public sealed class FamilyStage
    {
        public FamilyStage(FieldReader fields, int index, BlockDefinition kind, long rawWidth, long width, Func<long, long> scale, long maxChannels)
        {
            Fields = fields;
            Index = index;
            Kind = kind;
            RawWidth = rawWidth;
            Width = width;
            Scale = scale;
            MaxChannels = maxChannels;
        }

        public FieldReader Fields { get; }
        public int Index { get; }
        public string Name => FieldCatalog.StageName(Index);
        public BlockDefinition Kind { get; }

        /// <summary>The declared width, before the width multiplier.</summary>
        public long RawWidth { get; }
        public long Width { get; }
        public Func<long, long> Scale { get; }
        public long MaxChannels { get; }
    }

    /// <summary>Names and pieces the families' emitted code shares.</summary>
    internal static class FamilyCode
    {
        public const string NN = "nn";
        public const string T = "Tensor";
        public const string Blocks = CSharpEmitter.BlocksAlias;

        public static string Field(string name) => CSharpEmitter.Identifier(name);

        public static string Str(string s) => CSharpEmitter.StringLiteral(s);
    }
}
