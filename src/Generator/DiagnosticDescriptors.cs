using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Torchwright.Dsl.Diagnostics;
using DslDiagnostic = Torchwright.Dsl.Diagnostics.Diagnostic;
using DslSeverity = Torchwright.Dsl.Diagnostics.Severity;
using RoslynDescriptor = Microsoft.CodeAnalysis.DiagnosticDescriptor;
using SourceLocation = Torchwright.Dsl.Diagnostics.SourceLocation;

namespace Torchwright.Generator
{
    /// <summary>
    /// One Roslyn descriptor per TW id of the Dsl's catalog (category Torchwright, help links to the ID's section of
    /// docs/diagnostics.md). The descriptors themselves are fields of DiagnosticDescriptors.Tracked.cs, rendered from
    /// the catalog by tests/Generator.Tests/DiagnosticReleaseTests.cs.
    /// </summary>
    internal static partial class DiagnosticDescriptors
    {
        public const string Category = "Torchwright";

        public static readonly IReadOnlyDictionary<string, RoslynDescriptor> ById;

        // A static constructor, so that ById is built after every field initializer of both partial files.
        static DiagnosticDescriptors()
        {
            var map = new Dictionary<string, RoslynDescriptor>();
            foreach (var d in All) map[d.Id] = d;
            ById = map;
        }

        /// <summary>
        /// The Roslyn form of the catalog's entry <paramref name="id"/>. Called in field initializers with constant
        /// arguments (DiagnosticDescriptors.Tracked.cs): the shape Microsoft.CodeAnalysis.Analyzers' release tracking
        /// (RS2000-RS2008) reads, so each id, category and severity is checked against AnalyzerReleases.*.md at build.
        /// </summary>
        private static RoslynDescriptor Create(string id, string category, DiagnosticSeverity defaultSeverity, bool isEnabledByDefault)
        {
            // DiagnosticCatalog.All, not ById: the other partial file's initializers may run first.
            var d = System.Array.Find(DiagnosticCatalog.All, x => x.Id == id)
                ?? throw new System.InvalidOperationException($"{id} is in DiagnosticDescriptors.Tracked.cs but not in DiagnosticCatalog.All; regenerate the file (TORCHWRIGHT_ACCEPT_SNAPSHOTS=1, tests/Generator.Tests)");
            return new RoslynDescriptor(id, d.Title, "{0}", category, defaultSeverity, isEnabledByDefault,
                description: d.Title + ". Message: " + d.MessageFormat, helpLinkUri: d.HelpLink);
        }

        public static DiagnosticSeverity ToRoslyn(DslSeverity s) => s switch
        {
            DslSeverity.Error => DiagnosticSeverity.Error,
            DslSeverity.Warning => DiagnosticSeverity.Warning,
            _ => DiagnosticSeverity.Info,
        };

        /// <summary>A location outside any syntax tree (.arch files, the embedded zoo).</summary>
        public static Location ExternalLocation(SourceLocation loc) =>
            loc.IsNone
                ? Location.None
                : Location.Create(loc.Path, new TextSpan(loc.Start, loc.Length),
                    new LinePositionSpan(new LinePosition(loc.StartPos.Line, loc.StartPos.Column), new LinePosition(loc.EndPos.Line, loc.EndPos.Column)));

        public static Microsoft.CodeAnalysis.Diagnostic ToRoslyn(DslDiagnostic d, Location location)
        {
            var descriptor = ById.TryGetValue(d.Id, out var known)
                ? known
                : new RoslynDescriptor(d.Id, d.Id, "{0}", Category, ToRoslyn(d.Severity), true);
            return Microsoft.CodeAnalysis.Diagnostic.Create(descriptor, location, d.Message);
        }
    }
}
