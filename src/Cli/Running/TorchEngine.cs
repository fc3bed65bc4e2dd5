using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// TorchSharp for the verbs that run tensors (train, sweep, infer, bench). A build of the repository's CLI has it beside
    /// torchwright.dll. The torchwright tool package ships without it (TorchSharp and libtorch are about 600 MB of native
    /// libraries), so there the first engine verb restores it once into a per-user cache (<see cref="EngineCache"/>) and this
    /// class points the runtime's loaders at that folder: managed assemblies through <see cref="AssemblyLoadContext.Resolving"/>
    /// (which fires because the tool's deps.json does not list them), and the native libraries each of them imports (libtorch,
    /// libLibTorchSharp, libSkiaSharp) through a <see cref="NativeLibrary.SetDllImportResolver"/> set on it as it loads; libtorch
    /// and libLibTorchSharp are loaded from there by path before TorchSharp's own LoadNativeBackend looks for them by name
    /// (<see cref="Preload"/>). check, summary and report never come here, so they run without the engine.
    /// </summary>
    internal static class TorchEngine
    {
        private static string? hooked;

        /// <summary>The engine's managed assemblies when this process loads them from the engine folder (compile references for generated modules), else none.</summary>
        public static IReadOnlyList<string> Assemblies { get; private set; } = Array.Empty<string>();

        /// <summary>Null when TorchSharp loads; otherwise prints why <paramref name="verb"/> cannot run and returns the exit code (2).</summary>
        public static int? Missing(CliContext ctx, string verb)
        {
            if (hooked == null && Loads()) return null;   // a build of the CLI: TorchSharp is in its output
            if (hooked == null)
            {
                var engine = EngineCache.Ensure(ctx.Error, out var problem);
                if (engine == null)
                {
                    ctx.Error.WriteLine($"torchwright {verb}: {problem}");
                    return ExitCodes.Usage;
                }
                Hook(engine);
                if (Preload(engine) is { } failed)
                {
                    ctx.Error.WriteLine($"torchwright {verb}: the engine in {engine.Folder} does not load: {failed}; delete that folder to restore it again (docs/cli.md, \"The engine\")");
                    return ExitCodes.Usage;
                }
            }
            if (Loads()) return null;
            ctx.Error.WriteLine($"torchwright {verb}: the engine in {hooked} has no loadable TorchSharp.dll; delete that folder (docs/cli.md, \"The engine\") and run the command again");
            return ExitCodes.Usage;
        }

        private static bool Loads()
        {
            try
            {
                Assembly.Load(new AssemblyName("TorchSharp"));
                return true;
            }
            catch (Exception e) when (e is FileNotFoundException || e is FileLoadException || e is BadImageFormatException)
            {
                return false;
            }
        }

        private static void Hook(EngineCache.Engine engine)
        {
            hooked = engine.Folder;
            Assemblies = Directory.GetFiles(engine.Managed, "*.dll").OrderBy(p => p, StringComparer.Ordinal).ToList();
            // Each engine assembly resolves its DllImports in the engine's native folder first: the default probing could take a
            // system library of the same name (Debian's python3-torch installs a libtorch_cpu.so).
            DllImportResolver natives = (name, _, _) =>
            {
                foreach (var candidate in NativeFileNames(name))
                {
                    var path = Path.Combine(engine.Native, candidate);
                    if (File.Exists(path)) return NativeLibrary.Load(path);
                }
                return IntPtr.Zero;   // not the engine's: the default probing
            };
            AssemblyLoadContext.Default.Resolving += (context, name) =>
            {
                var path = Path.Combine(engine.Managed, name.Name + ".dll");
                if (!File.Exists(path)) return null;
                var assembly = context.LoadFromAssemblyPath(path);
                try
                {
                    NativeLibrary.SetDllImportResolver(assembly, natives);
                }
                catch (InvalidOperationException)
                {
                    // the assembly set its own resolver; it keeps it
                }
                return assembly;
            };
        }

        /// <summary>
        /// Loads libtorch and TorchSharp's glue from the engine by path, before TorchSharp's LoadNativeBackend asks for them by
        /// name: its NativeLibrary.TryLoad(name, assembly) does not consult the DllImport resolver, and the system search would
        /// take another libtorch_cpu.so first (Debian's python3-torch installs one), then fail in libLibTorchSharp.so with an
        /// undefined symbol. Once loaded, the loader answers those names (their SONAMEs) with these copies. Null, or the loader's reason.
        /// </summary>
        private static string? Preload(EngineCache.Engine engine)
        {
            foreach (var name in new[] { "torch_cpu", "LibTorchSharp" })
            {
                var path = NativeFileNames(name).Select(f => Path.Combine(engine.Native, f)).FirstOrDefault(File.Exists);
                if (path == null) return $"{name} is not in {engine.Native}";
                try
                {
                    NativeLibrary.Load(path);
                }
                catch (DllNotFoundException e)
                {
                    return e.Message.Replace('\n', ' ').Trim();
                }
            }
            return null;
        }

        /// <summary>The file names a DllImport name stands for ("torch_cpu" is libtorch_cpu.so on Linux, torch_cpu.dll on Windows).</summary>
        private static string[] NativeFileNames(string name)
        {
            if (OperatingSystem.IsWindows()) return new[] { name, name + ".dll" };
            var suffix = OperatingSystem.IsMacOS() ? ".dylib" : ".so";
            var bare = name.StartsWith("lib", StringComparison.Ordinal) ? name : "lib" + name;
            return new[] { name, name + suffix, bare + suffix };
        }
    }
}
