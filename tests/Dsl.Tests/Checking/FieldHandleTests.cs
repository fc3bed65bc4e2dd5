using System.Linq;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Model;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>A field's default is stated once, on its handle: the builder falls back to it and the docs print it.</summary>
    public class FieldHandleTests
    {
        private static Dsl.Model.ArchitectureIR Ir(string text)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("t.arch", text) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            return result.Architectures.Single().Ir;
        }

        [Fact]
        public void The_builder_falls_back_to_the_handles_default()
        {
            var splat = Ir("arch S {\n  block = splat\n  depths = [1, 1]\n  widths = [64, 128]\n}\n");
            var s = (SplitAttnSettings)splat.Stages[1].Blocks[0].Settings;
            Assert.Equal((SplitAttnDefinition.RadixField.Default, SharedFields.Cardinality.Default, SplitAttnDefinition.AvdField.Default, SplitAttnDefinition.AvdFirstField.Default),
                (s.Radix, s.Cardinality, s.Avd, s.AvdFirst));
            Assert.Equal(FieldCatalog.Classes.Default, splat.Classes);
            Assert.Equal(StemParts.StemWidth.Default, splat.Stem.OutChannels);
            Assert.Equal(ResNetFamily.Act.Default, splat.Stages[0].Blocks[0].Options.Activation);

            var van = Ir("arch V {\n  block = van\n  depths = [1, 1]\n  widths = [32, 64]\n}\n");
            var v = (VanSettings)van.Stages[0].Blocks[0].Settings;
            Assert.Equal((SharedFields.MlpRatio.Default!.Value, VanDefinition.LkaKernelField.Default, VanDefinition.LkaDilationField.Default, VanDefinition.LayerScaleField.Default),
                (v.MlpRatio, v.LkaKernel, v.LkaDilation, v.LayerScale));

            var rest = Ir("arch R {\n  block = rest\n  input = 3x64x64\n  depths = [1, 1]\n  widths = [32, 64]\n}\n");
            var r = (RestSettings)rest.Stages[1].Blocks[0].Settings;
            Assert.Equal((RestDefinition.DefaultHeads, RestDefinition.SrRatio.Default!.Value, RestDefinition.DefaultQkvBias), (r.Heads, r.SrRatio, r.QkvBias));
        }

        [Fact]
        public void The_docs_print_the_handles_default_once()
        {
            Assert.Equal("Classifier outputs; 0 drops the head (features only). Default 1000.", FieldCatalog.Classes.Doc);
            Assert.EndsWith("Default 0.0625 (1/16).", SqueezeExciteDefinition.RatioField.Doc);
            Assert.EndsWith("Default 1.0.", FieldCatalog.WidthMultiplier.Doc);
            Assert.EndsWith("Default 4.", SharedFields.MlpRatio.List.Doc);
            Assert.EndsWith("Default 4 for bot, 8 for halo, 4 for lambda, 1 for rest.", SharedFields.Heads.List.Doc);
            foreach (var f in FieldCatalog.All)
                Assert.True(System.Text.RegularExpressions.Regex.Matches(f.Doc, @"\bDefault\b").Count <= 1, f.Name + ": " + f.Doc);
        }
    }
}
