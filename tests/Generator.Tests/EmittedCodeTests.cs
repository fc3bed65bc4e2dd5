using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>Skipped (with the reason) only when the TorchSharp/Runtime assemblies were not built beside the tests.</summary>
    public sealed class RequiresRuntimeFactAttribute : FactAttribute
    {
        public static readonly string[] Assemblies = { "TorchSharp.dll", "Torchwright.Runtime.dll" };

        public RequiresRuntimeFactAttribute()
        {
            var missing = Assemblies.Where(a => !File.Exists(Path.Combine(AppContext.BaseDirectory, a))).ToList();
            if (missing.Count > 0)
                Skip = "TorchSharp/Runtime assemblies not found beside the tests (" + string.Join(", ", missing) + "); build src/Runtime first";
        }
    }

    public sealed class EmittedCodeTests
    {
        /// <summary>Every generated file (the zoo, the sweep, the attribute BoT) compiles against TorchSharp + Runtime with no warnings.</summary>
        [RequiresRuntimeFact]
        public void GeneratedCodeCompilesWithoutWarnings()
        {
            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            var compilation = CSharpCompilation.Create("Generated",
                new[] { CSharpSyntaxTree.ParseText(Samples.MyBot, Harness.ParseOptions, "MyBot.cs") },
                Harness.FrameworkReferences.Concat(torch),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
            var driver = Harness.Driver(Harness.ZooTexts()).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
            Assert.Empty(generatorDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format));
            Assert.True(driver.GetRunResult().GeneratedTrees.Length >= 13);

            var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));
        }
    }
}
