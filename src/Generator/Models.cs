using Torchwright.Dsl;
using Torchwright.Dsl.Attributes;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Generator
{
    // Pipeline models: value-equatable records only (no ISymbol, SyntaxNode, Location or Compilation), so every
    // step can be cached and compared (the incremental generator skips a step whose input is equal).

    /// <summary>An attributed class: its declaration, how the generated part must be declared, and problems found.</summary>
    internal sealed record ClassModel(AttributedClass Class, string Accessibility, string SourceName, EquatableArray<Diagnostic> Diagnostics)
    {
        /// <summary>False when the class cannot be completed by a generated part (TW0021 reported).</summary>
        public bool CanEmit => Diagnostics.Count == 0;
    }

    /// <summary>One parsed .arch file and its syntax diagnostics.</summary>
    internal sealed record ParsedArch(ArchFile File, EquatableArray<Diagnostic> Diagnostics);

    /// <summary>One generated file: an architecture, a sweep, or the placeholder of a declaration with errors.</summary>
    internal sealed record EmitModel(string HintName, string ClassName, EmitOptions Options, CheckedArchitecture? Architecture, CheckedSweep? Sweep,
        FailedArchitecture? Failed = null);

    /// <summary>What one compilation of all declarations produced.</summary>
    internal sealed record GenerationResult(EquatableArray<EmitModel> Outputs, EquatableArray<Diagnostic> Diagnostics);
}
