using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.CompilerServices;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>BlockOptions without the Python reference: the default changes nothing, the extra parameters are exactly
    /// SE's / ECA's, the blocks without a dilated form refuse dilation, and inconsistent options are refused.</summary>
    public sealed class BlockOptionsTests
    {
        private static readonly Func<BlockOptions?, nn.Module<Tensor, Tensor>>[] Blocks =
        {
            o => new Bottleneck("a", 64, 16, 64, 1, 1, ShortcutKind.Conv, o),
            o => new SelfAttnBottleneck("b", 64, 16, 64, 1, new MultiHeadSelfAttention2d("mhsa", 16, 4, 4, 4), ShortcutKind.Conv, o),
            o => new SplitAttnBottleneck("c", 64, 16, 64, 2, 2, 1, true, ShortcutKind.AvgDown, o),
            o => new CotBottleneck("d", 64, 16, 64, 1, ShortcutKind.Conv, o),
        };

        // State-dict key counts and parameter counts of the four blocks above, measured on the Python references as they
        // were before BlockOptions existed (commit a434fc2's reference_blocks.py).
        private static readonly (int Keys, long Params)[] Before = { (18, 4544), (20, 3064), (33, 10464), (48, 5270) };

        private static List<string> Keys(nn.Module m) => m.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        private static long Params(nn.Module m) => m.parameters().Sum(p => p.numel());

        [Fact]
        public void DefaultOptionsKeepEveryBlocksStateDictAndParameterCount()
        {
            for (int i = 0; i < Blocks.Length; i++)
            {
                using var none = Blocks[i](null);
                using var byDefault = Blocks[i](BlockOptions.Default);
                using var explicitDefault = Blocks[i](new BlockOptions());
                Assert.Equal(Before[i].Keys, Keys(none).Count);
                Assert.Equal(Before[i].Params, Params(none));
                Assert.Equal(Keys(none), Keys(byDefault));
                Assert.Equal(Keys(none), Keys(explicitDefault));
                Assert.Equal(Params(none), Params(byDefault));
                Assert.DoesNotContain(Keys(none), k => k.StartsWith("se.", StringComparison.Ordinal));
            }
            using var bottleneck = Blocks[0](BlockOptions.Default);
            Assert.Equal(new[]
            {
                "bn1.bias", "bn1.num_batches_tracked", "bn1.running_mean", "bn1.running_var", "bn1.weight",
                "bn2.bias", "bn2.num_batches_tracked", "bn2.running_mean", "bn2.running_var", "bn2.weight",
                "bn3.bias", "bn3.num_batches_tracked", "bn3.running_mean", "bn3.running_var", "bn3.weight",
                "conv1.weight", "conv2.weight", "conv3.weight",
            }, Keys(bottleneck));
        }

        [Fact]
        public void SqueezeExciteAddsFc1AndFc2WithBiasOnTheBlockOutputChannels()
        {
            // SE on C = 64 with r = 4: fc1 64·4 + 4 = 260, fc2 4·64 + 64 = 320.
            Assert.Equal(580, SqueezeExcite.ParameterCount(64, 4));
            var se = new BlockOptions(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, AttentionChannels: 4);
            for (int i = 0; i < Blocks.Length; i++)
            {
                using var block = Blocks[i](se);
                Assert.Equal(Before[i].Params + 580, Params(block));
                var added = Keys(block).Where(k => k.StartsWith("se.", StringComparison.Ordinal)).ToList();
                Assert.Equal(new[] { "se.fc1.bias", "se.fc1.weight", "se.fc2.bias", "se.fc2.weight" }, added);
                Assert.Equal(new long[] { 4, 64, 1, 1 }, block.state_dict()["se.fc1.weight"].shape);
                Assert.Equal(new long[] { 64, 4, 1, 1 }, block.state_dict()["se.fc2.weight"].shape);
            }
        }

        [Fact]
        public void EcaAddsOneConv1dOfKernelK()
        {
            var eca = new BlockOptions(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 5);
            for (int i = 0; i < Blocks.Length; i++)
            {
                using var block = Blocks[i](eca);
                Assert.Equal(Before[i].Params + 5, Params(block));
                Assert.Equal(Before[i].Keys + 1, Keys(block).Count);
                Assert.Equal(new long[] { 1, 1, 5 }, block.state_dict()["se.conv.weight"].shape);
            }
        }

        [Fact]
        public void InitResNetLeavesEcaConv1dAtItsDefaultAndKaimingInitialisesSeConvs()
        {
            torch.manual_seed(3);
            using var block = new Bottleneck("a", 64, 16, 256, 1, 1, ShortcutKind.Conv, new(Attention: ChannelAttentionKind.SqueezeExcite, AttentionChannels: 16));
            Init.ResNet(block);
            // kaiming_normal_(fan_out, relu) on fc1 (16, 256, 1, 1): std = sqrt(2 / 16) = 0.354.
            double std = block.state_dict()["se.fc1.weight"].std().item<float>();
            Assert.InRange(std, 0.354 * 0.9, 0.354 * 1.1);

            using var eca = new Bottleneck("b", 64, 16, 256, 1, 1, ShortcutKind.Conv, new(Attention: ChannelAttentionKind.Eca, AttentionKernel: 3));
            var before = eca.state_dict()["se.conv.weight"].clone();
            Init.ResNet(eca);
            Assert.True(before.eq(eca.state_dict()["se.conv.weight"]).all().item<bool>(), "Init.ResNet must leave ECA's Conv1d as constructed");
        }

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(4)]
        public void DilationKeepsTheMapSizeAtStrideOne(long dilation)
        {
            using var x = torch.randn(1, 16, 9, 7);
            using var bottleneck = new Bottleneck("a", 16, 8, 32, 1, 1, ShortcutKind.Conv, new(Dilation: dilation));
            using var split = new SplitAttnBottleneck("b", 16, 16, 32, 1, 2, 1, false, ShortcutKind.Conv, new(Dilation: dilation));
            using var y1 = bottleneck.call(x);
            using var y2 = split.call(x);
            Assert.Equal(new long[] { 1, 32, 9, 7 }, y1.shape);
            Assert.Equal(new long[] { 1, 32, 9, 7 }, y2.shape);
        }

        [Fact]
        public void BotAndCotRefuseDilationNamingTheBlockAndTheFix()
        {
            var dilated = new BlockOptions(Dilation: 2);
            var bot = Assert.Throws<ArgumentException>(() => new SelfAttnBottleneck("b", 64, 16, 64, 1, new MultiHeadSelfAttention2d("mhsa", 16, 4, 4, 4), ShortcutKind.Conv, dilated));
            var cot = Assert.Throws<ArgumentException>(() => new CotBottleneck("d", 64, 16, 64, 1, ShortcutKind.Conv, dilated));
            foreach (var (e, block) in new[] { (bot, "SelfAttnBottleneck"), (cot, "CotBottleneck") })
            {
                Assert.StartsWith(block + ": Dilation must be 1, got 2", e.Message, StringComparison.Ordinal);
                Assert.Contains("Keep this stage at output stride (Dilation 1)", e.Message, StringComparison.Ordinal);
                Assert.Equal("options", e.ParamName);
            }
        }

        [Fact]
        public void InconsistentOptionsAreRefused()
        {
            Func<BlockOptions, nn.Module> build = o => new Bottleneck("a", 16, 8, 32, 1, 1, ShortcutKind.Conv, o);
            var noChannels = Assert.Throws<ArgumentException>(() => build(new(Attention: ChannelAttentionKind.SqueezeExcite)));
            Assert.Contains("squeeze-excitation needs AttentionChannels > 0", noChannels.Message, StringComparison.Ordinal);
            var evenKernel = Assert.Throws<ArgumentException>(() => build(new(Attention: ChannelAttentionKind.Eca, AttentionKernel: 4)));
            Assert.Contains("ECA needs an odd AttentionKernel", evenKernel.Message, StringComparison.Ordinal);
            var unused = Assert.Throws<ArgumentException>(() => build(new(AttentionChannels: 8)));
            Assert.Contains("have no effect without channel attention", unused.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentOutOfRangeException>(() => build(new(Dilation: 0)));
            Assert.Throws<ArgumentOutOfRangeException>(() => build(new((Activation)7)));
            Assert.Throws<ArgumentOutOfRangeException>(() => new EfficientChannelAttention("se", 2));
        }

        [Fact]
        public void ActivationsMatchTheirDefinitions()
        {
            using var x = torch.linspace(-4, 4, 81);
            using var relu = Activations.Apply(Activation.ReLU, x);
            using var silu = Activations.Apply(Activation.SiLU, x);
            using var gelu = Activations.Apply(Activation.GELU, x);
            using var hswish = Activations.Apply(Activation.HardSwish, x);
            // GELU exact: x·Φ(x) = x·(1 + erf(x/√2))/2 (not the tanh approximation); HardSwish: x·relu6(x + 3)/6.
            using var geluRef = x * (1 + (x / Math.Sqrt(2)).erf()) / 2;
            using var hswishRef = x * (x + 3).clamp(0, 6) / 6;
            using var siluRef = x * x.sigmoid();
            Assert.True(relu.eq(x.clamp_min(0)).all().item<bool>());
            Assert.True((silu - siluRef).abs().max().item<float>() < 1e-6);
            Assert.True((gelu - geluRef).abs().max().item<float>() < 1e-6);
            Assert.True((hswish - hswishRef).abs().max().item<float>() < 1e-6);
            // The module forms compute the same.
            foreach (var a in Enum.GetValues<Activation>())
            {
                using var m = Activations.Create(a);
                using var y = m.call(x);
                using var f = Activations.Apply(a, x);
                Assert.True(y.eq(f).all().item<bool>(), a.ToString());
            }
        }

        [Fact]
        public void CotAndSplitAttnConstructorFormsResolveAndBuildTheExpectedBlocks()
        {
            // The forms the emitter writes: the short positional ones and the named cardinality / avdFirst / options ones.
            // Parameter counts measured on the Python references (reference_blocks / reference_cotnext).
            using var cot = new CotBottleneck("0", 64, 64, 256, 1, ShortcutKind.Conv);
            using var cotOpts = new CotBottleneck("0", 64, 64, 256, 1, ShortcutKind.Conv, options: BlockOptions.Default);
            using var coxt = new CotBottleneck("0", 64, 96, 256, 1, cardinality: 2, shortcut: ShortcutKind.Conv,
                options: new BlockOptions(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, AttentionChannels: 16));
            using var avdFirst = new SplitAttnBottleneck("0", 64, 96, 256, 2, 1, 4, true, avdFirst: true, shortcut: ShortcutKind.AvgDown);
            using var avdLast = new SplitAttnBottleneck("0", 64, 96, 256, 2, 1, 4, true, ShortcutKind.AvgDown);
            var dilatedEca = new BlockOptions(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 3, Dilation: 2);
            using var avdFirstOpts = new SplitAttnBottleneck("0", 64, 96, 256, 2, 2, 1, true, true, ShortcutKind.AvgDown, dilatedEca);
            using var avdLastOpts = new SplitAttnBottleneck("0", 64, 96, 256, 2, 2, 1, true, ShortcutKind.AvgDown, dilatedEca);

            Assert.Equal(64760, Params(cot));
            Assert.Equal(64760, Params(cotOpts));
            Assert.Equal(94116, Params(coxt));
            Assert.Contains("se.fc1.weight", Keys(coxt));
            Assert.Equal(70976, Params(avdFirst));
            Assert.Equal(70976, Params(avdLast));
            Assert.Equal(145811, Params(avdFirstOpts));
            Assert.Equal(145811, Params(avdLastOpts));
            Assert.Contains("se.conv.weight", Keys(avdFirstOpts));
            // The pool is a module without state: only the forward order differs, checked by the parity cases.
            Assert.Equal(Keys(avdLastOpts), Keys(avdFirstOpts));
        }

        [Fact]
        public void SqueezeExciteInsideABlockKeepsReLUWhateverTheBlockActivation()
        {
            using var _ = torch.NewDisposeScope();
            torch.manual_seed(3);
            using var block = new Bottleneck("a", 16, 8, 32, 1, 1, ShortcutKind.Conv,
                new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, AttentionChannels: 4));
            var se = block.named_modules().Single(m => m.name == "se").module;
            var p = se.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
            // Shift fc1's bias so that its outputs straddle zero: ReLU and SiLU then give clearly different gates.
            using (torch.no_grad())
                p["fc1.bias"].add_(-0.3);
            var x = torch.randn(2, 32, 5, 4);
            var s = x.mean(new long[] { 2, 3 }, keepdim: true);
            var hidden = nn.functional.conv2d(s, p["fc1.weight"], p["fc1.bias"]);
            Tensor Expect(Tensor h) => x * nn.functional.conv2d(h, p["fc2.weight"], p["fc2.bias"]).sigmoid();
            var relu = Expect(nn.functional.relu(hidden));
            var silu = Expect(nn.functional.silu(hidden));
            var y = ((nn.Module<Tensor, Tensor>)se).call(x);
            Assert.True((y - relu).abs().max().item<float>() < 1e-6);
            Assert.True((y - silu).abs().max().item<float>() > 1e-4, "ReLU and SiLU gates should differ for this input");
        }
    
        [Fact]
        public void AttentionAfterTheSpatialConvSitsOnTheWidthAndOnlyBottleneckTakesIt()
        {
            var spatialSe = new BlockOptions(Attention: ChannelAttentionKind.SqueezeExcite, AttentionChannels: 4, Position: ChannelAttentionPosition.AfterSpatialConv);
            using var block = new Bottleneck("a", 64, 16, 64, 1, 1, ShortcutKind.Conv, spatialSe);
            var se = block.named_parameters().Where(p => p.name.StartsWith("se.", StringComparison.Ordinal)).ToDictionary(p => p.name, p => p.parameter.shape);
            Assert.Equal(new long[] { 4, 16, 1, 1 }, se["se.fc1.weight"]);            // on width 16, not out 64
            Assert.Equal(4544L + SqueezeExcite.ParameterCount(16, 4), Params(block));  // 4544 + 148
            Assert.Equal(4692L, Params(block));

            var spatialEca = new BlockOptions(Attention: ChannelAttentionKind.Eca, AttentionKernel: 3, Position: ChannelAttentionPosition.AfterSpatialConv);
            var bot = Assert.Throws<ArgumentException>(() => new SelfAttnBottleneck("b", 64, 16, 64, 1, new MultiHeadSelfAttention2d("mhsa", 16, 4, 4, 4), ShortcutKind.Conv, spatialEca));
            var split = Assert.Throws<ArgumentException>(() => new SplitAttnBottleneck("c", 64, 16, 64, 2, 2, 1, true, ShortcutKind.AvgDown, spatialEca));
            var cot = Assert.Throws<ArgumentException>(() => new CotBottleneck("d", 64, 16, 64, 1, ShortcutKind.Conv, spatialEca));
            foreach (var (e, name) in new[] { (bot, "SelfAttnBottleneck"), (split, "SplitAttnBottleneck"), (cot, "CotBottleneck") })
            {
                Assert.StartsWith(name + ": channel attention Position AfterSpatialConv is not supported", e.Message, StringComparison.Ordinal);
                Assert.Equal("options", e.ParamName);
            }
            var none = Assert.Throws<ArgumentException>(() => new Bottleneck("a", 16, 8, 32, 1, 1, ShortcutKind.Conv, new(Position: ChannelAttentionPosition.AfterSpatialConv)));
            Assert.Contains("Position AfterSpatialConv has no effect without channel attention", none.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentOutOfRangeException>(() => new Bottleneck("a", 16, 8, 32, 1, 1, ShortcutKind.Conv,
                new(Attention: ChannelAttentionKind.Eca, AttentionKernel: 3, Position: (ChannelAttentionPosition)5)));
        }

        [Fact]
        public void QkHeadDimSizesQAndKButNotV()
        {
            // width 32, 4 heads, dqk 16: qkv 32 -> 2*4*16 + 32 = 160, tables (2H-1, 16) / (2W-1, 16).
            using var bot = new SelfAttnBottleneck("b", 64, 32, 64, 2, new MultiHeadSelfAttention2d("mhsa", 32, 4, 6, 4, 16, stride: 2), ShortcutKind.Conv, new BlockOptions(Activation.SiLU));
            var shapes = bot.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
            Assert.Equal(new long[] { 160, 32, 1, 1 }, shapes["mhsa.qkv.weight"]);
            Assert.Equal(new long[] { 11, 16 }, shapes["mhsa.rel_pos.height_rel"]);
            Assert.Equal(new long[] { 7, 16 }, shapes["mhsa.rel_pos.width_rel"]);
            using var same = new SelfAttnBottleneck("b", 64, 32, 64, 2, new MultiHeadSelfAttention2d("mhsa", 32, 4, 6, 4, 0, stride: 2), ShortcutKind.Conv);
            using var old = new SelfAttnBottleneck("b", 64, 32, 64, 2, new MultiHeadSelfAttention2d("mhsa", 32, 4, 6, 4, stride: 2), ShortcutKind.Conv, options: null);
            Assert.Equal(Keys(old), Keys(same));
            Assert.Equal(Params(old), Params(same));
            // qkv 5120 vs 3072, tables (11 + 7)·16 = 288 vs (11 + 7)·8 = 144
            Assert.Equal(Params(old) + (5120 - 3072) + (288 - 144), Params(bot));
            using var x = torch.randn(1, 64, 6, 4);
            using var y = bot.call(x);
            Assert.Equal(new long[] { 1, 64, 3, 2 }, y.shape);
            Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadSelfAttention2d("m", 32, 4, 4, 4, -1));
        }
}
}
