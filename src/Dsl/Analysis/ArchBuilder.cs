using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Families;
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
        private const long MaxChannels = 1 << 16, MaxSpatial = 4096;

        private readonly ResolvedArch arch;
        private readonly FieldReader f;
        private readonly List<Diagnostic> diagnostics;
        /// <summary>Where this build's diagnostics start in the shared list (a file may already have thousands).</summary>
        private int firstOwn;

        private ArchBuilder(ResolvedArch arch, List<Diagnostic> diagnostics)
        {
            this.arch = arch;
            f = new FieldReader(arch, diagnostics);
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
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(FieldCatalog.Input), ir.Name, FieldCatalog.Input.Name, ir.Input.ToString(),
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

        private SourceLocation LocationOf(string path) => f.LocationOf(path);

        private bool Has(string path) => f.Has(path);

        private static string StagePath(int stage, string field) => FieldReader.StagePath(stage, field);

        private bool InRange(long value, long min, long max, SourceLocation at, string what, string owner) => f.InRange(value, min, max, at, what, owner);

        /// <summary>The per-stage lists (every stage field's PerStage but depths, which sets the count): each needs one entry per stage.</summary>
        private static IEnumerable<string> PerStageLists =>
            FieldCatalog.All.Where(x => x.Scope == FieldScope.Stage && x.PerStage != null && x.PerStage != FieldCatalog.Depths.List.Name).Select(x => x.PerStage!).Distinct();

        // ---- building -----------------------------------------------------------------------------

        private ArchitectureIR? BuildIr()
        {
            var depths = f.List(FieldCatalog.Depths.List.Name);
            if (depths == null)
            {
                diagnostics.Add(DiagnosticCatalog.MissingField.Create(arch.Location, arch.Name, FieldCatalog.Depths.List.Name, "add e.g. 'depths = [3, 4, 6, 3]' (one entry per stage)"));
                return null;
            }
            if (!InRange(depths.Length, 1, MaxStages, f.LocationOf(FieldCatalog.Depths.List), "the number of stages", arch.Name)) return null;
            int n = depths.Length;

            CheckListLengths(n);
            foreach (var field in arch.Fields)
                if (FieldCatalog.TryParsePath(field.Path, out int st, out _) && st >= n)
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(field.PathLocation, arch.Name, "stage", FieldCatalog.StageName(st),
                        $"the architecture has stages c2..{FieldCatalog.StageName(n - 1)} ('depths' has {n} entries)"));
            if (HasNewErrors) return null;

            // Block kinds and the family they imply.
            var kinds = new BlockDefinition[n];
            // A stage's block word counts as read where the stage builds a block of that kind (not when all are MHSA).
            var blockPaths = new string[n];
            FamilyDefinition? family = null;
            for (int s = 0; s < n; s++)
            {
                blockPaths[s] = Has(StagePath(s, FieldCatalog.Block.Name)) ? StagePath(s, FieldCatalog.Block.Name) : FieldCatalog.Block.Name;
                var word = f.PeekWord(blockPaths[s]);
                if (word == null)
                {
                    diagnostics.Add(DiagnosticCatalog.MissingField.Create(arch.Location, arch.Name, FieldCatalog.Block.Name, "add e.g. 'block = bottleneck' (" + string.Join(", ", FieldCatalog.BlockWords) + ")"));
                    return null;
                }
                var kind = Definitions.Block(word)!;
                kinds[s] = kind;
                if (family == null) family = kind.Family;
                else if (kind.Family != family)
                {
                    diagnostics.Add(DiagnosticCatalog.MixedFamilies.Create(f.LocationOf(FieldCatalog.Block, s), FieldCatalog.StageName(s), word, kind.Family.Name, family.Name));
                    return null;
                }
            }
            var fam0 = family!;

            if (!f.Has(FieldCatalog.Widths.List))
            {
                diagnostics.Add(DiagnosticCatalog.MissingField.Create(arch.Location, arch.Name, FieldCatalog.Widths.List.Name, "add e.g. 'widths = [64, 128, 256, 512]' (one entry per stage)"));
                return null;
            }

            // Input.
            Shape input = new Shape(3, 224, 224);
            bool inputDeclared = false;
            if (f.Dims(FieldCatalog.Input.Name) is DimsValue dims)
            {
                var d = dims.Dims;
                input = d.Count == 3 ? new Shape(d[0], d[1], d[2]) : new Shape(3, d[0], d[1]);
                inputDeclared = true;
                var at = dims.Location;
                if (!InRange(input.C, 1, 64, at, "input channels", arch.Name) |
                    !InRange(input.H, 1, MaxSpatial, at, "input height", arch.Name) |
                    !InRange(input.W, 1, MaxSpatial, at, "input width", arch.Name)) return null;
            }

            double mult = f.Get(FieldCatalog.WidthMultiplier);
            if (!(mult > 0 && mult <= 16))
            {
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(FieldCatalog.WidthMultiplier), arch.Name, FieldCatalog.WidthMultiplier.Name, mult, "a width multiplier must be in (0, 16]"));
                return null;
            }
            long Scale(long c) => mult == 1.0 ? c : Math.Max(8, (long)(c * mult + 4) / 8 * 8);

            long classes = f.Get(FieldCatalog.Classes);
            InRange(classes, 0, 1 << 20, f.LocationOf(FieldCatalog.Classes), FieldCatalog.Classes.Name, arch.Name);

            // Stem.
            long firstWidth = f.Get(FieldCatalog.Widths, 0);
            if (!InRange(firstWidth, 1, MaxChannels, f.LocationOf(FieldCatalog.Widths, 0), FieldCatalog.Widths.Stage.Name, FieldCatalog.StageName(0))) return null;
            var stemWord = f.Word(FieldCatalog.Stem.Name) ?? fam0.DefaultStem;
            var stemKind = Definitions.Stem(stemWord)!;
            if (!stemKind.Families.Contains(fam0))
            {
                var allowed = string.Join(" or ", Definitions.Stems.Where(st => st.Families.Contains(fam0)).Select(st => st.Word)) + fam0.StemNote;
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(FieldCatalog.Stem), arch.Name, FieldCatalog.Stem.Name, stemWord, $"{fam0} architectures take stem {allowed}"));
                return null;
            }
            var stem = stemKind.Read(new StemContext(f, fam0, Scale(firstWidth), Scale));
            if (stem == null) return null;

            // Stages.
            var stages = new List<StageIR>();
            long channels = stem.Kind.Word == "none" ? input.C : stem.OutChannels;
            string channelSource = stem.Kind.Word == "none" ? "the input" : "the stem";
            long dilation = 1;
            StageContext? previousStage = null;
            var outputStride = fam0.ReadOutputStride(f, stem.Kind.Stride);
            if (outputStride == null) return null;
            for (int s = 0; s < n; s++)
            {
                var stageName = FieldCatalog.StageName(s);
                var kind = kinds[s];
                long depth = f.Get(FieldCatalog.Depths, s, 1);
                if (!InRange(depth, 1, MaxDepth, f.LocationOf(FieldCatalog.Depths, s), FieldCatalog.Depths.Stage.Name, stageName)) return null;

                long rawWidth = f.Get(FieldCatalog.Widths, s);
                if (!InRange(rawWidth, 1, MaxChannels, f.LocationOf(FieldCatalog.Widths, s), FieldCatalog.Widths.Stage.Name, stageName)) return null;
                long width = Scale(rawWidth);
                if (Math.Abs(rawWidth * mult - width) > 1e-9)
                    diagnostics.Add(DiagnosticCatalog.WidthRounded.Create(f.LocationOf(FieldCatalog.WidthMultiplier), stageName, mult.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        (rawWidth * mult).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture), width));

                var familyStage = new FamilyStage(f, s, kind, rawWidth, width, Scale, MaxChannels);
                if (!(fam0.OutChannels(familyStage) is long outCh)) return null;

                long defaultStride = s == 0 ? (stem.Kind.Word == "none" ? 4 : 1) : 2;
                long stride = f.Get(FieldCatalog.Strides, s, defaultStride);
                if (!InRange(stride, 1, 8, f.LocationOf(FieldCatalog.Strides, s), FieldCatalog.Strides.Stage.Name, stageName)) return null;
                fam0.CheckStride(familyStage, stride);
                if (!(outputStride.Stage(s, stride) is var (derivedStride, derivedDilation))) return null;
                stride = derivedStride;

                if (f.Has(FieldCatalog.In, s))
                {
                    long declaredIn = f.Int(StagePath(s, FieldCatalog.In.Name), 0);
                    if (declaredIn != channels)
                        diagnostics.Add(DiagnosticCatalog.ChannelMismatch.Create(f.LocationOf(FieldCatalog.In, s), stageName, declaredIn, channels,
                            s == 0 ? channelSource : FieldCatalog.StageName(s - 1) + ".out"));
                }

                if (!(fam0.PatchKernel(familyStage, stride) is long patchKernel)) return null;

                var ctx = new StageContext(f, s, (int)depth, channels, width, outCh, stride, dilation)
                {
                    FirstBlockUndilated = $"a {kind.Word} block, which has no dilated form", // the ResNet family says otherwise
                    DerivedDilation = derivedDilation,
                };
                var blocks = kind.BuildStage(ctx);
                if (blocks == null) return null;
                // The arch-level word (or a stage word with none above it) is required even where only self-attention is built;
                // a stage's own word that builds nothing is redundant: the arch-level one would give the same stage.
                if (blockPaths[s] == FieldCatalog.Block.Name || !f.Has(FieldCatalog.Block) || blocks.Any(b => b.Kind == kind)) f.MarkRead(blockPaths[s]);
                if (previousStage != null) CheckDilationActs(previousStage, ctx);
                previousStage = ctx;
                dilation = ctx.Dilation;
                stages.Add(new StageIR(s, channels, outCh, stride, patchKernel, EquatableArray.From(blocks)));
                channels = outCh;
                channelSource = stageName + ".out";
            }

            if (previousStage != null) CheckDilationActs(previousStage, null);
            outputStride.Finish();
            if (HasNewErrors) return null;
            var dropPath = Regularization.ReadDropPath(f, stages.Sum(st => st.Blocks.Count), arch.Name);
            var dropout = Regularization.ReadDropout(f, classes, arch.Name);
            if (dropPath == null || dropout == null) return null;
            int next = 0;
            if (dropPath.Any(r => r != 0))
                stages = stages.Select(st => st with { Blocks = EquatableArray.From(st.Blocks.Select(b => b with { DropPath = dropPath[next++] }).ToList()) }).ToList();
            long frozen = f.Get(FieldCatalog.FrozenStages);
            if (f.Has(FieldCatalog.FrozenStages))
            {
                var at = f.LocationOf(FieldCatalog.FrozenStages);
                if (!InRange(frozen, -1, stages.Count, at, FieldCatalog.FrozenStages.Name, arch.Name)) return null;
                if (frozen == 0 && stem.Kind.Word == "none")
                {
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(at, arch.Name, FieldCatalog.FrozenStages.Name, frozen,
                        "0 freezes only the stem and this network has none; give 1 or more (the first stages), or -1"));
                    return null;
                }
            }
            var outIndices = ReadOutIndices(stages.Count, frozen);
            if (outIndices == null) return null;
            FinalConvIR? finalConv = null;
            var checkedStages = stages;
            if (outIndices.Count > 0)
            {
                // A feature backbone: the stages after the last returned one are checked (their fields are read) but not built.
                stages = stages.Take(outIndices[outIndices.Count - 1]).ToList();
                classes = 0;
            }
            else if (!fam0.ReadFinalConv(f, Scale, MaxChannels, out finalConv)) return null;
            f.ReportUnused(n, s => Describe(checkedStages[s]));
            return new ArchitectureIR(arch.Name, fam0, input, inputDeclared, stem, EquatableArray.From(stages), classes, arch.Location, dropout.Value, (int)frozen, finalConv,
                EquatableArray.From(outIndices));
        }

        /// <summary>
        /// out_indices: strictly increasing stage numbers 1..stages (timm's features_only numbering without its stem
        /// feature, index 0, which is refused). The head's fields set with it are errors (inherited ones warnings), since
        /// nothing would read them; frozen_stages may not reach past the last returned stage. Empty when not set; null
        /// after an error.
        /// </summary>
        private List<int>? ReadOutIndices(int stageCount, long frozen)
        {
            var name = FieldCatalog.OutIndices.Name;
            if (!f.Has(name)) return new List<int>();
            var at = f.LocationOf(name);
            var items = f.List(name) ?? Array.Empty<long>();
            string text = "[" + string.Join(", ", items) + "]";
            string range = stageCount == 1 ? "1" : $"1 to {stageCount}";
            string? problem =
                items.Length == 0 ? $"give at least one stage, e.g. [{range.Replace(" to ", ", ..., ")}]"
                : items.Contains(0) ? $"index 0 is timm's stem feature, which Torchwright does not return (the stem's output is not a stage output); use stage numbers {range} (1 = c2)"
                : items.Any(i => i < 1 || i > stageCount) ? $"this architecture has {stageCount} stages; use stage numbers {range} (1 = c2)"
                : items.Zip(items.Skip(1), (a, b) => b <= a).Any(x => x) ? "the stage numbers must be strictly increasing, each once"
                : null;
            if (problem != null)
            {
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(at, arch.Name, name, text, problem));
                return null;
            }
            int last = (int)items[items.Length - 1];
            bool ok = true;
            foreach (var head in new[] { FieldCatalog.Classes.Name, Regularization.Dropout.Name, ResNetFamily.NumFeatures.Name })
            {
                if (!f.Has(head)) continue;
                f.MarkRead(head);
                if (head == FieldCatalog.Classes.Name && f.Int(head, 0) == 0) continue; // no head, as out_indices says
                string why = $"out_indices = {text} returns feature maps, so the pool, the final conv and the classifier are not built";
                if (f.IsInherited(head))
                {
                    if (arch.Variant == null)
                        diagnostics.Add(DiagnosticCatalog.UnusedField.Create(f.Field(head)!.PathLocation, arch.Name, head, $"{why} (set by the base '{f.Field(head)!.SetBy}')"));
                    continue;
                }
                diagnostics.Add(DiagnosticCatalog.FieldHasNoEffect.Create(f.Field(head)!.PathLocation, arch.Name, head, why, "a feature backbone has no head; remove it, or remove out_indices for a classifier"));
                ok = false;
            }
            if (frozen > last)
            {
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(FieldCatalog.FrozenStages), arch.Name, FieldCatalog.FrozenStages.Name, frozen,
                    $"out_indices = {text} builds only the first {last} stages; freeze at most {last}"));
                ok = false;
            }
            return ok ? items.Select(i => (int)i).ToList() : null;
        }

        /// <summary>
        /// A stage's cN.dilation acts on its blocks after the first and on the next stage's first block (torchvision's
        /// previous_dilation); one that acts on neither — a single-block last stage, a next stage that starts with an MHSA
        /// block — builds nothing, which is TW0024, said by that rule.
        /// </summary>
        private void CheckDilationActs(StageContext stage, StageContext? next)
        {
            if (!stage.DilationRead || stage.DilationActsHere || (next != null && next.FirstBlockUndilated == null)) return;
            var path = StagePath(stage.Index, ResNetFamily.Dilation.Name);
            string here = stage.Depth == 1 ? $"{stage.Name} has a single block" : $"{stage.Name}'s blocks after the first have no dilated form";
            string after = next == null ? "is the last stage" : $"{next.Name}'s first block is {next.FirstBlockUndilated}";
            const string Rule = "a stage's dilation acts on the 3x3 convs of its blocks after the first and of the next stage's first block (torchvision's previous_dilation)";
            if (f.IsInherited(path))
            {
                // As for every field a base set (FieldReader.ReportUnused): a warning, and none for a sweep's grid point.
                if (arch.Variant == null)
                    diagnostics.Add(DiagnosticCatalog.UnusedField.Create(f.Field(path)!.PathLocation, stage.Name, path, $"{here} and {after}; {Rule} (set by the base '{f.Field(path)!.SetBy}')"));
                return;
            }
            diagnostics.Add(DiagnosticCatalog.FieldHasNoEffect.Create(f.Field(path)!.PathLocation, stage.Name, path, $"{here} and {after}", Rule));
        }

        /// <summary>"bottleneck blocks", "bottleneck and MHSA blocks": what a stage is built from, for messages.</summary>
        private static string Describe(StageIR stage) =>
            string.Join(" and ", stage.Blocks.Select(b => b.Kind.Noun).Distinct()) + " blocks";

        /// <summary>
        /// Every per-stage list needs one entry per stage. When the stage count comes from this declaration's 'depths'
        /// and the list from a base, the fix is in this declaration: the diagnostic points at its 'depths' and names it.
        /// </summary>
        private void CheckListLengths(int n)
        {
            foreach (var list in PerStageLists)
            {
                if (!(f.Field(list) is ResolvedField field) || !(field.Value is ListValue lv) || lv.Items.Count == n) continue;
                if (f.IsInherited(list) && !f.IsInherited(FieldCatalog.Depths.List.Name))
                    diagnostics.Add(DiagnosticCatalog.ListLength.Create(f.LocationOf(FieldCatalog.Depths.List), arch.Name, list, lv.Items.Count, n,
                        $"'depths' of {arch.Name}; '{list}' is inherited from '{field.SetBy}'",
                        $"override '{list}' in {arch.Name} with {n} entries"));
                else
                    diagnostics.Add(DiagnosticCatalog.ListLength.Create(lv.Location, arch.Name, list, lv.Items.Count, n,
                        $"'{FieldCatalog.Depths.List.Name}'" + (f.IsInherited(FieldCatalog.Depths.List.Name) && !f.IsInherited(list) ? $", inherited from '{f.Field(FieldCatalog.Depths.List.Name)!.SetBy}'" : ""),
                        "give one entry per stage"));
            }
        }

        /// <summary>Checks that need feature-map sizes: the family's (kernels that need a larger map), exact division by the
        /// strides, and each block kind's own (BoT's pooled maps and attention size).</summary>
        private void CheckSpatial(ArchitectureIR ir, CostReport costs)
        {
            ir.Family.CheckMaps(ir, costs, f);
            if (HasNewErrors || !ir.InputDeclared) return;
            long total = ir.Stem.Kind.Stride;
            foreach (var st in ir.Stages) total = checked(total * st.Stride);
            bool strict = ir.Stages.Any(st => st.Blocks.Any(b => b.Kind.FixesMapSize));
            if (ir.Input.H % total != 0 || ir.Input.W % total != 0)
            {
                string why = $"the network downsamples by {total}, leaving {ir.Input.H / (double)total:0.##}x{ir.Input.W / (double)total:0.##} at the last stage";
                if (strict)
                {
                    string what = ir.Stages.SelectMany(st => st.Blocks).First(b => b.Kind.FixesMapSize).Kind.FixedMapSizeReason;
                    diagnostics.Add(DiagnosticCatalog.FeatureMapNotDivisible.Create(f.LocationOf(FieldCatalog.Input), ir.Name + " with " + what, ir.Input, why, total));
                }
                else
                    diagnostics.Add(DiagnosticCatalog.FeatureMapRounded.Create(f.LocationOf(FieldCatalog.Input), ir.Name, ir.Input, why, total));
            }

            int layer = 0;
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var stage = ir.Stages[s];
                for (int b = 0; b < stage.Blocks.Count; b++)
                {
                    var blk = stage.Blocks[b];
                    var path = ir.Family.Block(s, b);
                    while (layer < costs.Layers.Count && costs.Layers[layer].Path != path) layer++;
                    if (layer >= costs.Layers.Count) return;
                    blk.Kind.CheckInputMap(new BlockMapCheck(f, ir, s, b, costs.Layers[layer].Input, total, HasNewErrors));
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
