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

        /// <summary>A feature backbone (out_indices) from both front ends, and a sweep over one, compile with no warnings: the class is
        /// nn.Module&lt;Tensor, X.Features&gt;, the sweep's factories return nn.Module.</summary>
        [RequiresRuntimeFact]
        public void FeatureBackbonesCompileFromAttributesArchFilesAndSweeps()
        {
            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            const string attributed = "using Torchwright;\nnamespace Sample.Models\n{\n    [Architecture(Extends = \"ResNet50\", Classes = 0, OutIndices = new[] { 2, 4 })]\n    public sealed partial class MyFeatures { }\n}\n";
            const string arch = "arch Fpn : ResNet50 {\n  input = 3x64x64\n  classes = 0\n  out_indices = [1, 2, 3]\n}\nsweep FpnGrid : Fpn {\n  c3.depth = 1, 2\n}\n";
            var compilation = CSharpCompilation.Create("Generated", new[] { CSharpSyntaxTree.ParseText(attributed, Harness.ParseOptions, "MyFeatures.cs") },
                Harness.FrameworkReferences.Concat(torch),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
            var driver = Harness.Driver(new[] { new ArchText("a.arch", arch) }).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
            Assert.Empty(diagnostics.Select(Harness.Format));
            var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));
            var sources = driver.GetRunResult().GeneratedTrees.Select(t => t.GetText().ToString()).ToList();
            Assert.Contains(sources, t => t.Contains("public sealed partial class MyFeatures : nn.Module<Tensor, MyFeatures.Features>")
                && t.Contains("FeatureInfo = new TorchwrightBlocks.FeatureLevel[] { new(\"layer2\", 512L, 8L), new(\"layer4\", 2048L, 32L) };"));
            Assert.Contains(sources, t => t.Contains("public sealed record Variant(string Name, long ParameterCount, long Macs, global::System.Func<nn.Module> Create);"));
        }

        /// <summary>train.NAME settings become a TrainingSettings list on the class (exact value text), the network code
        /// is the same as without them, and a class without them gets no such member.</summary>
        [RequiresRuntimeFact]
        public void TrainingSettingsBecomeAListAndChangeNothingElse()
        {
            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            const string plain = "arch Plain : ResNet50 {\n  input = 3x64x64\n}\n";
            const string trained = "arch Trained : ResNet50 {\n  input = 3x64x64\n  train.opt = adamw\n  train.lr = 2e-3\n  train.betas = [0.9, 0.98]\n}\n";
            var compilation = CSharpCompilation.Create("Generated", Array.Empty<SyntaxTree>(), Harness.FrameworkReferences.Concat(torch),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
            var driver = Harness.Driver(new[] { new ArchText("a.arch", plain + trained) }).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
            Assert.Empty(diagnostics);
            var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(40)));

            var sources = driver.GetRunResult().GeneratedTrees.ToDictionary(t => Path.GetFileName(t.FilePath), t => t.GetText().ToString());
            var trainedSource = sources.Single(kv => kv.Key.Contains("Trained")).Value;
            var plainSource = sources.Single(kv => kv.Key.Contains("Plain")).Value;
            Assert.Contains("new(\"opt\", \"adamw\"), new(\"lr\", \"0.002\"), new(\"betas\", \"0.9,0.98\")", trainedSource);
            Assert.DoesNotContain("TrainingSettings", plainSource);
            // Everything but the list and the names is the same code.
            static string Body(string text, string name) => string.Join("\n", text.Split('\n')
                .Where(l => !l.Contains("TrainingSettings") && !l.Contains("KeyValuePair<string, string>[]") && !l.Contains("training settings") && !l.Contains("TrainSettings.Default.With"))
                .Select(l => l.Replace(name, "X")));
            Assert.Equal(Body(plainSource, "Plain"), Body(trainedSource, "Trained"));
        }
    }
}
