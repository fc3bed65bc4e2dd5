using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Syntax;
using Torchwright.Dsl.Tests.Fuzz;
using Xunit;

namespace Torchwright.Dsl.Tests.Syntax
{
    internal static class ParseHelpers
    {
        public const string Path = "test.arch";

        public static (ArchFile File, List<Diagnostic> Diagnostics) Parse(string text)
        {
            var diagnostics = new List<Diagnostic>();
            var file = ArchParser.Parse(Path, text, diagnostics);
            DiagnosticInvariants.AssertAll(diagnostics, text, "parse");
            AstInvariants.AssertAll(file, text, "parse");
            return (file, diagnostics);
        }

        public static ArchFile ParseClean(string text)
        {
            var (file, diagnostics) = Parse(text);
            Assert.True(diagnostics.Count == 0, "unexpected diagnostics:\n" + string.Join("\n", diagnostics));
            return file;
        }

        /// <summary>Asserts a zero-based start line/column and a length, and that the location names the test file.</summary>
        public static void AssertAt(SourceLocation loc, int line, int column, int length)
        {
            Assert.Equal(Path, loc.Path);
            Assert.Equal((line, column, length), (loc.StartPos.Line, loc.StartPos.Column, loc.Length));
        }

        /// <summary>The source text a location covers.</summary>
        public static string Slice(string text, SourceLocation loc) => text.Substring(loc.Start, loc.Length);

        public static FieldAssignment Field(ArchDecl arch, string path) => arch.Fields.Single(f => f.Path == path);

        public static string Render(IEnumerable<Diagnostic> diagnostics) =>
            string.Join("\n", diagnostics.Select(d => $"{d.Location.StartPos.Line},{d.Location.StartPos.Column}+{d.Location.Length} {d.Id} {d.Message}"));
    }
}
