using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Torchwright.Dsl;
using Torchwright.Dsl.Emit;
using Torchwright.Runtime;
using Torchwright.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// Runs an architecture given at run time through the same emitter the source generator uses and compiles the
    /// emitted C# in-process with Roslyn (one code path, no second interpreter: what `infer` and `bench` run is what the generator would have emitted).
    /// </summary>
    internal static class ModuleCompiler
    {
        private const string Namespace = "Torchwright.Dynamic";

        /// <summary>The module as train, sweep and bench --mode train train it: <see cref="Build"/>, its convolution weights
        /// re-strided channels-last where the family trains faster so (<c>ArchitectureIR.TrainChannelsLast</c>: the family's, unless a block kind trains slower so).</summary>
        public static nn.Module<Tensor, Tensor> BuildForTraining(CheckedArchitecture arch)
        {
            var module = Build(arch);
            if (arch.Ir.TrainChannelsLast) Torchwright.Runtime.ChannelsLast.Restride(module);
            return module;
        }

        /// <summary>Emits, compiles and constructs the module; any failure is a <see cref="ModuleBuildException"/> naming the
        /// architecture (and the stage and block when one part refused its arguments).</summary>
        public static nn.Module<Tensor, Tensor> Build(CheckedArchitecture arch)
        {
            var className = CSharpEmitter.Identifier(arch.Name);   // @class for an architecture named class
            var typeName = CSharpEmitter.MetadataName(className);
            var source = CSharpEmitter.EmitArchitecture(arch, className, new EmitOptions(Namespace, Source: arch.Ir.Location.Path));
            var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: typeName + ".g.cs");
            var compilation = CSharpCompilation.Create(
                "Torchwright.Dynamic." + typeName + "." + Guid.NewGuid().ToString("N"),
                new[] { tree },
                References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable));
            using var image = new MemoryStream();
            var emitted = compilation.Emit(image);
            if (!emitted.Success)
            {
                // The emitter and the Runtime are tested to compile together; reaching this is a Torchwright bug, but
                // it belongs to this architecture only (a sweep records it and goes on with the other variants).
                var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
                throw new ModuleBuildException(arch.Name, null,
                    $"the emitted C# did not compile ({errors.Count} errors; please report it): " + string.Join("; ", errors.Take(3)));
            }
            image.Position = 0;
            var assembly = AssemblyLoadContext.Default.LoadFromStream(image);
            var type = assembly.GetType(Namespace + "." + typeName, throwOnError: true)!;
            try
            {
                return (nn.Module<Tensor, Tensor>)Activator.CreateInstance(type)!;
            }
            catch (TargetInvocationException e) when (e.InnerException is ModuleBuildException built)
            {
                throw built; // names the architecture, the part and the cause
            }
            catch (TargetInvocationException e) when (e.InnerException != null)
            {
                throw new ModuleBuildException(arch.Name, null, ModuleBuild.FirstLine(e.InnerException.Message), e.InnerException);
            }
        }

        /// <summary>
        /// The compile references: the Runtime, TorchSharp and every assembly they reference, transitively (the emitted code
        /// reaches nothing else). Not every assembly the tool runs with: Roslyn keeps each reference's metadata in native
        /// memory for the process's life, and the tool's own (Roslyn, the stores' drivers, the console libraries) held
        /// about 90 MB of it through every bench, train and sweep (bench --heap-profile).
        /// </summary>
        private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new Lazy<IReadOnlyList<MetadataReference>>(() =>
        {
            var tpa = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase));
            // The installed tool's TorchSharp and company come from its engine folder, not the trusted list (TorchEngine).
            var paths = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var path in tpa.Concat(TorchEngine.Assemblies))
                paths.TryAdd(Path.GetFileNameWithoutExtension(path), path);
            var references = new List<MetadataReference>();
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            var pending = new Queue<string>(new[] { typeof(ModuleBuildException).Assembly.GetName().Name!, typeof(torch).Assembly.GetName().Name! });
            while (pending.Count > 0)
            {
                var name = pending.Dequeue();
                // A name without a file is one the Runtime never loads on this platform (the emitted code cannot need it).
                if (!seen.Add(name) || !paths.TryGetValue(name, out var file)) continue;
                var metadata = AssemblyMetadata.CreateFromFile(file);
                references.Add(metadata.GetReference(filePath: file));
                var reader = metadata.GetModules()[0].GetMetadataReader();
                foreach (var handle in reader.AssemblyReferences)
                    pending.Enqueue(reader.GetString(reader.GetAssemblyReference(handle).Name));
            }
            return references;
        });
    }
}
