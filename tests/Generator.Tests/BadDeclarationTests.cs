using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using Torchwright.Dsl;
using Torchwright.Dsl.Emit;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// Issue 14: declarations for which the generator used to emit C# that did not compile (errors only in
    /// obj/…/*.g.cs) or that it silently ignored. Now each either compiles (keywords, odd file names) or is a
    /// located TW diagnostic at the declaration, and nothing generated fails to compile.
    /// </summary>
    public sealed class BadDeclarationTests
    {
        /// <summary>Runs the generator over the sources and .arch texts and compiles everything against TorchSharp + Runtime.</summary>
        internal static (IReadOnlyList<Diagnostic> Generator, IReadOnlyList<Diagnostic> GeneratedErrors, GeneratorDriverRunResult Run) Build(
            IEnumerable<ArchText> archs, params (string Path, string Text)[] sources)
        {
            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            var compilation = CSharpCompilation.Create("Consumer",
                sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, Harness.ParseOptions, s.Path)),
                Harness.FrameworkReferences.Concat(torch),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));
            var driver = Harness.Driver(archs).RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
            var run = driver.GetRunResult();
            var generatedPaths = new HashSet<string>(run.GeneratedTrees.Select(t => t.FilePath));
            // Problems inside generated files (errors and warnings): what the user could not fix at a declaration.
            var inGenerated = output.GetDiagnostics()
                .Where(d => d.Severity >= DiagnosticSeverity.Warning && d.Location.SourceTree != null && generatedPaths.Contains(d.Location.SourceTree.FilePath))
                .ToList();
            return (generatorDiagnostics, inGenerated, run);
        }

        private static void AssertCompiles(IReadOnlyList<Diagnostic> inGenerated) =>
            Assert.True(inGenerated.Count == 0, string.Join("\n", inGenerated.Take(20).Select(Harness.Format)));

        private static Diagnostic Single(IReadOnlyList<Diagnostic> diagnostics, string id) =>
            Assert.Single(diagnostics, d => d.Id == id);

        // ---- names that are C# keywords -----------------------------------------------------------------

        [RequiresRuntimeFact]
        public void Reserved_keyword_architectures_and_sweeps_compile()
        {
            var text = "arch class : ResNet50 {}\narch string : ResNet50 { classes = 10 }\narch object : ResNet50 {}\n"
                     + "arch namespace : VanB0 {}\narch int : ResTLite {}\nsweep void : ResNet50 { classes = 7, 8 }\nsweep event : class { width = 0.5 }\n";
            var (diagnostics, inGenerated, run) = Build(new[] { new ArchText("models/keywords.arch", text) });
            Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format));
            AssertCompiles(inGenerated);
            var hints = run.GeneratedTrees.Select(t => Path.GetFileName(t.FilePath)).ToList();
            Assert.Contains("class.g.cs", hints);
            Assert.Contains("void.g.cs", hints);
            Assert.Contains(run.GeneratedTrees, t => t.ToString().Contains("public sealed partial class @class :"));
            Assert.Contains(run.GeneratedTrees, t => t.ToString().Contains("public static partial class @void"));
        }

        [RequiresRuntimeFact]
        public void Contextual_keyword_names_are_refused_at_the_name()
        {
            var text = "arch var : ResNet50 {}\narch nameof : ResNet50 {}\nsweep record : ResNet50 { classes = 7 }\narch dynamic : ResNet50 {}\n";
            var (diagnostics, inGenerated, run) = Build(new[] { new ArchText("models/contextual.arch", text) });
            AssertCompiles(inGenerated);
            var hits = diagnostics.Where(d => d.Id == "TW0039").OrderBy(d => d.Location.SourceSpan.Start).ToList();
            Assert.Equal(4, hits.Count);
            Assert.Equal(new TextSpan(5, 3), hits[0].Location.SourceSpan);
            Assert.Contains("Architecture 'var' would generate the C# type 'var', a contextual keyword", hits[0].GetMessage());
            Assert.Contains("Sweep 'record'", hits[2].GetMessage());
            Assert.DoesNotContain(run.GeneratedTrees, t => t.FilePath.EndsWith("var.g.cs", StringComparison.Ordinal));
        }

        [RequiresRuntimeFact]
        public void Keyword_named_attributed_classes_compile()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n"
                + "    [Architecture(Extends = \"ResNet50\", Classes = 10)]\n    public sealed partial class @class { }\n"
                + "    [Architecture(Extends = \"VanB0\")]\n    public sealed partial class @var { }\n"
                + "    [Architecture(Extends = \"ResTLite\")]\n    public sealed partial class @nameof { }\n}\n"
                + "namespace Lab.@event\n{\n    [Architecture(Extends = \"ResNet50\")]\n    public sealed partial class Net { }\n}\n";
            var (diagnostics, inGenerated, _) = Build(Array.Empty<ArchText>(), ("Keyword.cs", source));
            Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format));
            AssertCompiles(inGenerated);
        }

        [RequiresRuntimeFact]
        public void Names_of_the_generated_codes_aliases_are_refused_and_nothing_fails_to_compile()
        {
            // An attributed class of such a name is refused too (a user type of that name in the namespace would still
            // conflict with the alias in every generated file there, CS0576: the names are chosen to be unlikely).
            const string source = "using Torchwright;\nnamespace Sample\n{\n"
                + "    [Architecture(Extends = \"ResNet50\")]\n    public sealed partial class Tensor { }\n}\n";
            var (diagnostics, inGenerated, run) = Build(new[] { new ArchText("models/alias.arch", "arch nn : ResNet50 {}\narch Blocks : ResNet50 {}\n") }, ("Alias.cs", source));
            Assert.DoesNotContain(inGenerated, d => !d.GetMessage().Contains("'Tensor'", StringComparison.Ordinal));
            var hits = diagnostics.Where(d => d.Id == "TW0030").Select(d => d.GetMessage()).OrderBy(m => m, StringComparer.Ordinal).ToList();
            Assert.Equal(new[]
            {
                "Architecture 'nn' generates the C# type 'nn', which the generated code's using alias for TorchSharp.torch.nn (at the top of every generated namespace) already generates; rename one of them",
                "Class 'Tensor' generates the C# type 'Tensor', which the generated code's using alias for TorchSharp.torch.Tensor (at the top of every generated namespace) already generates; rename one of them",
            }, hits);
            Assert.Contains(run.GeneratedTrees, t => t.FilePath.EndsWith("Blocks.g.cs", StringComparison.Ordinal));
        }

        [Fact]
        public void The_keyword_lists_are_Roslyns()
        {
            static IEnumerable<string> Words(IEnumerable<SyntaxKind> kinds) => kinds.Select(SyntaxFacts.GetText)
                .Where(t => t.Length > 0 && char.IsLetter(t[0])).Distinct();
            Assert.Equal(Words(SyntaxFacts.GetReservedKeywordKinds()).OrderBy(x => x, StringComparer.Ordinal),
                CSharpEmitter.ReservedKeywords.OrderBy(x => x, StringComparer.Ordinal));
            var contextual = Words(SyntaxFacts.GetContextualKeywordKinds()).ToList();
            var missing = contextual.Where(k => !CSharpEmitter.ContextualKeywords.Contains(k)).ToList();
            Assert.True(missing.Count == 0, "contextual keywords not refused: " + string.Join(", ", missing));
        }

        // ---- two names, one type; a type named after a member -------------------------------------------

        [RequiresRuntimeFact]
        public void Colliding_type_names_are_reported_at_the_second_declaration_and_nothing_fails_to_compile()
        {
            var text = "arch A_B : ResNet50 {}\narch A__B : ResNet50 {}\narch S9_classes_7 : ResNet50 {}\nsweep S9 : ResNet50 { classes = 7, 8 }\n";
            var (diagnostics, inGenerated, _) = Build(new[] { new ArchText("models/names.arch", text) });
            AssertCompiles(inGenerated);
            var hits = diagnostics.Where(d => d.Id == "TW0030").OrderBy(d => d.Location.SourceSpan.Start).ToList();
            Assert.Equal(2, hits.Count);
            Assert.Equal(new TextSpan(text.IndexOf("A__B", StringComparison.Ordinal), 4), hits[0].Location.SourceSpan);
            Assert.Contains("which architecture 'A_B' (at models/names.arch(1,6)) already generates", hits[0].GetMessage());
            Assert.Equal(new TextSpan(text.IndexOf("S9 :", StringComparison.Ordinal), 2), hits[1].Location.SourceSpan);
            Assert.Contains("Variant 'S9/classes=7' generates the C# type 'S9_classes_7'", hits[1].GetMessage());
            Assert.Equal("models/names.arch", hits[1].Location.GetLineSpan().Path);
        }

        [RequiresRuntimeFact]
        public void An_attributed_class_named_after_a_generated_member_is_reported_at_its_name()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"ResNet50\")]\n    public sealed partial class Features { }\n}\n";
            var (diagnostics, inGenerated, _) = Build(Array.Empty<ArchText>(), ("Features.cs", source));
            AssertCompiles(inGenerated);
            var d = Single(diagnostics, "TW0031");
            Assert.Equal(new TextSpan(source.IndexOf("Features {", StringComparison.Ordinal), 8), d.Location.SourceSpan);
            Assert.Contains("Class 'Features' generates the C# type 'Features', but its generated class also has a member 'Features'", d.GetMessage());
        }

        /// <summary>MemberNames (what TW0031 checks) is exactly what the emitter declares, for each family.</summary>
        [Theory]
        [InlineData("ResNet50")]
        [InlineData("VanB0")]
        [InlineData("ResTLite")]
        [InlineData("BotNet50")]
        public void Member_names_match_the_emitted_class(string zooName)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("m.arch", $"arch M : {zooName} {{}}\n") });
            var arch = Assert.Single(result.Architectures);
            var tree = CSharpSyntaxTree.ParseText(CSharpEmitter.EmitArchitecture(arch, "M", new EmitOptions("N")), Harness.ParseOptions);
            var cls = tree.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Single(c => c.Identifier.ValueText == "M");
            var declared = new HashSet<string>();
            foreach (var m in cls.Members)
            {
                switch (m)
                {
                    case FieldDeclarationSyntax f: foreach (var v in f.Declaration.Variables) declared.Add(v.Identifier.ValueText); break;
                    case MethodDeclarationSyntax md: declared.Add(md.Identifier.ValueText); break;
                    case PropertyDeclarationSyntax p: declared.Add(p.Identifier.ValueText); break;
                    case BaseTypeDeclarationSyntax t: declared.Add(t.Identifier.ValueText); break;
                    case ConstructorDeclarationSyntax: break;
                    default: throw new Xunit.Sdk.XunitException("unexpected member kind " + m.Kind());
                }
            }
            Assert.Equal(declared.OrderBy(x => x, StringComparer.Ordinal), CSharpEmitter.MemberNames(arch).OrderBy(x => x, StringComparer.Ordinal));
        }

        /// <summary>A 900,000-character architecture name passed the checker and failed at emit time (CS7013) in the .g.cs file.</summary>
        [RequiresRuntimeFact]
        public void Names_and_generated_type_names_are_capped_and_a_long_variant_name_still_emits()
        {
            // Every axis restates a BotNet50 default, so each sweep has one valid variant whose class name is long. (Not the
            // per-stage lists as well as every cN. value: the lists would then have no effect, TW0024.)
            var axes = "input = 3x224x224; classes = 1000; stem_width = 64; block = bottleneck; depths = [3, 4, 6, 3]; shortcut = conv; "
                     + "c5.mhsa = [1, 1, 1]; c5.heads = 4; c2.depth = 3; c3.depth = 4; c4.depth = 6; c5.depth = 3; c2.width = 64; "
                     + "c3.width = 128; c4.width = 256; c5.width = 512; c2.stride = 1; c3.stride = 2; c4.stride = 2; c5.stride = 2; "
                     + "c2.out = 256; c3.out = 512; c4.out = 1024; c5.out = 2048";
            var longSweep = "L" + new string('b', 199);
            var text = $"sweep S : BotNet50 {{ {axes} }}\nsweep {longSweep} : BotNet50 {{ {axes} }}\narch {new string('x', 900_000)} : ResNet50 {{}}\n";
            var (diagnostics, inGenerated, run) = Build(new[] { new ArchText("models/long.arch", text) });
            AssertCompiles(inGenerated);
            var hits = diagnostics.Where(d => d.Id == "TW0016").OrderBy(d => d.Location.SourceSpan.Start).ToList();
            Assert.Equal(2, hits.Count);
            // The same variant class name, 199 characters longer.
            var shortClass = System.Text.RegularExpressions.Regex.Match(
                run.GeneratedTrees.Single(t => t.FilePath.EndsWith("S.g.cs", StringComparison.Ordinal)).ToString(), @"partial class (S_\w+) :").Groups[1].Value;
            Assert.InRange(shortClass.Length, 300, GeneratedNames.MaxTypeNameLength);
            Assert.Contains($"the generated C# type name's length = {shortClass.Length + 199} is out of range: at most 480 characters (metadata limits names); use a shorter name or fewer axes", hits[0].GetMessage());
            Assert.Contains("name length = 900000 is out of range: at most 200 characters", hits[1].GetMessage());
            Assert.True(hits[1].GetMessage().Length < 200, "the name is cut in the message");

            // The short sweep's variant is generated and survives metadata emission.
            var variant = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("S.g.cs", StringComparison.Ordinal)).ToString();
            Assert.Contains("public sealed partial class S_input_3x224x224_classes_1000_", variant);
            var torch = RequiresRuntimeFactAttribute.Assemblies
                .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)));
            var compilation = CSharpCompilation.Create("Long", run.GeneratedTrees, Harness.FrameworkReferences.Concat(torch),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
            using var image = new MemoryStream();
            var emitted = compilation.Emit(image);
            Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(5).Select(Harness.Format)));
        }

        // ---- attribute arguments --------------------------------------------------------------------------

        [Theory]
        [InlineData("double.NaN", "NaN")]
        [InlineData("double.PositiveInfinity", "positive infinity")]
        [InlineData("double.NegativeInfinity", "negative infinity")]
        [InlineData("0.0 / 0.0", "NaN")]
        public void A_non_finite_attribute_number_is_reported_at_the_argument(string expression, string said)
        {
            var source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"VanB0\", LayerScale = " + expression + ")]\n    public sealed partial class Scaled { }\n}\n";
            var (diagnostics, inGenerated, _) = Build(Array.Empty<ArchText>(), ("Scaled.cs", source));
            AssertCompiles(inGenerated);
            var d = Single(diagnostics, "TW0033");
            Assert.Equal(new TextSpan(source.IndexOf(expression, StringComparison.Ordinal), expression.Length), d.Location.SourceSpan);
            Assert.Equal($"Field 'layer_scale' is {said}; give a finite number", d.GetMessage());
        }

        [RequiresRuntimeFact]
        public void A_non_finite_width_multiplier_is_reported_too()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"ResNet50\", Width = double.PositiveInfinity)]\n    public sealed partial class Wide { }\n}\n";
            var (diagnostics, inGenerated, _) = Build(Array.Empty<ArchText>(), ("Wide.cs", source));
            AssertCompiles(inGenerated);
            Assert.Contains("Field 'width' is positive infinity", Single(diagnostics, "TW0033").GetMessage());
        }

        [Theory]
        [InlineData("\"a\\nb\"", @"Name ""a\u000Ab"" contains the character \u000A at position 2")]
        [InlineData("\"a\\u2028b\"", @"Name ""a\u2028b"" contains the character \u2028 at position 2")]
        [InlineData("\"\\u202Eevil\"", @"Name ""\u202Eevil"" contains the character \u202E at position 1")]
        [InlineData("\"tab\\there\"", @"contains the character \u0009 at position 4")]
        [InlineData("\"\"", @"Name """" is empty")]
        public void An_unprintable_Name_is_reported_at_the_argument(string literal, string message)
        {
            var source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"ResNet50\", Name = " + literal + ")]\n    public sealed partial class Named { }\n}\n";
            var (diagnostics, inGenerated, _) = Build(Array.Empty<ArchText>(), ("Named.cs", source));
            AssertCompiles(inGenerated);
            var d = Single(diagnostics, "TW0032");
            Assert.Equal(new TextSpan(source.IndexOf(literal, StringComparison.Ordinal), literal.Length), d.Location.SourceSpan);
            Assert.Contains(message, d.GetMessage());
        }

        [RequiresRuntimeFact]
        public void A_Name_with_quotes_and_backslashes_compiles()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"ResNet50\", Name = \"My \\\"net\\\" \\\\ <v2> & co\")]\n    public sealed partial class Quoted { }\n}\n";
            var (diagnostics, inGenerated, run) = Build(Array.Empty<ArchText>(), ("Quoted.cs", source));
            Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format));
            AssertCompiles(inGenerated);
            Assert.Contains(run.GeneratedTrees, t => t.ToString().Contains("base(\"My \\\"net\\\" \\\\ <v2> & co\")"));
        }

        [RequiresRuntimeFact]
        public void An_arch_file_name_with_line_separators_still_compiles()
        {
            var (diagnostics, inGenerated, run) = Build(new[] { new ArchText("models/od\u2028d\u0085\r\nname\u202E.arch", "arch OddFile : ResNet50 {}\n") });
            Assert.Empty(diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format));
            AssertCompiles(inGenerated);
            var code = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("OddFile.g.cs", StringComparison.Ordinal)).ToString();
            Assert.Contains(@"from od\u2028d\u0085\u000D\u000Aname\u202E.arch.", code);
        }

        [Fact]
        public void Architecture_on_a_partial_record_is_reported()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"ResNet50\")]\n    public sealed partial record Rec { }\n}\n";
            var (_, result, output) = Harness.Run(Array.Empty<ArchText>(), ("Rec.cs", source));
            var d = Single(result.Diagnostics, "TW0021");
            Assert.Equal(new TextSpan(source.IndexOf("Rec {", StringComparison.Ordinal), 3), d.Location.SourceSpan);
            Assert.Contains("'Rec' carries [Architecture] but is a record", d.GetMessage());
            Assert.Empty(result.GeneratedTrees.Where(t => t.FilePath.EndsWith("Rec.g.cs", StringComparison.Ordinal)));
        }

        [Fact]
        public void A_null_stage_name_is_reported_at_the_argument()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n    [Architecture(Extends = \"ResNet50\")]\n    [Stage(null, Depth = 2)]\n    public sealed partial class NullStage { }\n}\n";
            var (_, result, _) = Harness.Run(Array.Empty<ArchText>(), ("NullStage.cs", source));
            var d = Single(result.Diagnostics, "TW0002");
            Assert.Equal(new TextSpan(source.IndexOf("null", StringComparison.Ordinal), 4), d.Location.SourceSpan);
            Assert.Contains("[Stage] needs a stage name such as \"c5\", not null", d.GetMessage());
        }

        [Fact]
        public void A_stage_without_an_architecture_is_reported_at_the_stage()
        {
            const string source = "using Torchwright;\nnamespace Sample\n{\n    [Stage(\"c5\", Depth = 2)]\n    [Stage(\"c4\", Depth = 3)]\n    public sealed partial class Orphan { }\n}\n";
            var (_, result, _) = Harness.Run(Array.Empty<ArchText>(), ("Orphan.cs", source));
            var d = Single(result.Diagnostics, "TW0034");
            Assert.Equal(DiagnosticSeverity.Error, d.Severity);
            int at = source.IndexOf("Stage(\"c5\"", StringComparison.Ordinal);
            Assert.Equal(new TextSpan(at, "Stage(\"c5\", Depth = 2)".Length), d.Location.SourceSpan);
            Assert.Contains("'Orphan' carries [Stage] but no [Architecture]", d.GetMessage());
            Assert.Empty(result.GeneratedTrees.Where(t => t.FilePath.Contains("Orphan")));
        }
    }
}
