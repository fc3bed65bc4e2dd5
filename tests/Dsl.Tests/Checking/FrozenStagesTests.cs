using System.Linq;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>frozen_stages: the parts the generated module freezes, and its located errors.</summary>
    public class FrozenStagesTests
    {
        private static string Emit(string text)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("f.arch", text) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            return Dsl.Emit.CSharpEmitter.EmitArchitecture(result.Architectures.Single(), "A", new Dsl.Emit.EmitOptions("N"));
        }

        [Theory]
        [InlineData(0, "\"conv1\", \"bn1\", \"relu\", \"maxpool\");")]
        [InlineData(2, "\"conv1\", \"bn1\", \"relu\", \"maxpool\", \"layer1\", \"layer2\");")]
        [InlineData(4, "\"conv1\", \"bn1\", \"relu\", \"maxpool\", \"layer1\", \"layer2\", \"layer3\", \"layer4\");")]
        public void The_stem_and_the_first_k_stages_are_frozen_and_their_norms_kept_in_eval(int k, string parts)
        {
            var code = Emit($"arch A : ResNet50 {{\n  frozen_stages = {k}\n}}\n");
            Assert.Contains("TorchwrightRuntime.FrozenStages.Freeze(this, " + parts, code);
            Assert.Contains("public override void train(bool train = true)", code);
            Assert.Contains("TorchwrightRuntime.FrozenStages.KeepNormsInEval(this);", code);
        }

        [Fact]
        public void Van_stages_freeze_their_patch_embedding_block_list_and_norm()
        {
            var code = Emit("arch A : VanB0 {\n  frozen_stages = 1\n}\n");
            Assert.Contains("TorchwrightRuntime.FrozenStages.Freeze(this, \"patch_embed1\", \"block1\", \"norm1\");", code);
        }

        [Fact]
        public void Without_frozen_stages_nothing_is_frozen()
        {
            var code = Emit("arch A : ResNet50 {\n  frozen_stages = -1\n}\n");
            Assert.DoesNotContain("FrozenStages", code);
            Assert.DoesNotContain("override void train", code);
        }

        [Fact]
        public void TW0022_more_stages_than_the_network_has() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  frozen_stages = ⟦5⟧\n}\n", DiagnosticCatalog(), "frozen_stages", "5");

        [Fact]
        public void Freezing_only_the_stem_of_a_network_without_one_is_an_error() =>
            DiagnosticTests.Expect("arch A : VanB0 {\n  frozen_stages = ⟦0⟧\n}\n", DiagnosticCatalog(), "frozen_stages", "0 freezes only the stem and this network has none");

        private static string DiagnosticCatalog() => Dsl.Diagnostics.DiagnosticCatalog.OutOfRange.Id;
    }
}
