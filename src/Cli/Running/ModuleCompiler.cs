using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Torchwright.Dsl;
using Torchwright.Dsl.Emit;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// Runs an architecture given at run time through the same emitter the source generator uses and compiles the
    /// emitted C# in-process with Roslyn (design.md §4: one code path, no second interpreter).
    /// </summary>
    internal static class ModuleCompiler
    {
        private const string Namespace = "Torchwright.Dynamic";

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
                // The emitter and the Runtime are tested to compile together; reaching this is a Torchwright bug.
                var errors = emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString());
                throw new InvalidOperationException($"internal error: the code emitted for {arch.Name} did not compile:\n" + string.Join("\n", errors));
            }
            image.Position = 0;
            var assembly = AssemblyLoadContext.Default.LoadFromStream(image);
            var type = assembly.GetType(Namespace + "." + typeName, throwOnError: true)!;
            return (nn.Module<Tensor, Tensor>)Activator.CreateInstance(type)!;
        }

        /// <summary>Every assembly the app runs with (framework, TorchSharp subset, Runtime) as compile references.</summary>
        private static readonly Lazy<IReadOnlyList<MetadataReference>> References = new Lazy<IReadOnlyList<MetadataReference>>(() =>
        {
            // Make sure the Runtime (and with it TorchSharp) is part of the trusted list the host gives us.
            _ = typeof(Torchwright.Runtime.Init).Assembly;
            var tpa = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
            return tpa.Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
        });
    }
}
