using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>
    /// One self-attention kind of the ResNet-family bottleneck's slot (timm's <c>self_attn_layer</c>), in one place: its
    /// word for <c>cN.self_attn</c>, its fields with their defaults, the read and check of its settings for a stage,
    /// whether it fixes the input map, the cost of the attention part, the C# that constructs its Runtime slot module
    /// (an <c>ISelfAttention2d</c>, registered as <c>mhsa</c>, which applies the block's stride itself) and its spec
    /// members. The bottleneck around it (conv1, bn1, the slot, bn2, conv3, bn3, channel attention, shortcut) is
    /// <see cref="SelfAttnBlockKind"/>, shared by every kind. Adding a kind is a subclass, its Runtime module and a
    /// line in <see cref="Definitions.SelfAttentions"/>.
    /// </summary>
    public abstract class SelfAttentionDefinition
    {
        protected SelfAttentionDefinition() => Block = new SelfAttnBlockKind(this);

        /// <summary>
        /// Reads the stage's heads (with this kind's default) and checks what every strided slot module needs: heads in
        /// range and dividing the width (TW0006), and a first block's stride of 1 or 2 (the modules pool or subsample by 2
        /// at most). <paramref name="what"/> names the layer in messages ("halo attention"), <paramref name="block"/> the block
        /// ("halo attention block"); null after an error.
        /// </summary>
        protected static long? ReadHeadsAndStride(StageContext stage, bool[] mask, long defaultHeads, string what, string block)
        {
            var f = stage.Fields;
            int s = stage.Index;
            long heads = f.Get(SharedFields.Heads, s, defaultHeads);
            var at = f.LocationOf(SharedFields.Heads, s);
            if (!f.InRange(heads, 1, 1024, at, SharedFields.Heads.Stage.Name, stage.Name)) return null;
            if (stage.Width % heads != 0)
            {
                f.Report(DiagnosticCatalog.HeadsDoNotDivide.Create(at, stage.Name + " " + what, heads, stage.Width, SharedFields.DivisorNear(stage.Width, heads)));
                return null;
            }
            if (mask[0] && !f.InRange(stage.Stride, 1, 2, f.Has(FieldCatalog.Strides, s) ? f.LocationOf(FieldCatalog.Strides, s) : SelfAttentionSlot.Location(f, s),
                    "stride of a " + block, stage.Name))
                return null;
            return heads;
        }

        /// <summary>The word that selects the kind (<c>c5.self_attn = bot</c>).</summary>
        public abstract string Word { get; }

        /// <summary>One line for docs/fields.md: what the word builds.</summary>
        public abstract string Summary { get; }

        /// <summary>The kind the summary and the spec JSON print for a block with this slot (BotBottleneck).</summary>
        public abstract string KindName { get; }

        /// <summary>What the block is called in messages ("MHSA").</summary>
        public abstract string Noun { get; }

        /// <summary>The noun with its article ("an MHSA block").</summary>
        public abstract string ABlock { get; }

        public virtual IEnumerable<FieldInfo> Fields => Array.Empty<FieldInfo>();

        public virtual bool FixesMapSize => false;

        /// <summary>The bottleneck kind for a block with these settings (a kind whose settings decide whether it fixes the map, as lambda's r, has two).</summary>
        public virtual SelfAttnBlockKind BlockFor(BlockSettings settings) => Block;

        public virtual string FixedMapSizeReason => "";

        public virtual string FixedInputHint(LayerInfo row, Shape input) => "";

        /// <summary>The bottleneck kind whose slot this fills.</summary>
        public SelfAttnBlockKind Block { get; }

        /// <summary>Reads and checks the kind's settings for the stage whose <paramref name="mask"/>ed blocks it fills; null after an error.</summary>
        public abstract BlockSettings? Read(StageContext stage, bool[] mask);

        /// <summary>Checks that need the block's input map.</summary>
        public virtual void CheckInputMap(BlockMapCheck check) { }

        /// <summary>Adds the slot's parameters and MACs (<paramref name="x"/>: the width-channel map after conv1) and returns its output, strided by the block's stride.</summary>
        public abstract Shape Cost(CostSheet a, BlockIR b, Shape x);

        /// <summary>The C# expression that constructs the slot module, given the block's input map.</summary>
        public abstract string Create(BlockIR b, Shape input);

        /// <summary>The kind's settings as spec-JSON members.</summary>
        public abstract IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b);

        public override string ToString() => Word;
    }

    /// <summary>
    /// The ResNet-family bottleneck with a self-attention slot (Runtime SelfAttnBottleneck): conv1 1x1, bn1, act, the
    /// slot (registered as mhsa; it applies the stride), bn2, act, conv3 1x1, bn3, channel attention, shortcut.
    /// One instance per <see cref="SelfAttentionDefinition"/>, which fills in what differs.
    /// </summary>
    public sealed class SelfAttnBlockKind : BlockKind
    {
        internal SelfAttnBlockKind(SelfAttentionDefinition slot, bool? fixesMapSize = null)
        {
            Slot = slot;
            fixes = fixesMapSize;
        }

        private readonly bool? fixes;

        public SelfAttentionDefinition Slot { get; }

        public override string KindName => Slot.KindName;
        public override FamilyDefinition Family => ResNetFamilyDefinition.Instance;
        public override string Noun => Slot.Noun;
        public override bool FixesMapSize => fixes ?? Slot.FixesMapSize;
        public override string FixedMapSizeReason => Slot.FixedMapSizeReason;
        public override string FixedInputHint(LayerInfo row, Shape input) => Slot.FixedInputHint(row, input);
        public override void CheckInputMap(BlockMapCheck check) => Slot.CheckInputMap(check);

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var h = a.Conv(x, b.Width, 1); a.Norm(b.Width);
            h = Slot.Cost(a, b, h);
            a.Norm(b.Width);
            h = a.Conv(h, b.OutChannels, 1); a.Norm(b.OutChannels);
            ResNetFamily.AttentionCost(a, b);
            ResNetFamily.ShortcutCost(a, b, x);
            return h;
        }

        public override string Create(BlockIR b, string name, Shape input) =>
            CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.SelfAttnBottleneck", ResNetFamily.Arguments(b, name, ("attention", Slot.Create(b, input))));

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b) => Slot.Spec(b).Concat(ResNetFamily.OptionsSpec(b));
    }

    /// <summary>
    /// Where the slot goes: the per-stage mask (<c>cN.mhsa</c>) or interleave (<c>cN.mhsa_every</c>), and which kind fills
    /// it (<c>cN.self_attn</c>). Read by the ResNet-family stage builder (<see cref="ResNetBlockDefinition"/>).
    /// </summary>
    public static class SelfAttentionSlot
    {
        /// <summary>The ResNet-family kinds whose 3x3 conv the slot replaces.</summary>
        private static string Hosts => KindText.Phrase(Definitions.Blocks.OfType<ResNetBlockDefinition>().Select(b => b.Word), "stages");

        private static string SlotWords => string.Join(", ", Definitions.SelfAttentions.Select(a => a.Word + " (" + a.Summary + ")"));

        public static readonly FieldInfo Mask = new FieldInfo("mhsa", FieldType.IntList, FieldScope.Stage,
            "Per-block mask: 1 replaces that block's 3x3 conv with self-attention (cN.self_attn; BoTNet's MHSA by default). One entry per block.",
            ReadBy: Hosts + " (self-attention replaces their 3x3 conv)", Alternative: "mhsa_every");

        public static readonly FieldInfo Every = new FieldInfo("mhsa_every", FieldType.Int, FieldScope.Stage,
            "Interleave: every k-th block of the stage (blocks k, 2k, ...) gets self-attention. Alternative to mhsa; a derived architecture's mhsa_every replaces an inherited mhsa (and the other way round).",
            ReadBy: Hosts + " (self-attention replaces their 3x3 conv)", Alternative: "mhsa");

        public static readonly Field<string> Kind = new Field<string>("self_attn", FieldScope.Both, BotAttentionDefinition.Instance.Word,
            "The self-attention of the stage's blocks placed by cN.mhsa / cN.mhsa_every (timm's self_attn_layer): " + SlotWords + ".",
            Definitions.SelfAttentions.Select(a => a.Word).ToArray(), readBy: "stages with cN.mhsa or cN.mhsa_every");

        public static IEnumerable<FieldInfo> Fields => new[] { Mask, Every, Kind };

        /// <summary>Which blocks of the stage get the slot: the explicit mask, the every-k interleave, or none.</summary>
        public static bool[] Read(StageContext stage)
        {
            var f = stage.Fields;
            int depth = stage.Depth;
            var mask = new bool[depth];
            var maskPath = stage.StagePath(Mask.Name);
            var everyPath = stage.StagePath(Every.Name);
            if (f.Has(maskPath) && f.Has(everyPath))
            {
                f.Report(DiagnosticCatalog.DuplicateAssignment.Create(f.PathLocationOf(everyPath), everyPath + " (with " + maskPath + ")", f.ArchName, f.PathLocationOf(maskPath)));
                f.List(maskPath); f.Int(everyPath, 1); // reported once, here
                return mask;
            }
            if (f.Has(maskPath))
            {
                var list = (Syntax.ListValue)f.Field(maskPath)!.Value;
                var values = f.List(maskPath)!;
                if (values.Length != depth)
                {
                    f.Report(DiagnosticCatalog.MaskLength.Create(list.Location, stage.Name, Mask.Name, values.Length, depth));
                    return mask;
                }
                for (int i = 0; i < depth; i++)
                {
                    if (values[i] != 0 && values[i] != 1)
                    {
                        f.Report(DiagnosticCatalog.OutOfRange.Create(list.Items[i].Location, stage.Name, $"mhsa[{i}]", values[i], "mask entries are 0 (keep the block) or 1 (MHSA)"));
                        return new bool[depth];
                    }
                    mask[i] = values[i] == 1;
                }
            }
            else if (f.Has(everyPath))
            {
                long every = f.Int(everyPath, 1);
                if (!f.InRange(every, 1, depth, f.LocationOf(everyPath), Every.Name, stage.Name)) return mask;
                for (int i = 0; i < depth; i++) mask[i] = (i + 1) % every == 0;
            }
            return mask;
        }

        /// <summary>The stage's slot kind (cN.self_attn, else self_attn, else bot); read only for a stage with slotted blocks.</summary>
        public static SelfAttentionDefinition KindOf(StageContext stage) =>
            Definitions.SelfAttention(stage.Fields.Get(Kind, stage.Index))!;

        /// <summary>Where the stage's placement is written (its mask, else its interleave).</summary>
        public static SourceLocation Location(FieldReader f, int stage) =>
            f.Has(FieldReader.StagePath(stage, Mask.Name)) ? f.LocationOf(FieldReader.StagePath(stage, Mask.Name)) : f.LocationOf(FieldReader.StagePath(stage, Every.Name));
    }
}
