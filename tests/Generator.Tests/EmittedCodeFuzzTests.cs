using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Torchwright.Dsl.Tests.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// Emitted-code compile fuzz: the DSL fuzzer's mutations of the zoo (plus renames to names that stress the
    /// C# naming: keywords, generated member names, colliding names, unicode), each run through the generator's
    /// own pipeline (<see cref="ArchitectureGenerator.Generate"/> and <see cref="ArchitectureGenerator.Emit"/>).
    /// Whatever the checker accepts is generated, and every generated file must compile against TorchSharp and
    /// the Runtime without errors or warnings — whatever else the input got wrong.
    /// </summary>
    public sealed class EmittedCodeFuzzTests
    {
        private readonly ITestOutputHelper output;

        public EmittedCodeFuzzTests(ITestOutputHelper output) => this.output = output;

        private const int Mutations = 6000;
        private const int SourcesPerCompilation = 200;

        /// <summary>Names a declaration is renamed to: each once broke or could break the generated C#.</summary>
        private static readonly string[] StressNames =
        {
            "class", "string", "object", "namespace", "int", "event", "var", "record", "nameof", "dynamic", "value", "partial",
            "Macs", "Features", "forward", "Head", "Stem", "layer1", "conv1", "Variants", "Variant", "StageC2", "C2Channels",
            "A_B", "A__B", "_A_B_", "A-B", "AmB", "x7", "_7", "S_classes_10", "BotC5Placement_width_0_5", "ResNet50",
        };

        private static readonly Regex Declaration = new Regex(@"\b(arch|sweep)\s+([A-Za-z_][A-Za-z0-9_]*)", RegexOptions.CultureInvariant);

        private static string Rename(string text, Random rng)
        {
            var matches = Declaration.Matches(text);
            if (matches.Count == 0) return text;
            var m = matches[rng.Next(matches.Count)];
            var name = StressNames[rng.Next(StressNames.Length)];
            return text.Substring(0, m.Groups[2].Index) + name + text.Substring(m.Groups[2].Index + m.Groups[2].Length);
        }

        [RequiresRuntimeFact]
        public void Every_generated_file_of_fuzzed_declarations_compiles()
        {
            var corpus = ArchCorpus.All();
            int perText = (int)Math.Ceiling((double)Mutations / corpus.Count);
            var sources = new Dictionary<string, string>(StringComparer.Ordinal); // emitted text -> the input it came from
            int cases = 0, outputs = 0, architectures = 0, sweeps = 0, withErrors = 0;
            foreach (var (name, text) in corpus)
            {
                var rng = new Random(name.Length * 7919 + 14);
                int k = 0;
                foreach (var mutated in ArchMutator.Mutations(text, seed: 14_000 + name.Length, count: perText))
                {
                    var input = (k++ % 2 == 0) ? Rename(mutated, rng) : mutated;
                    if (k % 5 == 0) input = Rename(input, rng);
                    cases++;
                    var parsed = ImmutableArray.Create(ArchitectureGenerator.Parse("fuzz/" + name, input));
                    var result = ArchitectureGenerator.Generate(parsed, ImmutableArray<ClassModel>.Empty, "Fuzz", CancellationToken.None);
                    if (result.Diagnostics.Any(d => d.IsError)) withErrors++;
                    foreach (var model in result.Outputs)
                    {
                        outputs++;
                        if (model.Sweep != null) sweeps++; else architectures++;
                        var code = ArchitectureGenerator.Emit(model);
                        if (!sources.ContainsKey(code)) sources[code] = $"case {cases} ({name}), {model.HintName}:\n{input}";
                    }
                }
            }

            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            var references = Harness.FrameworkReferences.Concat(torch).ToList();
            var distinct = sources.ToList();
            int compiled = 0;
            for (int batch = 0; batch * SourcesPerCompilation < distinct.Count; batch++)
            {
                // Each file in its own namespace, as if each input were its own project.
                var slice = distinct.Skip(batch * SourcesPerCompilation).Take(SourcesPerCompilation).ToList();
                var trees = slice.Select((s, i) => CSharpSyntaxTree.ParseText(
                    s.Key.Replace("namespace Fuzz", "namespace Fuzz.N" + (batch * SourcesPerCompilation + i)), Harness.ParseOptions, "f" + i + ".g.cs")).ToList();
                var compilation = CSharpCompilation.Create("Fuzz" + batch, trees, references,
                    new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
                var problems = compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
                if (problems.Count > 0)
                {
                    var first = problems[0];
                    int index = trees.IndexOf(first.Location.SourceTree!);
                    var origin = index >= 0 ? slice[index].Value : "(no tree)";
                    throw new Xunit.Sdk.XunitException($"{problems.Count} problems in generated code; first: {Harness.Format(first)}\n--- from {origin}");
                }
                compiled += trees.Count;
            }
            output.WriteLine($"{cases} fuzzed inputs ({withErrors} with errors): {outputs} generated files ({architectures} architectures, {sweeps} sweeps), {compiled} distinct files compiled, 0 errors, 0 warnings");
            Assert.True(cases >= Mutations, $"only {cases} cases");
            Assert.True(compiled >= 300, $"too few distinct generated files to mean much: {compiled}");
        }
    }
}
