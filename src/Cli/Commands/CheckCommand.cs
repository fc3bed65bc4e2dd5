using System.CommandLine;
using System.Linq;
using Torchwright.Cli.Loading;
using Torchwright.Cli.Output;
using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright check &lt;files or directories…&gt;</c>: parses, resolves and checks every declaration and prints
    /// each diagnostic in MSBuild form, then a tally. Exit 1 on any error, 2 when a path does not exist, else 0.
    /// </summary>
    internal static class CheckCommand
    {
        public static Command Create(CliContext ctx)
        {
            var paths = new Argument<string[]>("paths")
            {
                Description = ".arch files, or directories searched recursively for *.arch",
                Arity = ArgumentArity.OneOrMore,
            };
            var command = new Command("check", "Check .arch declarations: channels, groups, heads, strides, feature-map sizes, sweeps")
            {
                paths,
            };
            command.SetAction(parse => Run(ctx, parse.GetValue(paths) ?? System.Array.Empty<string>()));
            return command;
        }

        public static int Run(CliContext ctx, string[] paths)
        {
            var ws = CommandSupport.LoadOrReport(ctx, "check", paths, allowDirectories: true);
            if (ws == null) return ExitCodes.Usage;

            var result = ws.Compile();
            var diagnostics = result.Diagnostics.ToList();
            // train.NAME settings build nothing, so the Dsl checks only their form; their names and values are checked here.
            DeclaredTraining.CheckAll(result.Architectures.Concat(result.Sweeps.SelectMany(s => s.Variants)), diagnostics);
            DiagnosticPrinter.Print(ctx.Out, diagnostics);

            var archNames = ws.RootArchitectureNames.ToHashSet();
            var sweepNames = ws.RootSweepNames.ToHashSet();
            int archs = archNames.Count;
            var sweeps = result.Sweeps.Where(s => sweepNames.Contains(s.Info.Name)).ToList();
            int variants = sweeps.Sum(s => s.Variants.Count);
            int imported = ws.Files.Count - ws.Roots.Count;

            var checkedWhat = $"{Numbers.Plural(ws.Roots.Count, "file")}"
                + (imported > 0 ? $" (+{imported} imported)" : "")
                + $", {Numbers.Plural(archs, "architecture")}"
                + (sweeps.Count > 0 ? $", {Numbers.Plural(sweeps.Count, "sweep")} ({Numbers.Plural(variants, "valid variant")})" : "");
            bool failed = diagnostics.Any(d => d.Severity == Severity.Error);
            ctx.Out.WriteLine($"check {(failed ? "failed" : "passed")}: {checkedWhat}; {DiagnosticPrinter.Tally(diagnostics)}");
            return failed ? ExitCodes.DeclarationErrors : ExitCodes.Ok;
        }
    }
}
