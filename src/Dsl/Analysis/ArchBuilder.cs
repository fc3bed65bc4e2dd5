using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Analysis
{
    /// <summary>
    /// Turns a resolved declaration into IR, applying family defaults and the width multiplier, and checks
    /// everything that can be wrong with it (channels, groups, heads, masks, kernels, feature-map sizes).
    /// Each diagnostic points at the field value responsible, or at the architecture's name.
    /// </summary>
    public sealed class ArchBuilder
    {
        // Bounds that keep every count inside 64 bits and every loop short, whatever the input.
        internal const int MaxStages = 8;
        internal const long MaxDepth = 256;
        private const long MaxChannels = 1 << 16, MaxSpatial = 4096, MaxGroups = 4096;

        private readonly ResolvedArch arch;
        private readonly Dictionary<string, ResolvedField> fields;
        private readonly List<Diagnostic> diagnostics;
        /// <summary>Where this build's diagnostics start in the shared list (a file may already have thousands).</summary>
        private int firstOwn;

        private ArchBuilder(ResolvedArch arch, List<Diagnostic> diagnostics)
        {
            this.arch = arch;
            fields = arch.ToMap();
            this.diagnostics = diagnostics;
        }

        /// <summary>Builds and checks; returns null when an error makes the IR meaningless.</summary>
        public static (ArchitectureIR? Ir, CostReport? Costs) Build(ResolvedArch arch, List<Diagnostic> diagnostics)
        {
            var b = new ArchBuilder(arch, diagnostics);
            b.firstOwn = diagnostics.Count;
            try { return b.BuildAndCost(); }
            finally { b.RelocateZooDiagnostics(b.firstOwn); }
        }

        private (ArchitectureIR? Ir, CostReport? Costs) BuildAndCost()
        {
            var ir = BuildIr();
            if (ir == null || HasNewErrors) return (null, null);
            CostReport costs;
            try { costs = CostModel.Analyze(ir); }
            catch (OverflowException)
            {
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(LocationOf("input"), ir.Name, "input", ir.Input.ToString(),
                    "the parameter or MAC count exceeds 64 bits; use a smaller input or narrower stages"));
                return (null, null);
            }
            CheckSpatial(ir, costs);
            return HasNewErrors ? (null, null) : (ir, costs);
        }

        /// <summary>
        /// A problem in a user's architecture whose culprit value is inherited from the built-in zoo is reported at
        /// the user's declaration (a file they can open), naming where in the zoo the value was set.
        /// </summary>
        private void RelocateZooDiagnostics(int first)
        {
            if (arch.FromZoo || Zoo.IsZooPath(arch.Location.Path)) return;
            for (int i = first; i < diagnostics.Count; i++)
            {
                var d = diagnostics[i];
                if (!Zoo.IsZooPath(d.Location.Path)) continue;
                diagnostics[i] = d with { Message = d.Message + $" (the value is inherited from the built-in {d.Location})", Location = arch.Location };
            }
        }

        private bool HasNewErrors
        {
            get
            {
                for (int i = firstOwn; i < diagnostics.Count; i++)
                    if (diagnostics[i].IsError) return true;
                return false;
            }
        }

        // ---- field access -------------------------------------------------------------------------

        private SourceLocation LocationOf(string path) =>
            fields.TryGetValue(path, out var f) ? f.Value.Location : arch.Location;

        private bool Has(string path) => fields.ContainsKey(path);

        private long Int(string path, long fallback) =>
            fields.TryGetValue(path, out var f) && f.Value is IntValue i ? i.Value : fallback;

        private double Float(string path, double fallback) => fields.TryGetValue(path, out var f)
            ? f.Value switch { FloatValue fv => fv.Value, IntValue iv => iv.Value, _ => fallback }
            : fallback;

        private bool Bool(string path, bool fallback) =>
            fields.TryGetValue(path, out var f) && f.Value is BoolValue b ? b.Value : fallback;

        private string? Word(string path) =>
            fields.TryGetValue(path, out var f) && f.Value is WordValue w ? w.Word : null;

        private long[]? List(string path) =>
            fields.TryGetValue(path, out var f) && f.Value is ListValue l ? l.Items.Select(i => ((IntValue)i).Value).ToArray() : null;

        private static string StagePath(int stage, string field) => FieldCatalog.StageName(stage) + "." + field;

        /// <summary>A per-stage integer: cN.field, else list[stage], else the default.</summary>
        private long StageInt(int stage, string field, string list, long fallback)
        {
            var p = StagePath(stage, field);
            if (Has(p)) return Int(p, fallback);
            var l = List(list);
            return l != null && stage < l.Length ? l[stage] : fallback;
        }

        /// <summary>Where a per-stage value came from (the cN.field value, or the list entry).</summary>
        private SourceLocation StageLocation(int stage, string field, string list)
        {
            var p = StagePath(stage, field);
            if (Has(p)) return LocationOf(p);
            if (fields.TryGetValue(list, out var f) && f.Value is ListValue l && stage < l.Items.Count) return l.Items[stage].Location;
            return fields.TryGetValue(list, out var g) ? g.Value.Location : arch.Location;
        }

        /// <summary>A field that may be set on the arch or on one stage: cN.field overrides field.</summary>
        private long BothInt(int stage, string field, long fallback) =>
            Has(StagePath(stage, field)) ? Int(StagePath(stage, field), fallback) : Int(field, fallback);

        private SourceLocation BothLocation(int stage, string field) =>
            Has(StagePath(stage, field)) ? LocationOf(StagePath(stage, field)) : LocationOf(field);

        private bool InRange(long value, long min, long max, SourceLocation at, string what, string owner)
        {
            if (value >= min && value <= max) return true;
            diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(at, owner, what, value, $"expected {min}..{max}"));
            return false;
        }

        // ---- building -----------------------------------------------------------------------------

        private ArchitectureIR? BuildIr()
        {
            var depths = List("depths");
            if (depths == null)
            {
                diagnostics.Add(DiagnosticCatalog.MissingField.Create(arch.Location, arch.Name, "depths", "add e.g. 'depths = [3, 4, 6, 3]' (one entry per stage)"));
                return null;
            }
            if (!InRange(depths.Length, 1, MaxStages, LocationOf("depths"), "the number of stages", arch.Name)) return null;
            int n = depths.Length;

            foreach (var list in new[] { "widths", "outs", "strides", "heads", "mlp_ratios", "sr_ratios", "patch_kernels" })
                if (fields.TryGetValue(list, out var f) && f.Value is ListValue lv && lv.Items.Count != n)
                    diagnostics.Add(DiagnosticCatalog.ListLength.Create(lv.Location, list, lv.Items.Count, n));
            foreach (var f in fields.Values)
                if (FieldCatalog.TryParsePath(f.Path, out int st, out _) && st >= n)
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(f.PathLocation, arch.Name, "stage", FieldCatalog.StageName(st),
                        $"the architecture has stages c2..{FieldCatalog.StageName(n - 1)} ('depths' has {n} entries)"));
            if (HasNewErrors) return null;

            // Block kinds and the family they imply.
            var kinds = new string[n];
            Family? family = null;
            for (int s = 0; s < n; s++)
            {
                var kind = Word(StagePath(s, "block")) ?? Word("block");
                if (kind == null)
                {
                    diagnostics.Add(DiagnosticCatalog.MissingField.Create(arch.Location, arch.Name, "block", "add e.g. 'block = bottleneck' (" + string.Join(", ", FieldCatalog.BlockWords) + ")"));
                    return null;
                }
                kinds[s] = kind;
                var fam = FamilyOf(kind);
                if (family == null) family = fam;
                else if (fam != family)
                {
                    diagnostics.Add(DiagnosticCatalog.MixedFamilies.Create(BothLocation(s, "block"), FieldCatalog.StageName(s), kind, fam.ToString(), family.ToString()));
                    return null;
                }
            }
            var fam0 = family!.Value;

            var widths = List("widths");
            if (widths == null)
            {
                diagnostics.Add(DiagnosticCatalog.MissingField.Create(arch.Location, arch.Name, "widths", "add e.g. 'widths = [64, 128, 256, 512]' (one entry per stage)"));
                return null;
            }

            // Input.
            Shape input = new Shape(3, 224, 224);
            bool inputDeclared = false;
            if (fields.TryGetValue("input", out var inField) && inField.Value is DimsValue dims)
            {
                var d = dims.Dims;
                input = d.Count == 3 ? new Shape(d[0], d[1], d[2]) : new Shape(3, d[0], d[1]);
                inputDeclared = true;
                var at = inField.Value.Location;
                if (!InRange(input.C, 1, 64, at, "input channels", arch.Name) |
                    !InRange(input.H, 1, MaxSpatial, at, "input height", arch.Name) |
                    !InRange(input.W, 1, MaxSpatial, at, "input width", arch.Name)) return null;
            }

            double mult = Float("width", 1.0);
            if (!(mult > 0 && mult <= 16))
            {
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(LocationOf("width"), arch.Name, "width", mult, "a width multiplier must be in (0, 16]"));
                return null;
            }
            long Scale(long c) => mult == 1.0 ? c : Math.Max(8, (long)(c * mult + 4) / 8 * 8);

            long classes = Int("classes", 1000);
            InRange(classes, 0, 1 << 20, LocationOf("classes"), "classes", arch.Name);

            // Stem.
            var stemWord = Word("stem") ?? (fam0 == Family.ResNet ? "resnet" : fam0 == Family.Van ? "none" : "rest");
            var stem = stemWord switch
            {
                "resnet" => StemKind.ResNet,
                "deep" => StemKind.Deep,
                "rest" => StemKind.Rest,
                "rest_paper" => StemKind.RestPaper,
                _ => StemKind.None,
            };
            bool stemFits = fam0 switch
            {
                Family.ResNet => stem == StemKind.ResNet || stem == StemKind.Deep || stem == StemKind.None,
                Family.Van => stem == StemKind.None,
                _ => stem == StemKind.Rest || stem == StemKind.RestPaper,
            };
            if (!stemFits)
            {
                var allowed = fam0 switch { Family.ResNet => "resnet, deep or none", Family.Van => "none (VAN embeds patches in each stage)", _ => "rest or rest_paper" };
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(LocationOf("stem"), arch.Name, "stem", stemWord, $"{fam0} architectures take stem {allowed}"));
                return null;
            }

            long stemWidth = 0;
            if (stem != StemKind.None)
            {
                // Declared channel counts are checked as written, before the width multiplier (which would
                // otherwise round -1000 up to 8).
                if (Has("stem_width") && !InRange(Int("stem_width", 0), fam0 == Family.Rest ? 1 : 2, MaxChannels, LocationOf("stem_width"), "stem_width", arch.Name)) return null;
                if (fam0 == Family.Rest)
                {
                    stemWidth = Scale(widths[0]);
                    if (Has("stem_width") && Scale(Int("stem_width", 0)) != stemWidth)
                        diagnostics.Add(DiagnosticCatalog.ChannelMismatch.Create(LocationOf("stem_width"), "c2", Scale(Int("stem_width", 0)), stemWidth,
                            "widths[0] (ResT stages have no patch embedding after the stem)"));
                }
                else
                {
                    stemWidth = Scale(Int("stem_width", 64));
                    if (!InRange(stemWidth, 2, MaxChannels, LocationOf("stem_width"), "stem_width", arch.Name)) return null;
                    if (stem == StemKind.Deep && stemWidth % 2 != 0)
                        diagnostics.Add(DiagnosticCatalog.GroupsDoNotDivide.Create(LocationOf("stem_width"), "stem", "the deep stem's halving", 2, "stem_width", stemWidth));
                }
            }
            else if (Has("stem_width"))
                diagnostics.Add(DiagnosticCatalog.UnusedField.Create(LocationOf("stem_width"), arch.Name, "stem_width", "an architecture without a stem (stem = none)"));

            // Stages.
            var stages = new List<StageIR>();
            long channels = stem == StemKind.None ? input.C : stemWidth;
            string channelSource = stem == StemKind.None ? "the input" : "the stem";
            for (int s = 0; s < n; s++)
            {
                var stageName = FieldCatalog.StageName(s);
                var kind = kinds[s];
                long depth = StageInt(s, "depth", "depths", 1);
                if (!InRange(depth, 1, MaxDepth, StageLocation(s, "depth", "depths"), "depth", stageName)) return null;

                long rawWidth = StageInt(s, "width", "widths", 0);
                if (!InRange(rawWidth, 1, MaxChannels, StageLocation(s, "width", "widths"), "width", stageName)) return null;
                long width = Scale(rawWidth);
                if (Math.Abs(rawWidth * mult - width) > 1e-9)
                    diagnostics.Add(DiagnosticCatalog.WidthRounded.Create(LocationOf("width"), stageName, mult.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        (rawWidth * mult).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), width));

                long outCh;
                if (fam0 == Family.ResNet)
                {
                    long rawOut = StageInt(s, "out", "outs", rawWidth * 4);
                    if (!InRange(rawOut, 1, MaxChannels, StageLocation(s, "out", "outs"), "out", stageName)) return null;
                    outCh = Scale(rawOut);
                    if (!InRange(outCh, 1, MaxChannels, StageLocation(s, "out", "outs"), "out", stageName)) return null;
                }
                else
                {
                    outCh = width;
                    if (Has("outs") || Has(StagePath(s, "out")))
                    {
                        long rawOut = StageInt(s, "out", "outs", rawWidth);
                        if (!InRange(rawOut, 1, MaxChannels, StageLocation(s, "out", "outs"), "out", stageName)) return null;
                        long declared = Scale(rawOut);
                        if (declared != width)
                            diagnostics.Add(DiagnosticCatalog.ChannelMismatch.Create(StageLocation(s, "out", "outs"), stageName + " output", declared, width,
                                stageName + ".width (" + kind + " stages output their width)"));
                    }
                }

                long defaultStride = s == 0 ? (stem == StemKind.None ? 4 : 1) : 2;
                long stride = StageInt(s, "stride", "strides", defaultStride);
                if (!InRange(stride, 1, 8, StageLocation(s, "stride", "strides"), "stride", stageName)) return null;
                if (fam0 == Family.Rest && s == 0 && stride != 1)
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(StageLocation(s, "stride", "strides"), stageName, "stride", stride, "the first ResT stage runs at the stem's resolution: use stride 1"));

                if (Has(StagePath(s, "in")))
                {
                    long declaredIn = Int(StagePath(s, "in"), 0);
                    if (declaredIn != channels)
                        diagnostics.Add(DiagnosticCatalog.ChannelMismatch.Create(LocationOf(StagePath(s, "in")), stageName, declaredIn, channels,
                            s == 0 ? channelSource : FieldCatalog.StageName(s - 1) + ".out"));
                }

                long patchKernel = 0;
                if (fam0 == Family.Van)
                {
                    patchKernel = StageInt(s, "patch_kernel", "patch_kernels", 2 * stride - 1);
                    if (!InRange(patchKernel, 1, 31, StageLocation(s, "patch_kernel", "patch_kernels"), "patch_kernel", stageName)) return null;
                }
                else if (Has("patch_kernels") || Has(StagePath(s, "patch_kernel")))
                    diagnostics.Add(DiagnosticCatalog.UnusedField.Create(StageLocation(s, "patch_kernel", "patch_kernels"), stageName, "patch_kernel", kind + " blocks"));

                var blocks = BuildBlocks(s, stageName, kind, (int)depth, channels, width, outCh, stride);
                if (blocks == null) return null;
                stages.Add(new StageIR(s, channels, outCh, stride, patchKernel, EquatableArray.From(blocks)));
                channels = outCh;
                channelSource = stageName + ".out";
            }

            // Per-stage lists that no stage's block kind reads.
            void UnusedList(string list, Func<string, bool> used)
            {
                if (Has(list) && !kinds.Any(used))
                    diagnostics.Add(DiagnosticCatalog.UnusedField.Create(LocationOf(list), arch.Name, list, string.Join("/", kinds.Distinct()) + " blocks"));
            }
            UnusedList("heads", k => k == "rest" || Enumerable.Range(0, n).Any(i => Has(StagePath(i, "mhsa")) || Has(StagePath(i, "mhsa_every"))));
            UnusedList("mlp_ratios", k => k == "van" || k == "rest");
            UnusedList("sr_ratios", k => k == "rest");

            if (HasNewErrors) return null;
            return new ArchitectureIR(arch.Name, fam0, input, inputDeclared, stem, stemWidth, EquatableArray.From(stages), classes, arch.Location);
        }

        private static Family FamilyOf(string kind) => kind switch
        {
            "van" => Family.Van,
            "rest" => Family.Rest,
            _ => Family.ResNet,
        };

        private List<BlockIR>? BuildBlocks(int s, string stageName, string kind, int depth, long inCh, long width, long outCh, long stride)
        {
            var fam = FamilyOf(kind);
            var mask = MhsaMask(s, stageName, kind, depth);

            long card = BothInt(s, "cardinality", 1);
            long radix = BothInt(s, "radix", kind == "splat" ? 2 : 1);
            bool avd = Has(StagePath(s, "avd")) ? Bool(StagePath(s, "avd"), true) : Bool("avd", true);
            var shortcutWord = Word(StagePath(s, "shortcut")) ?? Word("shortcut") ?? "conv";
            var shortcut = shortcutWord == "avgdown" ? ShortcutKind.AvgDown : ShortcutKind.Conv;
            bool anyMhsa = mask.Any(m => m);
            long heads = StageInt(s, "heads", "heads", fam == Family.Rest ? 1 : 4);
            long mlp = StageInt(s, "mlp_ratio", "mlp_ratios", 4);
            long sr = StageInt(s, "sr_ratio", "sr_ratios", 1);
            long lkaK = BothInt(s, "lka_kernel", 21), lkaD = BothInt(s, "lka_dilation", 3);

            if (!InRange(card, 1, MaxGroups, BothLocation(s, "cardinality"), "cardinality", stageName) ||
                !InRange(radix, 1, 16, BothLocation(s, "radix"), "radix", stageName) ||
                !InRange(heads, 1, 1024, StageLocation(s, "heads", "heads"), "heads", stageName) ||
                !InRange(mlp, 1, 64, StageLocation(s, "mlp_ratio", "mlp_ratios"), "mlp_ratio", stageName) ||
                !InRange(sr, 1, 64, StageLocation(s, "sr_ratio", "sr_ratios"), "sr_ratio", stageName))
                return null;

            // Fields that the stage's block kind ignores are worth a warning: they usually mean a typo'd kind.
            void Unused(string field, bool used)
            {
                if (!used && Has(StagePath(s, field)))
                    diagnostics.Add(DiagnosticCatalog.UnusedField.Create(LocationOf(StagePath(s, field)), stageName, field, kind + " blocks"));
            }
            Unused("radix", kind == "splat");
            Unused("avd", kind == "splat");
            Unused("cardinality", kind == "bottleneck" || kind == "splat");
            Unused("heads", Has(StagePath(s, "mhsa")) || Has(StagePath(s, "mhsa_every")) || kind == "rest");
            Unused("mlp_ratio", kind == "van" || kind == "rest");
            Unused("sr_ratio", kind == "rest");
            Unused("lka_kernel", kind == "van");
            Unused("lka_dilation", kind == "van");
            Unused("shortcut", fam == Family.ResNet);

            var blocks = new List<BlockIR>();
            switch (kind)
            {
                case "bottleneck":
                case "splat":
                case "cot":
                {
                    if (kind == "bottleneck" && width % card != 0)
                        Groups(s, stageName, "cardinality", card, width, BothLocation(s, "cardinality"));
                    if (kind == "splat")
                    {
                        long groups = card * radix, inter = CostModel.SplitAttnInter(width, radix);
                        if (width % groups != 0)
                            diagnostics.Add(DiagnosticCatalog.GroupsDoNotDivide.Create(BothLocation(s, Has(StagePath(s, "radix")) || Has("radix") ? "radix" : "cardinality"),
                                stageName + " split attention", "cardinality x radix", groups, "width", width));
                        else if (inter % card != 0)
                            diagnostics.Add(DiagnosticCatalog.GroupsDoNotDivide.Create(BothLocation(s, "cardinality"),
                                stageName + " split-attention fc1", "cardinality", card, "its width max(width*radix/4, 32)", inter));
                    }
                    if (kind == "cot" && width % 8 != 0)
                        diagnostics.Add(DiagnosticCatalog.GroupsDoNotDivide.Create(StageLocation(s, "width", "widths"),
                            stageName + " CoT layer", "8 (key groups 4, value sharing 8)", 8, "width", width));
                    if (anyMhsa && width % heads != 0)
                        diagnostics.Add(DiagnosticCatalog.HeadsDoNotDivide.Create(StageLocation(s, "heads", "heads"), stageName + " MHSA", heads, width, DivisorNear(width, heads)));
                    if (anyMhsa && !Has("input"))
                        diagnostics.Add(DiagnosticCatalog.InputSizeRequired.Create(MhsaLocation(s), stageName, "MHSA's relative-position tables"));
                    long inC = inCh;
                    for (int b = 0; b < depth; b++)
                    {
                        long st = b == 0 ? stride : 1;
                        BlockIR blk;
                        if (mask[b])
                            blk = new BlockIR(BlockKind.Bot, inC, width, outCh, st, Shortcut: shortcut, Heads: heads);
                        else if (kind == "splat")
                            blk = new BlockIR(BlockKind.SplitAttn, inC, width, outCh, st, card, radix, avd, shortcut);
                        else if (kind == "cot")
                            blk = new BlockIR(BlockKind.Cot, inC, width, outCh, st, Shortcut: shortcut);
                        else
                            blk = new BlockIR(BlockKind.Bottleneck, inC, width, outCh, st, card, Shortcut: shortcut);
                        blocks.Add(blk);
                        inC = outCh;
                    }
                    break;
                }
                case "van":
                {
                    string? why = null;
                    bool kernelAtFault = true;
                    if (lkaK < 3 || lkaK > 255) why = "the kernel must be between 3 and 255";
                    else if (lkaK % 2 == 0) why = "the kernel must be odd so the map keeps its size";
                    else
                    {
                        kernelAtFault = false;
                        if (lkaD < 1) why = "the dilation must be at least 1";
                        else if (2 * lkaD - 1 > lkaK) why = $"the local depthwise kernel 2d-1 = {2 * lkaD - 1} exceeds the kernel; use a dilation of at most {(lkaK + 1) / 2}";
                        else if (CostModel.LkaKernels(lkaK, lkaD).Dilated % 2 == 0)
                            why = $"the dilated kernel ceil(K/d) = {CostModel.LkaKernels(lkaK, lkaD).Dilated} is even, so padding cannot keep the map size; pick K and d with ceil(K/d) odd (e.g. 21 and 3)";
                    }
                    var at = BothLocation(s, kernelAtFault ? "lka_kernel" : "lka_dilation");
                    if (why != null)
                    {
                        diagnostics.Add(DiagnosticCatalog.InvalidLka.Create(at, stageName, lkaK, lkaD, why));
                        return null;
                    }
                    double ls = Float("layer_scale", 1e-2);
                    for (int b = 0; b < depth; b++)
                        blocks.Add(new BlockIR(BlockKind.Van, width, width, width, 1, MlpRatio: mlp, LkaKernel: lkaK, LkaDilation: lkaD, LayerScale: ls));
                    break;
                }
                default: // rest
                {
                    if (width % heads != 0)
                        diagnostics.Add(DiagnosticCatalog.HeadsDoNotDivide.Create(StageLocation(s, "heads", "heads"), stageName + " EMSA", heads, width, DivisorNear(width, heads)));
                    bool qkvBias = Bool("qkv_bias", true);
                    for (int b = 0; b < depth; b++)
                        blocks.Add(new BlockIR(BlockKind.Rest, width, width, width, 1, Heads: heads, MlpRatio: mlp, SrRatio: sr, QkvBias: qkvBias));
                    break;
                }
            }
            return blocks;
        }

        private void Groups(int s, string stageName, string field, long groups, long width, SourceLocation at) =>
            diagnostics.Add(DiagnosticCatalog.GroupsDoNotDivide.Create(at, stageName, field, groups, "width", width));

        private static long DivisorNear(long width, long heads)
        {
            for (long d = 0; d < width; d++)
            {
                if (heads - d >= 1 && width % (heads - d) == 0) return heads - d;
                if (width % (heads + d) == 0) return heads + d;
            }
            return 1;
        }

        private SourceLocation MhsaLocation(int s) =>
            Has(StagePath(s, "mhsa")) ? LocationOf(StagePath(s, "mhsa")) : LocationOf(StagePath(s, "mhsa_every"));

        /// <summary>Which blocks of the stage become MHSA: the explicit mask, the every-k interleave, or none.</summary>
        private bool[] MhsaMask(int s, string stageName, string kind, int depth)
        {
            var mask = new bool[depth];
            var maskPath = StagePath(s, "mhsa");
            var everyPath = StagePath(s, "mhsa_every");
            if (Has(maskPath) && Has(everyPath))
            {
                diagnostics.Add(DiagnosticCatalog.DuplicateAssignment.Create(fields[everyPath].PathLocation, everyPath + " (with " + maskPath + ")", arch.Name, fields[maskPath].PathLocation));
                return new bool[depth]; // reported; keep checking the rest
            }
            bool resnetFamily = FamilyOf(kind) == Family.ResNet;
            if (Has(maskPath))
            {
                if (!resnetFamily)
                {
                    diagnostics.Add(DiagnosticCatalog.UnusedField.Create(LocationOf(maskPath), stageName, "mhsa", kind + " blocks"));
                    return mask;
                }
                var list = (ListValue)fields[maskPath].Value;
                if (list.Items.Count != depth)
                {
                    diagnostics.Add(DiagnosticCatalog.MaskLength.Create(list.Location, stageName, "mhsa", list.Items.Count, depth));
                    return new bool[depth]; // reported; keep checking the rest
                }
                for (int i = 0; i < depth; i++)
                {
                    long v = ((IntValue)list.Items[i]).Value;
                    if (v != 0 && v != 1)
                    {
                        diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(list.Items[i].Location, stageName, $"mhsa[{i}]", v, "mask entries are 0 (keep the block) or 1 (MHSA)"));
                        return new bool[depth]; // reported; keep checking the rest
                    }
                    mask[i] = v == 1;
                }
            }
            else if (Has(everyPath))
            {
                long every = Int(everyPath, 1);
                if (!resnetFamily)
                {
                    diagnostics.Add(DiagnosticCatalog.UnusedField.Create(LocationOf(everyPath), stageName, "mhsa_every", kind + " blocks"));
                    return mask;
                }
                if (!InRange(every, 1, depth, LocationOf(everyPath), "mhsa_every", stageName)) return new bool[depth]; // reported; keep checking the rest
                for (int i = 0; i < depth; i++) mask[i] = (i + 1) % every == 0;
            }
            return mask;
        }

        /// <summary>Checks that need feature-map sizes: exact division by the strides, BoT's pooled maps, MHSA map size.</summary>
        private void CheckSpatial(ArchitectureIR ir, CostReport costs)
        {
            if (!ir.InputDeclared) return;
            long total = ir.Stem == StemKind.None ? 1 : 4;
            foreach (var st in ir.Stages) total = checked(total * st.Stride);
            bool strict = ir.Stages.Any(st => st.Blocks.Any(b => b.Kind == BlockKind.Bot || b.Kind == BlockKind.Rest));
            if (ir.Input.H % total != 0 || ir.Input.W % total != 0)
            {
                string why = $"the network downsamples by {total}, leaving {ir.Input.H / (double)total:0.##}x{ir.Input.W / (double)total:0.##} at the last stage";
                if (strict)
                {
                    string what = ir.Family == Family.Rest ? "ResT (its attention reshapes tokens back to maps at every stage)" : "MHSA (the relative-position tables fix each map's size)";
                    diagnostics.Add(DiagnosticCatalog.FeatureMapNotDivisible.Create(LocationOf("input"), ir.Name + " with " + what, ir.Input, why, total));
                }
                else
                    diagnostics.Add(DiagnosticCatalog.FeatureMapRounded.Create(LocationOf("input"), ir.Name, ir.Input, why, total));
            }

            int layer = 0;
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var stage = ir.Stages[s];
                for (int b = 0; b < stage.Blocks.Count; b++)
                {
                    var blk = stage.Blocks[b];
                    var path = Naming.Block(ir.Family, s, b);
                    while (layer < costs.Layers.Count && costs.Layers[layer].Path != path) layer++;
                    if (layer >= costs.Layers.Count) return;
                    var x = costs.Layers[layer].Input;
                    if (blk.Kind != BlockKind.Bot) continue;
                    if (x.H < 1 || x.W < 1 || (blk.Stride > 1 && (x.H % 2 != 0 || x.W % 2 != 0)))
                    {
                        if (!HasNewErrors)
                            diagnostics.Add(DiagnosticCatalog.FeatureMapNotDivisible.Create(MhsaLocation(s), $"{stage.Name} block {b} (MHSA)", ir.Input,
                                $"the block receives a {x.H}x{x.W} map and must pool it 2x2", total));
                        continue;
                    }
                    long tokens = x.H * x.W;
                    if (tokens > 1024)
                    {
                        double bytes = 4.0 * blk.Heads * tokens * tokens;
                        diagnostics.Add(DiagnosticCatalog.LargeAttentionMap.Create(MhsaLocation(s), $"{stage.Name} block {b}", x.H, x.W, tokens, FormatBytes(bytes)));
                    }
                }
            }
        }

        public static string FormatBytes(double bytes)
        {
            string[] units = { "B", "KiB", "MiB", "GiB", "TiB" };
            int u = 0;
            while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
            return bytes.ToString(u == 0 ? "0" : "0.0", System.Globalization.CultureInfo.InvariantCulture) + " " + units[u];
        }
    }
}
