using System.Linq;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>out_indices: a feature backbone's counts (later stages and the head not built), its generated members and its located errors.</summary>
    public class OutIndicesTests
    {
        private static CheckedArchitecture Check(string text)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("f.arch", text) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            Assert.Empty(result.Diagnostics);
            return result.Architectures.Single(a => a.Name == "A");
        }

        private static string Emit(CheckedArchitecture arch) =>
            Dsl.Emit.CSharpEmitter.EmitArchitecture(arch, "A", new Dsl.Emit.EmitOptions("N"));

        private const string OutOfRange = "TW0016";

        [Fact]
        public void All_four_stages_count_resnet50_without_its_classifier()
        {
            var full = Check("arch A : ResNet50 {\n}\n");
            var a = Check("arch A : ResNet50 {\n  classes = 0\n  out_indices = [1, 2, 3, 4]\n}\n");
            // timm resnet50 features_only=True: 23,508,032 parameters (25,557,032 less the 2048x1000 fc and its bias).
            Assert.Equal(23_508_032, a.Costs.Params);
            Assert.Equal(full.Costs.Macs - 2048 * 1000, a.Costs.Macs);
            Assert.DoesNotContain(a.Costs.Layers, l => l.Path is "fc" or "avgpool");
            Assert.Equal(new[] { ("layer1", "c2", 256L, 4L), ("layer2", "c3", 512L, 8L), ("layer3", "c4", 1024L, 16L), ("layer4", "c5", 2048L, 32L) }, a.FeatureLevels);
        }

        [Fact]
        public void Stages_after_the_last_returned_one_are_not_built_or_counted()
        {
            var a = Check("arch A : ResNet50 {\n  classes = 0\n  out_indices = [1, 2]\n}\n");
            // conv1 + bn1 (9,536), layer1 (215,808), layer2 (1,219,584): timm resnet50 features_only, out_indices=(1, 2).
            Assert.Equal(1_444_928, a.Costs.Params);
            Assert.Equal(2, a.Ir.Stages.Count);
            Assert.DoesNotContain(a.Costs.Layers, l => l.Path.StartsWith("layer3") || l.Path.StartsWith("layer4"));
            var code = Emit(a);
            Assert.Contains("public sealed partial class A : nn.Module<Tensor, A.Features>", code);
            Assert.Contains("public sealed record Features(Tensor C2, Tensor C3);", code);
            Assert.Contains("public static readonly global::System.Collections.Generic.IReadOnlyList<TorchwrightBlocks.FeatureLevel> FeatureInfo = new TorchwrightBlocks.FeatureLevel[] { new(\"layer1\", 256L, 4L), new(\"layer2\", 512L, 8L) };", code);
            Assert.Contains("public override Features forward(Tensor input)", code);
            Assert.Contains("return new Features(c2.MoveToOuterDisposeScope(), c3.MoveToOuterDisposeScope());", code);
            Assert.DoesNotContain("layer3", code);
            Assert.DoesNotContain("Linear", code);
            Assert.DoesNotContain("Head(", code);
        }

        [Fact]
        public void A_returned_level_skipped_over_is_freed_and_a_kept_one_is_not()
        {
            var code = Emit(Check("arch A : ResNet50 {\n  classes = 0\n  out_indices = [2, 4]\n}\n"));
            Assert.Contains("Tensor c2 = StageC2(x).Freeing(x);", code);
            Assert.Contains("Tensor c3 = StageC3(c2).Freeing(c2);", code);
            Assert.Contains("Tensor c4 = StageC4(c3);", code); // c3 is returned: kept
            Assert.Contains("Tensor c5 = StageC5(c4).Freeing(c4);", code);
            Assert.Contains("return new Features(c3.MoveToOuterDisposeScope(), c5.MoveToOuterDisposeScope());", code);
        }

        [Fact]
        public void Index_0_timm_s_stem_feature_is_refused_with_the_reason() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  classes = 0\n  out_indices = ⟦[0, 1, 2]⟧\n}\n", OutOfRange,
                "A: out_indices = [0, 1, 2] is out of range: index 0 is timm's stem feature, which Torchwright does not return", "use stage numbers 1 to 4 (1 = c2)");

        [Fact]
        public void An_index_past_the_last_stage_is_refused() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  classes = 0\n  out_indices = ⟦[1, 5]⟧\n}\n", OutOfRange, "this architecture has 4 stages; use stage numbers 1 to 4");

        [Fact]
        public void Indices_must_increase() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  classes = 0\n  out_indices = ⟦[3, 2]⟧\n}\n", OutOfRange, "strictly increasing");

        [Fact]
        public void Classes_with_out_indices_is_an_error_at_classes() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  ⟦classes⟧ = 10\n  out_indices = [1, 2]\n}\n", "TW0024",
                "A: 'classes' has no effect: out_indices = [1, 2] returns feature maps, so the pool, the final conv and the classifier are not built");

        [Fact]
        public void Dropout_with_out_indices_is_an_error_at_dropout() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  classes = 0\n  ⟦dropout⟧ = 0.2\n  out_indices = [4]\n}\n", "TW0024", "'dropout' has no effect");

        [Fact]
        public void Inherited_classes_is_a_warning_naming_the_base() =>
            DiagnosticTests.Expect("arch B : ResNet50 {\n  ⟦classes⟧ = 10\n}\narch A : B {\n  out_indices = [1, 2]\n}\n", "TW0101",
                "A: inherited 'classes' has no effect here: out_indices = [1, 2] returns feature maps", "(set by the base 'B')");

        [Fact]
        public void Frozen_stages_past_the_last_returned_stage_is_refused() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  classes = 0\n  frozen_stages = ⟦3⟧\n  out_indices = [1, 2]\n}\n", OutOfRange, "builds only the first 2 stages; freeze at most 2");

        [Fact]
        public void Frozen_stages_up_to_the_last_returned_stage_freezes_all_built_parts()
        {
            var code = Emit(Check("arch A : ResNet50 {\n  classes = 0\n  frozen_stages = 2\n  out_indices = [1, 2]\n}\n"));
            Assert.Contains("TorchwrightRuntime.FrozenStages.Freeze(this, \"conv1\", \"bn1\", \"relu\", \"maxpool\", \"layer1\", \"layer2\");", code);
        }
    }
}
