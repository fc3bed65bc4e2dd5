using System.Linq;
using Microsoft.CodeAnalysis;
using Torchwright.Dsl.Attributes;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// lambda_r = none from C#: an integer field that also takes words is an <c>object?</c> attribute property, so
    /// <c>LambdaR = "none"</c> and <c>LambdaR = 13</c> are both constants; any other value is TW0015 at the argument.
    /// </summary>
    public sealed class LambdaRAttributeTests
    {
        private static (System.Collections.Generic.IReadOnlyList<Diagnostic> Diagnostics, string Generated) Run(string attributes)
        {
            string source = "using Torchwright;\n\nnamespace Sample\n{\n" + attributes + "\n    public sealed partial class Lam { }\n}\n";
            var (_, result, _) = Harness.Run(new ArchText[0], ("Lam.cs", source));
            var tree = result.GeneratedTrees.FirstOrDefault(t => t.FilePath.EndsWith("Lam.g.cs"));
            return (result.Diagnostics, tree?.ToString() ?? "");
        }

        [Fact]
        public void The_property_takes_an_int_or_none()
        {
            var src = AttributeModel.AttributeSource;
            Assert.Contains("public object? LambdaR { get; set; }", src);
            Assert.Contains("(<c>lambda_r</c>; an int, or \"none\")</summary>", src);
            // Integer fields without words stay int.
            Assert.Contains("public int HaloBlock { get; set; }", src);
        }

        /// <summary>LambdaResNet26t with lambda_r = none is the zoo's LambdaResNet26rpt256 (timm's lambda_resnet26rpt_256).</summary>
        [Fact]
        public void None_gives_the_relative_position_lambda_layer()
        {
            var (diagnostics, generated) = Run("    [Architecture(Extends = \"LambdaResNet26t\", LambdaR = \"none\")]");
            Assert.Empty(diagnostics.Select(Harness.Format));
            Assert.Contains("10,988,688 parameters", generated);
        }

        [Fact]
        public void An_int_sets_the_kernel_per_stage()
        {
            var (diagnostics, generated) = Run("    [Architecture(Extends = \"LambdaResNet26t\")]\n    [Stage(\"c5\", LambdaR = 5)]");
            Assert.Empty(diagnostics.Select(Harness.Format));
            // c5's two r x r x 1 position convs (16 channels out, 1 in, plus bias) shrink from 9x9 to 5x5: 2 x 16 x (81 - 25) fewer.
            Assert.Contains((10_958_272 - 2 * 16 * (81 - 25)).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " parameters", generated);
        }

        [Theory]
        [InlineData("\"nine\"", "the word 'nine' (nine)")]
        [InlineData("2.5", "a number (2.5)")]
        [InlineData("true", "a boolean (true)")]
        // An enum member is not taken for its number.
        [InlineData("System.DayOfWeek.Monday", "the word 'System.DayOfWeek.Monday' (System.DayOfWeek.Monday)")]
        public void Anything_else_is_TW0015_at_the_argument(string value, string got)
        {
            var (diagnostics, _) = Run($"    [Architecture(Extends = \"LambdaResNet26t\", LambdaR = {value})]");
            var d = Assert.Single(diagnostics, x => x.Id == "TW0015");
            Assert.Equal("Field 'lambda_r' expects an integer or none but got " + got, d.GetMessage());
            Assert.Equal(value, d.Location.SourceTree!.ToString().Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length));
        }
    }
}
