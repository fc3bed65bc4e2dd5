using System;
using System.Collections.Generic;
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
    }
}
