using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using Torchwright.Cli.Output;
using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright summary &lt;file.arch&gt; [--name N] [--format table|markdown|json]</c>: per-layer output shapes,
    /// parameters and MACs of every architecture (and sweep variant) declared in the file. Errors -> stderr, exit 1.
    /// </summary>
    internal static class SummaryCommand
    {
        public static readonly string[] Formats = { "table", "markdown", "json" };

        public static Command Create(CliContext ctx)
        {
            var file = new Argument<string>("file") { Description = "The .arch file (its imports are loaded too)" };
            var name = new Option<string?>("--name", "-n")
            {
                Description = "Only this architecture, sweep, or sweep variant (its stable name, e.g. 'BotC5Placement/c5.mhsa=[0,1,1]')",
            };
            var format = new Option<string>("--format", "-f")
            {
                Description = "Output format: table (default), markdown, or json (the contract in docs/cli.md)",
                DefaultValueFactory = _ => "table",
            };
            format.AcceptOnlyFromAmong(Formats);
            var command = new Command("summary", "Per-layer shapes, parameters and MACs of the architectures in a .arch file")
            {
                file, name, format,
            };
            command.SetAction(parse => Run(ctx, parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(format) ?? "table"));
            return command;
        }

        public static int Run(CliContext ctx, string path, string? name, string format)
        {
            var ws = CommandSupport.LoadOrReport(ctx, "summary", new[] { path }, allowDirectories: false);
            if (ws == null) return ExitCodes.Usage;

            var result = ws.Compile();
            var diagnostics = result.Diagnostics.ToList();
            // Warnings and errors go to stderr so that stdout stays parseable (--format json).
            DiagnosticPrinter.Print(ctx.Error, diagnostics);
            if (diagnostics.Any(d => d.Severity == Severity.Error))
            {
                ctx.Error.WriteLine($"summary: {DiagnosticPrinter.Tally(diagnostics)}; fix the errors above (torchwright check {path})");
                return ExitCodes.DeclarationErrors;
            }

            var archOrder = ws.RootArchitectureNames.ToList();
            var sweepOrder = ws.RootSweepNames.ToList();
            var archs = result.Architectures
                .Where(a => archOrder.Contains(a.Name))
                .OrderBy(a => archOrder.IndexOf(a.Name))
                .Select(ArchSummary.From).ToList();
            var sweeps = result.Sweeps
                .Where(s => sweepOrder.Contains(s.Info.Name))
                .OrderBy(s => sweepOrder.IndexOf(s.Info.Name))
                .Select(SweepSummary.From).ToList();

            var doc = new SummaryDocument(archs, sweeps);
            if (name != null)
            {
                var selected = Select(doc, name);
                if (selected == null)
                {
                    var known = archs.Select(a => a.Name).Concat(sweeps.Select(s => s.Name)).Concat(sweeps.SelectMany(s => s.Variants).Select(v => v.Name)).ToList();
                    ctx.Error.WriteLine($"torchwright summary: no architecture, sweep or variant named '{name}' in {path}; "
                        + (known.Count == 0 ? "the file declares none" : "declared: " + string.Join(", ", known)));
                    return ExitCodes.Usage;
                }
                doc = selected;
            }
            else if (archs.Count == 0 && sweeps.Count == 0)
            {
                ctx.Error.WriteLine($"torchwright summary: {path} declares no architecture or sweep (imported declarations are not summarised; name the file that declares them)");
            }

            switch (format)
            {
                case "json": SummaryJsonFormatter.Write(ctx.Out, doc); break;
                case "markdown": SummaryTextFormatter.Write(ctx.Out, doc, markdown: true); break;
                default: SummaryTextFormatter.Write(ctx.Out, doc, markdown: false); break;
            }
            return ExitCodes.Ok;
        }

        /// <summary>An architecture, a whole sweep, or one variant (shown as a full per-layer table).</summary>
        private static SummaryDocument? Select(SummaryDocument doc, string name)
        {
            var arch = doc.Architectures.FirstOrDefault(a => a.Name == name);
            if (arch != null) return new SummaryDocument(new[] { arch }, Array.Empty<SweepSummary>());
            var sweep = doc.Sweeps.FirstOrDefault(s => s.Name == name);
            if (sweep != null) return new SummaryDocument(Array.Empty<ArchSummary>(), new[] { sweep });
            var variant = doc.Sweeps.SelectMany(s => s.Variants).FirstOrDefault(v => v.Name == name);
            if (variant != null) return new SummaryDocument(new List<ArchSummary> { variant }, Array.Empty<SweepSummary>());
            return null;
        }
    }
}
