using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.CompilerServices;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// The self-attention slot modules (Halo, Lambda: timm's HaloAttn and LambdaLayer, python/reference_byoa_layers.py),
    /// the basic block (torchvision's BasicBlock, and its BlockOptions forms) and the norms (torchvision's
    /// FrozenBatchNorm2d, GroupNorm through Norms.Create) against their PyTorch references with identical weights, as
    /// BlockParityTests: state-dict keys, and parameter counts exactly (and equal to the counts stated here), eval and
    /// train-mode outputs to 1e-4, input and parameter gradients to 1e-3 (max abs, float32).
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class AttentionSlotParityTests
    {
        private readonly PythonReference _python;
        private readonly ITestOutputHelper _out;

        public AttentionSlotParityTests(PythonReference python, ITestOutputHelper output)
        {
            _python = python;
            _out = output;
        }

        private static readonly Action<nn.Module> ResNetInit = Init.ResNet;

        private static Dictionary<string, object> A(params (string Key, object? Value)[] kv) =>
            kv.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!);

        private static BlockCase Halo(string name, long dim, long dimOut, long stride, long heads, long? dimHead, long block, long halo,
            long h, long w, double qkRatio = 1.0, bool qkvBias = false, bool avgDown = false, bool scalePosEmbed = false) =>
            new(name, "HaloAttention2d",
                A(("dim", dim), ("dimOut", dimOut), ("stride", stride), ("heads", heads), ("dimHead", dimHead), ("blockSize", block),
                  ("haloSize", halo), ("qkRatio", qkRatio), ("qkvBias", qkvBias), ("avgDown", avgDown), ("scalePosEmbed", scalePosEmbed)),
                () => new HaloAttention2d("mhsa", dim, dimOut: dimOut, stride: stride, heads: heads, dimHead: dimHead, blockSize: block,
                    haloSize: halo, qkRatio: qkRatio, qkvBias: qkvBias, avgDown: avgDown, scalePosEmbed: scalePosEmbed),
                new long[] { 2, dim, h, w }, ResNetInit);

        private static BlockCase Lambda(string name, long dim, long stride, long heads, long? dimHead, long? r, long h, long w,
            bool fixedMap = false, double qkRatio = 1.0, bool qkvBias = false, NormKind norm = NormKind.Batch, long normGroups = 32) =>
            new(name, "LambdaLayer2d",
                A(("dim", dim), ("dimOut", dim), ("featSize", fixedMap ? new[] { h, w } : null), ("stride", stride), ("heads", heads),
                  ("dimHead", dimHead), ("r", r), ("qkRatio", qkRatio), ("qkvBias", qkvBias), ("norm", norm.ToString()), ("normGroups", normGroups)),
                () => new LambdaLayer2d("mhsa", dim, dimOut: dim, featSize: fixedMap ? (h, w) : null, stride: stride, heads: heads,
                    dimHead: dimHead, r: r, qkRatio: qkRatio, qkvBias: qkvBias, norm: norm, normGroups: normGroups),
                new long[] { 2, dim, h, w }, ResNetInit);

        private static BlockCase Basic(string name, long cin, long planes, long stride, ShortcutKind sc, long h, long w, BlockOptions? o = null, long? firstDilation = null)
        {
            var opts = o ?? BlockOptions.Default;
            return new(name, "BasicBlock",
                A(("inChannels", cin), ("planes", planes), ("stride", stride), ("shortcut", sc.ToString()), ("firstDilation", firstDilation),
                  ("activation", opts.Activation.ToString()), ("attention", opts.Attention.ToString()), ("attentionChannels", opts.AttentionChannels),
                  ("attentionKernel", opts.AttentionKernel), ("dilation", opts.Dilation), ("norm", opts.Norm.ToString()), ("normGroups", opts.NormGroups)),
                () => new BasicBlock("block", cin, planes, stride, sc, o, firstDilation: firstDilation), new long[] { 2, cin, h, w }, ResNetInit);
        }

        /// <summary>Every case with its exact parameter count (timm's / torchvision's layers; worked out in the comments).</summary>
        public static readonly IReadOnlyList<(BlockCase Case, long Params)> Cases = new List<(BlockCase, long)>
        {
            // Halo: q dim·heads·dqk (+bias), kv dim·heads·(dqk+dv) (+bias), tables 2·(2·win-1)·dqk, win = block + 2·halo.
            // 32·64 + 32·96 + 2·23·16
            (Halo("Halo s1 b8 h2 heads4 d16 scale_pos_embed", 32, 32, 1, 4, 16, 8, 2, 16, 16, scalePosEmbed: true), 5856),
            // dqk = make_divisible(64·0.5, 8)/8 = 4: (32·32 + 32) + (32·96 + 96) + 2·27·4
            (Halo("Halo s1 b8 h3 heads8 qk_ratio 0.5 qkv_bias", 32, 64, 1, 8, null, 8, 3, 8, 16, qkRatio: 0.5, qkvBias: true), 4440),
            // strided queries (4x4 query blocks): (32·128 + 128) + (32·192 + 192) + 2·27·16
            (Halo("Halo s2 b8 h3 heads8 d16 qkv_bias", 32, 64, 2, 8, 16, 8, 3, 16, 16, qkvBias: true), 11424),
            (Halo("Halo s2 b8 h2 heads4 d16 avg_down", 32, 32, 2, 4, 16, 8, 2, 16, 8, avgDown: true), 5856),
            // odd block: timm pools instead of striding; dqk = make_divisible(24, 8)/4 = 6: 16·24 + 16·56 + 2·17·6
            (Halo("Halo s2 b5 h2 heads4 qk_ratio 0.75 (odd block pools)", 16, 32, 2, 4, null, 5, 2, 10, 10, qkRatio: 0.75), 1484),

            // Lambda: qkv dim·(heads·k + k + v), norm_q 2·heads·k, norm_v 2·v, conv_lambda k·r² + k or pos_emb (2H-1)(2W-1)k.
            // 32·88 + 128 + 16 + (16·81 + 16)
            (Lambda("Lambda r9 s1 heads4 d16", 32, 1, 4, 16, 9, 8, 8), 4272),
            // (32·76 + 76) + 128 + 8 + (8·169 + 8)
            (Lambda("Lambda r13 s2 heads8 d8 qkv_bias", 32, 2, 8, 8, 13, 10, 12, qkvBias: true), 4004),
            // k = make_divisible(8, 8)/4 = 2: 16·14 + 16 + 8 + 11·15·2
            (Lambda("Lambda rel-pos 6x8 s1 qk_ratio 0.5", 16, 1, 4, null, null, 6, 8, fixedMap: true, qkRatio: 0.5), 578),
            // 16·56 + 64 + 16 + 15·11·16
            (Lambda("Lambda rel-pos 8x6 s2 heads2 d16", 16, 2, 2, 16, null, 8, 6, fixedMap: true), 3616),
            (Lambda("Lambda r9 GroupNorm", 32, 1, 4, 16, 9, 6, 7, norm: NormKind.Group, normGroups: 4), 4272),

            // BasicBlock: 9·cin·p + 9·p² + 2·2p (+ cin·p + 2p for the projection).
            // torchvision.models.resnet.BasicBlock itself: 9·16·16 + 9·16·16 + 64
            (new BlockCase("torchvision BasicBlock identity", "TorchvisionBasicBlock", A(("inChannels", 16L), ("planes", 16L), ("stride", 1L)),
                () => new BasicBlock("block", 16, 16, 1, ShortcutKind.Conv), new long[] { 2, 16, 6, 7 }, ResNetInit), 4672),
            // 9·16·32 + 9·32·32 + 128 + 16·32 + 64
            (new BlockCase("torchvision BasicBlock s2 downsample", "TorchvisionBasicBlock", A(("inChannels", 16L), ("planes", 32L), ("stride", 2L)),
                () => new BasicBlock("block", 16, 32, 2, ShortcutKind.Conv), new long[] { 2, 16, 7, 6 }, ResNetInit), 14528),
            // + SE 32·8 + 8 + 8·32 + 32
            (Basic("BasicBlock SiLU SE r8 projection", 16, 32, 1, ShortcutKind.Conv, 5, 6, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 8)), 15080),
            (Basic("BasicBlock dilation 2 identity", 16, 16, 1, ShortcutKind.Conv, 7, 7, new(Dilation: 2)), 4672),
            (Basic("BasicBlock first_dilation 1 dilation 2 ECA", 16, 16, 1, ShortcutKind.Conv, 7, 7, new(Attention: ChannelAttentionKind.Eca, AttentionKernel: 3, Dilation: 2), firstDilation: 1), 4675),
            (Basic("BasicBlock s2 avgdown odd map", 16, 32, 2, ShortcutKind.AvgDown, 7, 5), 14528),
            // FrozenBatchNorm2d: 9·16·32 + 9·32·32 + 16·32 (no norm parameters)
            (Basic("BasicBlock s2 frozen BN", 16, 32, 2, ShortcutKind.Conv, 6, 6, new(Norm: NormKind.FrozenBatch)), 14336),
            (Basic("BasicBlock GroupNorm 8 avgdown", 16, 32, 2, ShortcutKind.AvgDown, 6, 5, new(Norm: NormKind.Group, NormGroups: 8)), 14528),

            // Norms: torchvision.ops.misc.FrozenBatchNorm2d (buffers only) and torch.nn.GroupNorm(8, 32).
            (new BlockCase("FrozenBatchNorm2d", "FrozenBatchNorm2d", A(("channels", 12L)),
                () => Norms.Create(NormKind.FrozenBatch, 12), new long[] { 3, 12, 4, 5 }, RandomFrozenStatistics), 0),
            (new BlockCase("GroupNorm 8 groups", "GroupNorm", A(("channels", 32L), ("groups", 8L)),
                () => Norms.Create(NormKind.Group, 32, 8), new long[] { 2, 32, 3, 4 }, RandomAffine), 64),
        };

        /// <summary>FrozenBatchNorm2d's four buffers drawn away from 1/0 (ParityHarness.Randomize knows only BatchNorm).</summary>
        private static void RandomFrozenStatistics(nn.Module module)
        {
            using var noGrad = torch.no_grad();
            foreach (var (name, b) in module.named_buffers())
            {
                if (name is "running_var" or "weight") b.uniform_(0.5, 1.5);
                else b.uniform_(-0.3, 0.3);
            }
        }

        /// <summary>A lone norm's own affine terms drawn away from 1/0 (Init and Randomize reach only the modules below the
        /// root). Also the initialisation: TorchSharp 0.107's GroupNorm starts from torch.empty, not torch's ones/zeros.</summary>
        private static void RandomAffine(nn.Module module)
        {
            using var noGrad = torch.no_grad();
            foreach (var (name, p) in module.named_parameters())
            {
                if (name == "weight") p.uniform_(0.5, 1.5);
                else p.uniform_(-0.3, 0.3);
            }
        }

        public static TheoryData<string> Names(string prefix)
        {
            var data = new TheoryData<string>();
            foreach (var (c, _) in Cases.Where(c => c.Case.Kind.Contains(prefix, StringComparison.Ordinal)))
                data.Add(c.Name);
            return data;
        }

        public static TheoryData<string> HaloCases => Names("Halo");
        public static TheoryData<string> LambdaCases => Names("Lambda");
        public static TheoryData<string> BasicCases => Names("BasicBlock");
        public static TheoryData<string> NormCases => Names("Norm");

        [Theory, MemberData(nameof(HaloCases))] public void HaloAttention(string name) => Check(name);
        [Theory, MemberData(nameof(LambdaCases))] public void LambdaLayer(string name) => Check(name);
        [Theory, MemberData(nameof(BasicCases))] public void BasicBlockParity(string name) => Check(name);
        [Theory, MemberData(nameof(NormCases))] public void Norm(string name) => Check(name);

        [Fact]
        public void HaloReferenceRelativeLogitsEqualExplicitIndexing()
        {
            // timm's pad-and-reshape relative logits (in the reference) against explicit indexing, the formulation the
            // Runtime's HaloAttention2d uses (gather of q·relᵀ at j - i + win - 1); and timm's relative position indices.
            var (code, output) = PythonReference.RunScript("reference_byoa_layers.py selfcheck");
            _out.WriteLine(output);
            Assert.True(code == 0, output);
            Assert.Equal("ok", output.Trim());
        }

        private void Check(string name)
        {
            var (c, expected) = Cases.Single(x => x.Case.Name == name);
            var r = ParityHarness.Run(_python, c);
            _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"PARITY {c.Name}: params {r.ParamCount} (ref {r.ReferenceParamCount}); max|Δ| out.eval {r.OutEval:E2} out.train {r.OutTrain:E2} " +
                $"grad.input {r.GradInput:E2} grad.params {r.GradParams:E2} ({r.WorstGradParam}); |out| max {r.OutputScale:F3}"));
            var missing = r.ReferenceStateKeys.Except(r.StateKeys).ToList();
            var unexpected = r.StateKeys.Except(r.ReferenceStateKeys).ToList();
            Assert.True(missing.Count == 0 && unexpected.Count == 0,
                $"{c.Name}: state-dict keys differ. Missing in C#: [{string.Join(", ", missing)}]; extra in C#: [{string.Join(", ", unexpected)}]");
            Assert.Equal(r.ReferenceParamCount, r.ParamCount);
            Assert.Equal(expected, r.ParamCount);
            Assert.True(r.OutEval <= ParityHarness.OutputTolerance, $"{c.Name}: eval output differs by {r.OutEval:E3}");
            Assert.True(r.OutTrain <= ParityHarness.OutputTolerance, $"{c.Name}: train-mode output differs by {r.OutTrain:E3}");
            Assert.True(r.GradInput <= ParityHarness.GradTolerance, $"{c.Name}: input gradient differs by {r.GradInput:E3}");
            Assert.True(r.GradParams <= ParityHarness.GradTolerance, $"{c.Name}: gradient of {r.WorstGradParam} differs by {r.GradParams:E3}");
        }
    }
}

namespace Torchwright.Runtime.Tests
{
    /// <summary>The slot modules' and the basic block's construction checks, shapes and interface facts (no Python).</summary>
    public sealed class AttentionSlotModuleTests
    {
        private static string Message(Action build) => Assert.ThrowsAny<ArgumentException>(build).Message.Split(Environment.NewLine)[0];

        [Fact]
        public void HaloReportsItsChannelsStrideAndDerivedHeadWidth()
        {
            using var halo = new HaloAttention2d("mhsa", 64, dimOut: 128, stride: 2, heads: 8, qkRatio: 0.5, blockSize: 8, haloSize: 3);
            ISelfAttention2d slot = halo;
            Assert.Equal((64L, 128L, 2L), (slot.InChannels, slot.OutChannels, slot.Stride));
            Assert.Equal(8, halo.QkHeadDim);   // make_divisible(128 * 0.5, 8) / 8
            using var x = torch.randn(1, 64, 16, 24);
            using var y = halo.call(x);
            Assert.Equal(new long[] { 1, 128, 8, 12 }, y.shape);
        }

        [Fact]
        public void HaloRefusesWhatTimmOnlyAssertsAtRunTime()
        {
            Assert.Equal("HaloAttention2d: dimOut = 36 must be divisible by heads = 8; choose dimOut as a multiple of 8. (Parameter 'dimOut')",
                Message(() => new HaloAttention2d("mhsa", 32, dimOut: 36, heads: 8)));
            Assert.Equal("HaloAttention2d: stride must be 1 or 2 (timm HaloAttn), got 4. (Parameter 'stride')",
                Message(() => new HaloAttention2d("mhsa", 32, stride: 4)));
            Assert.Equal("HaloAttention2d: qkRatio = 0.5 has no effect when dimHead (= 16) is given; leave qkRatio at 1 or dimHead null. (Parameter 'qkRatio')",
                Message(() => new HaloAttention2d("mhsa", 32, dimHead: 16, qkRatio: 0.5)));
            Assert.Equal("HaloAttention2d: avgDown has no effect at stride 1; leave it false or use stride 2. (Parameter 'avgDown')",
                Message(() => new HaloAttention2d("mhsa", 32, avgDown: true)));
            using var halo = new HaloAttention2d("mhsa", 16, heads: 4, blockSize: 8, haloSize: 2);
            using var x = torch.randn(1, 16, 16, 12);
            Assert.Equal("HaloAttention2d 'mhsa': the 16x12 map is not a multiple of the block size 8; choose an input size whose map here is a multiple of 8, or a block size that divides 16 and 12. (Parameter 'input')",
                Message(() => halo.call(x)));
        }

        [Fact]
        public void LambdaReportsItsShapeAndRefusesSettingsWithoutEffect()
        {
            using var lambda = new LambdaLayer2d("mhsa", 32, stride: 2, heads: 4, r: 9);
            Assert.Equal((32L, 32L, 2L, 16L), (lambda.InChannels, lambda.OutChannels, lambda.Stride, lambda.QkHeadDim));
            using (var x = torch.randn(2, 32, 6, 10))
            using (var y = lambda.call(x))
                Assert.Equal(new long[] { 2, 32, 3, 5 }, y.shape);

            Assert.Equal("LambdaLayer2d: without r (relative positions) the input map is fixed: give featSize (H, W) of this layer's input. (Parameter 'featSize')",
                Message(() => new LambdaLayer2d("mhsa", 32, r: null)));
            Assert.Equal("LambdaLayer2d: featSize has no effect with the local lambda convolution (r = 9); leave featSize null, or set r null for fixed-size relative positions. (Parameter 'featSize')",
                Message(() => new LambdaLayer2d("mhsa", 32, featSize: (8, 8))));
            Assert.Equal("LambdaLayer2d: r (the lambda convolution's kernel) must be odd and positive, got 8. (Parameter 'r')\nActual value was 8.",
                Assert.Throws<ArgumentOutOfRangeException>(() => new LambdaLayer2d("mhsa", 32, r: 8)).Message);
            Assert.Equal("LambdaLayer2d: dimOut = 30 must be divisible by heads = 4; choose dimOut as a multiple of 4. (Parameter 'dimOut')",
                Message(() => new LambdaLayer2d("mhsa", 30)));
            using var fixedMap = new LambdaLayer2d("mhsa", 16, featSize: (8, 8), r: null);
            using var wrong = torch.randn(1, 16, 8, 6);
            Assert.Equal("LambdaLayer2d 'mhsa' was built for a 8x8 map (its relative-position table fixes it) but got 8x6. Build the layer for this map size, change the input resolution, or use the local lambda convolution (r). (Parameter 'input')",
                Message(() => fixedMap.call(wrong)));
        }

        [Fact]
        public void LambdaNormsFollowTheNormKind()
        {
            using var lambda = new LambdaLayer2d("mhsa", 32, heads: 4, norm: NormKind.FrozenBatch);
            var children = lambda.named_children().ToDictionary(c => c.name, c => c.module);
            Assert.IsType<FrozenBatchNorm2d>(children["norm_q"]);
            Assert.IsType<FrozenBatchNorm2d>(children["norm_v"]);
            // qkv weight and conv_lambda weight and bias; the frozen norms have buffers only.
            Assert.Equal(new[] { "conv_lambda.bias", "conv_lambda.weight", "qkv.weight" }, lambda.named_parameters().Select(p => p.name).OrderBy(n => n, StringComparer.Ordinal));
        }

        /// <summary>TorchSharp 0.107's GroupNorm starts from torch.empty; Norms.Create starts it at PyTorch's ones and zeros.</summary>
        [Fact]
        public void GroupNormStartsAtOnesAndZeros()
        {
            using var norm = (TorchSharp.Modules.GroupNorm)Norms.Create(NormKind.Group, 64, 8);
            Assert.True(norm.weight!.eq(1).all().item<bool>(), "GroupNorm weight must start at 1");
            Assert.True(norm.bias!.eq(0).all().item<bool>(), "GroupNorm bias must start at 0");
        }

        [Fact]
        public void BasicBlockRegistersTorchvisionNamesAndDropPath()
        {
            using var block = new BasicBlock("block", 16, 32, 2, ShortcutKind.AvgDown, new(Activation.SiLU, ChannelAttentionKind.SqueezeExcite, 8), dropPath: 0.1);
            Assert.Equal(new[] { "conv1", "bn1", "act", "conv2", "bn2", "se", "downsample", "drop_path" }, block.named_children().Select(c => c.name));
            Assert.Equal(new[] { "0", "1", "2" }, ((Chain)block.named_children().Single(c => c.name == "downsample").module).named_children().Select(c => c.name));
            Assert.Equal("BasicBlock: channel attention Position AfterSpatialConv is not supported: the block has no 3x3 conv to follow (timm's SelfAttnBlock has no attn either). Use Position AfterLastNorm (after bn3), or a Bottleneck block. (Parameter 'options')",
                Message(() => new BasicBlock("block", 16, 16, 1, ShortcutKind.Conv, new(Attention: ChannelAttentionKind.SqueezeExcite, AttentionChannels: 4, Position: ChannelAttentionPosition.AfterSpatialConv))));
            using var grouped = new BasicBlock("block", 16, 16, 1, ShortcutKind.Conv, new(Norm: NormKind.Group, NormGroups: 4));
            Assert.IsType<TorchSharp.Modules.GroupNorm>(grouped.LastNorm);
        }

        [Fact]
        public void FrozenBatchNormGetsNoGradientsAndKeepsItsStatisticsInTraining()
        {
            using var block = new BasicBlock("block", 8, 8, 1, ShortcutKind.Conv, new(Norm: NormKind.FrozenBatch));
            var frozen = block.modules().OfType<FrozenBatchNorm2d>().ToList();
            Assert.Equal(2, frozen.Count);
            Assert.Empty(frozen.SelectMany(f => f.parameters()));
            using (torch.no_grad())
                foreach (var f in frozen)
                    foreach (var (_, b) in f.named_buffers())
                        b.uniform_(0.5, 1.5);
            var before = block.named_buffers().ToDictionary(b => b.name, b => b.buffer.clone());
            block.train();
            using var x = torch.randn(4, 8, 5, 5).requires_grad_(true);
            using var y = block.call(x);
            y.square().sum().backward();
            foreach (var (name, b) in block.named_buffers())
            {
                Assert.False(b.requires_grad, name);
                Assert.Null(b.grad);
                Assert.True(b.allclose(before[name], 0, 0), $"{name} changed in a training step");
            }
            Assert.Equal(new[] { "conv1.weight", "conv2.weight" }, block.named_parameters().Select(p => p.name));
            Assert.All(block.parameters(), p => Assert.NotNull(p.grad));
            // The same arithmetic in eval mode as in training.
            block.eval();
            using (torch.no_grad())
            using (var yEval = block.call(x))
                Assert.True(yEval.allclose(y.detach(), 0, 0), "eval and train outputs differ");
        }
    }
}
