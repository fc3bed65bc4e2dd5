using System;

namespace Torchwright.Dsl.Diagnostics
{
    public enum Severity { Info, Warning, Error }

    /// <summary>A catalogued kind of problem: a stable ID, a title and a message format (see docs/diagnostics.md).</summary>
    public sealed record DiagnosticDescriptor(string Id, string Title, string MessageFormat, Severity Severity)
    {
        public string HelpLink => $"docs/diagnostics.md#{Id.ToLowerInvariant()}";

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
