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
    /// <summary>The parity configurations: every block kind at several settings (stride 1/2, conv/avg-down shortcut,
    /// radix, cardinality, heads, sr ratio, non-square maps).  Small channel counts keep the suite fast.</summary>
    public static class BlockCases
    {
        private static readonly Action<nn.Module> ResNetInit = Init.ResNet;
        private static readonly Action<nn.Module> VanInit = Init.Van;
        private static readonly Action<nn.Module> RestInit = Init.Rest;

        private static Dictionary<string, object> A(params (string, object)[] kv) => kv.ToDictionary(p => p.Item1, p => p.Item2);

        /// <summary>The arguments plus the block options the Python references read (absent: the defaults).</summary>
        private static Dictionary<string, object> A(BlockOptions? o, params (string, object)[] kv)
        {
            var args = A(kv);
            if (o is null) return args;
            args["activation"] = o.Activation;
            args["attention"] = o.Attention;
            args["attentionChannels"] = o.AttentionChannels;
            args["attentionKernel"] = o.AttentionKernel;
            args["dilation"] = o.Dilation;
            args["position"] = o.Position;
            return args;
        }

        private static BlockCase Bottleneck(string name, long cin, long width, long cout, long stride, long groups, ShortcutKind sc, long h, long w, BlockOptions? o = null) =>
            new(name, "Bottleneck",
                A(o, ("inChannels", cin), ("width", width), ("outChannels", cout), ("stride", stride), ("groups", groups), ("shortcut", sc)),
                () => new Bottleneck("block", cin, width, cout, stride, groups, sc, o), new long[] { 2, cin, h, w }, ResNetInit);

        private static BlockCase Bot(string name, long cin, long width, long cout, long stride, long heads, long h, long w, ShortcutKind sc, BlockOptions? o = null, long qk = 0) =>
            new(name, "BotBottleneck",
                A(o, ("inChannels", cin), ("width", width), ("outChannels", cout), ("stride", stride), ("heads", heads), ("height", h), ("widthPx", w), ("shortcut", sc), ("qkHeadDim", qk)),
                () => qk == 0 ? new SelfAttnBottleneck("block", cin, width, cout, stride, new MultiHeadSelfAttention2d("mhsa", width, heads, h, w, stride: stride), sc, o)
                    : new SelfAttnBottleneck("block", cin, width, cout, stride, new MultiHeadSelfAttention2d("mhsa", width, heads, h, w, qk, stride: stride), sc, o), new long[] { 2, cin, h, w }, ResNetInit);

        private static BlockCase Split(string name, long cin, long width, long cout, long stride, long radix, long card, bool avd, ShortcutKind sc, long h, long w, BlockOptions? o = null, bool avdFirst = false) =>
            new(name, "SplitAttnBottleneck",
                A(o, ("inChannels", cin), ("width", width), ("outChannels", cout), ("stride", stride), ("radix", radix), ("cardinality", card), ("avd", avd), ("avdFirst", avdFirst), ("shortcut", sc)),
                () => new SplitAttnBottleneck("block", cin, width, cout, stride, radix, card, avd, avdFirst, sc, o), new long[] { 2, cin, h, w }, ResNetInit);

        private static BlockCase Cot(string name, long cin, long width, long cout, long stride, ShortcutKind sc, long h, long w, BlockOptions? o = null, long card = 1) =>
            new(name, "CotBottleneck",
                A(o, ("inChannels", cin), ("width", width), ("outChannels", cout), ("stride", stride), ("cardinality", card), ("shortcut", sc)),
                () => new CotBottleneck("block", cin, width, cout, stride, card, sc, o), new long[] { 2, cin, h, w }, ResNetInit);

        private static BlockCase Van(string name, long dim, long ratio, long k, long d, long h, long w) =>
            new(name, "VanBlock",
                A(("dim", dim), ("mlpRatio", ratio), ("lkaKernel", k), ("lkaDilation", d), ("layerScale", 1e-2)),
                () => new VanBlock("block", dim, ratio, k, d, 1e-2), new long[] { 2, dim, h, w }, VanInit);

        private static BlockCase Rest(string name, long dim, long heads, long ratio, long sr, bool qkvBias, long h, long w) =>
            new(name, "RestBlock",
                A(("dim", dim), ("heads", heads), ("mlpRatio", ratio), ("srRatio", sr), ("qkvBias", qkvBias)),
                () => new RestBlock("block", dim, heads, ratio, sr, qkvBias), new long[] { 2, dim, h, w }, RestInit);

        public static readonly IReadOnlyList<BlockCase> All = new List<BlockCase>
        {
            Bottleneck("Bottleneck s1 identity", 16, 8, 16, 1, 1, ShortcutKind.Conv, 6, 5),
            Bottleneck("Bottleneck s1 conv-projection", 8, 8, 32, 1, 1, ShortcutKind.Conv, 5, 7),
            Bottleneck("Bottleneck s2 conv odd map", 16, 8, 32, 2, 1, ShortcutKind.Conv, 7, 6),
            Bottleneck("Bottleneck s2 avgdown groups2", 16, 8, 32, 2, 2, ShortcutKind.AvgDown, 7, 5),
            Bottleneck("Bottleneck s1 avgdown groups4", 16, 16, 32, 1, 4, ShortcutKind.AvgDown, 4, 4),

            Bot("Bot s1 heads1 4x4 identity", 16, 16, 16, 1, 1, 4, 4, ShortcutKind.Conv),
            Bot("Bot s1 heads2 3x5", 16, 16, 32, 1, 2, 3, 5, ShortcutKind.Conv),
            Bot("Bot s2 heads4 6x4", 16, 16, 32, 2, 4, 6, 4, ShortcutKind.Conv),
            Bot("Bot s2 heads2 4x6 avgdown", 32, 8, 32, 2, 2, 4, 6, ShortcutKind.AvgDown),

            Split("SplitAttn r2 c1 avd s2 avgdown", 16, 16, 32, 2, 2, 1, true, ShortcutKind.AvgDown, 7, 6),
            Split("SplitAttn r1 c1 s1 identity", 16, 8, 16, 1, 1, 1, false, ShortcutKind.Conv, 5, 5),
            Split("SplitAttn r2 c2 s2 no-avd conv", 16, 16, 32, 2, 2, 2, false, ShortcutKind.Conv, 6, 7),
            Split("SplitAttn r4 c2 s1", 32, 32, 32, 1, 4, 2, true, ShortcutKind.AvgDown, 4, 5),
            Split("SplitAttn r1 c2 avd s2", 16, 16, 64, 2, 1, 2, true, ShortcutKind.AvgDown, 6, 6),
            // timm avd_first (resnest50d_4s2x40d / 1s4x24d): the pool before the split-attention conv.
            Split("SplitAttn r2 c2 avd_first s2", 16, 16, 32, 2, 2, 2, true, ShortcutKind.AvgDown, 7, 6, avdFirst: true),
            Split("SplitAttn r1 c2 avd_first s2", 16, 16, 64, 2, 1, 2, true, ShortcutKind.AvgDown, 6, 5, avdFirst: true),
            Split("SplitAttn r4 c2 avd_first s1", 32, 32, 32, 1, 4, 2, true, ShortcutKind.AvgDown, 4, 5, avdFirst: true),

            Cot("Cot s1 identity", 64, 16, 64, 1, ShortcutKind.Conv, 5, 6),
            Cot("Cot s2 conv", 32, 16, 64, 2, ShortcutKind.Conv, 7, 6),
            Cot("Cot s2 avgdown", 32, 32, 64, 2, ShortcutKind.AvgDown, 6, 6),
            Cot("Cot s1 projection C8", 16, 8, 32, 1, ShortcutKind.Conv, 4, 5),
            // CoTNeXt's grouped CoXt layer.
            Cot("CoXt card2 s1 identity", 64, 32, 64, 1, ShortcutKind.Conv, 5, 6, card: 2),
            Cot("CoXt card2 s2 conv", 32, 32, 64, 2, ShortcutKind.Conv, 7, 6, card: 2),
            Cot("CoXt card4 s2 avgdown", 32, 64, 64, 2, ShortcutKind.AvgDown, 6, 5, card: 4),
            Cot("CoXt card4 s1 C32", 16, 32, 32, 1, ShortcutKind.Conv, 4, 5, card: 4),

            // BlockOptions: activations, SE (reduced channels given, as the checker computes them), ECA, dilation.
            Bottleneck("Bottleneck SiLU SE r4", 16, 8, 32, 1, 1, ShortcutKind.Conv, 6, 5, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 4)),
            Bottleneck("Bottleneck GELU ECA k3 s2", 16, 8, 32, 2, 1, ShortcutKind.AvgDown, 7, 6, new(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 3)),
            Bottleneck("Bottleneck HardSwish identity", 16, 8, 16, 1, 2, ShortcutKind.Conv, 5, 6, new(Activation.HardSwish)),
            Bottleneck("Bottleneck dilation 2 s1", 16, 8, 32, 1, 2, ShortcutKind.Conv, 7, 6, new(Dilation: 2)),
            Bottleneck("Bottleneck dilation 4 SE identity", 32, 8, 32, 1, 1, ShortcutKind.Conv, 9, 9, new(Attention: ChannelAttentionKind.SqueezeExcite, AttentionChannels: 8, Dilation: 4)),

            // timm ByobNet: ECA after conv2/bn2/act on the width channels (eca_botnext26ts), and BottleneckAttn dim_head 16.
            Bottleneck("Bottleneck SiLU ECA k3 spatial groups4 s2", 32, 32, 64, 2, 4, ShortcutKind.Conv, 7, 6,
                new(Activation.SiLU, ChannelAttentionKind.Eca, AttentionKernel: 3, Position: ChannelAttentionPosition.AfterSpatialConv)),
            Bottleneck("Bottleneck SiLU ECA k5 spatial groups4 s1 identity", 64, 32, 64, 1, 4, ShortcutKind.Conv, 5, 5,
                new(Activation.SiLU, ChannelAttentionKind.Eca, AttentionKernel: 5, Position: ChannelAttentionPosition.AfterSpatialConv)),
            Bottleneck("Bottleneck ReLU SE spatial s1", 16, 16, 32, 1, 1, ShortcutKind.AvgDown, 5, 6,
                new(Attention: ChannelAttentionKind.SqueezeExcite, AttentionChannels: 4, Position: ChannelAttentionPosition.AfterSpatialConv)),
            Bot("Bot qk16 w32 heads4 s1", 32, 32, 64, 1, 4, 4, 5, ShortcutKind.Conv, qk: 16),
            Bot("Bot qk16 w32 heads4 s2", 32, 32, 64, 2, 4, 6, 4, ShortcutKind.Conv, qk: 16),
            Bot("Bot qk16 w32 heads4 SiLU s1 identity", 64, 32, 64, 1, 4, 4, 4, ShortcutKind.Conv, new(Activation.SiLU), qk: 16),
            Bot("Bot qk4 w32 heads2 SiLU ECA s2 avgdown", 32, 32, 64, 2, 2, 4, 6, ShortcutKind.AvgDown, new(Activation.SiLU, ChannelAttentionKind.Eca, AttentionKernel: 3), qk: 4),

            Bot("Bot SiLU SE s1", 16, 16, 32, 1, 2, 3, 5, ShortcutKind.Conv, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 8)),
            Bot("Bot GELU ECA k5 s2", 16, 16, 32, 2, 4, 6, 4, ShortcutKind.Conv, new(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 5)),
            Bot("Bot HardSwish identity", 16, 16, 16, 1, 1, 4, 4, ShortcutKind.Conv, new(Activation.HardSwish)),

            Split("SplitAttn SiLU SE r2 avd s2", 16, 16, 32, 2, 2, 1, true, ShortcutKind.AvgDown, 7, 6, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 8)),
            Split("SplitAttn GELU ECA r1 c2", 16, 16, 32, 1, 1, 2, false, ShortcutKind.Conv, 5, 6, new(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 3)),
            Split("SplitAttn HardSwish r4 c2", 32, 32, 32, 1, 4, 2, true, ShortcutKind.AvgDown, 4, 5, new(Activation.HardSwish)),
            Split("SplitAttn dilation 2 r2", 16, 16, 32, 1, 2, 1, false, ShortcutKind.Conv, 7, 6, new(Dilation: 2)),

            Cot("Cot SiLU SE s1", 32, 16, 64, 1, ShortcutKind.Conv, 5, 6, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 16)),
            Cot("Cot GELU ECA s2", 32, 16, 64, 2, ShortcutKind.AvgDown, 7, 6, new(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 3)),
            Cot("Cot HardSwish identity", 64, 16, 64, 1, ShortcutKind.Conv, 4, 5, new(Activation.HardSwish)),

            // Options in CoTNeXt's grouped CoXt layer and in avd_first split attention (SE's inner activation stays ReLU).
            Cot("CoXt card2 s2 SiLU SE", 32, 32, 64, 2, ShortcutKind.Conv, 7, 6, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 16), card: 2),
            Cot("CoXt card2 s1 HardSwish identity", 64, 32, 64, 1, ShortcutKind.Conv, 5, 4, new(Activation.HardSwish), card: 2),
            Cot("CoXt card4 s1 GELU ECA k3", 16, 64, 32, 1, ShortcutKind.AvgDown, 4, 5, new(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 3), card: 4),
            Split("SplitAttn avd_first r2 s2 GELU ECA k3", 16, 16, 32, 2, 2, 1, true, ShortcutKind.AvgDown, 7, 6, new(Activation.GELU, ChannelAttentionKind.Eca, AttentionKernel: 3), avdFirst: true),
            Split("SplitAttn avd_first r2 c2 s2 SiLU SE dilation 2", 32, 32, 64, 2, 2, 2, true, ShortcutKind.Conv, 8, 7, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 8, Dilation: 2), avdFirst: true),

            new("SqueezeExcite C32 r8 SiLU", "SqueezeExcite", A(("channels", 32L), ("reducedChannels", 8L), ("activation", Activation.SiLU)),
                () => new SqueezeExcite("se", 32, 8, Activation.SiLU), new long[] { 2, 32, 5, 6 }, ResNetInit),
            new("SqueezeExcite C16 r4 ReLU", "SqueezeExcite", A(("channels", 16L), ("reducedChannels", 4L), ("activation", Activation.ReLU)),
                () => new SqueezeExcite("se", 16, 4), new long[] { 3, 16, 4, 4 }, ResNetInit),
            new("EfficientChannelAttention k3", "EfficientChannelAttention", A(("kernel", 3L)),
                () => new EfficientChannelAttention("se", 3), new long[] { 2, 16, 5, 6 }, ResNetInit),
            new("EfficientChannelAttention k5", "EfficientChannelAttention", A(("kernel", 5L)),
                () => new EfficientChannelAttention("se", 5), new long[] { 2, 64, 3, 4 }, ResNetInit),

            Van("Van dim16 r4 K21 d3", 16, 4, 21, 3, 8, 8),
            Van("Van dim8 r2 K7 d2 5x7", 8, 2, 7, 2, 5, 7),
            Van("Van dim12 r8 K21 d3 6x9", 12, 8, 21, 3, 6, 9),
            new("OverlapPatchEmbed k7 s4", "OverlapPatchEmbed", A(("inChannels", 3L), ("outChannels", 16L), ("kernel", 7L), ("stride", 4L)),
                () => new OverlapPatchEmbed("embed", 3, 16, 7, 4), new long[] { 2, 3, 17, 15 }, VanInit),
            new("OverlapPatchEmbed k3 s2", "OverlapPatchEmbed", A(("inChannels", 16L), ("outChannels", 32L), ("kernel", 3L), ("stride", 2L)),
                () => new OverlapPatchEmbed("embed", 16, 32, 3, 2), new long[] { 2, 16, 9, 8 }, VanInit),

            Rest("Rest heads1 sr1 4x5", 16, 1, 4, 1, true, 4, 5),
            Rest("Rest heads2 sr2 6x8", 16, 2, 2, 2, true, 6, 8),
            Rest("Rest heads4 sr4 no-bias 8x8", 32, 4, 4, 4, false, 8, 8),
            Rest("Rest heads4 sr2 odd 5x7", 32, 4, 4, 2, true, 5, 7),
            Rest("Rest heads2 sr8 16x12", 16, 2, 4, 8, true, 16, 12),
            new("PositionAttention", "PositionAttention", A(("dim", 8L)),
                () => new PositionAttention("pos", 8), new long[] { 2, 8, 5, 6 }, RestInit),
            new("RestStem released", "RestStem", A(("inChannels", 3L), ("outChannels", 16L)),
                () => new RestStem("stem", 3, 16), new long[] { 2, 3, 16, 14 }, RestInit),
            new("RestPaperStem", "RestPaperStem", A(("inChannels", 3L), ("outChannels", 16L)),
                () => new RestPaperStem("stem", 3, 16), new long[] { 2, 3, 17, 15 }, RestInit),
            new("RestPatchEmbed", "RestPatchEmbed", A(("inChannels", 16L), ("outChannels", 32L), ("patch", 2L)),
                () => new RestPatchEmbed("embed", 16, 32, 2), new long[] { 2, 16, 7, 8 }, RestInit),
            new("RestPatchEmbed stride 4", "RestPatchEmbed", A(("inChannels", 16L), ("outChannels", 32L), ("patch", 4L)),
                () => new RestPatchEmbed("embed", 16, 32, 4), new long[] { 2, 16, 9, 8 }, RestInit),

            // torchvision's own Bottleneck (torchvision.models.resnet) as the reference.
            new("torchvision Bottleneck identity", "TorchvisionBottleneck", A(("inChannels", 64L), ("planes", 16L), ("stride", 1L)),
                () => new Bottleneck("block", 64, 16, 64, 1, 1, ShortcutKind.Conv), new long[] { 2, 64, 6, 6 }, ResNetInit),
            new("torchvision Bottleneck s2", "TorchvisionBottleneck", A(("inChannels", 32L), ("planes", 16L), ("stride", 2L)),
                () => new Bottleneck("block", 32, 16, 64, 2, 1, ShortcutKind.Conv), new long[] { 2, 32, 7, 7 }, ResNetInit),
            new("torchvision layer of 4 bottlenecks", "TorchvisionLayer", A(("inChannels", 32L), ("planes", 16L), ("stride", 2L), ("blocks", 4L)),
                () => TorchvisionLayer(32, 16, 2, 4), new long[] { 2, 32, 8, 8 }, ResNetInit),
        };

        /// <summary>A ResNet stage the way torchvision's _make_layer builds it (children "0".."n-1").</summary>
        public static nn.Module<Tensor, Tensor> TorchvisionLayer(long inChannels, long planes, long stride, int blocks)
        {
            var list = new nn.Module<Tensor, Tensor>[blocks];
            long cin = inChannels;
            for (int i = 0; i < blocks; i++)
            {
                list[i] = new Bottleneck("block", cin, planes, planes * 4, i == 0 ? stride : 1, 1, ShortcutKind.Conv);
                cin = planes * 4;
            }
            return new Chain("layer", list);
        }

        public static TheoryData<string> Names(params string[] kinds)
        {
            var data = new TheoryData<string>();
            foreach (var c in All.Where(c => kinds.Any(k => c.Kind.StartsWith(k, StringComparison.Ordinal))))
                data.Add(c.Name);
            return data;
        }

        public static BlockCase Get(string name) => All.Single(c => c.Name == name);
    }
}
