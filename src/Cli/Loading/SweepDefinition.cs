using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Cli.Loading
{
    /// <summary>
    /// What <c>torchwright sweep</c> trains: a sweep declared in the file, or an architecture, with the command line's
    /// <c>--set path=v1,v2</c> settings applied. Settings go through the DSL parser and resolver like declarations do
    /// (one path, the same diagnostics): a setting with several values is a sweep axis (replacing a declared axis of
    /// the same path); a setting with one value is fixed for every variant, so it changes no variant name.
    /// </summary>
    public sealed class SweepDefinition
    {
        private SweepDefinition(string sweepName, IReadOnlyList<ArchFile> files, IReadOnlyList<FieldAssignment> fixedSettings)
        {
            SweepName = sweepName;
            Files = files;
            FixedSettings = fixedSettings;
        }

        /// <summary>The sweep to run (its variants are named <c>SweepName/path=value/...</c>).</summary>
        public string SweepName { get; }

        /// <summary>The workspace's files, edited: the chosen sweep rewritten, or a new one added.</summary>
        public IReadOnlyList<ArchFile> Files { get; }

        /// <summary>The one-valued --set settings, applied to every variant (recorded in each variant's config).</summary>
        public IReadOnlyList<FieldAssignment> FixedSettings { get; }

        /// <summary>Where the settings' diagnostics point: <c>--set #k</c> is the k-th --set option.</summary>
        public static string SettingPath(int k) => SettingPathPrefix + k;

        private const string SettingPathPrefix = "--set #";

        /// <summary>
        /// Builds the definition, or returns null with <paramref name="error"/> (a usage problem) or with
        /// diagnostics added (a malformed setting).
        /// </summary>
        public static SweepDefinition? Create(ArchWorkspace ws, string? name, IReadOnlyList<string> settings, string? sweepName,
            List<Diagnostic> diagnostics, out string? error)
        {
            error = null;
            var axes = new List<FieldAssignment>();
            for (int k = 0; k < settings.Count; k++)
            {
                int before = diagnostics.Count;
                var axis = ArchParser.ParseAxis(SettingPath(k + 1), settings[k], diagnostics);
                if (axis == null || diagnostics.Count > before) continue;
                var earlier = axes.FirstOrDefault(a => a.Path == axis.Path);
                if (earlier != null)
                {
                    error = $"--set {axis.Path} is given twice ({earlier.PathLocation.Path} and {axis.PathLocation.Path}); give all its values in one --set, separated by commas";
                    return null;
                }
                axes.Add(axis);
            }
            if (diagnostics.Any(d => d.IsError)) return null;

            var sweeps = ws.Roots.SelectMany(f => f.Sweeps).ToList();
            var archs = ws.RootArchitectureNames.ToList();
            SweepDecl? sweep = null;
            string? baseArch = null;
            if (name != null)
            {
                sweep = sweeps.FirstOrDefault(s => s.Name == name);
                if (sweep == null)
                {
                    if (archs.Contains(name) || Zoo.Files.Any(f => f.Archs.Any(a => a.Name == name))) baseArch = name;
                    else
                    {
                        error = $"no sweep or architecture '{name}' in {string.Join(", ", ws.Roots.Select(r => r.Path))}; it declares "
                            + Describe(sweeps.Select(s => s.Name), archs) + " (zoo architectures may be named too)";
                        return null;
                    }
                }
            }
            else if (sweeps.Count == 1) sweep = sweeps[0];
            else if (sweeps.Count == 0 && archs.Count == 1) baseArch = archs[0];
            else
            {
                error = $"{string.Join(", ", ws.Roots.Select(r => r.Path))} declares " + Describe(sweeps.Select(s => s.Name), archs)
                    + "; choose one with --name";
                return null;
            }

            var fixedSettings = axes.Where(a => a.Values.Count == 1).ToList();
            var gridAxes = axes.Where(a => a.Values.Count > 1).ToList();
            var at = axes.Count > 0 ? axes[0].PathLocation : SourceLocation.None;
            var files = ws.Files.ToList();
            var added = new List<ArchDecl>();
            var basis = sweep?.Base ?? baseArch!;
            if (fixedSettings.Count > 0)
            {
                // "+" cannot appear in a declared name, so this base cannot clash with the user's declarations.
                var derived = basis + "+set";
                added.Add(new ArchDecl(derived, at, basis, at, EquatableArray.From(fixedSettings), at));
                basis = derived;
            }

            string chosen;
            var newSweeps = new List<SweepDecl>();
            if (sweep != null)
            {
                chosen = sweepName ?? sweep.Name;
                var overridden = new HashSet<string>(axes.Select(a => a.Path), StringComparer.Ordinal);
                var rewritten = sweep with
                {
                    Name = chosen,
                    Base = basis,
                    Axes = EquatableArray.From(sweep.Axes.Where(a => !overridden.Contains(a.Path)).Concat(gridAxes)),
                };
                files = files.Select(f => f.Sweeps.Contains(sweep)
                    ? f with { Sweeps = EquatableArray.From(f.Sweeps.Select(s => ReferenceEquals(s, sweep) ? rewritten : s)) }
                    : f).ToList();
            }
            else
            {
                chosen = sweepName ?? baseArch + "Sweep";
                if (sweepName == null && Declared(ws, chosen) is var (kind, where))
                {
                    // Else the resolver blames the user's own declaration with "declared more than once".
                    error = $"the sweep that --name {baseArch} and --set make is named {chosen} by default, but {where} declares {kind} of that name; "
                        + $"name the new one with --sweep-name{(kind == "a sweep" ? $" (or run the declared one with --name {chosen})" : "")}";
                    return null;
                }
                newSweeps.Add(new SweepDecl(chosen, at, basis, at, EquatableArray.From(gridAxes), at));
            }
            if (added.Count > 0 || newSweeps.Count > 0)
                files.Add(new ArchFile("--set", EquatableArray.From(Array.Empty<ImportDecl>()), EquatableArray.From(added), EquatableArray.From(newSweeps)));
            return new SweepDefinition(chosen, files, fixedSettings);
        }

        /// <summary>
        /// The errors of the --set settings themselves — an unknown field, a value of the wrong kind — found by resolving
        /// the edited files before any variant is built. The resolver reports such a setting and carries on without it,
        /// so a sweep must not run with one. With <paramref name="sample"/>, only those grid points are resolved. (A valid setting that makes some variant's network invalid is reported by the
        /// checker and skips that variant.)
        /// </summary>
        public IReadOnlyList<Diagnostic> SettingErrors(SweepSample? sample = null)
        {
            var diagnostics = new List<Diagnostic>();
            ArchResolver.Resolve(Files, Zoo.Files, diagnostics, sample);
            return diagnostics.Where(d => d.IsError && d.Location.Path.StartsWith(SettingPathPrefix, StringComparison.Ordinal))
                .Distinct().ToList();
        }

        /// <summary>
        /// Every error that is not one grid point's own, which must stop the sweep before anything is opened or trained:
        /// the declarations' and the grid's (a repeated value names two variants alike: TW0013), and those of the sweep's
        /// base with the fixed --set settings applied (a setting it does not read, TW0024; a value out of range), found by
        /// compiling the files without the sweep, as <c>check</c> would. What remains in a full compile is a grid point's
        /// own (a head count that does not divide its width): that point is skipped. With <paramref name="sample"/>, only
        /// the sampled grid points are resolved (a sampled grid may be far larger than a whole one may be).
        /// </summary>
        public IReadOnlyList<Diagnostic> ErrorsOutsideGridPoints(Func<IReadOnlyList<ArchFile>, CompilationResult> compile, SweepSample? sample = null)
        {
            var diagnostics = new List<Diagnostic>();
            ArchResolver.Resolve(Files, Zoo.Files, diagnostics, sample);
            var withoutSweep = Files.Select(f => f with { Sweeps = EquatableArray.From(f.Sweeps.Where(s => s.Name != SweepName)) }).ToList();
            diagnostics.AddRange(compile(withoutSweep).Diagnostics);
            return diagnostics.Where(d => d.IsError).Distinct().ToList();
        }

        /// <summary>What the workspace or the zoo declares under <paramref name="name"/> ("a sweep", "an architecture") and where.</summary>
        private static (string Kind, string Where)? Declared(ArchWorkspace ws, string name)
        {
            foreach (var f in ws.Files)
            {
                if (f.Sweeps.FirstOrDefault(x => x.Name == name) is { } sweep) return ("a sweep", sweep.NameLocation.ToString());
                if (f.Archs.FirstOrDefault(x => x.Name == name) is { } arch) return ("an architecture", arch.NameLocation.ToString());
            }
            return Zoo.Files.Any(f => f.Archs.Any(a => a.Name == name)) ? ("an architecture", "the zoo") : null;
        }

        private static string Describe(IEnumerable<string> sweeps, IEnumerable<string> archs)
        {
            var s = sweeps.ToList();
            var a = archs.ToList();
            var parts = new List<string>();
            if (s.Count > 0) parts.Add("sweeps " + string.Join(", ", s));
            if (a.Count > 0) parts.Add("architectures " + string.Join(", ", a));
            return parts.Count == 0 ? "nothing" : string.Join(" and ", parts);
        }
    }
}
