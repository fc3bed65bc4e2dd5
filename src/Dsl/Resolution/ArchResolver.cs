using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Resolution
{
    /// <summary>
    /// Resolves imports, inheritance and sweeps across a set of parsed files plus the built-in zoo, and checks
    /// every assignment against the field catalog. Never throws; every problem becomes a located diagnostic.
    /// </summary>
    public static class ArchResolver
    {
        /// <summary>Grid points beyond this are refused (a sweep that large is almost certainly a typo).</summary>
        public const int MaxVariants = 4096;

        /// <summary>Bases that may stand below an architecture (the zoo's deepest chain has 2).</summary>
        public const int MaxInheritanceDepth = 256;

        /// <summary>Architecture and sweep names have at most this many characters (they become type names and appear in every message).</summary>
        public const int MaxNameLength = 200;

        private sealed class Decl
        {
            public Decl(ArchDecl arch, bool fromZoo) { Arch = arch; FromZoo = fromZoo; }
            public ArchDecl Arch { get; }
            public bool FromZoo { get; }
            public List<ResolvedField>? Resolved;
            public bool Visiting;
            public bool Failed;
            /// <summary>Bases below this declaration (0 for a root such as the zoo's ResNet50).</summary>
            public int Depth;
        }

        /// <param name="sample">When given, the named sweep builds only these grid points (its grid may then have any
        /// size); other sweeps build every point.</param>
        public static (IReadOnlyList<ResolvedArch> Archs, IReadOnlyList<SweepInfo> Sweeps) Resolve(
            IReadOnlyList<ArchFile> userFiles, IReadOnlyList<ArchFile> zooFiles, List<Diagnostic> diagnostics, SweepSample? sample = null)
        {
            var decls = new Dictionary<string, Decl>(StringComparer.Ordinal);
            var firstSeen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);

            foreach (var file in userFiles)
            {
                foreach (var a in file.Archs)
                {
                    if (TooLong(a.Name, "Architecture", a.NameLocation, diagnostics)) continue;
                    if (firstSeen.TryGetValue(a.Name, out var first))
                    {
                        diagnostics.Add(DiagnosticCatalog.DuplicateName.Create(a.NameLocation, "Architecture", a.Name, first));
                        continue;
                    }
                    firstSeen[a.Name] = a.NameLocation;
                    decls[a.Name] = new Decl(a, fromZoo: false);
                }
                foreach (var s in file.Sweeps)
                {
                    if (TooLong(s.Name, "Sweep", s.NameLocation, diagnostics)) continue;
                    if (firstSeen.TryGetValue(s.Name, out var first))
                        diagnostics.Add(DiagnosticCatalog.DuplicateName.Create(s.NameLocation, "Sweep", s.Name, first));
                    else
                        firstSeen[s.Name] = s.NameLocation;
                }
            }
            // The zoo is always visible by name; a user declaration of the same name shadows it.
            foreach (var file in zooFiles)
                foreach (var a in file.Archs)
                    if (!decls.ContainsKey(a.Name))
                        decls[a.Name] = new Decl(a, fromZoo: true);

            CheckImports(userFiles, zooFiles, diagnostics);

            var archs = new List<ResolvedArch>();
            foreach (var file in userFiles)
                foreach (var a in file.Archs)
                {
                    if (!decls.TryGetValue(a.Name, out var d) || !ReferenceEquals(d.Arch, a)) continue;
                    var fields = ResolveDecl(d, decls, diagnostics);
                    if (fields != null)
                        archs.Add(new ResolvedArch(a.Name, a.NameLocation, EquatableArray.From(fields), FromZoo: false));
                }

            var sweeps = new List<SweepInfo>();
            var taken = new HashSet<string>(firstSeen.Keys, StringComparer.Ordinal);
            foreach (var file in userFiles)
                foreach (var s in file.Sweeps)
                    if (s.Name.Length <= MaxNameLength) ResolveSweep(s, decls, taken, archs, sweeps, diagnostics, sample?.Sweep == s.Name ? sample : null);

            return (archs, sweeps);
        }

        /// <summary>A declared name longer than <see cref="MaxNameLength"/> is reported and the declaration dropped.</summary>
        private static bool TooLong(string name, string kind, SourceLocation at, List<Diagnostic> diagnostics)
        {
            if (name.Length <= MaxNameLength) return false;
            diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(at, $"{kind} '{DisplayText.Escape(name, 40)}'", "name length", name.Length,
                $"at most {MaxNameLength} characters"));
            return true;
        }

        /// <summary>Resolves a zoo architecture by name (for tools that show the built-in zoo).</summary>
        public static ResolvedArch? ResolveZoo(string name, IReadOnlyList<ArchFile> zooFiles, List<Diagnostic> diagnostics)
        {
            var (archs, _) = Resolve(zooFiles, Array.Empty<ArchFile>(), diagnostics);
            return archs.FirstOrDefault(a => a.Name == name);
        }

        private static void CheckImports(IReadOnlyList<ArchFile> userFiles, IReadOnlyList<ArchFile> zooFiles, List<Diagnostic> diagnostics)
        {
            var known = new HashSet<string>(userFiles.Select(f => NormalizePath(f.Path)), StringComparer.Ordinal);
            var zooNames = new HashSet<string>(zooFiles.Select(f => FileName(f.Path)), StringComparer.Ordinal);
            // An import the loader already refused (not a regular file, too large) is reported once, by that reason.
            var refused = new HashSet<SourceLocation>(diagnostics.Where(d => d.IsError).Select(d => d.Location));
            foreach (var file in userFiles)
                foreach (var imp in file.Imports)
                {
                    if (refused.Contains(imp.Location)) continue;
                    if (imp.Path.Length == 0)
                    {
                        diagnostics.Add(DiagnosticCatalog.EmptyImport.Create(imp.Location));
                        continue;
                    }
                    var target = NormalizePath(CombineRelative(file.Path, imp.Path));
                    if (known.Contains(target)) continue;
                    // "resnet50.arch" with no folder may name a zoo file.
                    if (imp.Path.IndexOf('/') < 0 && zooNames.Contains(imp.Path)) continue;
                    diagnostics.Add(DiagnosticCatalog.UnknownReference.Create(imp.Location, "Import", DisplayText.Escape(imp.Path),
                        $" (looked for {DisplayText.Escape(target)}); check the path, which is relative to the importing file"));
                }
        }

        public static string CombineRelative(string fromFile, string relative)
        {
            if (relative.StartsWith("/", StringComparison.Ordinal)) return relative;
            var norm = fromFile.Replace('\\', '/');
            int slash = norm.LastIndexOf('/');
            var dir = slash < 0 ? "" : norm.Substring(0, slash + 1);
            return dir + relative;
        }

        public static string NormalizePath(string path)
        {
            var parts = new List<string>();
            var p = path.Replace('\\', '/');
            bool rooted = p.StartsWith("/", StringComparison.Ordinal);
            foreach (var part in p.Split('/'))
            {
                if (part.Length == 0 || part == ".") continue;
                if (part == ".." && parts.Count > 0 && parts[parts.Count - 1] != "..") parts.RemoveAt(parts.Count - 1);
                else parts.Add(part);
            }
            return (rooted ? "/" : "") + string.Join("/", parts);
        }

        private static string FileName(string path)
        {
            var p = path.Replace('\\', '/');
            return p.Substring(p.LastIndexOf('/') + 1);
        }

        /// <summary>
        /// Flattens a declaration's chain: base fields first, then its own. Null when the chain is broken (an
        /// unknown base, a cycle, a chain deeper than <see cref="MaxInheritanceDepth"/>): reported once, at the
        /// declaration where it breaks; the declarations above it fail without a second report. Iterative, so a
        /// chain of any length in any order cannot overflow the stack.
        /// </summary>
        private static List<ResolvedField>? ResolveDecl(Decl d, Dictionary<string, Decl> decls, List<Diagnostic> diagnostics)
        {
            if (d.Resolved != null) return d.Resolved;
            if (d.Failed) return null;

            // Walk down to the first declaration that is resolved, failed, or has no base.
            var chain = new List<Decl>();
            for (var cur = d; ;)
            {
                chain.Add(cur);
                cur.Visiting = true;
                if (cur.Arch.Base == null) break;
                if (!decls.TryGetValue(cur.Arch.Base, out var next))
                {
                    diagnostics.Add(DiagnosticCatalog.UnknownReference.Create(cur.Arch.BaseLocation, "Base architecture", DisplayText.Escape(cur.Arch.Base),
                        SuggestName(cur.Arch.Base, decls.Keys)));
                    cur.Failed = true;
                    break;
                }
                if (next.Visiting)
                {
                    diagnostics.Add(DiagnosticCatalog.InheritanceCycle.Create(cur.Arch.BaseLocation, cur.Arch.Name, CycleText(cur, decls)));
                    cur.Failed = true;
                    break;
                }
                if (next.Resolved != null || next.Failed) break;
                cur = next;
            }

            // Resolve bottom-up.
            for (int i = chain.Count - 1; i >= 0; i--)
            {
                var c = chain[i];
                c.Visiting = false;
                if (c.Failed) continue;
                Decl? baseDecl = c.Arch.Base != null ? decls[c.Arch.Base] : null;
                if (baseDecl != null && baseDecl.Failed) { c.Failed = true; continue; }
                c.Depth = baseDecl == null ? 0 : baseDecl.Depth + 1;
                if (c.Depth > MaxInheritanceDepth)
                {
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(c.Arch.BaseLocation, c.Arch.Name, "inheritance depth", c.Depth,
                        $"at most {MaxInheritanceDepth} bases may stand below an architecture; flatten the chain"));
                    c.Failed = true;
                    continue;
                }
                c.Resolved = Merge(c, baseDecl?.Resolved, diagnostics);
            }
            return d.Resolved;
        }

        /// <summary>The base's fields overridden by the declaration's own, in first-set order.</summary>
        private static List<ResolvedField> Merge(Decl d, List<ResolvedField>? baseFields, List<Diagnostic> diagnostics)
        {
            var merged = new List<ResolvedField>();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            if (baseFields != null)
                foreach (var f in baseFields) { index[f.Path] = merged.Count; merged.Add(f); }

            var seenHere = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
            foreach (var a in d.Arch.Fields)
            {
                if (seenHere.TryGetValue(a.Path, out var firstLoc))
                {
                    diagnostics.Add(DiagnosticCatalog.DuplicateAssignment.Create(a.PathLocation, a.Path, d.Arch.Name, firstLoc));
                    continue;
                }
                seenHere[a.Path] = a.PathLocation;
                if (a.Values.Count == 0) continue;
                var value = a.Values[0];
                if (!CheckAssignment(a.Path, a.PathLocation, value, d.Arch.Name, diagnostics, sweep: null)) continue;
                var rf = new ResolvedField(a.Path, value, a.PathLocation, d.Arch.Name);
                if (index.TryGetValue(a.Path, out int at)) merged[at] = rf;
                else { index[a.Path] = merged.Count; merged.Add(rf); }
                // One setting written two ways (the catalog's Alternative: cN.mhsa and cN.mhsa_every): a derived one
                // replaces an inherited other instead of clashing with it.
                if (ExclusiveWith(a.Path) is string other && index.TryGetValue(other, out int clash) && merged[clash].SetBy != d.Arch.Name)
                {
                    merged.RemoveAt(clash);
                    index.Clear();
                    for (int i = 0; i < merged.Count; i++) index[merged[i].Path] = i;
                }
            }
            return merged;
        }

        /// <summary>The path that sets the same thing as <paramref name="path"/> another way (the field's Alternative), or null.</summary>
        private static string? ExclusiveWith(string path)
        {
            if (!(FieldCatalog.Lookup(path) is { Alternative: string alternative })) return null;
            int dot = path.LastIndexOf('.');
            return dot < 0 ? alternative : path.Substring(0, dot + 1) + alternative;
        }

        private static string CycleText(Decl start, Dictionary<string, Decl> decls)
        {
            var names = new List<string> { start.Arch.Name };
            var cur = start.Arch.Base;
            for (int guard = 0; cur != null && guard < 64; guard++)
            {
                names.Add(cur);
                if (cur == start.Arch.Name || !decls.TryGetValue(cur, out var next)) break;
                cur = next.Arch.Base;
            }
            return string.Join(" -> ", names);
        }

        /// <summary>Every architecture of the built-in zoo, in file and declaration order.</summary>
        private static readonly Lazy<IReadOnlyList<string>> ZooNames = new Lazy<IReadOnlyList<string>>(
            () => Zoo.Files.SelectMany(f => f.Archs).Select(a => a.Name).Distinct(StringComparer.Ordinal).ToList());

        private static string SuggestName(string name, IEnumerable<string> known)
        {
            var hit = known.FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
            return hit != null
                ? $"; did you mean '{hit}'?"
                : "; declare it in an imported .arch file or use a zoo name (" + string.Join(", ", ZooNames.Value) + ")";
        }

        /// <summary>Checks one assignment's path and value against the catalog; reports and returns false on a problem.</summary>
        internal static bool CheckAssignment(string path, SourceLocation pathLocation, ArchValue value, string owner, List<Diagnostic> diagnostics, string? sweep)
        {
            if (TrainingFields.IsTrainingPath(path)) return TrainingFields.Check(path, pathLocation, value, owner, diagnostics);
            var info = FieldCatalog.Lookup(path);
            if (info == null)
            {
                var hint = FieldCatalog.Suggest(path);
                var tail = hint != null ? $"; did you mean '{hint}'?" : "; see docs/fields.md for the fields";
                if (!path.Contains('.') && FieldCatalog.IsStageOnly(path))
                    tail = $"; '{path}' is set per stage: write it cN.{path} (e.g. {FieldCatalog.StageName(3)}.{path})";
                if (!FieldCatalog.TryParsePath(path, out _, out _))
                    tail = LeadingZeroStage(path) is string plain
                        ? $"; write the stage as {plain} (stage numbers have no leading zeros)"
                        : "; stage fields are written cN.field with N from 2 (c2.depth, c5.mhsa)";
                diagnostics.Add(sweep != null
                    ? DiagnosticCatalog.SweepUnknownField.Create(pathLocation, sweep, path, owner, tail)
                    : DiagnosticCatalog.UnknownField.Create(pathLocation, path, owner, tail));
                return false;
            }
            return CheckType(info, path, value, diagnostics);
        }

        /// <summary>"c5" for a path starting "c05." or "c005.", else null.</summary>
        private static string? LeadingZeroStage(string path)
        {
            int dot = path.IndexOf('.');
            if (dot < 3 || path[0] != 'c' || path[1] != '0') return null;
            for (int i = 1; i < dot; i++)
                if (path[i] < '0' || path[i] > '9') return null;
            var digits = path.Substring(1, dot - 1).TrimStart('0');
            return "c" + (digits.Length == 0 ? "0" : digits);
        }

        private static bool CheckType(FieldInfo info, string path, ArchValue value, List<Diagnostic> diagnostics)
        {
            switch (info.Type)
            {
                case FieldType.Int:
                    // An integer field with words also takes them (lambda_r = none).
                    if (value is IntValue || (value is WordValue iw && info.Words != null && Array.IndexOf(info.Words, iw.Word) >= 0)) return true;
                    return Wrong(path, info.Words == null ? "an integer" : "an integer or " + string.Join(", ", info.Words), value, diagnostics);
                case FieldType.Float:
                    if (value is FloatValue || value is IntValue) return true;
                    return Wrong(path, "a number", value, diagnostics);
                case FieldType.Bool:
                    if (value is BoolValue) return true;
                    return Wrong(path, "true or false", value, diagnostics);
                case FieldType.Dims:
                    if (value is DimsValue dv && (dv.Dims.Count == 2 || dv.Dims.Count == 3)) return true;
                    return Wrong(path, "a shape such as 3x224x224", value, diagnostics);
                case FieldType.IntList:
                    if (value is ListValue lv)
                    {
                        foreach (var item in lv.Items)
                            if (!(item is IntValue))
                                return Wrong(path, "a list of integers", item, diagnostics);
                        return true;
                    }
                    return Wrong(path, "a list of integers such as [3, 4, 6, 3]", value, diagnostics);
                case FieldType.Word:
                    if (value is WordValue w)
                    {
                        if (info.Words == null || Array.IndexOf(info.Words, w.Word) >= 0) return true;
                        diagnostics.Add(DiagnosticCatalog.UnknownKind.Create(value.Location, KindNoun(info.Name), DisplayText.Escape(w.Word), path, string.Join(", ", info.Words)));
                        return false;
                    }
                    return Wrong(path, "one of " + string.Join(", ", info.Words ?? Array.Empty<string>()), value, diagnostics);
                default:
                    return true;
            }
        }

        private static string KindNoun(string field) => field switch
        {
            "block" => "block kind",
            "stem" => "stem kind",
            "shortcut" => "shortcut style",
            _ => "value",
        };

        private static bool Wrong(string path, string expected, ArchValue got, List<Diagnostic> diagnostics)
        {
            diagnostics.Add(DiagnosticCatalog.WrongType.Create(got.Location, path, expected, got.TypeName + " (" + DisplayText.Escape(Truncate(got.ToText())) + ")"));
            return false;
        }

        private static string Truncate(string s) => s.Length <= 40 ? s : s.Substring(0, 37) + "...";

        private static IEnumerable<long> LongRange(long count)
        {
            for (long i = 0; i < count; i++) yield return i;
        }

        private static void ResolveSweep(SweepDecl s, Dictionary<string, Decl> decls, HashSet<string> taken,
            List<ResolvedArch> archs, List<SweepInfo> sweeps, List<Diagnostic> diagnostics, SweepSample? sample)
        {
            if (!decls.TryGetValue(s.Base, out var baseDecl))
            {
                diagnostics.Add(DiagnosticCatalog.UnknownReference.Create(s.BaseLocation, "Base architecture", DisplayText.Escape(s.Base), SuggestName(s.Base, decls.Keys)));
                return;
            }
            var baseFields = ResolveDecl(baseDecl, decls, diagnostics);
            if (baseFields == null) return;

            var axes = new List<FieldAssignment>();
            var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
            bool ok = true;
            foreach (var axis in s.Axes)
            {
                if (seen.TryGetValue(axis.Path, out var first))
                {
                    diagnostics.Add(DiagnosticCatalog.DuplicateAssignment.Create(axis.PathLocation, axis.Path, s.Name, first));
                    ok = false;
                    continue;
                }
                seen[axis.Path] = axis.PathLocation;
                bool axisOk = true;
                foreach (var v in axis.Values)
                    if (!CheckAssignment(axis.Path, axis.PathLocation, v, s.Base, diagnostics, sweep: s.Name))
                    {
                        axisOk = false;
                        if (FieldCatalog.Lookup(axis.Path) == null && !TrainingFields.IsTrainingPath(axis.Path)) break; // one TW0011 per axis
                    }
                ok &= axisOk;
                if (axis.Values.Count > 0) axes.Add(axis);
            }
            if (!ok) return;

            var sizes = axes.Select(a => a.Values.Count).ToArray();
            long total = 1;
            foreach (var size in sizes)
            {
                // Grid indices are 32-bit (the results stores' grid_index): two billion points is the largest grid.
                if (total * size > int.MaxValue)
                {
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(s.NameLocation, $"Sweep '{s.Name}'", "grid points", $"more than {int.MaxValue}", "split the sweep into smaller ones"));
                    return;
                }
                total *= size;
            }
            // Without a sample every grid point is built, so the grid is capped; a sample builds only its points.
            if (sample == null && total > MaxVariants)
            {
                diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(s.NameLocation, $"Sweep '{s.Name}'", "variants", $"{total} (more than {MaxVariants})",
                    "split the sweep into smaller ones, or train a sample of it (torchwright sweep --sample N)"));
                return;
            }
            IEnumerable<long> points = sample == null ? LongRange(total) : sample.Indices;

            var names = new List<string>();
            foreach (var i in points)
            {
                if (i < 0 || i >= total)
                {
                    diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(s.NameLocation, $"Sweep '{s.Name}'", "sampled grid point", i, $"expected 0..{total - 1}"));
                    continue;
                }
                var counters = GridPoint.Decode(i, sizes);
                var settings = new List<ResolvedField>();
                var nameParts = new List<string> { s.Name };
                for (int k = 0; k < axes.Count; k++)
                {
                    var v = axes[k].Values[counters[k]];
                    settings.Add(new ResolvedField(axes[k].Path, v, axes[k].PathLocation));
                    nameParts.Add(axes[k].Path + "=" + v.ToText());
                }
                var name = string.Join("/", nameParts);
                // The grid point's settings are the variant's own (not inherited from the base).
                for (int k = 0; k < settings.Count; k++) settings[k] = settings[k] with { SetBy = name };
                // A sweep without axes has one variant, named after the sweep itself (already taken by the sweep).
                if (!(axes.Count == 0 && name == s.Name) && !taken.Add(name))
                    diagnostics.Add(DiagnosticCatalog.DuplicateName.Create(s.NameLocation, "Variant", name, "an earlier grid point"));
                var merged = new List<ResolvedField>(baseFields);
                foreach (var st in settings)
                {
                    int at = merged.FindIndex(f => f.Path == st.Path);
                    if (at >= 0) merged[at] = st; else merged.Add(st);
                    if (ExclusiveWith(st.Path) is string other) merged.RemoveAll(f => f.Path == other && f.SetBy != name);
                }
                archs.Add(new ResolvedArch(name, s.NameLocation, EquatableArray.From(merged), FromZoo: false,
                    new SweepPoint(s.Name, s.Base, (int)i, EquatableArray.From(settings))));
                names.Add(name);
            }
            sweeps.Add(new SweepInfo(s.Name, s.Base, s.NameLocation, EquatableArray.From(names), EquatableArray.From(axes.Select(a => a.Path)))
            {
                AxisSizes = EquatableArray.From(sizes),
            });
        }
    }
}
