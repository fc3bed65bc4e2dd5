using System.Collections.Generic;
using Torchwright.Cli.Loading;

namespace Torchwright.Cli.Commands
{
    /// <summary>Helpers shared by the verbs.</summary>
    internal static class CommandSupport
    {
        /// <summary>Loads the named files (and their imports); on a missing or unreadable path prints why and returns null.</summary>
        public static ArchWorkspace? LoadOrReport(CliContext ctx, string verb, IEnumerable<string> paths, bool allowDirectories)
        {
            var ws = ArchWorkspace.Load(paths, allowDirectories, out var missing, out var problems);
            foreach (var m in missing)
                ctx.Error.WriteLine($"torchwright {verb}: file or directory not found: {m}");
            foreach (var p in problems)
                ctx.Error.WriteLine($"torchwright {verb}: {p}");
            return ws;
        }
    }
}
