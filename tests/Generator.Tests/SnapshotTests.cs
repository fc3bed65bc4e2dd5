using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>Every generated file and every diagnostic set is compared with a committed snapshot.</summary>
    public sealed class SnapshotTests
    {
        /// <summary>The zoo and the shipped sweep, as a consumer that adds architectures/**/*.arch would see them.</summary>
        [Fact]
        public void Zoo()
        {
            var (_, result, output) = Harness.Run(Harness.ZooTexts());
            Assert.Empty(result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(Harness.Format));
            var sources = result.Results[0].GeneratedSources;
            // Every zoo architecture and the sweep has an output, plus the attribute declarations.
            foreach (var hint in new[] { "ResNet50.g.cs", "BotNet50.g.cs", "BotNet50_011.g.cs", "ResNeSt50.g.cs", "CotNet50.g.cs",
                                         "VanB0.g.cs", "VanB1.g.cs", "ResTLite.g.cs", "ResTSmall.g.cs", "BotC5Placement.g.cs", "Torchwright.Attributes.g.cs" })
                Assert.Contains(sources, s => s.HintName == hint);
            var failures = sources
                .Select(s => Snapshot.Check(Snapshot.SourceName(nameof(SnapshotTests) + "." + nameof(Zoo), s.HintName), "cs", s.SourceText.ToString()))
                .Where(f => f != null).ToList();
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }

        /// <summary>An attribute-declared BoTNet with the paper's [0, 1, 1] c5 placement.</summary>
        [Fact]
        public void AttributeBot()
        {
            var (_, result, _) = Harness.Run(new ArchText[0], ("MyBot.cs", Samples.MyBot));
            Assert.Empty(result.Diagnostics.Select(Harness.Format));
            var failures = result.Results[0].GeneratedSources
                .Where(s => s.HintName != "Torchwright.Attributes.g.cs")
                .Select(s => Snapshot.Check(Snapshot.SourceName(nameof(SnapshotTests) + "." + nameof(AttributeBot), s.HintName), "cs", s.SourceText.ToString()))
                .Where(f => f != null).ToList();
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }

        /// <summary>One bad input per TW id the checker can be made to report; all diagnostics in MSBuild form.</summary>
        [Fact]
        public void Diagnostics()
        {
            var texts = Samples.BadArch.Select(kv => new ArchText("bad/" + kv.Key + ".arch", kv.Value)).ToList();
            var (_, result, _) = Harness.Run(texts, ("Bad.cs", Samples.BadAttributes));
            var lines = result.Diagnostics
                .OrderBy(d => d.Location.GetLineSpan().Path, System.StringComparer.Ordinal)
                .ThenBy(d => d.Location.SourceSpan.Start).ThenBy(d => d.Id, System.StringComparer.Ordinal)
                .Select(Harness.Format).ToList();
            Snapshot.Verify(nameof(SnapshotTests) + "." + nameof(Diagnostics), "txt", string.Join("\n", lines) + "\n");
            var ids = new HashSet<string>(result.Diagnostics.Select(d => d.Id));
            var missing = Samples.Triggerable.Where(id => !ids.Contains(id)).ToList();
            Assert.True(missing.Count == 0, "not triggered: " + string.Join(", ", missing));
        }
    }
}
