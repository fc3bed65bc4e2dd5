using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Torchwright.Dsl.Diagnostics;
using DslDiagnostic = Torchwright.Dsl.Diagnostics.Diagnostic;
using DslDescriptor = Torchwright.Dsl.Diagnostics.DiagnosticDescriptor;
using DslSeverity = Torchwright.Dsl.Diagnostics.Severity;
using RoslynDescriptor = Microsoft.CodeAnalysis.DiagnosticDescriptor;
using SourceLocation = Torchwright.Dsl.Diagnostics.SourceLocation;

namespace Torchwright.Generator
{
    /// <summary>One Roslyn descriptor per TW id of the Dsl's catalog (category Torchwright, help links into docs/diagnostics.md).</summary>
    internal static class DiagnosticDescriptors
    {
        public const string Category = "Torchwright";

        public static readonly IReadOnlyDictionary<string, RoslynDescriptor> ById = Build();

        private static Dictionary<string, RoslynDescriptor> Build()
        {
            var map = new Dictionary<string, RoslynDescriptor>();
            foreach (var d in DiagnosticCatalog.All) map[d.Id] = ToRoslyn(d);
            return map;
        }

        private static RoslynDescriptor ToRoslyn(DslDescriptor d) => new RoslynDescriptor(
            d.Id, d.Title, "{0}", Category, ToRoslyn(d.Severity), isEnabledByDefault: true,
            description: d.Title + ". Message: " + d.MessageFormat, helpLinkUri: d.HelpLink);

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
