using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>Diagnostics point at the attribute argument in C#, or at the value's span inside a .arch file.</summary>
    public sealed class LocationTests
    {
        [Fact]
        public void ChannelMismatchInAttributePointsAtTheArgument()
        {
            const string source = @"using Torchwright;

namespace Sample
{
    [Architecture(Extends = ""ResNet50"")]
    [Stage(""c3"", In = 100)]
    public sealed partial class Channels { }
}
";
            var (_, result, _) = Harness.Run(new ArchText[0], ("Channels.cs", source));
            var d = Assert.Single(result.Diagnostics, x => x.Id == "TW0004");
            Assert.Equal(DiagnosticSeverity.Error, d.Severity);
            Assert.True(d.Location.IsInSource, "the diagnostic is anchored in the C# syntax tree");
            Assert.Equal("Channels.cs", d.Location.SourceTree!.FilePath);

            int at = source.IndexOf("100", System.StringComparison.Ordinal);
            Assert.Equal(new TextSpan(at, 3), d.Location.SourceSpan);
            var span = d.Location.GetLineSpan();
            Assert.Equal(new LinePosition(5, 22), span.StartLinePosition);
            Assert.Equal(new LinePosition(5, 25), span.EndLinePosition);
            Assert.Contains("declared 100 input channels but 256 flow in", d.GetMessage());
            Assert.Equal("https://github.com/torchwright/torchwright/blob/main/docs/diagnostics.md#tw0004", d.Descriptor.HelpLinkUri);
            Assert.Equal("Torchwright", d.Descriptor.Category);
        }

        [Fact]
        public void ChannelMismatchInArchFilePointsAtTheValue()
        {
            const string text = "# channels\narch Channels : ResNet50 {\n  c3.in = 100\n}\n";
            var (_, result, _) = Harness.Run(new[] { new ArchText("models/channels.arch", text) });
            var d = Assert.Single(result.Diagnostics, x => x.Id == "TW0004");
            Assert.Equal(LocationKind.ExternalFile, d.Location.Kind);
            int at = text.IndexOf("100", System.StringComparison.Ordinal);
            Assert.Equal(new TextSpan(at, 3), d.Location.SourceSpan);
            var span = d.Location.GetLineSpan();
            Assert.Equal("models/channels.arch", span.Path);
            Assert.Equal(new LinePosition(2, 10), span.StartLinePosition);
            Assert.Equal(new LinePosition(2, 13), span.EndLinePosition);
        }

        [Fact]
        public void MaskItemsAreLocatedPerElement()
        {
            const string source = @"using Torchwright;

namespace Sample
{
    [Architecture(Extends = ""BotNet50"")]
    [Stage(""c5"", Mhsa = new[] { 0, 1 })]
    public sealed partial class ShortMask { }
}
";
            var (_, result, _) = Harness.Run(new ArchText[0], ("ShortMask.cs", source));
            var d = Assert.Single(result.Diagnostics, x => x.Id == "TW0007");
            Assert.True(d.Location.IsInSource);
            Assert.Equal(source.IndexOf("new[]", System.StringComparison.Ordinal), d.Location.SourceSpan.Start);
        }

        [Fact]
        public void ClassThatIsNotPartialIsReportedAtItsName()
        {
            const string source = "using Torchwright;\nnamespace S {\n  [Architecture(Extends = \"ResNet50\")]\n  public sealed class Plain { }\n}\n";
            var (_, result, output) = Harness.Run(new ArchText[0], ("Plain.cs", source));
            var d = Assert.Single(result.Diagnostics, x => x.Id == "TW0021");
            Assert.Equal(source.IndexOf("Plain", System.StringComparison.Ordinal), d.Location.SourceSpan.Start);
            Assert.DoesNotContain(result.Results[0].GeneratedSources, s => s.HintName == "Plain.g.cs");
        }
    }
}
