using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Cli.Loading;
using Torchwright.Runtime;
using TorchSharp;
using static TorchSharp.torch;

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

        /// <summary>
        /// An exception's message as one line for the user: libtorch's first line (its C++ stack follows), and without the
        /// " (Parameter 'x')" that .NET appends to an ArgumentException naming a parameter the user never sees.
        /// </summary>
        public static string OneLine(Exception e)
        {
            // ArgumentOutOfRangeException adds a second line, "Actual value was ...".
            var message = e is System.Runtime.InteropServices.ExternalException or ArgumentOutOfRangeException ? e.Message.Split('\n')[0] : e.Message;
            if (e is ArgumentException { ParamName: { } param })
            {
                var suffix = $" (Parameter '{param}')";
                if (message.EndsWith(suffix, StringComparison.Ordinal)) message = message.Substring(0, message.Length - suffix.Length);
            }
            return message;
        }

        /// <summary>Parses --device (cpu, cuda, cuda:1) without initialising CUDA; a device this process cannot use is a
        /// usage error that says what to do (<see cref="Devices.WhyUnavailable"/>).</summary>
        public static bool TryGetDevice(CliContext ctx, string verb, string name, out Device device)
        {
            if (!Devices.TryParse(name, out device, out var error))
            {
                ctx.Error.WriteLine($"torchwright {verb}: bad --device '{name}': {error}");
                return false;
            }
            var why = Devices.WhyUnavailable(device);
            if (why is null) return true;
            ctx.Error.WriteLine($"torchwright {verb}: --device {name}: {why}");
            return false;
        }

        /// <summary>
        /// train, infer, bench and sweep run a classifier (logits, a loss); a feature backbone (out_indices) returns feature
        /// maps, so they refuse it with one line. Returns true after printing it.
        /// </summary>
        public static bool RefuseFeatureBackbone(CliContext ctx, string verb, Torchwright.Dsl.CheckedArchitecture arch)
        {
            if (!arch.Ir.IsFeatureBackbone) return false;
            ctx.Error.WriteLine($"torchwright {verb}: {arch.Name} is a feature backbone (out_indices = [{string.Join(", ", arch.Ir.OutIndices)}]): it returns feature maps, not logits, and {verb} needs a classifier; remove out_indices (or derive an architecture without it) to {verb} it");
            return true;
        }

        /// <summary>
        /// Compiles the workspace and picks the one architecture a verb runs (by --name, or the file's only one).
        /// Returns null after printing the diagnostics (<paramref name="exitCode"/> 1) or the choice problem (2).
        /// </summary>
        public static Torchwright.Dsl.CheckedArchitecture? CompileOne(CliContext ctx, string verb, ArchWorkspace ws, string file, string? name, out int exitCode)
        {
            exitCode = ExitCodes.Ok;
            var result = ws.Compile();
            var errors = result.Diagnostics.Where(d => d.Severity == Torchwright.Dsl.Diagnostics.Severity.Error).ToList();
            if (errors.Count > 0)
            {
                Output.DiagnosticPrinter.Print(ctx.Error, errors);
                exitCode = ExitCodes.DeclarationErrors;
                return null;
            }
            var roots = ws.RootArchitectureNames.ToList();
            var candidates = result.Architectures.Where(a => roots.Contains(a.Name)).ToList();
            var arch = name != null ? candidates.FirstOrDefault(a => a.Name == name) : candidates.Count == 1 ? candidates[0] : null;
            if (arch == null)
            {
                ctx.Error.WriteLine(name == null
                    ? $"torchwright {verb}: {file} declares {candidates.Count} architectures; choose one with --name ({string.Join(", ", candidates.Select(a => a.Name))})"
                    : $"torchwright {verb}: no architecture '{name}' in {file}; it declares {string.Join(", ", candidates.Select(a => a.Name))}");
                exitCode = ExitCodes.Usage;
                return null;
            }
            if (RefuseFeatureBackbone(ctx, verb, arch))
            {
                exitCode = ExitCodes.Usage;
                return null;
            }
            return arch;
        }
    }
}
