using System.Collections.Generic;
using System.IO;
using System.Linq;
using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Cli.Output
{
    /// <summary>Prints diagnostics in MSBuild form (<c>path(line,col): error TW0004: message</c>), which editors and CI parse.</summary>
    internal static class DiagnosticPrinter
    {
        public static void Print(TextWriter writer, IEnumerable<Diagnostic> diagnostics)
        {
            foreach (var d in Ordered(diagnostics)) writer.WriteLine(d.ToString());
        }

        /// <summary>File order is kept as reported; within a file, by position; errors and warnings interleaved as in the source.</summary>
        public static IEnumerable<Diagnostic> Ordered(IEnumerable<Diagnostic> diagnostics) =>
            diagnostics.Select((d, i) => (d, i))
                .GroupBy(x => x.d.Location.Path)
                .SelectMany(g => g.OrderBy(x => x.d.Location.Start).ThenBy(x => x.i))
                .Select(x => x.d);

        /// <summary>"2 errors, 1 warning" (infos are mentioned only when present).</summary>
        public static string Tally(IReadOnlyCollection<Diagnostic> diagnostics)
        {
            long errors = diagnostics.Count(d => d.Severity == Severity.Error);
            long warnings = diagnostics.Count(d => d.Severity == Severity.Warning);
            long infos = diagnostics.Count(d => d.Severity == Severity.Info);
            var text = Numbers.Plural(errors, "error") + ", " + Numbers.Plural(warnings, "warning");
            if (infos > 0) text += ", " + Numbers.Plural(infos, "info", "infos");
            return text;
        }
    }
}
