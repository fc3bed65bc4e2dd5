using System;
using System.Linq;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Inference;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// The fold on single blocks with each norm kind (the zoo-wide parity is tests/Cli.Tests/InferenceOptimisationTests):
    /// frozen BatchNorm folds like BatchNorm; GroupNorm stays and the report says why; Lambda's norm_q/norm_v fold into
    /// their rows of qkv while the norm after the attention stays. Float64, random statistics, exact names.
    /// </summary>
    public class NormFoldingTests
    {
        private const string GroupNormWhy = "GroupNorm normalises by each image's own group statistics: no fixed affine map to fold";

        [Fact]
        public void Frozen_batch_norm_folds_into_every_conv_of_a_bottleneck_and_its_projection()
        {
            using var block = new Bottleneck("b", 16, 8, 32, 2, 1, ShortcutKind.Conv, new BlockOptions(Norm: NormKind.FrozenBatch));
            var (plain, optimised) = PlainAndOptimised(block, new long[] { 2, 16, 10, 10 });
            Assert.Equal(new[] { "bn1", "bn2", "bn3", "downsample.1" }, optimised.Report.Folded.OrderBy(n => n, StringComparer.Ordinal));
            Assert.Empty(optimised.Report.Kept);
            AssertClose(plain, optimised.call(Input(new long[] { 2, 16, 10, 10 })));
            Assert.DoesNotContain(block.named_modules(), m => m.module is FrozenBatchNorm2d);
        }

        [Fact]
        public void Group_norm_is_kept_with_the_reason_and_the_output_is_unchanged()
        {
            using var block = new Bottleneck("b", 16, 8, 32, 1, 1, ShortcutKind.Conv, new BlockOptions(Norm: NormKind.Group, NormGroups: 4));
            var (plain, optimised) = PlainAndOptimised(block, new long[] { 2, 16, 6, 6 });
            Assert.Empty(optimised.Report.Folded);
            Assert.Equal(new[] { ("bn1", GroupNormWhy), ("bn2", GroupNormWhy), ("bn3", GroupNormWhy), ("downsample.1", GroupNormWhy) },
                optimised.Report.Kept.OrderBy(k => k.Norm, StringComparer.Ordinal));
            AssertClose(plain, optimised.call(Input(new long[] { 2, 16, 6, 6 })));
        }

        [Fact]
        public void Lambda_norms_fold_into_their_rows_of_qkv_and_the_norm_after_the_attention_stays()
        {
            var lambda = new LambdaLayer2d("mhsa", 16, heads: 2, dimHead: 4, r: 3);
            using var block = new SelfAttnBottleneck("b", 32, 16, 32, 1, lambda, ShortcutKind.Conv);
            var (plain, optimised) = PlainAndOptimised(block, new long[] { 2, 32, 6, 6 });
            Assert.Equal(new[] { "bn1", "bn3", "mhsa.norm_q", "mhsa.norm_v" }, optimised.Report.Folded.OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(new[] { ("bn2", "it follows the attention's output (a matmul), not a convolution") }, optimised.Report.Kept);
            AssertClose(plain, optimised.call(Input(new long[] { 2, 32, 6, 6 })));
        }

        [Fact]
        public void A_held_frozen_norm_is_folded_and_left_as_the_exact_identity()
        {
            using var conv = nn.Conv2d(3, 8, 3, padding: 1, bias: false);
            using var frozen = new FrozenBatchNorm2d(8);
            conv.to(ScalarType.Float64);
            frozen.to(ScalarType.Float64);
            var g = new Generator(9);
            using (torch.no_grad())
                foreach (var (_, b) in frozen.named_buffers()) b.copy_(torch.rand(b.shape, generator: g) + 0.5);
            var x = Input(new long[] { 2, 3, 5, 5 });
            Tensor plain;
            using (torch.no_grad()) plain = frozen.call(conv.call(x));
            var folder = new NormFolder();
            folder.FoldKeepingPass("conv1", conv, "bn1", frozen);
            Assert.Equal(new[] { "bn1 (kept as an identity pass: conv1 holds its affine)" }, folder.Folded);
            Tensor folded, convOnly;
            using (torch.no_grad())
            {
                convOnly = conv.call(x);
                folded = frozen.call(convOnly);
            }
            Assert.Equal(0.0, (folded - convOnly).abs().max().item<double>());
            AssertClose(plain, folded);
        }

        [Fact]
        public void A_norm_before_a_padded_or_wider_conv_cannot_be_folded_forward()
        {
            var folder = new NormFolder();
            var e = Assert.Throws<ArgumentException>(() => folder.FoldInto(nn.BatchNorm2d(8), "norm", nn.Conv2d(8, 8, 3, padding: 1)));
            Assert.StartsWith("norm: a norm folds forward only into an ungrouped 1x1 convolution.", e.Message);
        }

        private static Tensor Input(long[] shape)
        {
            torch.manual_seed(3);
            return torch.randn(shape, ScalarType.Float64);
        }

        private static (Tensor Plain, InferenceModule Optimised) PlainAndOptimised(nn.Module<Tensor, Tensor> block, long[] shape)
        {
            block.to(ScalarType.Float64);
            block.eval();
            var g = new Generator(5);
            using (torch.no_grad())
            {
                foreach (var (_, m) in block.named_modules())
                {
                    var tensors = m switch
                    {
                        BatchNorm2d bn => new[] { bn.weight!, bn.bias!, bn.running_mean!, bn.running_var! },
                        FrozenBatchNorm2d f => f.named_buffers().Select(b => b.buffer).ToArray(),
                        GroupNorm gn => new Tensor[] { gn.weight!, gn.bias! },
                        _ => Array.Empty<Tensor>(),
                    };
                    foreach (var t in tensors) t.copy_(torch.rand(t.shape, generator: g) + 0.5);
                }
            }
            Tensor plain;
            using (torch.no_grad()) plain = block.call(Input(shape));
            return (plain, InferenceOptimizer.Optimize(block, InferenceLayout.ChannelsLast));
        }

        private static void AssertClose(Tensor expected, Tensor actual)
        {
            double scale = expected.abs().max().item<double>();
            double diff = (expected - actual).abs().max().item<double>();
            Assert.True(scale > 0);
            Assert.True(diff <= 1e-10 * scale, $"max |optimised - plain| = {diff:G4} of {scale:G4}");
        }
    }
}
