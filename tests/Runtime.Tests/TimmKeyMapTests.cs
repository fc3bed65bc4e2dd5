using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.CompilerServices;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// python/reference_byobnet.py (timm's byobnet layout and names) writes botnet26t_256 and eca_botnext26ts_256 state
    /// dicts, and for both random float64 weights with an input and its logits; one Python run for the class.
    /// </summary>
    public sealed class TimmByobnetCases : IDisposable
    {
        public TimmByobnetCases()
        {
            Dir = Path.Combine(Path.GetTempPath(), "torchwright-timm-keymap-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Dir);
            var (code, output) = PythonReference.RunScript($"reference_byobnet.py cases \"{Dir}\"");
            Assert.True(code == 0, output);
        }

        public string Dir { get; }

        public string this[string file] => Path.Combine(Dir, file);

        public void Dispose()
        {
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// A ResNet-family network built by hand from Runtime blocks with torchvision names: deep stem conv1 = Chain(conv,
    /// bn, act, conv, bn, act, conv) with explicit widths, bn1, act, maxpool 3x3/2, layer1..4, mean over H·W, fc; the stem's
    /// activation is registered as torchvision's <c>relu</c> whichever it is (it has no parameters).
    /// </summary>
    internal sealed class HandBuiltResNet : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> conv1, bn1, relu, maxpool, fc;
        private readonly nn.Module<Tensor, Tensor>[] layers;

        public HandBuiltResNet(long[] stemWidths, nn.Module<Tensor, Tensor>[] layers, long features, long classes, Activation act = Activation.ReLU) : base("net")
        {
            conv1 = new Chain("conv1",
                nn.Conv2d(3, stemWidths[0], 3, stride: 2, padding: 1, bias: false), nn.BatchNorm2d(stemWidths[0]), Activations.Create(act),
                nn.Conv2d(stemWidths[0], stemWidths[1], 3, padding: 1, bias: false), nn.BatchNorm2d(stemWidths[1]), Activations.Create(act),
                nn.Conv2d(stemWidths[1], stemWidths[2], 3, padding: 1, bias: false));
            bn1 = nn.BatchNorm2d(stemWidths[2]);
            relu = Activations.Create(act);
            maxpool = nn.MaxPool2d(3, 2, 1);
            this.layers = layers;
            fc = nn.Linear(features, classes);
            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module("relu", relu);
            register_module("maxpool", maxpool);
            for (int i = 0; i < layers.Length; i++)
                register_module($"layer{i + 1}", layers[i]);
            register_module("fc", fc);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var x = input.Through(conv1, bn1, relu, maxpool);
            x = x.Through(layers).Freeing(x);
            var pooled = x.mean(new long[] { 2, 3 }).Freeing(x);
            return fc.call(pooled).Freeing(pooled).MoveToOuterDisposeScope();
        }

        /// <summary>timm's botnet26t_256: ReLU, cardinality 1, no channel attention, q/k heads of width/4.</summary>
        public static HandBuiltResNet Botnet26t() => Botnet26(groupSize: 0, Activation.ReLU, eca: false, qkHeadDim: 0);

        /// <summary>timm's eca_botnext26ts_256: SiLU everywhere, cardinality width/16 in the bottleneck blocks, ECA after
        /// conv2's BN and act on the width (kernels 3, 3, 5, 5, 5 from timm's rule for 64, 64, 128, 128, 256 channels),
        /// BottleneckAttn dim_head 16.</summary>
        public static HandBuiltResNet EcaBotnext26ts() => Botnet26(groupSize: 16, Activation.SiLU, eca: true, qkHeadDim: 16);

        /// <summary>
        /// The BoTNet-26 layout at 256x256: tiered stem 24, 32, 64; depths 2, 2, 2, 2; layer3.1, layer4.0, layer4.1 MHSA
        /// with 4 heads on 16x16, 16x16 (then AvgPool), 8x8 maps; conv shortcuts.
        /// </summary>
        public static HandBuiltResNet Botnet26(long groupSize, Activation act, bool eca, long qkHeadDim)
        {
            long G(long width) => groupSize == 0 ? 1 : width / groupSize;
            // timm EcaModule(channels): t = int((log2 C + 1) / 2), k = t odd ? t : t + 1, at least 3.
            long EcaKernel(long c) { long t = (long)((Math.Log2(c) + 1) / 2); return Math.Max(t % 2 == 1 ? t : t + 1, 3); }
            Bottleneck B(long cin, long width, long cout, long stride) =>
                new("block", cin, width, cout, stride, G(width), ShortcutKind.Conv, eca
                    ? new BlockOptions(act, ChannelAttentionKind.Eca, AttentionKernel: EcaKernel(width), Position: ChannelAttentionPosition.AfterSpatialConv)
                    : new BlockOptions(act));
            SelfAttnBottleneck Bot(long cin, long width, long cout, long stride, long map) =>
                new("block", cin, width, cout, stride, new MultiHeadSelfAttention2d("mhsa", width, 4, map, map, qkHeadDim, stride), ShortcutKind.Conv, new BlockOptions(act));
            return new HandBuiltResNet(new long[] { 24, 32, 64 }, new nn.Module<Tensor, Tensor>[]
            {
                new Chain("layer1", B(64, 64, 256, 1), B(256, 64, 256, 1)),
                new Chain("layer2", B(256, 128, 512, 2), B(512, 128, 512, 1)),
                new Chain("layer3", B(512, 256, 1024, 2), Bot(1024, 256, 1024, 1, 16)),
                new Chain("layer4", Bot(1024, 512, 2048, 2, 16), Bot(2048, 512, 2048, 1, 8)),
            }, 2048, 1000, act);
        }
    }

    /// <summary>The <c>timm-byobnet</c> key map (<c>--weights-from timm</c>) against timm's names for whole networks.</summary>
    [Collection(PythonCollection.Name)]
    public sealed class TimmKeyMapTests : IClassFixture<TimmByobnetCases>
    {
        private readonly TimmByobnetCases _cases;

        public TimmKeyMapTests(TimmByobnetCases cases) => _cases = cases;

        /// <summary>
        /// The timm keys of <paramref name="file"/>, renamed by the 'timm' map, are exactly <paramref name="net"/>'s state-dict
        /// keys with the same shapes (no two timm keys collapse onto one name); returns the mapped shapes.
        /// </summary>
        private Dictionary<string, long[]> AssertMapsExactly(string file, nn.Module net)
        {
            using var tensors = TensorFiles.Read(_cases[file]);
            var map = KeyMaps.Get("timm");
            var mapped = tensors.Tensors.ToDictionary(kv => map.Map(kv.Key), kv => kv.Value.shape, StringComparer.Ordinal);
            var expected = Shapes(net.state_dict());
            Assert.Equal(tensors.Tensors.Count, mapped.Count);
            Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), mapped.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (k, shape) in expected)
                Assert.True(shape.SequenceEqual(mapped[k]), $"{k}: [{string.Join(", ", shape)}] vs [{string.Join(", ", mapped[k])}]");
            return mapped;
        }

        private static Dictionary<string, long[]> Shapes(IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
            tensors.ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);

        [Fact]
        public void Scheme_names_resolve_and_unknown_ones_list_the_known()
        {
            Assert.Same(KeyMaps.TimmByobnet, KeyMaps.Get("timm"));
            Assert.Same(KeyMaps.TimmByobnet, KeyMaps.Get("TIMM-byobnet"));
            Assert.Same(KeyMaps.Identity, KeyMaps.Get("torchvision"));
            Assert.Same(KeyMaps.Identity, KeyMaps.Get("none"));
            Assert.True(KeyMaps.Identity.IsIdentity);
            Assert.Equal("stages.0.0.conv1_1x1.conv.weight", KeyMaps.Identity.Map("stages.0.0.conv1_1x1.conv.weight"));
            var ex = Assert.Throws<ArgumentException>(() => KeyMaps.Get("timm-resnet"));
            Assert.Contains("Unknown key-map scheme 'timm-resnet'", ex.Message);
            Assert.Contains("none, timm, timm-byobnet, torchvision", ex.Message);
        }

        [Theory]
        [InlineData("stem.conv1.conv.weight", "conv1.0.weight")]
        [InlineData("stem.conv2.bn.running_mean", "conv1.4.running_mean")]
        [InlineData("stem.conv3.conv.weight", "conv1.6.weight")]
        [InlineData("stem.conv3.bn.num_batches_tracked", "bn1.num_batches_tracked")]
        [InlineData("stages.0.0.shortcut.conv.weight", "layer1.0.downsample.0.weight")]
        [InlineData("stages.1.0.shortcut.bn.bias", "layer2.0.downsample.1.bias")]
        [InlineData("stages.1.0.shortcut.conv.conv.weight", "layer2.0.downsample.1.weight")]   // downsample='avg'
        [InlineData("stages.1.0.shortcut.conv.bn.running_mean", "layer2.0.downsample.2.running_mean")]
        [InlineData("stages.2.0.conv2_kxk.conv.weight", "layer3.0.conv2.weight")]
        [InlineData("stages.2.1.self_attn.qkv.weight", "layer3.1.mhsa.qkv.weight")]
        [InlineData("stages.3.0.self_attn.pos_embed.height_rel", "layer4.0.mhsa.rel_pos.height_rel")]
        [InlineData("stages.3.1.post_attn.running_var", "layer4.1.bn2.running_var")]
        [InlineData("stages.3.1.conv3_1x1.bn.weight", "layer4.1.bn3.weight")]
        [InlineData("head.fc.bias", "fc.bias")]
        // byobnet's attn (before conv3_1x1) is se of a block with attention_at = spatial
        [InlineData("stages.0.0.attn.conv.weight", "layer1.0.se.conv.weight")]
        [InlineData("stages.1.1.attn.fc2.bias", "layer2.1.se.fc2.bias")]
        // not mapped (docs/weights.md): attn_last (after conv3_1x1), final_conv, a fifth stage
        [InlineData("stages.0.0.attn_last.fc1.weight", "layer1.0.attn_last.fc1.weight")]
        [InlineData("final_conv.conv.weight", "final_conv.conv.weight")]
        [InlineData("stages.4.0.conv1_1x1.conv.weight", "stages.4.0.conv1_1x1.conv.weight")]
        [InlineData("stages.10.0.conv1_1x1.conv.weight", "stages.10.0.conv1_1x1.conv.weight")]
        public void Timm_byobnet_rules_rename_each_part(string timmKey, string expected) =>
            Assert.Equal(expected, KeyMaps.Get("timm").Map(timmKey));

        [Fact]
        public void Botnet26t_timm_keys_map_onto_the_hand_built_network_exactly()
        {
            using var net = HandBuiltResNet.Botnet26t();
            AssertMapsExactly("botnet26t_256.keys.safetensors", net);
            // timm publishes 12.49 M; the exact count of its layout (reference_byobnet.py counts)
            Assert.Equal(12_488_672L, net.parameters().Sum(p => p.numel()));
            Assert.Equal(15_744L, net.named_parameters().Where(p => p.name.Contains(".rel_pos.")).Sum(p => p.parameter.numel()));
        }

        /// <summary>eca_botnext26ts_256 maps name for name and shape for shape onto the hand-built network with ECA after the
        /// 3x3 conv (attention_at = spatial) and q/k heads of 16.</summary>
        [Fact]
        public void Eca_botnext26ts_timm_keys_map_onto_the_hand_built_network_exactly()
        {
            using var net = HandBuiltResNet.EcaBotnext26ts();
            var mapped = AssertMapsExactly("eca_botnext26ts_256.keys.safetensors", net);
            Assert.Equal(new long[] { 1, 1, 3 }, mapped["layer1.0.se.conv.weight"]);   // ECA kernel of 64 channels
            Assert.Equal(new long[] { 1, 1, 5 }, mapped["layer2.0.se.conv.weight"]);   // ... of 128
            Assert.Equal(new long[] { 1, 1, 5 }, mapped["layer3.0.se.conv.weight"]);   // ... and of 256
            Assert.Equal(new long[] { 64 + 64 + 512, 512, 1, 1 }, mapped["layer4.1.mhsa.qkv.weight"]);
            Assert.Equal(new long[] { 15, 16 }, mapped["layer4.1.mhsa.rel_pos.height_rel"]);
            // timm publishes 10.59 M; reference_byobnet.py counts 10,593,301 (2,464 in position tables, 3+3+5+5+5 in ECA)
            Assert.Equal(10_593_301L, net.parameters().Sum(p => p.numel()));
            Assert.Equal(2_464L, net.named_parameters().Where(p => p.name.Contains(".rel_pos.")).Sum(p => p.parameter.numel()));
            Assert.Equal(21L, net.named_parameters().Where(p => p.name.Contains(".se.")).Sum(p => p.parameter.numel()));
        }

        /// <summary>Built with q/k heads of width/4 (qkHeadDim 0), the same checkpoint is refused strictly, naming the timm keys.</summary>
        [Fact]
        public void A_strict_load_through_the_map_names_the_timm_key_of_each_mismatch()
        {
            using var net = HandBuiltResNet.Botnet26(groupSize: 16, Activation.SiLU, eca: true, qkHeadDim: 0);
            var ex = Assert.Throws<CheckpointMismatchException>(() =>
                net.LoadWeights(_cases["eca_botnext26ts_256.keys.safetensors"], strict: true, keyMap: KeyMaps.Get("timm")));
            Assert.Contains("read through key map 'timm-byobnet'", ex.Message);
            Assert.Contains("(9 shape mismatched; nothing was loaded)", ex.Message);
            Assert.Contains("layer4.1.mhsa.qkv.weight (file key 'stages.3.1.self_attn.qkv.weight', renamed by 'timm-byobnet'): module [1536, 512, 1, 1] vs file [640, 512, 1, 1]", ex.Message);
            Assert.Empty(ex.Report.Unexpected);
            Assert.Equal("stages.2.1.self_attn.pos_embed.width_rel", ex.Report.SourceKeys["layer3.1.mhsa.rel_pos.width_rel"]);
            Assert.Equal("stages.0.1.attn.conv.weight", ex.Report.SourceKeys["layer1.1.se.conv.weight"]);
        }

        /// <summary>Issue 24: timm's keys loaded without the map listed every key with no hint; the report and the message now
        /// name the map that renames them, and a checkpoint of Torchwright's own names gets no such suggestion.</summary>
        [Fact]
        public void Timm_keys_loaded_without_a_map_name_the_map_that_reads_them()
        {
            using var net = HandBuiltResNet.Botnet26t();
            var ex = Assert.Throws<CheckpointMismatchException>(() => net.LoadWeights(_cases["botnet26t_256.keys.safetensors"], strict: true));
            Assert.Same(KeyMaps.TimmByobnet, ex.Report.SuggestedKeyMap);
            Assert.EndsWith("\nThe unexpected keys are renamed onto missing ones by key map 'timm-byobnet': load through it (KeyMaps.Get(\"timm\")).", ex.Message);
            Assert.Equal(ex.Message.Substring(0, ex.Message.LastIndexOf('\n')), ex.Mismatch);

            using var file = TensorFiles.Read(_cases["botnet26t_256.keys.safetensors"]);
            var report = net.LoadWeights(file, strict: false, keyMap: KeyMaps.Get("timm"));
            Assert.Null(report.SuggestedKeyMap);
            // The module's own names plus one unknown key: nothing to suggest. (Not disposed: it holds the module's tensors.)
            using var extra = torch.zeros(2);
            var ownFile = new TensorFile("own", TensorFileFormat.Safetensors, new Dictionary<string, Tensor>(net.state_dict()) { ["extra.weight"] = extra }, null);
            var mismatch = Assert.Throws<CheckpointMismatchException>(() => net.LoadWeights(ownFile, strict: true));
            Assert.Null(mismatch.Report.SuggestedKeyMap);
            Assert.EndsWith("or load with strict: false to take the matching keys only.", mismatch.Message);
        }

        [Fact]
        public void An_unmatched_key_keeps_its_timm_name_in_the_report()
        {
            using var net = HandBuiltResNet.Botnet26t();
            using var file = TensorFiles.Read(_cases["botnet26t_256.keys.safetensors"]);
            file.Tensors["final_conv.conv.weight"] = torch.zeros(4, 2048, 1, 1);
            var report = net.LoadWeights(file, strict: false, keyMap: KeyMaps.Get("timm"));
            Assert.Equal(new[] { "final_conv.conv.weight" }, report.Unexpected);
            Assert.Contains("final_conv.conv.weight (no 'timm-byobnet' rule matched)", report.Problems);
            Assert.Equal(net.state_dict().Count, report.Loaded.Count);
        }

        /// <summary>
        /// The math matches: timm's layout (reference_byobnet.py, random float64 weights, relative logits by index gather
        /// rather than the C# pad-and-reshape) and the hand-built network loaded strictly through the map give the same
        /// logits at 256x256. botnet26t_256; eca_botnext26ts_256 (SiLU, groups, ECA after the 3x3 conv with random kernels,
        /// q/k heads of 16). Tolerance 1e-6 relative to the largest logit.
        /// </summary>
        [Theory]
        [InlineData("botnet26t_256")]
        [InlineData("eca_botnext26ts_256")]
        public void Logits_match_the_timm_layout_reference(string name)
        {
            using var net = name == "botnet26t_256" ? HandBuiltResNet.Botnet26t() : HandBuiltResNet.EcaBotnext26ts();
            net.to(ScalarType.Float64);
            var report = net.LoadWeights(_cases[$"{name}.state.safetensors"], strict: true, keyMap: KeyMaps.Get("timm"));
            Assert.True(report.IsExact, report.ToString());
            Assert.Equal(net.state_dict().Count, report.Loaded.Count);
            Assert.Equal(report.Loaded.Count, report.SourceKeys.Count);   // every timm key was renamed
            net.eval();

            using var io = TensorFiles.Read(_cases[$"{name}.io.safetensors"]);
            Tensor x = io.Tensors["input"], want = io.Tensors["logits"];
            Assert.Equal(new long[] { 1, 1000 }, want.shape);
            using (torch.no_grad())
            {
                using var got = net.call(x);
                double maxAbs = want.abs().max().item<double>();
                double diff = (got - want).abs().max().item<double>();
                Console.WriteLine($"{name}: max |diff| {diff:E3}, max |logit| {maxAbs:E3}");
                Assert.True(maxAbs > 0.1, $"reference logits too small to compare: {maxAbs}");
                Assert.True(diff <= 1e-6 * maxAbs, $"max |diff| {diff:E3} vs max |logit| {maxAbs:E3}");
            }
        }
    }
}
