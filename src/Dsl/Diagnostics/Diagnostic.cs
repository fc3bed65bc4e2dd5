using System;
using System.Linq;
using System.Reflection;

namespace Torchwright.Dsl.Diagnostics
{
    public enum Severity { Info, Warning, Error }

    /// <summary>A catalogued kind of problem: a stable ID, a title and a message format (see docs/diagnostics.md).</summary>
    public sealed record DiagnosticDescriptor(string Id, string Title, string MessageFormat, Severity Severity)
    {
        /// <summary>The ID's section of docs/diagnostics.md in the repository (an absolute URL, as IDEs and `dotnet build` link it).</summary>
        public string HelpLink => $"{DocsPage}#{Id.ToLowerInvariant()}";

        /// <summary>
        /// docs/diagnostics.md on the main branch of the repository that Directory.Build.props declares (RepositoryUrl,
        /// stamped into every assembly of this repository as [AssemblyMetadata("RepositoryUrl", ...)]).
        /// </summary>
        internal static string DocsPage => docsPage.Value;

        private static readonly Lazy<string> docsPage = new Lazy<string>(() =>
        {
            var url = typeof(DiagnosticDescriptor).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "RepositoryUrl")?.Value;
            if (string.IsNullOrEmpty(url) || !Uri.TryCreate(url, UriKind.Absolute, out _))
                throw new InvalidOperationException($"{typeof(DiagnosticDescriptor).Assembly.GetName().Name} was built without an absolute RepositoryUrl assembly metadata (got '{url}'); build it inside the Torchwright repository (Directory.Build.props declares it) or pass -p:RepositoryUrl=https://...");
            return url!.TrimEnd('/') + "/blob/main/docs/diagnostics.md";
        });

        public Diagnostic Create(SourceLocation location, params object[] args) =>
            new Diagnostic(Id, Severity, string.Format(System.Globalization.CultureInfo.InvariantCulture, MessageFormat, args), location);
    }

    /// <summary>One reported problem. Plain data so it can travel through an incremental pipeline.</summary>
    public sealed record Diagnostic(string Id, Severity Severity, string Message, SourceLocation Location)
    {
        public bool IsError => Severity == Severity.Error;

        /// <summary>MSBuild form: <c>path(line,col): error TW0004: message</c>.</summary>
        public override string ToString()
        {
            var sev = Severity switch { Severity.Error => "error", Severity.Warning => "warning", _ => "info" };
            return $"{Location}: {sev} {Id}: {Message}";
        }
    }
}
