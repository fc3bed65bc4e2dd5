using System.Linq;
using Xunit;

namespace Torchwright.Generator.Tests
{
    public sealed class OptionsTests
    {
        [Theory]
        [InlineData("My.Models", "My.Root", "My.Models")]
        [InlineData(null, "My.Root", "My.Root")]
        [InlineData("", "My.Root", "My.Root")]
        [InlineData("not a namespace", null, ArchitectureGenerator.DefaultNamespace)]
        [InlineData(null, null, ArchitectureGenerator.DefaultNamespace)]
        [InlineData("My.event.class", null, "My.@event.@class")]
        [InlineData(null, "Lab.checked", "Lab.@checked")]
        public void NamespaceComesFromTorchwrightNamespaceThenRootNamespace(string? tw, string? root, string expected) =>
            Assert.Equal(expected, ArchitectureGenerator.ChooseNamespace(tw, root));

        [Fact]
        public void ArchOutputUsesTheConfiguredNamespaceAndAttributeOutputItsClassNamespace()
        {
            var texts = new[] { new ArchText("m/small.arch", "arch Small : ResNet50 {\n  classes = 10\n}\n") };
            var driver = Harness.Driver(texts, ns: "Custom.Space").RunGenerators(Harness.Compilation(("MyBot.cs", Samples.MyBot)));
            var sources = driver.GetRunResult().Results[0].GeneratedSources;
            Assert.Contains("namespace Custom.Space", sources.Single(s => s.HintName == "Small.g.cs").SourceText.ToString());
            var bot = sources.Single(s => s.HintName == "MyBot.g.cs").SourceText.ToString();
            Assert.Contains("namespace Sample.Models", bot);
            Assert.Contains("public sealed partial class MyBot", bot);
        }

        [Fact]
        public void InternalClassGetsAnInternalPart()
        {
            const string source = "using Torchwright;\nnamespace S {\n  [Architecture(Extends = \"ResNet50\", Name = \"Renamed\", Classes = 10)]\n  partial class Hidden { }\n}\n";
            var driver = Harness.Driver(new ArchText[0]).RunGenerators(Harness.Compilation(("Hidden.cs", source)));
            var result = driver.GetRunResult();
            Assert.Empty(result.Diagnostics);
            var text = result.Results[0].GeneratedSources.Single(s => s.HintName == "Renamed.g.cs").SourceText.ToString();
            Assert.Contains("internal sealed partial class Hidden", text);
            Assert.Contains("public const long Classes = 10L;", text);
        }
    }
}
