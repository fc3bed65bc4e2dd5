using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.CompilerServices;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// The shared residual skeleton of the four ResNet-family bottlenecks: the self-attention slot's checks, every norm
    /// (the branch's, the shortcut's, split attention's and the CoT layer's) built as BlockOptions.Norm says, NormGroups
    /// refused where it would be ignored, and zero_init_last reaching every kind of last norm.
    /// </summary>
    public sealed class ResidualSkeletonTests
    {
        private static IEnumerable<(string Kind, Func<BlockOptions, ResidualBottleneck> Build)> Blocks() => new (string, Func<BlockOptions, ResidualBottleneck>)[]
        {
            ("Bottleneck", o => new Bottleneck("b", 32, 32, 64, 2, 1, ShortcutKind.Conv, o)),
            ("SplitAttnBottleneck", o => new SplitAttnBottleneck("b", 32, 32, 64, 2, 2, 1, true, ShortcutKind.AvgDown, o)),
            ("CotBottleneck", o => new CotBottleneck("b", 32, 32, 64, 2, ShortcutKind.Conv, o)),
            ("SelfAttnBottleneck", o => new SelfAttnBottleneck("b", 32, 32, 64, 2, new MultiHeadSelfAttention2d("mhsa", 32, 4, 8, 8, stride: 2), ShortcutKind.Conv, o)),
        };

        [Fact]
        public void The_slot_must_be_a_self_attention_of_the_blocks_width_and_stride()
        {
            var wrongStride = Assert.Throws<ArgumentException>(() => new SelfAttnBottleneck("b", 32, 32, 64, 2, new MultiHeadSelfAttention2d("mhsa", 32, 4, 8, 8), ShortcutKind.Conv));
            Assert.Equal("SelfAttnBottleneck: the attention maps 32 -> 32 channels with stride 1, but the block needs 32 -> 32 with stride 2; build it for the block's width and stride. (Parameter 'attention')", wrongStride.Message);
            var wrongWidth = Assert.Throws<ArgumentException>(() => new SelfAttnBottleneck("b", 32, 16, 64, 1, new MultiHeadSelfAttention2d("mhsa", 32, 4, 8, 8), ShortcutKind.Conv));
            Assert.Contains("the attention maps 32 -> 32 channels with stride 1, but the block needs 16 -> 16 with stride 1", wrongWidth.Message);
            var notAttention = Assert.Throws<ArgumentException>(() => new SelfAttnBottleneck("b", 32, 32, 64, 1, nn.Identity(), ShortcutKind.Conv));
            Assert.Contains("must implement ISelfAttention2d (e.g. MultiHeadSelfAttention2d), got Identity", notAttention.Message);
        }

        [Fact]
        public void The_attention_applies_the_stride_and_the_state_dict_keeps_the_bot_names()
        {
            using var block = new SelfAttnBottleneck("b", 32, 32, 64, 2, new MultiHeadSelfAttention2d("mhsa", 32, 4, 8, 8, stride: 2), ShortcutKind.Conv);
            Assert.Equal(new[] { "conv1.weight", "bn1.weight", "bn1.bias", "mhsa.qkv.weight", "mhsa.rel_pos.height_rel", "mhsa.rel_pos.width_rel",
                "bn2.weight", "bn2.bias", "conv3.weight", "bn3.weight", "bn3.bias", "downsample.0.weight", "downsample.1.weight", "downsample.1.bias" },
                block.named_parameters().Select(p => p.name));
            using var y = block.call(torch.randn(2, 32, 8, 8));
            Assert.Equal(new long[] { 2, 64, 4, 4 }, y.shape);
        }

        [Theory]
        [InlineData(NormKind.FrozenBatch, "FrozenBatchNorm2d")]
        [InlineData(NormKind.Group, "GroupNorm")]
        public void Every_norm_of_every_bottleneck_follows_the_options(NormKind norm, string type)
        {
            var o = new BlockOptions(Norm: norm, NormGroups: norm == NormKind.Group ? 4 : 32);
            foreach (var (kind, build) in Blocks())
            {
                using var block = build(o);
                var norms = block.named_modules().Where(m => m.module is BatchNorm2d || m.module is GroupNorm || m.module is FrozenBatchNorm2d).ToList();
                // bn1, bn3 and the shortcut's norm at least; CoT's embed GroupNorm is the layer's own (its kernel groups).
                Assert.True(norms.Count >= 3, kind);
                Assert.All(norms.Where(m => m.name != "conv2.embed.4"), m => Assert.Equal(type, m.module.GetType().Name));
                Assert.Contains(norms, m => m.name.StartsWith("downsample.", StringComparison.Ordinal));
                Assert.Equal(type, block.LastNorm.GetType().Name);
                using var y = block.call(torch.randn(2, 32, 8, 8));
                Assert.Equal(new long[] { 2, 64, 4, 4 }, y.shape);
            }
        }

        [Fact]
        public void NormGroups_without_group_norm_is_refused()
        {
            foreach (var (kind, build) in Blocks())
            {
                var e = Assert.Throws<ArgumentException>(() => build(new BlockOptions(NormGroups: 8)));
                Assert.StartsWith($"{kind}: NormGroups (8) has no effect with Norm Batch; leave it 32 or set Norm = Group.", e.Message);
                var frozen = Assert.Throws<ArgumentException>(() => build(new BlockOptions(Norm: NormKind.FrozenBatch, NormGroups: 16)));
                Assert.Contains("NormGroups (16) has no effect with Norm FrozenBatch", frozen.Message);
            }
        }

        [Theory]
        [InlineData(NormKind.Batch)]
        [InlineData(NormKind.FrozenBatch)]
        [InlineData(NormKind.Group)]
        public void Zero_init_last_zeroes_every_kind_of_last_norm(NormKind norm)
        {
            var o = new BlockOptions(Norm: norm, NormGroups: norm == NormKind.Group ? 4 : 32);
            var blocks = Blocks().Select(b => (nn.Module<Tensor, Tensor>)b.Build(o)).ToArray();
            using var net = nn.Sequential(blocks);
            Assert.Equal(4, Init.ZeroResidualBranches(net));
            foreach (var b in blocks.Cast<ResidualBottleneck>())
            {
                var weight = b.LastNorm.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).Concat(b.LastNorm.named_buffers()).Single(p => p.Item1 == "weight").Item2;
                Assert.Equal(0.0, weight.abs().sum().item<float>());
            }
        }
    }
}
