using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Cli.Loading;
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

        /// <summary>Parses --device (cpu, cuda, cuda:1); CUDA asked for without a CUDA libtorch is a usage error that says what to do.</summary>
        public static bool TryGetDevice(CliContext ctx, string verb, string name, out Device device)
        {
            device = torch.CPU;
            try { device = torch.device(name); }
            catch (Exception e) when (e is ArgumentException || e is FormatException || e is System.Runtime.InteropServices.ExternalException)
            {
                ctx.Error.WriteLine($"torchwright {verb}: bad --device '{name}': {e.Message}; use cpu or cuda[:index]");
                return false;
            }
            if (device.type == DeviceType.CUDA && !torch.cuda.is_available())
            {
                ctx.Error.WriteLine($"torchwright {verb}: --device {name} asked for, but this libtorch has no CUDA device; use --device cpu or build SystemTorch against a CUDA PyTorch (src/SystemTorch/README.md)");
                return false;
            }
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
            }
            return arch;
        }
    }
}
