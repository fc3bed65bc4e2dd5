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

        /// <summary>Every assembly the app runs with (framework, TorchSharp subset, Runtime) as compile references.</summary>
        private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new Lazy<IReadOnlyList<MetadataReference>>(() =>
        {
            // Make sure the Runtime (and with it TorchSharp) is part of the trusted list the host gives us.
            _ = typeof(ModuleBuildException).Assembly;
            var tpa = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).ToList();
            // The installed tool's TorchSharp and company come from its engine folder, not the trusted list (TorchEngine).
            var names = new HashSet<string>(tpa.Select(Path.GetFileName)!, StringComparer.OrdinalIgnoreCase);
            return tpa.Concat(TorchEngine.Assemblies.Where(p => names.Add(Path.GetFileName(p))))
                .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        });
    }
}
