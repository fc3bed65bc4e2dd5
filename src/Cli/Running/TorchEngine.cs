using System;
using System.IO;
using System.Reflection;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// Whether this installation has TorchSharp. The torchwright tool package ships without it (TorchSharp and libtorch are
    /// about 600 MB of native libraries the tool cannot carry), so the verbs that run tensors ask here first and, without
    /// it, say so and where they do run, instead of failing inside the runtime's assembly loader.
    /// </summary>
    internal static class TorchEngine
    {
        /// <summary>Null when TorchSharp loads; otherwise prints why <paramref name="verb"/> cannot run and returns the exit code (2).</summary>
        public static int? Missing(CliContext ctx, string verb)
        {
            try
            {
                Assembly.Load(new AssemblyName("TorchSharp"));
                return null;
            }
            catch (Exception e) when (e is FileNotFoundException || e is FileLoadException || e is BadImageFormatException)
            {
                ctx.Error.WriteLine($"torchwright {verb}: this torchwright has no TorchSharp engine (the torchwright tool package ships check, summary and report without TorchSharp and libtorch); "
                    + $"run {verb} from a build of the repository's CLI (bash run.sh builds it: dotnet src/Cli/bin/Release/net10.0/torchwright.dll {verb} ...), "
                    + "or from a project that references Torchwright and TorchSharp-cpu");
                return ExitCodes.Usage;
            }
        }
    }
}
