using System;
using System.CommandLine;
using System.IO;
using Torchwright.Cli.Commands;

namespace Torchwright.Cli
{
    /// <summary>
    /// The <c>torchwright</c> command. Verbs: check, summary, infer, bench, train, sweep, report (each is one file in Commands/,
    /// registered in <see cref="BuildRoot"/>; docs/cli.md).
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

        /// <summary>Runs the command line in-process, writing to the given writers. Returns the exit code.</summary>
        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var ctx = new CliContext(stdout, stderr);
            try
            {
                var root = BuildRoot(ctx);
                var parse = root.Parse(args);
                if (parse.Errors.Count > 0)
                {
                    foreach (var e in parse.Errors) stderr.WriteLine("torchwright: " + e.Message);
                    stderr.WriteLine("Run 'torchwright --help' (or 'torchwright <verb> --help') for usage.");
                    return ExitCodes.Usage;
                }
                return parse.Invoke(new InvocationConfiguration
                {
                    Output = stdout,
                    Error = stderr,
                    EnableDefaultExceptionHandler = false,
                });
            }
            catch (Exception e)
            {
                stderr.WriteLine("torchwright: internal error (please report it): " + e);
                return ExitCodes.InternalError;
            }
        }

        public static RootCommand BuildRoot(CliContext ctx)
        {
            var root = new RootCommand("torchwright: declare, check and summarise vision backbones (.arch files)");
            root.Subcommands.Add(CheckCommand.Create(ctx));
            root.Subcommands.Add(SummaryCommand.Create(ctx));
            root.Subcommands.Add(InferCommand.Create(ctx));
            root.Subcommands.Add(BenchCommand.Create(ctx));
            root.Subcommands.Add(ReportCommand.Create(ctx));
            root.Subcommands.Add(TrainCommand.Create(ctx));
            root.Subcommands.Add(SweepCommand.Create(ctx));
            return root;
        }
    }
}
