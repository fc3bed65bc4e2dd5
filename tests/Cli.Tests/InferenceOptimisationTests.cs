using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Inference;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// The inference-optimised module (norms folded, the family's layout) against the plain one, on every architecture of
    /// the zoo (enumerated from the embedded architectures/*.arch, so new members are covered), with random BatchNorm
    /// statistics and affine terms: logits within 1e-4 of the largest logit, and no foldable norm left behind.
    /// The zoo-wide comparison runs in float64: folding is exact arithmetic, and in float32 a randomly initialised deep
    /// network amplifies rounding differently per layout (CotNeXt101's random logits reach 1e8; channels-last alone,
    /// without folding, moves CotNeXt50's float32 logits by 3e-4 of their scale). ResNet50 is also checked in float32.
    /// </summary>
    public class InferenceOptimisationTests
    {
        /// <summary>Small inputs keep the test fast; an architecture whose checks need its declared input keeps it.</summary>
        private const long SmallInput = 64;

        public static IEnumerable<object[]> ZooArchitectures() =>
            ArchCompiler.Compile(Torchwright.Dsl.Zoo.Sources).Architectures.Select(a => new object[] { a.Name });

        [Theory]
        [MemberData(nameof(ZooArchitectures))]
        public void Optimised_logits_equal_the_plain_modules_within_1e_4_relative(string name) => Compare(name, ScalarType.Float64);

        /// <summary>Inference runs in the family's layout; training too, unless a block kind trains slower channels-last
        /// (CoT): then it stays contiguous (BlockKind.TrainsSlowerChannelsLast).</summary>
        [Theory]
        [InlineData("ResNet50", true)]
        [InlineData("BotNet50", true)]
        [InlineData("VanB0", true)]
        [InlineData("ResTLite", true)]
        [InlineData("ResNeSt50", true)]
        [InlineData("CotNet50", false)]
        public void Training_runs_in_the_familys_layout_unless_a_block_kind_trains_slower_channels_last(string name, bool trainChannelsLast)
        {
            var arch = ArchCompiler.Compile(Torchwright.Dsl.Zoo.Sources).Architectures.Single(a => a.Name == name);
            Assert.True(arch.Ir.Family.InferChannelsLast && arch.Ir.Family.TrainChannelsLast);
            Assert.Equal(trainChannelsLast, arch.Ir.TrainChannelsLast);
        }

        [Fact]
        public void Optimised_ResNet50_logits_equal_the_plain_modules_within_1e_4_relative_in_float32() => Compare("ResNet50", ScalarType.Float32);

        private static void Compare(string name, ScalarType dtype)
        {
            var arch = SmallOrDeclared(name);
            using var built = ModuleCompiler.Build(arch);
            built.to(dtype);
            built.eval();
            RandomiseNorms(built, seed: 7);
            torch.manual_seed(11);
            using var x = torch.randn(new long[] { 2, arch.Ir.Input.C, arch.Ir.Input.H, arch.Ir.Input.W }, dtype);
            using var plain = Forward(built, x);

            var optimised = InferenceForm.Optimize(built);
            using var folded = optimised.call(x);

            Assert.Equal(plain.shape, folded.shape);
            double scale = plain.abs().max().to(ScalarType.Float64).item<double>();
            double diff = (plain - folded).abs().max().to(ScalarType.Float64).item<double>();
            Assert.True(scale > 0, $"{arch.Name}: the plain logits are all zero; the comparison would prove nothing");
            Assert.True(diff <= 1e-4 * scale, $"{arch.Name} at {arch.Ir.Input.H}x{arch.Ir.Input.W}: max |optimised - plain| = {diff:G4}, {diff / scale:G4} of max |logit| {scale:G4}");
            Assert.True(folded.is_contiguous());

            var report = optimised.Report;
            Assert.NotEmpty(report.Folded);
            // What is still a norm is exactly what the report says was kept (with a reason) or a held stem or final_conv
            // norm folded to an identity pass.
            var held = arch.Ir.HeldConvNormPairs().Select(p => p.Norm).ToHashSet();
            var remaining = built.named_modules().Where(m => NormFolder.IsNorm(m.module)).Select(m => m.name).Where(n => !held.Contains(n)).OrderBy(n => n).ToList();
            Assert.Equal(report.Kept.Select(k => k.Norm).OrderBy(n => n).ToList(), remaining);
            Assert.All(report.Kept, k => Assert.False(string.IsNullOrEmpty(k.Why)));
            Assert.Equal(arch.Ir.Family.InferChannelsLast ? InferenceLayout.ChannelsLast : InferenceLayout.Contiguous, report.Layout);
        }

        [Fact]
        public void Folding_keeps_the_state_dict_contract_the_folded_norms_leave_and_the_convs_gain_biases()
        {
            var arch = SmallOrDeclared("ResNet50");
            using var built = ModuleCompiler.Build(arch);
            var before = built.state_dict().Keys.ToHashSet();
            Assert.Contains("layer1.0.bn1.running_mean", before);
            Assert.DoesNotContain("layer1.0.conv1.bias", before);
            var optimised = InferenceForm.Optimize(built);
            var after = built.state_dict().Keys.ToHashSet();
            Assert.DoesNotContain("layer1.0.bn1.running_mean", after);
            Assert.DoesNotContain("layer1.0.downsample.1.weight", after);
            Assert.Contains("layer1.0.conv1.bias", after);
            Assert.Contains("layer1.0.downsample.0.bias", after);
            // The stem's bn1 is a typed field of the generated module: folded, kept as an exact identity pass.
            Assert.Contains("bn1.running_mean", after);
            Assert.Equal(0.0, ((BatchNorm2d)built.named_modules().Single(m => m.name == "bn1").module).eps);
            // 16 bottlenecks x 3 norms + 4 projection norms + the stem's bn1.
            Assert.Equal(16 * 3 + 4 + 1, optimised.Report.Folded.Count);
            Assert.Empty(optimised.Report.Kept);
            Assert.All(built.parameters(), p => Assert.False(p.requires_grad));
        }

        private static CheckedArchitecture SmallOrDeclared(string name)
        {
            var small = ArchCompiler.Compile(new[] { new SourceFile("small.arch", $"arch {name}Small : {name} {{\n  input = 3x{SmallInput}x{SmallInput}\n}}\n") });
            if (!small.HasErrors) return small.Architectures.Single(a => a.Name == name + "Small");
            return ArchCompiler.Compile(Torchwright.Dsl.Zoo.Sources).Architectures.Single(a => a.Name == name);
        }

        private static Tensor Forward(nn.Module<Tensor, Tensor> module, Tensor x)
        {
            using var noGrad = torch.no_grad();
            return module.call(x);
        }

        /// <summary>Statistics and affine terms far from the initial identity, so a fold that ignored any of them fails.</summary>
        private static void RandomiseNorms(nn.Module module, long seed)
        {
            var g = new Generator((ulong)seed);
            using var noGrad = torch.no_grad();
            foreach (var (_, m) in module.named_modules())
            {
                switch (m)
                {
                    case BatchNorm2d bn:
                        bn.weight!.copy_(torch.rand(bn.weight.shape, generator: g) + 0.5);
                        bn.bias!.copy_(torch.randn(bn.bias.shape, generator: g) * 0.2);
                        bn.running_mean!.copy_(torch.randn(bn.running_mean.shape, generator: g) * 0.2);
                        bn.running_var!.copy_(torch.rand(bn.running_var.shape, generator: g) * 1.5 + 0.5);
                        break;
                    case FrozenBatchNorm2d f:
                        foreach (var (n, b) in f.named_buffers())
                            b.copy_(n.EndsWith("var", StringComparison.Ordinal) || n == "weight" ? torch.rand(b.shape, generator: g) + 0.5 : torch.randn(b.shape, generator: g) * 0.2);
                        break;
                    case GroupNorm gn:
                        gn.weight!.copy_(torch.rand(gn.weight.shape, generator: g) + 0.5);
                        gn.bias!.copy_(torch.randn(gn.bias.shape, generator: g) * 0.2);
                        break;
                }
            }
        }
    }
}
