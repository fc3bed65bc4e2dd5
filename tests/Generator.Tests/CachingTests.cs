using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>Step-tracking tests: an edit re-runs only what it touches.</summary>
    public sealed class CachingTests
    {
        private static readonly string[] OurSteps =
        {
            ArchitectureGenerator.Steps.Namespace, ArchitectureGenerator.Steps.AttributeClasses, ArchitectureGenerator.Steps.ArchFiles,
            ArchitectureGenerator.Steps.Compilation, ArchitectureGenerator.Steps.EmitModels, ArchitectureGenerator.Steps.Diagnostics,
            ArchitectureGenerator.Steps.ExternalDiagnostics, ArchitectureGenerator.Steps.SourceDiagnostics, ArchitectureGenerator.Steps.OrphanStages,
        };

        private const string Unrelated = "namespace Sample { public static class Helpers { public static int Two() => 2; } }\n";

        private static (GeneratorDriver Driver, CSharpCompilation Compilation, IReadOnlyList<ArchText> Texts) FirstRun()
        {
            var texts = Harness.ZooTexts();
            var compilation = Harness.Compilation(("MyBot.cs", Samples.MyBot), ("Helpers.cs", Unrelated));
            var driver = Harness.Driver(texts, track: true).RunGenerators(compilation);
            Assert.Empty(driver.GetRunResult().Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error));
            return (driver, compilation, texts);
        }

        private static IEnumerable<(string Step, object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult run, string step) =>
            run.TrackedSteps.TryGetValue(step, out var steps)
                ? steps.SelectMany(s => s.Outputs).Select(o => (step, o.Value, o.Reason))
                : Enumerable.Empty<(string, object, IncrementalStepRunReason)>();

        /// <summary>The outputs of the source-output steps fed by the EmitModels step (one per generated file).</summary>
        private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> EmitOutputs(GeneratorRunResult run) =>
            run.TrackedOutputSteps.SelectMany(kv => kv.Value)
                .Where(s => s.Inputs.Any(i => i.Source.Name == ArchitectureGenerator.Steps.EmitModels))
                .SelectMany(s => s.Outputs);

        private static bool Reused(IncrementalStepRunReason r) => r == IncrementalStepRunReason.Cached || r == IncrementalStepRunReason.Unchanged;

        [Fact]
        public void EditingOneArchFileRegeneratesOnlyItsArchitectures()
        {
            var (driver, compilation, texts) = FirstRun();
            var van = texts.Single(t => t.Path == "architectures/van.arch");
            var edited = new ArchText(van.Path, van.GetText().ToString().Replace("depths = [2, 2, 4, 2]", "depths = [2, 2, 3, 2]"));
            Assert.NotEqual(van.GetText().ToString(), edited.GetText().ToString());

            driver = driver.ReplaceAdditionalText(van, edited).RunGenerators(compilation);
            var run = driver.GetRunResult().Results[0];

            // Only van.arch is re-parsed.
            var parsed = Outputs(run, ArchitectureGenerator.Steps.ArchFiles).ToList();
            Assert.Equal(texts.Count, parsed.Count);
            foreach (var (_, value, reason) in parsed)
            {
                var path = ((ParsedArch)value).File.Path;
                Assert.True(path == van.Path ? reason == IncrementalStepRunReason.Modified : Reused(reason), $"{path}: {reason}");
            }

            // Only VanB1 (the edited declaration in van.arch) gets a new emit model; every other output is reused.
            var models = Outputs(run, ArchitectureGenerator.Steps.EmitModels).ToList();
            Assert.True(models.Count >= 11, "emit models: " + models.Count);
            var changed = models.Where(m => !Reused(m.Reason)).Select(m => ((EmitModel)m.Value).HintName).ToList();
            Assert.Equal(new[] { "VanB1.g.cs" }, changed);
            var inVan = new HashSet<string> { "VanB0.g.cs", "VanB1.g.cs" };
            foreach (var m in models)
            {
                var hint = ((EmitModel)m.Value).HintName;
                if (!inVan.Contains(hint)) Assert.True(Reused(m.Reason), $"{hint}: {m.Reason}");
            }

            // The source outputs follow: one regenerated file.
            var sourceOutputs = EmitOutputs(run).ToList();
            Assert.Equal(1, sourceOutputs.Count(o => !Reused(o.Reason)));
        }

        [Fact]
        public void UnrelatedCSharpEditReusesEveryStep()
        {
            var (driver, compilation, _) = FirstRun();
            var old = compilation.SyntaxTrees.Single(t => t.FilePath == "Helpers.cs");
            var updated = CSharpSyntaxTree.ParseText(Unrelated.Replace("=> 2;", "=> 1 + 1;"), Harness.ParseOptions, "Helpers.cs");
            compilation = compilation.ReplaceSyntaxTree(old, updated);

            driver = driver.RunGenerators(compilation);
            var run = driver.GetRunResult().Results[0];

            foreach (var step in OurSteps)
            {
                var outputs = Outputs(run, step).ToList();
                Assert.True(run.TrackedSteps.ContainsKey(step), "step not tracked: " + step);
                foreach (var (_, value, reason) in outputs)
                    Assert.True(Reused(reason), $"{step}: {reason} ({value})");
            }
            // Every output step is reused too: the generated files, and both diagnostic reporters. (The reporter for
            // attribute-located diagnostics combines with the Compilation to re-anchor them in their syntax tree; its
            // input changes, but it produces the same (nothing) and is Unchanged.)
            var sourceOutputs = EmitOutputs(run).ToList();
            Assert.True(sourceOutputs.Count >= 12, "source outputs: " + sourceOutputs.Count);
            var all = run.TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs).ToList();
            Assert.True(all.Count > sourceOutputs.Count);
            Assert.All(all, o => Assert.True(Reused(o.Reason), o.Reason.ToString()));
        }
    }
}
