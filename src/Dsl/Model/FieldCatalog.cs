using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Blocks;

namespace Torchwright.Dsl.Model
{
    public enum FieldType { Int, Float, Bool, Word, Dims, IntList }

    /// <summary>Where a field may be set: on the architecture, on one stage (<c>c5.heads</c>), or both.</summary>
    [Flags]
    public enum FieldScope { Arch = 1, Stage = 2, Both = Arch | Stage }

    /// <summary>
    /// One settable field of an architecture. <see cref="PerStage"/> names the per-stage list that a stage value
    /// overrides; <see cref="ReadBy"/> says which kinds read it (for "has no effect" messages; empty for general fields, and
    /// derived from the definitions that list the field where they left it empty). <see cref="Alternative"/> names the
    /// field that sets the same thing another way (cN.mhsa and cN.mhsa_every): a derived architecture's one replaces an
    /// inherited other instead of clashing with it.
    /// </summary>
    public record FieldInfo(string Name, FieldType Type, FieldScope Scope, string Doc, string[]? Words = null, string? PerStage = null, string ReadBy = "", string? Alternative = null);

    /// <summary>
    /// A field with its default, stated once: the builder reads it through the handle (<see cref="Analysis.FieldReader.Get(Field{long}, int)"/>
    /// and its overloads), and its documentation (<see cref="FieldInfo.Doc"/>, hence docs/fields.md and the attributes'
    /// XML docs) ends with "Default X." written from <see cref="Default"/>. T is long (Int), double (Float), bool (Bool)
    /// or string (Word).
    /// </summary>
    public sealed record Field<T> : FieldInfo
    {
        public Field(string name, FieldScope scope, T @default, string doc, string[]? words = null, string readBy = "", string note = "")
            : base(name, TypeOf(), scope, doc + " Default " + Text(@default) + note + ".", words, null, readBy)
        {
            Default = @default;
        }

        public T Default { get; }

        private static FieldType TypeOf() =>
            typeof(T) == typeof(long) ? FieldType.Int : typeof(T) == typeof(double) ? FieldType.Float : typeof(T) == typeof(bool) ? FieldType.Bool
            : typeof(T) == typeof(string) ? FieldType.Word : throw new ArgumentException($"a field handle holds long, double, bool or string, not {typeof(T)}");

        /// <summary>The default as .arch writes it (1.0 keeps its decimal, as the canonical text does).</summary>
        private static string Text(T value) => value switch
        {
            bool b => b ? "true" : "false",
            double d => Emit.CSharpLiteral.Double(d),
            long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => value?.ToString() ?? "",
        };
    }

    /// <summary>
    /// A per-stage integer setting written two ways: the arch-level <see cref="List"/> (one entry per stage) and the
    /// stage field <see cref="Stage"/> (<c>cN.name</c>) that overrides one entry. <see cref="Default"/>, when the setting
    /// has a constant one, is stated here once and ends the list's documentation; otherwise the reader passes the
    /// default it computes (a stage's stride, VAN's patch kernel).
    /// </summary>
    public sealed class PerStage
    {
        public PerStage(string list, string stage, string listDoc, string stageDoc, long? @default = null, string readBy = "")
        {
            Default = @default;
            List = new FieldInfo(list, FieldType.IntList, FieldScope.Arch,
                listDoc + (@default is long d ? " Default " + d.ToString(System.Globalization.CultureInfo.InvariantCulture) + "." : ""), ReadBy: readBy);
            Stage = new FieldInfo(stage, FieldType.Int, FieldScope.Stage, stageDoc, PerStage: list, ReadBy: readBy);
        }

        public FieldInfo List { get; }
        public FieldInfo Stage { get; }
        public long? Default { get; }
    }

    /// <summary>
    /// Every field the language knows: the general ones below, then each stem's, block kind's and channel-attention
    /// option's own fields from its definition (src/Dsl/Blocks). The .arch resolver, the attribute reader, the docs
    /// table (docs/fields.md) and the sweep checker all read this list.
    /// </summary>
    public static class FieldCatalog
    {
        public static string[] BlockWords => Definitions.Blocks.Select(b => b.Word).ToArray();
        public static string[] StemWords => Definitions.Stems.Select(s => s.Word).ToArray();

        public static readonly FieldInfo Input = new FieldInfo("input", FieldType.Dims, FieldScope.Arch, "Input shape C x H x W (or H x W with 3 channels). Fixes every feature-map size; required by MHSA and ResT attention.");
        public static readonly FieldInfo Stem = new FieldInfo("stem", FieldType.Word, FieldScope.Arch, "Stem: " + string.Join(", ", Definitions.Stems.Select(s => s.Word + " (" + s.Summary + ")")) + ".", StemWords);
        public static readonly FieldInfo Block = new FieldInfo("block", FieldType.Word, FieldScope.Both, "Block kind: " + string.Join(", ", Definitions.Blocks.Select(b => b.Word + " (" + b.Summary + ")")) + ".", BlockWords);
        public static readonly PerStage Depths = new PerStage("depths", "depth", "Blocks per stage; its length sets the number of stages (named c2, c3, ...).", "Blocks in this stage.");
        public static readonly PerStage Widths = new PerStage("widths", "width", "Per-stage width: bottleneck inner width (3x3 conv / attention channels), or the embedding dimension of van/rest stages.", "This stage's width (see widths).");
        public static readonly PerStage Outs = new PerStage("outs", "out", "Per-stage output channels of ResNet-family stages (default 4 x width; width for basic stages, expansion 1); van/rest stages output their width (a different value is TW0004).", "This stage's output channels.");
        public static readonly PerStage Strides = new PerStage("strides", "stride", "Per-stage stride applied by the stage's first block (or its patch embedding). Default [1, 2, 2, 2] after a stem, [4, 2, 2, 2] without.", "This stage's stride.");
        public static readonly FieldInfo In = new FieldInfo("in", FieldType.Int, FieldScope.Stage, "Declared input channels of the stage: checked against what flows in (TW0004).");
        // Read by the builder for VAN stages (each embeds its own patches); lost from the catalog once, so the matrix test covers them.
        public static readonly PerStage PatchKernels = new PerStage("patch_kernels", "patch_kernel", "VAN patch-embedding kernel per stage. Default 2 x stride - 1 (7 for stride 4, 3 for stride 2).",
            "This stage's patch-embedding kernel.", readBy: "van stages (their patch embedding)");

        public static readonly Field<long> Classes = new Field<long>("classes", FieldScope.Arch, 1000, "Classifier outputs; 0 drops the head (features only).");

        public static readonly Field<long> FrozenStages = new Field<long>("frozen_stages", FieldScope.Arch, -1,
            "Detection backbones (mmdet's frozen_stages with norm_eval): the stem and the first k stages get no gradients (requires_grad false) and their BatchNorm stays in eval mode when the module is put in train mode, as train --freeze k does; 0 freezes the stem only, -1 nothing. At most the number of stages.");

        public static readonly FieldInfo OutIndices = new FieldInfo("out_indices", FieldType.IntList, FieldScope.Arch,
            "Detection backbones (timm's features_only out_indices, mmdet's out_indices): the stages whose outputs forward returns, as a Features record, strictly increasing, 1 = the first stage (c2) to the number of stages. "
            + "Index 0 (timm's stem feature) is refused: the stem's output is not a stage output here. Stages after the last returned one, the final conv, the pool and the classifier are not built and not counted, so classes, dropout and num_features with it are errors (classes = 0 is allowed). "
            + "The generated module is an nn.Module<Tensor, Features> with FeatureInfo (channels, stride, module name per level); train, infer and sweep refuse it. Default none (a classifier).");

        public static readonly Field<double> WidthMultiplier = new Field<double>("width", FieldScope.Arch, 1.0,
            "Width multiplier applied to stem, stage widths and outputs; channels round to a multiple of 8.");

        private static readonly FieldInfo[] General =
        {
            Input, Classes, WidthMultiplier, Stem, Block, FrozenStages, OutIndices,
            Depths.List, Depths.Stage, Widths.List, Widths.Stage, Outs.List, Outs.Stage, Strides.List, Strides.Stage, In,
            PatchKernels.List, PatchKernels.Stage,
        };

        public static readonly FieldInfo[] All = Compose();

        /// <summary>General fields, then the definitions' fields in registration order; a field shared by several definitions
        /// once. A definition's field without its own ReadBy is read by the block kinds that list it.</summary>
        private static FieldInfo[] Compose()
        {
            var list = new List<FieldInfo>(General.Concat(Regularization.Fields));
            var seen = new HashSet<(string, FieldScope)>(list.Select(f => (f.Name, f.Scope)));
            var readers = Definitions.Blocks.SelectMany(b => b.Fields.Select(f => (Field: f, b.Noun)))
                .Concat(Definitions.SelfAttentions.SelectMany(a => a.Fields.Select(f => (Field: f, a.Noun))))
                .ToLookup(r => r.Field, r => r.Noun);
            void Add(IEnumerable<FieldInfo> fields)
            {
                foreach (var f in fields)
                    if (seen.Add((f.Name, f.Scope)))
                        list.Add(f.ReadBy.Length == 0 && readers.Contains(f) ? f with { ReadBy = KindText.Phrase(readers[f]) } : f);
            }
            foreach (var s in Definitions.Stems) Add(s.Fields);
            Add(ResNetFamily.Fields);
            Add(SelfAttentionSlot.Fields);
            foreach (var b in Definitions.Blocks) Add(b.Fields);
            foreach (var a in Definitions.SelfAttentions) Add(a.Fields);
            foreach (var a in Definitions.ChannelAttentions) Add(a.Fields);
            return list.ToArray();
        }

        private static readonly Dictionary<string, FieldInfo> ArchFields =
            All.Where(f => (f.Scope & FieldScope.Arch) != 0).ToDictionary(f => f.Name, StringComparer.Ordinal);

        private static readonly Dictionary<string, FieldInfo> StageFields =
            All.Where(f => (f.Scope & FieldScope.Stage) != 0).ToDictionary(f => f.Name, StringComparer.Ordinal);

        /// <summary>Whether <paramref name="name"/> is a stage field that has no arch-level form (cN.dilation, cN.mhsa).</summary>
        public static bool IsStageOnly(string name) => StageFields.ContainsKey(name) && !ArchFields.ContainsKey(name);

        /// <summary>Stage prefixes are c2, c3, ... (cN = the stage whose output has stride 2^N, as in detection papers).</summary>
        public const int FirstStageNumber = 2;

        public static string StageName(int index) => "c" + (index + FirstStageNumber);

        /// <summary>Splits <c>c5.heads</c> into stage index 3 and field heads; <c>width</c> into (-1, width).</summary>
        public static bool TryParsePath(string path, out int stage, out string field)
        {
            stage = -1;
            field = path;
            int dot = path.IndexOf('.');
            if (dot < 0) return true;
            var prefix = path.Substring(0, dot);
            field = path.Substring(dot + 1);
            // c05 is not c5: a leading zero would make a path no stage reads.
            if (prefix.Length < 2 || prefix[0] != 'c' || prefix[1] == '0' || field.Contains(".")) return false;
            if (!int.TryParse(prefix.Substring(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n)) return false;
            if (n < FirstStageNumber || n > 16) return false;
            stage = n - FirstStageNumber;
            return true;
        }

        /// <summary>The field a path names, or null (unknown field, or a stage prefix that is not cN).</summary>
        public static FieldInfo? Lookup(string path)
        {
            if (!TryParsePath(path, out int stage, out string field)) return null;
            var table = stage < 0 ? ArchFields : StageFields;
            return table.TryGetValue(field, out var info) ? info : null;
        }

        /// <summary>A close known field for "did you mean" hints, or null.</summary>
        public static string? Suggest(string path)
        {
            TryParsePath(path, out int stage, out string field);
            var table = stage < 0 ? ArchFields : StageFields;
            string? best = null;
            int bestDistance = int.MaxValue;
            foreach (var name in table.Keys)
            {
                int d = EditDistance(field, name);
                if (d < bestDistance) { bestDistance = d; best = name; }
            }
            if (best is null || bestDistance > Math.Max(2, field.Length / 3)) return null;
            return stage < 0 ? best : StageName(stage) + "." + best;
        }

        private static int EditDistance(string a, string b)
        {
            if (a.Length > 64 || b.Length > 64) return int.MaxValue;
            var d = new int[a.Length + 1, b.Length + 1];
            for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
            for (int j = 0; j <= b.Length; j++) d[0, j] = j;
            for (int i = 1; i <= a.Length; i++)
                for (int j = 1; j <= b.Length; j++)
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            return d[a.Length, b.Length];
        }
    }
}
