using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Attributes;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>Both front ends produce one IR: attributes and the zoo's .arch text give equal ArchitectureIR.</summary>
    public sealed class FrontEndEquivalenceTests
    {
        private const string Declarations = @"using Torchwright;

namespace Equivalence
{
    [Architecture(Input = ""3x224x224"", Classes = 1000, Stem = ""resnet"", StemWidth = 64, Block = ""bottleneck"",
        Depths = new[] { 3, 4, 6, 3 }, Widths = new[] { 64, 128, 256, 512 }, Outs = new[] { 256, 512, 1024, 2048 },
        Strides = new[] { 1, 2, 2, 2 }, Shortcut = ""conv"")]
    public sealed partial class ResNet50 { }

    [Architecture(Extends = ""ResNet50"")]
    [Stage(""c5"", Mhsa = new[] { 0, 1, 1 }, Heads = 4)]
    public sealed partial class BotNet50_011 { }

    [Architecture(Input = ""3x224x224"", Classes = 1000, Stem = ""deep"", StemWidths = new[] { 32, 32, 64 }, Block = ""splat"", Radix = 2,
        Cardinality = 1, Avd = true, Depths = new[] { 3, 4, 6, 3 }, Widths = new[] { 64, 128, 256, 512 },
        Outs = new[] { 256, 512, 1024, 2048 }, Strides = new[] { 1, 2, 2, 2 }, Shortcut = ""avgdown"")]
    public sealed partial class ResNeSt50 { }

    [Architecture(Input = ""3x224x224"", Classes = 1000, Stem = ""none"", Block = ""van"", Depths = new[] { 3, 3, 5, 2 },
        Widths = new[] { 32, 64, 160, 256 }, Strides = new[] { 4, 2, 2, 2 }, MlpRatios = new[] { 8, 8, 4, 4 },
        LkaKernel = 21, LkaDilation = 3, LayerScale = 0.01)]
    public sealed partial class VanB0 { }

    [Architecture(Input = ""3x224x224"", Classes = 1000, Stem = ""rest"", Block = ""rest"", Depths = new[] { 2, 2, 2, 2 },
        Widths = new[] { 64, 128, 256, 512 }, Strides = new[] { 1, 2, 2, 2 }, Heads = new[] { 1, 2, 4, 8 },
        SrRatios = new[] { 8, 4, 2, 1 }, MlpRatios = new[] { 4, 4, 4, 4 }, QkvBias = true)]
    public sealed partial class ResTLite { }

    // The same BoT placement spelled per stage with a differently named class.
    [Architecture(Extends = ""BotNet50"", Name = ""BotNet50_011_ByName"")]
    [Stage(""c5"", Mhsa = new[] { 0, 1, 1 })]
    public sealed partial class AnotherBot { }
}
";

        [Fact]
        public void AttributesAndArchTextGiveEqualIr()
        {
            // Extract through the generator driver: the tracked AttributeClasses step holds the equatable models.
            var driver = Harness.Driver(new ArchText[0], track: true).RunGenerators(Harness.Compilation(("Equivalence.cs", Declarations)));
            var run = driver.GetRunResult();
            Assert.Empty(run.Diagnostics.Select(Harness.Format));
            var classes = run.Results[0].TrackedSteps[ArchitectureGenerator.Steps.AttributeClasses]
                .SelectMany(s => s.Outputs).Select(o => (ClassModel)o.Value).ToList();
            Assert.Equal(6, classes.Count);

            var diagnostics = new List<Diagnostic>();
            var files = classes.Select(c => AttributeModel.ToArchFile(c.Class, diagnostics)).ToList();
            var fromAttributes = ArchCompiler.Compile(files, diagnostics);
            Assert.DoesNotContain(fromAttributes.Diagnostics, d => d.Severity != Severity.Info);

            var fromZoo = ArchCompiler.Compile(Zoo.Sources);
            Assert.False(fromZoo.HasErrors);

            foreach (var (name, zooName) in new[] { ("ResNet50", "ResNet50"), ("BotNet50_011", "BotNet50_011"), ("ResNeSt50", "ResNeSt50"),
                                                     ("VanB0", "VanB0"), ("ResTLite", "ResTLite"), ("BotNet50_011_ByName", "BotNet50_011") })
            {
                var a = fromAttributes.Architectures.Single(x => x.Name == name);
                var z = fromZoo.Architectures.Single(x => x.Name == zooName);
                Assert.Equal(Normalize(z.Ir, name), Normalize(a.Ir, name));
                Assert.Equal(z.Costs, a.Costs);
                Assert.EndsWith("Equivalence.cs", a.Ir.Location.Path);
            }
        }

        private static ArchitectureIR Normalize(ArchitectureIR ir, string name) => ir with { Location = SourceLocation.None, Name = name };

        [Fact]
        public void AttributeSourceFollowsTheFieldCatalog()
        {
            var src = AttributeModel.AttributeSource;
            foreach (var f in FieldCatalog.All)
                Assert.Contains(" " + AttributeModel.Pascal(f.Name) + " { get; set; }", src);
            Assert.Contains("public double Width { get; set; }", src);   // the architecture's multiplier
            Assert.Contains("public int Width { get; set; }", src);      // a stage's width
            Assert.Contains("public int[]? Depths { get; set; }", src);
            Assert.Contains("public string? Input { get; set; }", src);
            Assert.Contains("[global::System.Diagnostics.Conditional(\"TORCHWRIGHT_KEEP_ATTRIBUTES\")]", src);
            Assert.Contains("internal sealed class ArchitectureAttribute", src);
            Assert.Contains("AllowMultiple = true", src);
        }

        [Theory]
        [InlineData("3x224x224", new long[] { 3, 224, 224 })]
        [InlineData("224x224", new long[] { 224, 224 })]
        [InlineData("3x224", new long[] { 3, 224 })]
        [InlineData("3by224", null)]
        [InlineData("0x224x224", null)]
        [InlineData("3x224x224x1", null)]
        [InlineData("", null)]
        public void ParsesShapeStrings(string text, long[]? expected) => Assert.Equal(expected, AttributeModel.ParseDims(text));
    }
}
