using System.Collections.Generic;
using Torchwright.Dsl.Diagnostics;
using Xunit;

namespace Torchwright.Dsl.Tests.Fuzz
{
    internal static class DiagnosticInvariants
    {
        /// <summary>The location lies inside the text and its line/column pairs agree with its offsets.</summary>
        public static string? Check(SourceLocation loc, string text)
        {
            if (loc.IsNone) return null;
            if (loc.Start < 0 || loc.Length < 0 || loc.Start + loc.Length > text.Length)
                return $"span [{loc.Start}, {loc.Start + loc.Length}) outside text of length {text.Length}";
            var start = SourceLocation.PositionOf(text, loc.Start);
            var end = SourceLocation.PositionOf(text, loc.Start + loc.Length);
            if (start != loc.StartPos) return $"start {loc.StartPos} but offset {loc.Start} is at {start}";
            if (end != loc.EndPos) return $"end {loc.EndPos} but offset {loc.End} is at {end}";
            return null;
        }

        public static void AssertAll(IEnumerable<Diagnostic> diagnostics, string text, string context)
        {
            foreach (var d in diagnostics)
            {
                var problem = Check(d.Location, text);
                if (problem != null) Assert.Fail($"{context}: {d}: {problem}");
                if (string.IsNullOrEmpty(d.Message)) Assert.Fail($"{context}: empty message");
            }
        }
    }
}
