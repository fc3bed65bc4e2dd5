using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text;
using Torchwright.Cli.Output;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright report &lt;db…&gt; [--format table|markdown|csv|json|html] [--sort KEY] [--output FILE]</c>: merges
    /// sweep results databases (the shards of one sweep, or several sweeps) and prints the comparison, best first.
    /// Merge warnings go to stderr; a missing database exits 2, a foreign or damaged one 1.
    /// </summary>
    internal static class ReportCommand
    {
        public static readonly string[] Formats = { "table", "markdown", "csv", "json", "html" };

        public static Command Create(CliContext ctx)
        {
            var databases = new Argument<string[]>("databases")
            {
                Description = "Results databases written by torchwright sweep (--db); several are merged, e.g. the shards of one sweep",
                Arity = ArgumentArity.OneOrMore,
            };
            var format = new Option<string>("--format", "-f")
            {
                Description = "Output format: table (default), markdown, csv, json (the contract in docs/report.md), or html (a self-contained page with charts)",
                DefaultValueFactory = _ => "table",
            };
            format.AcceptOnlyFromAmong(Formats);
            var sort = new Option<string>("--sort", "-s")
            {
                Description = "Sort key: eval_acc (default, highest first), eval_loss, params, macs, images_per_s or variant; variants without the value come last",
                DefaultValueFactory = _ => ReportSort.Default,
            };
            sort.AcceptOnlyFromAmong(ReportSort.Keys);
            var output = new Option<string?>("--output", "-o") { Description = "Write the report to this file instead of stdout" };
            var baseline = new Option<string?>("--baseline") { Description = "The variant the others are tested against (Welch's t-test over seeds, Holm-corrected); default: the first variant of the grid" };
            var command = new Command("report", "Compare the variants of sweep results databases: a table, CSV, JSON, or an HTML page with charts")
            {
                databases, format, sort, output, baseline,
            };
            command.SetAction(parse => Run(ctx, parse.GetValue(databases)!, parse.GetValue(format) ?? "table",
                parse.GetValue(sort) ?? ReportSort.Default, parse.GetValue(output), parse.GetValue(baseline)));
            return command;
        }

        public static int Run(CliContext ctx, IReadOnlyList<string> paths, string format, string sort, string? output, string? baseline)
        {
            IReadOnlyList<VariantRecord> merged;
            IReadOnlyList<string> warnings;
            try
            {
                merged = ResultsDb.Merge(paths, out warnings);
            }
            catch (Exception e) when (e is FileNotFoundException || e is ArgumentException)
            {
                ctx.Error.WriteLine("torchwright report: " + e.Message);
                return ExitCodes.Usage;
            }
            catch (Exception e) when (e is IOException || e is InvalidDataException || e is UnauthorizedAccessException)
            {
                // A file that is not a results database, or a damaged one: an error in the input, named in one line.
                ctx.Error.WriteLine("torchwright report: " + e.Message);
                return ExitCodes.DeclarationErrors;
            }
            foreach (var warning in warnings) ctx.Error.WriteLine("torchwright report: warning: " + warning);

            var shown = paths.GroupBy(p => ResultsStore.IsPostgres(p) ? p : Path.GetFullPath(p)).Select(g => ResultsStore.Display(g.First())).ToList();
            var doc = ReportDocument.Build(shown, merged, sort, warnings, baseline,
                r => new RunExtras(r.EvalCurve.Select(p => new EvalAccuracyPoint(p.Step, p.Accuracy)).ToList(), r.ForwardImagesPerSecond), out var baselineError);
            if (doc == null)
            {
                ctx.Error.WriteLine("torchwright report: " + baselineError);
                return ExitCodes.Usage;
            }
            var text = new StringWriter { NewLine = "\n" };
            switch (format)
            {
                case "markdown": ReportText.Write(text, doc, markdown: true); break;
                case "csv": ReportCsv.Write(text, doc); break;
                case "json": ReportJson.Write(text, doc); break;
                case "html": ReportHtml.Write(text, doc); break;
                default: ReportText.Write(text, doc, markdown: false); break;
            }

            if (output == null)
            {
                ctx.Out.Write(text.ToString());
                return ExitCodes.Ok;
            }
            try
            {
                File.WriteAllText(output, text.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                ctx.Error.WriteLine($"torchwright report: cannot write {output}: {e.Message}");
                return ExitCodes.Usage;
            }
            ctx.Error.WriteLine($"torchwright report: wrote {output} ({Numbers.Plural(doc.Variants.Count, "variant")}, {format})");
            return ExitCodes.Ok;
        }
    }
}
