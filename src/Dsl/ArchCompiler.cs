using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl
{
    /// <summary>A source of declarations: a .arch file's path and text.</summary>
    public sealed record SourceFile(string Path, string Text);

    /// <summary>
    /// An architecture that passed every check, with its shapes and costs. What the emitter reads. <see cref="Training"/>:
    /// its <c>train.NAME</c> settings (inherited, declared or swept), which build nothing and are checked where training
    /// runs (<see cref="TrainingFields"/>).
    /// </summary>
    public sealed record CheckedArchitecture(ArchitectureIR Ir, CostReport Costs, SweepPoint? Variant, EquatableArray<ResolvedField> Training = default)
    {
        public string Name => Ir.Name;

        /// <summary>A feature backbone's returned maps (out_indices), in order: the stage module, its output channels and its
        /// stride (reduction from the input: the stem's, input over the first stage's input map, times the stages' strides).
        /// Empty for a classifier. The generated FeatureInfo and the summary print these.</summary>
        public IReadOnlyList<(string Module, string Stage, long Channels, long Stride)> FeatureLevels =>
            Ir.OutIndices.Select(i => (Ir.Family.Stage(i - 1), Ir.Stages[i - 1].Name, Costs.StageOutputs[i - 1].C, Reduction(i - 1))).ToList();

        private long Reduction(int stage)
        {
            long r = Math.Max(1, (long)Math.Round((double)Ir.Input.H / (Costs.StageOutputs[0].H * Ir.Stages[0].Stride)));
            for (int s = 0; s <= stage; s++) r *= Ir.Stages[s].Stride;
            return r;
        }
    }

    /// <summary>A sweep whose variants all checked; invalid variants are listed with their diagnostics' count.</summary>
    public sealed record CheckedSweep(SweepInfo Info, EquatableArray<CheckedArchitecture> Variants, EquatableArray<string> InvalidVariants);

    /// <summary>
    /// A declared (non-zoo) architecture that did not check: its name, where it was declared, and its stage names when its
    /// inheritance resolved far enough to know them (from 'depths'). The generator emits a placeholder for it, so that code
    /// using the class reports the declaration's TW errors and no follow-on C# errors.
    /// </summary>
    public sealed record FailedArchitecture(string Name, SourceLocation Location, EquatableArray<string> StageNames);

    public sealed record CompilationResult(
        EquatableArray<CheckedArchitecture> Architectures,
        EquatableArray<CheckedSweep> Sweeps,
        EquatableArray<Diagnostic> Diagnostics,
        EquatableArray<FailedArchitecture> Failed)
    {
        public bool HasErrors => Diagnostics.Any(d => d.IsError);
    }

    /// <summary>
    /// The one pipeline from declarations to checked architectures: parse, resolve (imports, inheritance, sweeps),
    /// build IR, infer shapes and costs. Used by the generator, the CLI and the tests alike. Never throws on bad input.
    /// </summary>
    public static class ArchCompiler
    {
        public static CompilationResult Compile(IEnumerable<SourceFile> files)
        {
            var diagnostics = new List<Diagnostic>();
            var parsed = files.Select(f => ArchParser.Parse(f.Path, f.Text, diagnostics)).ToList();
            return Compile(parsed, diagnostics);
        }

        /// <summary>Compiles already-parsed files (the generator parses per file so parsing stays cached).</summary>
        /// <param name="sample">Build only these grid points of one sweep (see <see cref="SweepGrid"/>).</param>
        public static CompilationResult Compile(IReadOnlyList<ArchFile> files, List<Diagnostic> diagnostics, SweepSample? sample = null)
        {
            var (all, sweeps) = ArchResolver.Resolve(files, Zoo.Files, diagnostics, sample);
            var resolved = WorkLimits.Admit(all, diagnostics);
            var admittedSweeps = new HashSet<string>(resolved.Where(a => a.Variant != null).Select(a => a.Variant!.Sweep), StringComparer.Ordinal);
            var byName = new Dictionary<string, CheckedArchitecture>(StringComparer.Ordinal);
            var invalid = new HashSet<string>(StringComparer.Ordinal);
            var checkedArchs = new List<CheckedArchitecture>();
            foreach (var arch in resolved)
            {
                var (ir, costs) = ArchBuilder.Build(arch, diagnostics);
                if (ir == null || costs == null) { invalid.Add(arch.Name); continue; }
                var c = new CheckedArchitecture(ir, costs, arch.Variant, TrainingFields.Of(arch));
                byName[arch.Name] = c;
                if (arch.Variant == null) checkedArchs.Add(c);
            }
            var checkedSweeps = sweeps.Where(s => admittedSweeps.Contains(s.Name)).Select(s => new CheckedSweep(s,
                EquatableArray.From(s.VariantNames.Where(byName.ContainsKey).Select(n => byName[n])),
                EquatableArray.From(s.VariantNames.Where(invalid.Contains)))).ToList();
            var (nameable, nameableSweeps) = GeneratedNames.Check(checkedArchs, checkedSweeps, diagnostics);
            return new CompilationResult(EquatableArray.From(nameable), EquatableArray.From(nameableSweeps), EquatableArray.From(Dedupe(diagnostics)),
                EquatableArray.From(Failed(files, resolved, byName)));
        }

        /// <summary>
        /// The axes and their sizes of sweep <paramref name="sweep"/> without building any variant (so a grid of any
        /// size can be sampled), or null when the sweep does not resolve (the diagnostics say why).
        /// </summary>
        public static SweepInfo? SweepGrid(IReadOnlyList<ArchFile> files, string sweep, List<Diagnostic> diagnostics)
        {
            var (_, sweeps) = ArchResolver.Resolve(files, Zoo.Files, diagnostics, new SweepSample(sweep, EquatableArray.From(Array.Empty<long>())));
            return sweeps.FirstOrDefault(s => s.Name == sweep);
        }

        /// <summary>Every architecture the files declare that did not check, once per name, in declaration order.</summary>
        private static IEnumerable<FailedArchitecture> Failed(IReadOnlyList<ArchFile> files, IReadOnlyList<ResolvedArch> resolved, Dictionary<string, CheckedArchitecture> built)
        {
            var resolvedByName = new Dictionary<string, ResolvedArch>(StringComparer.Ordinal);
            foreach (var r in resolved)
                if (r.Variant == null && !r.FromZoo) resolvedByName[r.Name] = r;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in files)
                foreach (var a in file.Archs)
                {
                    if (built.ContainsKey(a.Name) || !seen.Add(a.Name)) continue;
                    var stages = new List<string>();
                    if (resolvedByName.TryGetValue(a.Name, out var r) && r.ToMap().TryGetValue(FieldCatalog.Depths.List.Name, out var depths)
                        && depths.Value is ListValue list)
                        for (int i = 0; i < list.Items.Count; i++) stages.Add(FieldCatalog.StageName(i));
                    yield return new FailedArchitecture(a.Name, a.NameLocation, EquatableArray.From(stages));
                }
        }

        /// <summary>The same problem found through several sweep variants is reported once.</summary>
        private static IEnumerable<Diagnostic> Dedupe(List<Diagnostic> diagnostics)
        {
            var seen = new HashSet<Diagnostic>();
            foreach (var d in diagnostics)
                if (seen.Add(d)) yield return d;
        }
    }

    /// <summary>The built-in zoo (architectures/*.arch, embedded in this assembly): always visible by name.</summary>
    public static class Zoo
    {
        private static readonly Lazy<IReadOnlyList<SourceFile>> sources = new Lazy<IReadOnlyList<SourceFile>>(Load);
        private static readonly Lazy<IReadOnlyList<ArchFile>> files = new Lazy<IReadOnlyList<ArchFile>>(
            () => sources.Value.Select(s => ArchParser.Parse(s.Path, s.Text, new List<Diagnostic>())).ToList());

        public static IReadOnlyList<SourceFile> Sources => sources.Value;

        public static IReadOnlyList<ArchFile> Files => files.Value;

        /// <summary>Paths of embedded zoo files start with "zoo/"; they exist on no disk.</summary>
        public static bool IsZooPath(string path) => path.StartsWith("zoo/", StringComparison.Ordinal);

        private static IReadOnlyList<SourceFile> Load()
        {
            var asm = typeof(Zoo).Assembly;
            var list = new List<SourceFile>();
            foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("zoo/", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal))
            {
                using var stream = asm.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream);
                list.Add(new SourceFile(name, reader.ReadToEnd()));
            }
            return list;
        }
    }
}
