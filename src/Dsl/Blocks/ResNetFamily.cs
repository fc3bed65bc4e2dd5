using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>Fields read by more than one definition, declared once (their readers are derived: FieldCatalog).</summary>
    public static class SharedFields
    {
        /// <summary>The divisor of <paramref name="width"/> nearest to <paramref name="heads"/> (for the fix in messages).</summary>
        public static long DivisorNear(long width, long heads)
        {
            for (long d = 0; d < width; d++)
            {
                if (heads - d >= 1 && width % (heads - d) == 0) return heads - d;
                if (width % (heads + d) == 0) return heads + d;
            }
            return 1;
        }

        public static readonly Field<long> Cardinality = new Field<long>("cardinality", FieldScope.Both, 1,
            "Groups of the 3x3 conv (ResNeXt), of the split-attention conv and its fc layers (ResNeSt), or of the CoT layer's convs (CoTNeXt: key conv 4 x cardinality, embed and value convs cardinality).");

        /// <summary>Attention heads per stage; each kind has its own default (<see cref="BotAttentionDefinition.DefaultHeads"/>, <see cref="RestDefinition.DefaultHeads"/>).</summary>
        public static readonly PerStage Heads = new PerStage("heads", "heads",
            "Per-stage attention heads (the self-attention slot of bottleneck stages, EMSA of rest stages). Default " + BotAttentionDefinition.DefaultHeads + " for bot, "
            + HaloAttentionDefinition.DefaultHeads + " for halo, " + LambdaAttentionDefinition.DefaultHeads + " for lambda, " + RestDefinition.DefaultHeads + " for rest.",
            "Attention heads in this stage.");

        /// <summary>Bias on attention's projections; each reader has its own default (<see cref="RestDefinition.DefaultQkvBias"/>, <see cref="HaloAttentionDefinition.DefaultQkvBias"/>, <see cref="LambdaAttentionDefinition.DefaultQkvBias"/>).</summary>
        public static readonly FieldInfo QkvBias = new FieldInfo("qkv_bias", FieldType.Bool, FieldScope.Both,
            "Bias on attention's query/key/value projections: ResT's q and kv (default " + CSharpLiteral.Bool(RestDefinition.DefaultQkvBias) + "), halo's q and kv (default "
            + CSharpLiteral.Bool(HaloAttentionDefinition.DefaultQkvBias) + ") and lambda's qkv (default " + CSharpLiteral.Bool(LambdaAttentionDefinition.DefaultQkvBias) + "), as timm.");

        public static readonly PerStage MlpRatio = new PerStage("mlp_ratios", "mlp_ratio", "Per-stage MLP expansion of van/rest blocks.", "This stage's MLP expansion.", 4);
    }

    /// <summary>
    /// What the ResNet-family kinds (bottleneck, splat, cot and the self-attention slot) share: the stage layout (self-attention by mask, projection
    /// shortcut in the first block), the activation, channel attention after bn3 (SE-ResNet placement), and dilation.
    /// </summary>
    public static class ResNetFamily
    {
        /// <summary>The ResNet-family kinds chosen by a word (their 3x3 conv is the self-attention slot's place).</summary>
        private static IEnumerable<ResNetBlockDefinition> Hosts => Definitions.Blocks.OfType<ResNetBlockDefinition>();

        public static readonly string[] ShortcutWords = { "conv", "avgdown" };
        public static readonly string[] ActivationWords = { "relu", "silu", "gelu", "hardswish" };

        public static readonly Field<string> Shortcut = new Field<string>("shortcut", FieldScope.Both, "conv",
            "Projection shortcut of the block that changes shape: conv (1x1 conv with stride + BN) or avgdown (avg pool, then 1x1 conv + BN).",
            ShortcutWords, readBy: "a stage whose first block changes shape (stride or channels)");

        public static readonly Field<string> Act = new Field<string>("act", FieldScope.Both, "relu",
            "Activation of every ReLU of the ResNet-family blocks and stems (timm's act_layer): relu, silu, gelu or hardswish. CoT's internal SiLU stays.",
            ActivationWords, readBy: KindText.Phrase(Hosts.Select(b => b.Word).Concat(Definitions.SelfAttentions.Select(a => a.Noun))) + " and the resnet and deep stems");

        public static readonly Field<string> Attention = new Field<string>("attention", FieldScope.Both, "none",
            "Channel attention on the residual branch of the stage's convolutional blocks (after bn3, before the addition; self-attention blocks take mhsa_attention): " +
            string.Join(", ", Definitions.ChannelAttentions.Select(a => a.Word + " (" + a.Summary + ")")) + ", or none.",
            Definitions.ChannelAttentions.Select(a => a.Word).Concat(new[] { "none" }).ToArray(), readBy: KindText.Phrase(Hosts.Select(b => b.Word)));

        public static readonly Field<string> MhsaAttention = new Field<string>("mhsa_attention", FieldScope.Both, "none",
            "Channel attention of the stage's self-attention blocks (after bn3): " + string.Join(", ", Definitions.ChannelAttentions.Select(a => a.Word)) + " or none.",
            Definitions.ChannelAttentions.Select(a => a.Word).Concat(new[] { "none" }).ToArray(),
            note: " (BoTNet-S1's text puts SE on the convolutional blocks only; its printed FLOPs count SE in every block)", readBy: KindText.Phrase(Definitions.SelfAttentions.Select(a => a.Noun)) + " (cN.mhsa / cN.mhsa_every)");

        public static readonly string[] AttentionAtWords = { "out", "spatial" };

        public static readonly Field<string> AttentionAt = new Field<string>("attention_at", FieldScope.Both, "out",
            "Where channel attention sits: out (after bn3 on the output channels, SE-ResNet) or spatial (after the 3x3 conv's BN and activation on the width, timm ByobNet's attn: eca_botnext26ts).",
            AttentionAtWords, readBy: "blocks with attention = se or eca");

        public static readonly Field<long> Dilation = new Field<long>("dilation", FieldScope.Stage, 1,
            "Dilation of the 3x3 convs of the stage's blocks after its first and of the next stage's first block (torchvision's previous_dilation: a stage's first block keeps the previous stage's dilation, so with depths [1, 1, 2] c3.dilation acts on c4's first block); with cN.stride = 1 it keeps the resolution (output stride 16 for c5 = 2). A dilation that acts on no block is TW0024.",
            readBy: KindText.Phrase(Hosts.Where(b => b.TakesDilation).Select(b => b.Word)));

        public static readonly Field<long> OutputStride = new Field<long>("output_stride", FieldScope.Arch, 32,
            "The network's output stride, 8, 16 or 32, as timm's ByobNet and torchvision's replace_stride_with_dilation make it: a stage that starts at or past it runs at stride 1 and multiplies the dilation by its stride instead (ResNet-50 at 16: c5 stride 1, dilation 2; at 8: c4 dilation 2, c5 dilation 4). It derives each stage's cN.stride and cN.dilation (the first block of a stage keeps the previous stage's dilation), so setting either on a stage it changes is TW0024; out_indices' FeatureInfo strides follow. Self-attention blocks (bot, halo, lambda) have no dilated form: as in timm they get no dilation and simply run at stride 1 on the larger map (BoT's relative-position tables grow with it; halo's block divisibility and lambda's fixed input size are checked on it). cot blocks have no dilated form either: a cot block the dilation would reach is TW0016. A value above the network's whole stride is TW0024.",
            note: " (unset, the strides stand as declared, whatever the network's stride)", readBy: "ResNet-family networks");

        public static readonly Field<long> NumFeatures = new Field<long>("num_features", FieldScope.Arch, 0,
            "Channels of a 1x1 conv (no bias) + BN + the network's act after the last stage, before the pool (timm's num_features; registered final_conv.0/.1); the classifier reads them (0: none).",
            readBy: "ResNet-family networks (after the last stage)");

        public static readonly string[] NormWords = { NormIR.Batch, NormIR.FrozenBatch, NormIR.Group };

        public static readonly Field<string> Norm = new Field<string>("norm", FieldScope.Arch, NormIR.Batch,
            "The norm after every conv of the ResNet-family blocks (their shortcuts included) and stems: batch (BatchNorm2d), frozen_batch (torchvision's FrozenBatchNorm2d for detection backbones: fixed statistics and affine terms, stored as buffers, so they are not parameters and nothing updates them) or group (GroupNorm with norm_groups groups, independent of the batch). Same state-dict names for all three. A self-attention slot module's own norms follow it (BoT's MHSA has none); CoT's GroupNorm over its aggregation kernels is part of the layer and stays.",
            NormWords, readBy: KindText.Phrase(Hosts.Select(b => b.Word).Concat(Definitions.SelfAttentions.Select(a => a.Noun))) + " and the resnet and deep stems");

        public static readonly Field<long> NormGroups = new Field<long>("norm_groups", FieldScope.Arch, 32,
            "Groups of norm = group; it must divide every normalised width (each is checked, naming the layer). Set without norm = group it is TW0024.",
            readBy: "norm = group");

        public static IEnumerable<FieldInfo> Fields => new FieldInfo[] { Shortcut, Act, Attention, AttentionAt, MhsaAttention, Dilation, OutputStride, Norm, NormGroups, NumFeatures };

        /// <summary>The Runtime NormKind member of a norm.</summary>
        public static string NormMember(NormIR norm) => $"{RuntimeBlocks}.NormKind." + (norm.Word switch
        {
            NormIR.FrozenBatch => "FrozenBatch",
            NormIR.Group => "Group",
            _ => "Batch",
        });

        /// <summary>
        /// Reads norm and norm_groups (arch-wide) for a component whose norms normalise <paramref name="normed"/>
        /// (layer, channels): null for BatchNorm; TW0005 at norm_groups (or norm) for a width the groups do not divide,
        /// TW0024 for norm_groups without norm = group. False after reporting an error.
        /// </summary>
        public static bool ReadNorm(FieldReader f, string what, IEnumerable<(string Layer, long Channels)> normed, out NormIR? norm)
        {
            norm = null;
            string word = f.Get(Norm);
            if (word != NormIR.Group)
            {
                if (f.Has(NormGroups))
                {
                    ReportOnce(f, DiagnosticCatalog.FieldHasNoEffect.Create(f.PathLocationOf(NormGroups.Name), f.ArchName, NormGroups.Name,
                        $"norm = {word} has no groups", "norm_groups counts GroupNorm's groups (set norm = group)"));
                    return false;
                }
                if (word != NormIR.Batch) norm = new NormIR(word, NormGroups.Default);
                return true;
            }
            long groups = f.Get(NormGroups);
            var at = f.Has(NormGroups) ? f.LocationOf(NormGroups) : f.LocationOf(Norm);
            if (!f.InRange(groups, 1, 1 << 16, at, NormGroups.Name, f.ArchName)) return false;
            foreach (var (layer, channels) in normed)
                if (channels % groups != 0)
                {
                    ReportOnce(f, DiagnosticCatalog.GroupsDoNotDivide.Create(at, $"{what} {layer} (GroupNorm)", NormGroups.Name, groups, "its width", channels));
                    return false;
                }
            norm = new NormIR(word, groups);
            return true;
        }

        /// <summary>The stem and every stage read the arch-wide norm: its error is reported once, at its first reader.</summary>
        private static void ReportOnce(FieldReader f, Diagnostic d)
        {
            if (!f.Diagnostics.Any(x => x.Id == d.Id && x.Location == d.Location)) f.Report(d);
        }

        /// <summary>The Runtime enum member of an activation word.</summary>
        public static string ActivationMember(string word) => word switch
        {
            "silu" => "SiLU",
            "gelu" => "GELU",
            "hardswish" => "HardSwish",
            _ => "ReLU",
        };

        /// <summary>The projection shortcut: none when the shape is unchanged.</summary>
        public static void ShortcutCost(CostSheet a, BlockIR b, Shape x)
        {
            if (b.Stride == 1 && b.InChannels == b.OutChannels) return;
            var pooled = b.Shortcut == ShortcutKind.AvgDown && b.Stride > 1 ? CostSheet.Pool(x, b.Stride, b.Stride, 0, ceilMode: true) : x;
            a.Conv(pooled, b.OutChannels, 1, b.Shortcut == ShortcutKind.AvgDown ? 1 : b.Stride);
            a.Norm(b.OutChannels);
        }

        /// <summary>Channel attention after bn3 on the block's output channels (call after the last conv).</summary>
        public static void AttentionCost(CostSheet a, BlockIR b)
        {
            if (b.Options.Attention is ChannelAttentionIR at && !b.Options.AttentionAtSpatial) at.Kind.Cost(a, at, b.OutChannels);
        }

        /// <summary>Channel attention after the spatial conv on the width (attention_at = spatial; call after the 3x3 conv).</summary>
        public static void SpatialAttentionCost(CostSheet a, BlockIR b)
        {
            if (b.Options.Attention is ChannelAttentionIR at && b.Options.AttentionAtSpatial) at.Kind.Cost(a, at, b.Width);
        }

        /// <summary>The alias every generated file declares for Torchwright.Runtime.Blocks (CSharpEmitter.Aliases).</summary>
        public const string RuntimeBlocks = CSharpEmitter.BlocksAlias;

        /// <summary>
        /// The named arguments of a ResNet-family bottleneck: name, channels and stride, the kind's own
        /// (<paramref name="own"/>), the shortcut, and the options and stochastic-depth rate where they differ from the defaults.
        /// </summary>
        public static IEnumerable<(string, string)> Arguments(BlockIR b, string name, params (string, string)[] own)
        {
            yield return ("name", name);
            yield return ("inChannels", b.InChannels.ToString(CultureInfo.InvariantCulture));
            yield return ("width", b.Width.ToString(CultureInfo.InvariantCulture));
            yield return ("outChannels", b.OutChannels.ToString(CultureInfo.InvariantCulture));
            yield return ("stride", b.Stride.ToString(CultureInfo.InvariantCulture));
            foreach (var a in own) yield return a;
            yield return ("shortcut", $"{RuntimeBlocks}.ShortcutKind.{b.Shortcut}");
            if (Options(b.Options) is string options) yield return ("options", options);
            if (b.DropPath != 0) yield return ("dropPath", CSharpLiteral.Double(b.DropPath));
        }

        /// <summary><c>new TorchwrightBlocks.BlockOptions(...)</c> naming the members that differ from the defaults; null for the defaults.</summary>
        private static string? Options(BlockOptionsIR o)
        {
            if (o == BlockOptionsIR.Default) return null;
            var members = new List<(string, string)>();
            if (o.Activation != BlockOptionsIR.Default.Activation) members.Add(("Activation", $"{RuntimeBlocks}.Activation.{ActivationMember(o.Activation)}"));
            if (o.Attention is ChannelAttentionIR at)
            {
                members.Add(("Attention", $"{RuntimeBlocks}.ChannelAttentionKind.{at.Kind.RuntimeKind}"));
                if (at.Channels != 0) members.Add(("AttentionChannels", at.Channels.ToString(CultureInfo.InvariantCulture)));
                if (at.Kernel != 0) members.Add(("AttentionKernel", at.Kernel.ToString(CultureInfo.InvariantCulture)));
            }
            if (o.Dilation != 1) members.Add(("Dilation", o.Dilation.ToString(CultureInfo.InvariantCulture)));
            if (o.AttentionAtSpatial) members.Add(("Position", $"{RuntimeBlocks}.ChannelAttentionPosition.AfterSpatialConv"));
            if (o.Norm is NormIR norm)
            {
                members.Add(("Norm", NormMember(norm)));
                if (norm.Groups != NormGroups.Default) members.Add(("NormGroups", norm.Groups.ToString(CultureInfo.InvariantCulture)));
            }
            return CSharpLiteral.New($"{RuntimeBlocks}.BlockOptions", members);
        }

        /// <summary>Spec members of the options (reference_nets.py builds the same blocks from them).</summary>
        public static IEnumerable<KeyValuePair<string, object>> OptionsSpec(BlockIR b)
        {
            var o = b.Options;
            yield return new KeyValuePair<string, object>("activation", o.Activation);
            yield return new KeyValuePair<string, object>("attention", o.Attention?.Kind.Word ?? "none");
            yield return new KeyValuePair<string, object>("attention_channels", o.Attention?.Channels ?? 0L);
            yield return new KeyValuePair<string, object>("attention_kernel", o.Attention?.Kernel ?? 0L);
            yield return new KeyValuePair<string, object>("attention_at", o.AttentionAtSpatial ? "spatial" : "out");
            yield return new KeyValuePair<string, object>("dilation", o.Dilation);
            yield return new KeyValuePair<string, object>("shortcut", b.Shortcut == ShortcutKind.AvgDown ? "avgdown" : "conv");
        }
    }

    /// <summary>
    /// A convolutional ResNet-family kind. Its stage is built here for all of them: which blocks take the self-attention
    /// slot (by mask, of the kind cN.self_attn names),
    /// the activation, channel attention, dilation and the first block's shortcut are read where they have an effect;
    /// the kind reads its own settings through <see cref="ReadSettings"/> when the stage has a block of this kind.
    /// </summary>
    public abstract class ResNetBlockDefinition : BlockDefinition
    {
        public override FamilyDefinition Family => ResNetFamilyDefinition.Instance;

        /// <summary>A stage's default output channels per unit of width (cN.out = expansion x width): 4 for the bottlenecks, 1 for basic.</summary>
        public virtual long Expansion => 4;

        /// <summary>Whether the kind's 3x3 conv takes a dilation.</summary>
        public abstract bool TakesDilation { get; }

        /// <summary>The norm that ends the kind's residual branch, after which channel attention sits (messages).</summary>
        public virtual string LastNorm => "bn3";

        /// <summary>Whether channel attention can sit after the kind's spatial conv (attention_at = spatial).</summary>
        public virtual bool TakesSpatialAttention => true;

        /// <summary>Reads and checks the kind's settings for the stage; null after reporting an error.</summary>
        public abstract BlockSettings? ReadSettings(StageContext stage);

        /// <summary>The channels each norm of the kind's blocks normalises in this stage (layer, channels), for norm = group's
        /// divisibility check: bn1 and bn2 on the width and bn3 (and the shortcut's) on the output, unless the kind says more.</summary>
        public virtual IEnumerable<(string Layer, long Channels)> NormedWidths(StageContext stage, BlockSettings settings) =>
            new[] { ("bn1", stage.Width), ("bn3", stage.OutChannels) };

        /// <summary>"bottleneck, splat or basic": the kinds that take a dilation, for fixes.</summary>
        private static string DilatedKinds => KindText.Phrase(Definitions.Blocks.OfType<ResNetBlockDefinition>().Where(b => b.TakesDilation).Select(b => b.Word), conjunction: "or");

        public override List<BlockIR>? BuildStage(StageContext stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            var mask = SelfAttentionSlot.Read(stage);
            bool anyConv = mask.Any(m => !m), anySlot = mask.Any(m => m);

            string act = f.Get(ResNetFamily.Act, s);

            BlockSettings? conv = null;
            if (anyConv && (conv = ReadSettings(stage)) == null) return null;
            SelfAttentionDefinition? slot = null;
            BlockSettings? slotSettings = null;
            if (anySlot && (slotSettings = (slot = SelfAttentionSlot.KindOf(stage)).Read(stage, mask)) == null) return null;

            // Channel attention: the conv blocks' (after bn3, or after the 3x3 conv) and the self-attention blocks' own.
            ChannelAttentionIR? attention = null, slotAttention = null;
            bool spatial = false;
            if (anyConv && f.Get(ResNetFamily.Attention, s) is var word && word != "none")
            {
                spatial = f.Get(ResNetFamily.AttentionAt, s) == "spatial";
                if (spatial && !TakesSpatialAttention)
                {
                    f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(ResNetFamily.AttentionAt, s), stage.Name, ResNetFamily.AttentionAt.Name, "spatial",
                        $"{Word} blocks take channel attention after {LastNorm} only; use attention_at = out"));
                    return null;
                }
                if ((attention = Definitions.ChannelAttention(word)!.Read(f, s, stage.Name, spatial ? stage.Width : stage.OutChannels)) == null) return null;
            }
            if (anySlot && f.Get(ResNetFamily.MhsaAttention, s) is var slotWord && slotWord != "none"
                && (slotAttention = Definitions.ChannelAttention(slotWord)!.Read(f, s, stage.Name, stage.OutChannels)) == null)
                return null;

            // torchvision's previous_dilation: the stage's dilation acts on its blocks after the first and on the next
            // stage's first block; this stage's first block keeps the previous stage's. Whether it acts anywhere is known
            // once the next stage is built (ArchBuilder reports a dilation that acts nowhere).
            long dilation = 1;
            bool dilatedBlocks = Enumerable.Range(1, Math.Max(0, stage.Depth - 1)).Any(b => !mask[b]);
            if (stage.DerivedDilation is long derived)
            {
                long target = f.Get(ResNetFamily.OutputStride);
                if (f.Has(ResNetFamily.Dilation, s))
                {
                    var path = stage.StagePath(ResNetFamily.Dilation.Name);
                    f.Report(DiagnosticCatalog.FieldHasNoEffect.Create(f.PathLocationOf(path), stage.Name, path, $"output_stride = {target} dilates {stage.Name} by {derived}",
                        $"output_stride derives {stage.Name}'s stride and dilation (remove output_stride to set them yourself)"));
                    return null;
                }
                // timm gives a self-attention block no dilation (it runs at stride 1 on the larger map); a cot block has no dilated form.
                if (!TakesDilation && (dilatedBlocks || (!mask[0] && stage.PreviousDilation > 1)))
                {
                    f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(ResNetFamily.OutputStride), stage.Name, ResNetFamily.OutputStride.Name, target,
                        $"it dilates {stage.Name} by {derived} and {Word} blocks have no dilated form; use a larger output_stride, or {DilatedKinds} in {stage.Name}"));
                    return null;
                }
                dilation = derived;
            }
            else if (f.Has(ResNetFamily.Dilation, s))
            {
                dilation = f.Get(ResNetFamily.Dilation, s);
                if (!f.InRange(dilation, 1, 16, f.LocationOf(ResNetFamily.Dilation, s), ResNetFamily.Dilation.Name, stage.Name)) return null;
                if (dilation != 1 && dilatedBlocks && !TakesDilation)
                {
                    f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(ResNetFamily.Dilation, s), stage.Name, ResNetFamily.Dilation.Name, dilation,
                        $"{Word} blocks have no dilated form; use {DilatedKinds}, or dilation 1"));
                    return null;
                }
                stage.DilationRead = true;
            }
            stage.DilationActsHere = dilatedBlocks && TakesDilation;
            stage.FirstBlockUndilated = mask[0] ? slot!.ABlock : TakesDilation ? null : $"a {Word} block, which has no dilated form";
            long firstDilation = stage.FirstBlockUndilated != null ? 1 : stage.PreviousDilation;
            stage.Dilation = dilation;

            var shortcut = ShortcutKind.Conv;
            if (stage.Stride != 1 || stage.InChannels != stage.OutChannels)
                shortcut = f.Get(ResNetFamily.Shortcut, s) == "avgdown" ? ShortcutKind.AvgDown : ShortcutKind.Conv;

            var normed = new List<(string, long)>();
            if (anyConv) normed.AddRange(NormedWidths(stage, conv!));
            if (anySlot) normed.AddRange(new[] { ("bn1", stage.Width), ("bn3", stage.OutChannels) });
            if (!ResNetFamily.ReadNorm(f, stage.Name, normed, out var norm)) return null;

            var blocks = new List<BlockIR>(stage.Depth);
            long inC = stage.InChannels;
            for (int b = 0; b < stage.Depth; b++)
            {
                long st = b == 0 ? stage.Stride : 1;
                var block = mask[b]
                    ? new BlockIR(slot!.BlockFor(slotSettings!), inC, stage.Width, stage.OutChannels, st, slotSettings!, new BlockOptionsIR(act, slotAttention, 1, Norm: norm), shortcut)
                    : new BlockIR(this, inC, stage.Width, stage.OutChannels, st, conv!, new BlockOptionsIR(act, attention, b == 0 ? firstDilation : dilation, spatial, norm), shortcut);
                blocks.Add(block);
                inC = stage.OutChannels;
            }
            return blocks;
        }

        protected static void GroupsError(StageContext stage, SourceLocation at, string what, string field, long groups, string of, long width) =>
            stage.Fields.Report(DiagnosticCatalog.GroupsDoNotDivide.Create(at, what, field, groups, of, width));
    }
}
