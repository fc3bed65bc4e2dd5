using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// A declaration with errors gets a placeholder class (PlaceholderEmitter), so the build's errors are the TW ones only:
    /// code that uses the class (constants, constructor, forward, forward_features, the Module base) adds no CS errors.
    /// </summary>
    public sealed class PlaceholderTests
    {
        private static CSharpCompilation WithTorch(params (string Path, string Text)[] sources) =>
            CSharpCompilation.Create("Consumer",
                sources.Select(s => CSharpSyntaxTree.ParseText(s.Text, Harness.ParseOptions, s.Path)),
                Harness.FrameworkReferences.Concat(RequiresRuntimeFactAttribute.Assemblies
                    .Select(a => (MetadataReference)MetadataReference.CreateFromFile(Path.Combine(AppContext.BaseDirectory, a)))),
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, warningLevel: 9999));

        /// <summary>Generator diagnostics and the diagnostics of the compilation it produced, in MSBuild form, warnings and errors.</summary>
        private static (List<string> Generator, List<string> CSharp, GeneratorDriverRunResult Run) Build(IEnumerable<AdditionalText> texts, params (string Path, string Text)[] sources)
        {
            var driver = Harness.Driver(texts).RunGeneratorsAndUpdateCompilation(WithTorch(sources), out var output, out var generatorDiagnostics);
            return (generatorDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format).ToList(),
                output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format).ToList(),
                driver.GetRunResult());
        }

        private static string Uses(string type, bool stages) => $@"
namespace Consumer
{{
    public static class Use
    {{
        public const long Params = {type}.ParameterCount;
        public static long Sum() => {type}.Macs + {type}.MacsWithoutAttention + {type}.Classes + {type}.InputChannels * {type}.InputHeight * {type}.InputWidth
            {(stages ? $"+ {type}.C2Channels + {type}.C5Height * {type}.C5Width" : "")};
        public static bool Fixed => {type}.InputSizeDeclared;
        public static global::TorchSharp.torch.nn.Module<global::TorchSharp.torch.Tensor, global::TorchSharp.torch.Tensor> Make() => new {type}();
        public static global::TorchSharp.torch.Tensor Run({type} m, global::TorchSharp.torch.Tensor x) => {(stages ? "m.forward_features(x).C5" : "m.forward(x)")};
        public static long Count({type} m) => System.Linq.Enumerable.Count(m.parameters());
    }}
}}
";

        [RequiresRuntimeFact]
        public void Failed_attribute_declaration_reports_its_TW_error_and_nothing_else()
        {
            const string declaration = @"using Torchwright;

namespace Sample
{
    [Architecture(Extends = ""BotNet50"")]
    [Stage(""c3"", In = 100)]
    public sealed partial class Channels { }
}
";
            var (generator, csharp, run) = Build(Array.Empty<AdditionalText>(), ("Channels.cs", declaration), ("Use.cs", Uses("Sample.Channels", stages: true)));
            Assert.Equal(new[] { "Channels.cs(6,23): error TW0004: c3: declared 100 input channels but 256 flow in from c2.out; set it to 256 or change c2.out" }, generator);
            Assert.True(csharp.Count == 0, string.Join("\n", csharp));
            var placeholder = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("Channels.g.cs", StringComparison.Ordinal)).ToString();
            Assert.Contains("public sealed partial class Channels : global::TorchSharp.torch.nn.Module<", placeholder);
            Assert.Contains("public const long ParameterCount = -1L", placeholder);
            Assert.Contains("public const long C5Channels = -1, C5Height = -1, C5Width = -1;", placeholder);
            Assert.Contains("throw new global::System.InvalidOperationException(NotBuilt)", placeholder);
        }

        /// <summary>Every bad .arch sample (one per TW id) that declares an architecture: its class exists, and using it adds no error.</summary>
        [RequiresRuntimeFact]
        public void Every_failed_arch_declaration_gets_a_class_that_code_can_use()
        {
            var checkedNames = new List<string>();
            foreach (var (id, text) in Samples.BadArch)
            {
                if (!text.StartsWith("arch ", StringComparison.Ordinal)) continue;   // tw0011: a sweep (emitted with its valid variants)
                var names = Regex.Matches(text, @"^arch (\w+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Distinct().ToList();
                var uses = names.Select((n, i) => ($"Use{i}.cs", Uses("Torchwright.Zoo." + n, stages: false).Replace("class Use", "class Use" + i))).ToArray();
                var (generator, csharp, _) = Build(new[] { new ArchText($"{id}.arch", text) }, uses);
                Assert.True(generator.Count > 0, id);
                Assert.True(csharp.Count == 0, id + ":\n" + string.Join("\n", csharp));
                checkedNames.AddRange(names);
            }
            // Unresolvable (a cycle, an unknown base), unparsable and unbuildable declarations alike; warnings-only samples
            // (tw0100, tw0101, tw0103) are real classes.
            Assert.Subset(checkedNames.ToHashSet(), new HashSet<string> { "Syntax", "CycleA", "CycleB", "UnknownBase", "Channels", "Missing", "BigMap" });
        }

        /// <summary>No placeholder where it could not compile cleanly: a type named like one of its members, or a C# (contextual) keyword.</summary>
        [RequiresRuntimeFact]
        public void No_placeholder_where_it_could_not_compile()
        {
            const string declaration = @"using Torchwright;

namespace Sample
{
    [Architecture(Extends = ""ResNet50"")]
    [Stage(""c3"", In = 100)]
    public sealed partial class @class { }
}
";
            var arch = new ArchText("c2.arch", "arch C2Channels : ResNet50 {\n  c3.in = 100\n}\narch forward : ResNet50 {\n  c3.in = 100\n}\n"
                + "arch record : ResNet50 {\n  c3.in = 100\n}\n");
            var (generator, csharp, run) = Build(new[] { arch }, ("Class.cs", declaration));
            Assert.Equal(4, generator.Count(d => d.Contains("error TW0004:", StringComparison.Ordinal)));
            Assert.True(csharp.Count == 0, string.Join("\n", csharp));
            Assert.DoesNotContain(run.GeneratedTrees, t => t.FilePath.EndsWith("C2Channels.g.cs", StringComparison.Ordinal)
                || t.FilePath.EndsWith("forward.g.cs", StringComparison.Ordinal) || t.FilePath.EndsWith("class.g.cs", StringComparison.Ordinal)
                || t.FilePath.EndsWith("record.g.cs", StringComparison.Ordinal));
        }

        [RequiresRuntimeFact]
        public void Placeholder_has_the_public_members_of_the_generated_class()
        {
            var source = Samples.MyBot;
            var (generator, csharp, run) = Build(Array.Empty<AdditionalText>(), ("MyBot.cs", source));
            Assert.Empty(generator);
            Assert.Empty(csharp);
            var real = run.GeneratedTrees.Single(t => t.FilePath.EndsWith("MyBot.g.cs", StringComparison.Ordinal)).ToString();

            var failed = new FailedArchitecture("MyBot", SourceLocation.None, EquatableArray.From(new[] { "c2", "c3", "c4", "c5" }));
            var placeholder = PlaceholderEmitter.Emit(failed, "MyBot", new EmitOptions("Sample.Models", "public", "MyBot.cs"));

            Assert.Equal(PublicSurface(real), PublicSurface(placeholder));
        }

        /// <summary>The public members of MyBot and of its nested types, as C# signatures (constants without their values).</summary>
        private static List<string> PublicSurface(string generated)
        {
            var attributes = CSharpSyntaxTree.ParseText(AttributeSourceText(), Harness.ParseOptions, "Attributes.cs");
            var compilation = WithTorch(("MyBot.g.cs", generated))
                .AddSyntaxTrees(attributes);
            var type = compilation.GetTypeByMetadataName("Sample.Models.MyBot")!;
            Assert.NotNull(type);
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(Harness.Format).ToList();
            Assert.True(errors.Count == 0, string.Join("\n", errors));
            var members = new List<string> { type.ToDisplayString() + " : " + type.BaseType!.ToDisplayString() };
            void Add(INamedTypeSymbol t)
            {
                foreach (var m in t.GetMembers().Where(m => m.DeclaredAccessibility == Accessibility.Public && !m.IsImplicitlyDeclared))
                {
                    members.Add(m.Kind + " " + m.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat));
                    if (m is INamedTypeSymbol nested) Add(nested);
                }
            }
            Add(type);
            members.Sort(StringComparer.Ordinal);
            return members;
        }

        private static string AttributeSourceText() => Torchwright.Dsl.Attributes.AttributeModel.AttributeSource;
    }
}
