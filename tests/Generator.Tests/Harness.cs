using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Torchwright.Generator.Tests
{
    /// <summary>An in-memory .arch AdditionalFile.</summary>
    public sealed class ArchText : AdditionalText
    {
        private readonly SourceText text;

        public ArchText(string path, string text)
        {
            Path = path;
            this.text = SourceText.From(text, System.Text.Encoding.UTF8);
        }

        public override string Path { get; }

        public override SourceText GetText(CancellationToken cancellationToken = default) => text;
    }

    internal sealed class TestOptions : AnalyzerConfigOptionsProvider
    {
        private readonly Options global;

        public TestOptions(IDictionary<string, string> values) => global = new Options(values);

        public override AnalyzerConfigOptions GlobalOptions => global;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

        private sealed class Options : AnalyzerConfigOptions
        {
            public static readonly Options Empty = new Options(new Dictionary<string, string>());
            private readonly IDictionary<string, string> values;

            public Options(IDictionary<string, string> values) => this.values = values;

            public override bool TryGetValue(string key, out string value)
            {
                if (values.TryGetValue(key, out var v)) { value = v; return true; }
                value = null!;
                return false;
            }
        }
    }

    internal static class Harness
    {
        public static readonly string RepoRoot = FindRoot();

        private static string FindRoot()
        {
            var dir = AppContext.BaseDirectory;
            while (dir != null && !File.Exists(Path.Combine(dir, "Generator.sln"))) dir = Path.GetDirectoryName(dir);
            return dir ?? throw new InvalidOperationException("Generator.sln not found above " + AppContext.BaseDirectory);
        }

        public static readonly ImmutableArray<MetadataReference> FrameworkReferences =
            ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
                .Where(p => p.Length > 0)
                .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
                .ToImmutableArray();

        public static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Latest);

        /// <summary>The zoo and the shipped sweep as AdditionalTexts, with repository-relative paths.</summary>
        public static IReadOnlyList<ArchText> ZooTexts()
        {
            var dir = Path.Combine(RepoRoot, "architectures");
            return Directory.GetFiles(dir, "*.arch", SearchOption.AllDirectories)
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => new ArchText(Path.GetRelativePath(RepoRoot, p).Replace('\\', '/'), File.ReadAllText(p)))
                .ToList();
        }

        public static CSharpCompilation Compilation(params (string Path, string Text)[] sources) =>
            CSharpCompilation.Create("Consumer",
                sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, ParseOptions, s.Path)),
                FrameworkReferences,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

        public static GeneratorDriver Driver(IEnumerable<AdditionalText> texts, bool track = false, string? ns = "Torchwright.Zoo")
        {
            var options = new Dictionary<string, string>();
            if (ns != null) options["build_property.TorchwrightNamespace"] = ns;
            return CSharpGeneratorDriver.Create(
                new[] { new ArchitectureGenerator().AsSourceGenerator() },
                texts,
                ParseOptions,
                new TestOptions(options),
                new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));
        }

        public static (GeneratorDriver Driver, GeneratorDriverRunResult Result, Compilation Output) Run(
            IEnumerable<AdditionalText> texts, params (string Path, string Text)[] sources)
        {
            var driver = Driver(texts).RunGeneratorsAndUpdateCompilation(Compilation(sources), out var output, out _);
            return (driver, driver.GetRunResult(), output);
        }

        /// <summary>MSBuild form, one per line: path(line,col): error TW0004: message.</summary>
        public static string Format(Diagnostic d)
        {
            var sev = d.Severity switch { DiagnosticSeverity.Error => "error", DiagnosticSeverity.Warning => "warning", _ => "info" };
            if (d.Location == Location.None) return $"{sev} {d.Id}: {d.GetMessage()}";
            var span = d.Location.GetLineSpan();
            return $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): {sev} {d.Id}: {d.GetMessage()}";
        }
    }
}
