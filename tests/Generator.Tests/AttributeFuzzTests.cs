using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Torchwright.Dsl.Attributes;
using Torchwright.Dsl.Model;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// The attribute front end's share of the emitted-code compile fuzz: seeded random attributed classes (every
    /// property of [Architecture] and [Stage] with plausible, extreme and non-finite values, odd Names, keyword
    /// class names, bad stage names, [Stage] without [Architecture], records) in one consumer compilation. The
    /// generator must never throw, and every file it generates must compile against TorchSharp and the Runtime
    /// with no errors or warnings.
    /// </summary>
    public sealed class AttributeFuzzTests
    {
        private readonly ITestOutputHelper output;

        public AttributeFuzzTests(ITestOutputHelper output) => this.output = output;

        private const int Classes = 400;

        private static readonly string[] Bases = { "ResNet50", "BotNet50", "ResNeSt50", "CotNet50", "VanB0", "ResTLite", "ResTSmallPaperStem", "Nope" };
        private static readonly long[] Ints = { -1, 0, 1, 2, 3, 4, 7, 8, 16, 64, 256, 1000, int.MaxValue };
        private static readonly string[] Floats = { "0.5", "1.0", "2.0", "0.01", "1e-6", "-0.0", "1e300", "double.NaN", "double.PositiveInfinity", "double.Epsilon" };
        private static readonly string[] Names = { "ok", "a\nb", "a\u2028b", "\u202Eevil", "tab\there", "", "x y", "class", "Macs", "q\"uote\\", "\u00e9t\u00e9", "\ud800" };
        private static readonly string[] Stages = { "c2", "c3", "c4", "c5", "c6", "c05", "c1", "x", "" };
        private static readonly string[] ClassNames = { "Net", "@class", "@event", "@var", "@nameof", "Macs", "Features", "layer1", "A_B", "\u00c9cole" };

        private static string Literal(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (var c in s)
            {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < 0x20 || c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                else sb.Append(c);
            }
            return sb.Append('"').ToString();
        }

        private static string Value(FieldInfo f, Random rng) => f.Type switch
        {
            FieldType.Int => Ints[rng.Next(Ints.Length)].ToString(CultureInfo.InvariantCulture),
            FieldType.Float => Floats[rng.Next(Floats.Length)],
            FieldType.Bool => rng.Next(2) == 0 ? "true" : "false",
            FieldType.IntList => "new[] { " + string.Join(", ", Enumerable.Range(0, rng.Next(6)).Select(_ => rng.Next(4) == 0 ? Ints[rng.Next(Ints.Length)] : rng.Next(2))) + " }",
            FieldType.Dims => Literal(new[] { "3x224x224", "224x224", "3x64x64", "0x1", "abc", "1x2x3x4" }[rng.Next(6)]),
            _ => Literal(f.Words != null && rng.Next(5) > 0 ? f.Words[rng.Next(f.Words.Length)] : "bogus"),
        };

        private static string Arguments(string attribute, Random rng, int max)
        {
            var props = AttributeModel.Properties(attribute).ToList();
            var picked = Enumerable.Range(0, rng.Next(max + 1)).Select(_ => props[rng.Next(props.Count)]).GroupBy(p => p.Key).Select(g => g.First());
            return string.Join(", ", picked.Select(p => p.Key + " = " + Value(p.Value, rng)));
        }

        private static string RandomClass(int i, Random rng)
        {
            var sb = new StringBuilder();
            sb.Append("namespace Fuzz.N").Append(i).Append("\n{\n");
            bool architecture = rng.Next(12) != 0;
            if (architecture)
            {
                var args = new List<string> { "Extends = " + Literal(Bases[rng.Next(Bases.Length)]) };
                if (rng.Next(4) == 0) args.Add("Name = " + Literal(Names[rng.Next(Names.Length)] + (rng.Next(2) == 0 ? i.ToString(CultureInfo.InvariantCulture) : "")));
                var more = Arguments(AttributeModel.ArchitectureAttribute, rng, 3);
                if (more.Length > 0) args.Add(more);
                sb.Append("    [Torchwright.Architecture(").Append(string.Join(", ", args)).Append(")]\n");
            }
            for (int s = rng.Next(3); s > 0; s--)
            {
                var stage = rng.Next(10) == 0 ? "null" : Literal(Stages[rng.Next(Stages.Length)]);
                var more = Arguments(AttributeModel.StageAttribute, rng, 3);
                sb.Append("    [Torchwright.Stage(").Append(stage).Append(more.Length > 0 ? ", " + more : "").Append(")]\n");
            }
            var name = ClassNames[rng.Next(ClassNames.Length)];
            // Mostly unique architecture names across the compilation; the bare picks (keywords, member names) now and then.
            if (rng.Next(6) != 0) name += "_" + i.ToString(CultureInfo.InvariantCulture);
            sb.Append("    public sealed partial ").Append(rng.Next(15) == 0 ? "record" : "class").Append(' ').Append(name).Append(" { }\n}\n");
            return sb.ToString();
        }

        /// <summary>
        /// One class for each attribute-level error the test asserts below, so the assertion does not depend on the random
        /// stream (which shifts whenever the catalog gains a field) happening to produce it.
        /// </summary>
        private const string Sure = @"namespace Fuzz.Sure
{
    [Torchwright.Architecture(Extends = ""ResNet50"")] public sealed class NotPartial { }
    [Torchwright.Architecture(Extends = ""ResNet50"")] public sealed partial class CheckInput { }
    [Torchwright.Architecture(Extends = ""ResNet50"", Name = ""tab\there"")] public sealed partial class Tabbed { }
    [Torchwright.Architecture(Extends = ""ResNet50"", Width = double.NaN)] public sealed partial class NotFinite { }
    [Torchwright.Stage(""c5"", Heads = 2)] public sealed partial class StageOnly { }
}
";

        [RequiresRuntimeFact]
        public void Every_file_generated_for_random_attributed_classes_compiles()
        {
            var rng = new Random(1414);
            var sources = Enumerable.Range(0, Classes).Select(i => ("C" + i + ".cs", RandomClass(i, rng))).Append(("Sure.cs", Sure)).ToArray();
            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            var compilation = CSharpCompilation.Create("AttributeFuzz",
                sources.Select(s => CSharpSyntaxTree.ParseText(s.Item2, Harness.ParseOptions, s.Item1)),
                Harness.FrameworkReferences.Concat(torch),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
            var driver = Harness.Driver(Array.Empty<ArchText>()).RunGeneratorsAndUpdateCompilation(compilation, out var updated, out var generatorDiagnostics);
            var run = driver.GetRunResult();
            Assert.All(run.Results, r => Assert.Null(r.Exception));

            var generated = run.GeneratedTrees.Where(t => !t.FilePath.EndsWith("Torchwright.Attributes.g.cs", StringComparison.Ordinal)).ToList();
            var generatedPaths = new HashSet<string>(generated.Select(t => t.FilePath));
            var problems = updated.GetDiagnostics()
                .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree != null && generatedPaths.Contains(d.Location.SourceTree.FilePath))
                .ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(10).Select(d => Harness.Format(d) + "\n" + d.Location.SourceTree!.ToString().Substring(0, 400))));

            var tw = generatorDiagnostics.Where(d => d.Id.StartsWith("TW", StringComparison.Ordinal)).ToList();
            Assert.All(tw.Where(d => d.Severity == DiagnosticSeverity.Error), d => Assert.True(d.Location.IsInSource, "unlocated: " + Harness.Format(d)));
            output.WriteLine($"{Classes} random attributed classes: {generated.Count} generated files compiled with 0 errors and 0 warnings; "
                + $"{tw.Count(d => d.Severity == DiagnosticSeverity.Error)} TW errors ({string.Join(", ", tw.GroupBy(d => d.Id).OrderBy(g => g.Key).Select(g => g.Key + " x" + g.Count()))})");
            Assert.True(generated.Count >= 50, $"too few classes survived to the emitter: {generated.Count}");
            foreach (var id in new[] { "TW0021", "TW0031", "TW0032", "TW0033", "TW0034" })
                Assert.True(tw.Any(d => d.Id == id), $"no {id} among the TW diagnostics");
        }
    }
}
