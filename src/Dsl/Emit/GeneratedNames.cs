using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Dsl.Emit
{
    /// <summary>
    /// The C# type names that .arch declarations generate into one namespace: an architecture's class, a sweep's
    /// static class and one class per sweep variant. Declarations whose names would not compile — two mapping to
    /// one type (A_B and A__B; an architecture S9_classes_7 beside the variant classes = 7 of sweep S9), a type
    /// named after one of its own members, or one named after a contextual keyword (var, nameof) — are reported at the later declaration and left out of the output, so
    /// the generator and the CLI never emit code that fails in a .g.cs file.
    /// </summary>
    public static class GeneratedNames
    {
        private sealed record Claim(string Owner, SourceLocation Location);

        /// <summary>Attributed classes keep the user's class name and namespace; only .arch declarations are named here.</summary>
        public static bool IsAttributeDeclaration(SourceLocation location) => location.Path.EndsWith(".cs", StringComparison.OrdinalIgnoreCase);

        public static (List<CheckedArchitecture> Archs, List<CheckedSweep> Sweeps) Check(
            IReadOnlyList<CheckedArchitecture> archs, IReadOnlyList<CheckedSweep> sweeps, List<Diagnostic> diagnostics)
        {
            // Declaration order: file, then position in the file, so the later of two declarations is reported.
            var decls = archs.Select((a, i) => (Location: a.Ir.Location, Index: i, Arch: (CheckedArchitecture?)a, Sweep: (CheckedSweep?)null))
                .Concat(sweeps.Select((s, i) => (Location: s.Info.Location, Index: i, Arch: (CheckedArchitecture?)null, Sweep: (CheckedSweep?)s)))
                .OrderBy(d => d.Location.Path, StringComparer.Ordinal).ThenBy(d => d.Location.Start)
                .ToList();
            var claims = new Dictionary<string, Claim>(StringComparer.Ordinal);

            var keptArchs = new HashSet<int>();
            var keptSweeps = new HashSet<int>();
            foreach (var d in decls)
            {
                if (IsAttributeDeclaration(d.Location))
                {
                    if (d.Arch != null) keptArchs.Add(d.Index);
                    continue;
                }
                if (d.Arch != null)
                {
                    var type = CSharpEmitter.Identifier(d.Arch.Name);
                    var owner = $"architecture '{d.Arch.Name}'";
                    if (TooLong(type, "Architecture", d.Arch.Name, d.Location, diagnostics)
                        || Contextual(type, "Architecture", d.Arch.Name, d.Location, diagnostics)
                        || Clashes(type, CSharpEmitter.MemberNames(d.Arch), "Architecture", d.Arch.Name, d.Location, diagnostics)
                        || Taken(type, "Architecture", d.Arch.Name, d.Location, claims, diagnostics)) continue;
                    claims[CSharpEmitter.MetadataName(type)] = new Claim(owner, d.Location);
                    keptArchs.Add(d.Index);
                }
                else
                {
                    var s = d.Sweep!;
                    var type = CSharpEmitter.Identifier(s.Info.Name);
                    var variantTypes = CSharpEmitter.VariantClassNames(s, type);
                    bool bad = TooLong(type, "Sweep", s.Info.Name, d.Location, diagnostics)
                               || Contextual(type, "Sweep", s.Info.Name, d.Location, diagnostics)
                               || Clashes(type, CSharpEmitter.SweepMemberNames, "Sweep", s.Info.Name, d.Location, diagnostics)
                               || Taken(type, "Sweep", s.Info.Name, d.Location, claims, diagnostics);
                    for (int i = 0; i < variantTypes.Count && !bad; i++)
                        bad = TooLong(variantTypes[i], "Variant", s.Variants[i].Name, d.Location, diagnostics)
                              || Clashes(variantTypes[i], CSharpEmitter.MemberNames(s.Variants[i]), "Variant", s.Variants[i].Name, d.Location, diagnostics)
                              || Taken(variantTypes[i], "Variant", s.Variants[i].Name, d.Location, claims, diagnostics);
                    if (bad) continue;
                    claims[CSharpEmitter.MetadataName(type)] = new Claim($"sweep '{s.Info.Name}'", d.Location);
                    for (int i = 0; i < variantTypes.Count; i++)
                        claims[CSharpEmitter.MetadataName(variantTypes[i])] = new Claim($"variant '{s.Variants[i].Name}' of sweep '{s.Info.Name}'", d.Location);
                    keptSweeps.Add(d.Index);
                }
            }
            return (archs.Where((_, i) => keptArchs.Contains(i)).ToList(), sweeps.Where((_, i) => keptSweeps.Contains(i)).ToList());
        }

        /// <summary>
        /// TW0030 for a type named like one of the generated files' using aliases (CSharpEmitter.Aliases), which it would
        /// hide from the generated code (and clash with, CS0576); null for any other name. Also used for attributed classes.
        /// </summary>
        public static Diagnostic? AliasClash(SourceLocation at, string kind, string name, string type)
        {
            var metadata = CSharpEmitter.MetadataName(type);
            foreach (var (alias, target) in CSharpEmitter.Aliases)
                if (alias == metadata)
                    return DiagnosticCatalog.GeneratedTypeNameTaken.Create(at, kind, name, type,
                        $"the generated code's using alias for {target.Substring("global::".Length)}", "the top of every generated namespace");
            return null;
        }

        private static bool Taken(string type, string kind, string name, SourceLocation at, Dictionary<string, Claim> claims, List<Diagnostic> diagnostics)
        {
            // The generated files' own using aliases take their names first.
            if (AliasClash(at, kind, name, type) is Diagnostic clash)
            {
                diagnostics.Add(clash);
                return true;
            }
            if (!claims.TryGetValue(CSharpEmitter.MetadataName(type), out var first)) return false;
            diagnostics.Add(DiagnosticCatalog.GeneratedTypeNameTaken.Create(at, kind, name, type, first.Owner, first.Location));
            return true;
        }

        /// <summary>
        /// The longest generated type name: metadata limits a name to 1,023 UTF-8 bytes (CS7013 at emit time, in the
        /// .g.cs file); 480 leaves room for the hint name's suffixes and the assembly's own limits.
        /// </summary>
        public const int MaxTypeNameLength = 480;

        private static bool TooLong(string type, string kind, string name, SourceLocation at, List<Diagnostic> diagnostics)
        {
            var metadata = CSharpEmitter.MetadataName(type);
            if (metadata.Length <= MaxTypeNameLength) return false;
            diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(at, $"{kind} '{DisplayText.Escape(name, 60)}'", "the generated C# type name's length", metadata.Length,
                $"at most {MaxTypeNameLength} characters (metadata limits names); use a shorter name" + (kind == "Variant" ? " or fewer axes" : "")));
            return true;
        }

        private static bool Contextual(string type, string kind, string name, SourceLocation at, List<Diagnostic> diagnostics)
        {
            if (!CSharpEmitter.ContextualKeywords.Contains(type)) return false;
            diagnostics.Add(DiagnosticCatalog.ContextualKeywordName.Create(at, kind, name, type));
            return true;
        }

        private static bool Clashes(string type, IReadOnlyCollection<string> members, string kind, string name, SourceLocation at, List<Diagnostic> diagnostics)
        {
            var metadata = CSharpEmitter.MetadataName(type);
            if (!members.Contains(metadata)) return false;
            diagnostics.Add(DiagnosticCatalog.TypeNameIsMemberName.Create(at, kind, name, metadata));
            return true;
        }
    }
}
