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
    /// dicts, and for both random float64 weights with an input and its logits; and, for every byobnet it knows (issue
    /// 22's zoo, halonet_h1's one-conv 7x7 stem with and without pool), each timm key's shape and Torchwright name.
    /// </summary>
    public sealed class TimmByobnetCases : IDisposable
    {
        public TimmByobnetCases()
        {
            Dir = Path.Combine(Path.GetTempPath(), "torchwright-timm-keymap-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Dir);
            var (code, output) = PythonReference.RunScript($"reference_byobnet.py cases \"{Dir}\" botnet26t_256 eca_botnext26ts_256");
            Assert.True(code == 0, output);
            (code, output) = PythonReference.RunScript($"reference_byobnet.py names \"{Dir}\"");
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
            var map = KeyMaps.Get("timm").For(tensors.Tensors.Keys);
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
            Assert.Equal("stages.0.0.conv1_1x1.conv.weight", KeyMaps.Identity.For(new[] { "stages.0.0.conv1_1x1.conv.weight" }).Map("stages.0.0.conv1_1x1.conv.weight"));
            var ex = Assert.Throws<ArgumentException>(() => KeyMaps.Get("timm-resnet"));
            Assert.Contains("Unknown key-map scheme 'timm-resnet'", ex.Message);
            Assert.Contains("none, timm, timm-byobnet, torchvision", ex.Message);
        }

        /// <summary>Each rule on a key of its own (the checkpoint = that key; the stem's key-set rules have their own test).</summary>
        [Theory]
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
        // Halo and Lambda fill the same mhsa slot (issue 22's contract)
        [InlineData("stages.2.1.self_attn.q.weight", "layer3.1.mhsa.q.weight")]
        [InlineData("stages.2.1.self_attn.kv.weight", "layer3.1.mhsa.kv.weight")]
        [InlineData("stages.3.0.self_attn.pos_embed.width_rel", "layer4.0.mhsa.rel_pos.width_rel")]
        [InlineData("stages.1.3.self_attn.norm_q.running_var", "layer2.3.mhsa.norm_q.running_var")]
        [InlineData("stages.1.3.self_attn.norm_v.num_batches_tracked", "layer2.3.mhsa.norm_v.num_batches_tracked")]
        [InlineData("stages.3.1.self_attn.conv_lambda.bias", "layer4.1.mhsa.conv_lambda.bias")]
        [InlineData("stages.3.1.self_attn.pos_emb", "layer4.1.mhsa.pos_emb")]
        [InlineData("final_conv.conv.weight", "final_conv.0.weight")]
        [InlineData("final_conv.bn.running_mean", "final_conv.1.running_mean")]
        [InlineData("stem.conv.weight", "conv1.weight")]   // a stem that is one ConvNormAct (no pool)
        [InlineData("stem.bn.bias", "bn1.bias")]
        [InlineData("stages.3.1.post_attn.running_var", "layer4.1.bn2.running_var")]
        [InlineData("stages.3.1.conv3_1x1.bn.weight", "layer4.1.bn3.weight")]
        [InlineData("head.fc.bias", "fc.bias")]
        // byobnet's attn (before conv3_1x1) is se of a block with attention_at = spatial
        [InlineData("stages.0.0.attn.conv.weight", "layer1.0.se.conv.weight")]
        [InlineData("stages.1.1.attn.fc2.bias", "layer2.1.se.fc2.bias")]
        // not mapped (docs/weights.md): attn_last (after conv3_1x1), a fifth stage, an MLP head
        [InlineData("stages.0.0.attn_last.fc1.weight", "layer1.0.attn_last.fc1.weight")]
        [InlineData("head.norm.weight", "head.norm.weight")]
        [InlineData("stages.4.0.conv1_1x1.conv.weight", "stages.4.0.conv1_1x1.conv.weight")]
        [InlineData("stages.10.0.conv1_1x1.conv.weight", "stages.10.0.conv1_1x1.conv.weight")]
        public void Timm_byobnet_rules_rename_each_part(string timmKey, string expected) =>
            Assert.Equal(expected, KeyMaps.Get("timm").For(new[] { timmKey }).Map(timmKey));

        /// <summary>timm's stem.conv1 is torchvision's conv1 of a one-conv stem (7x7 with a pool) and conv1.0 of a three-conv
        /// (tiered/deep) stem: the map decides from the whole key set, which a per-key regex cannot.</summary>
        [Fact]
        public void Stem_conv1_follows_the_number_of_stem_convs_in_the_checkpoint()
        {
            var map = KeyMaps.Get("timm");
            var one = new[] { "stem.conv1.conv.weight", "stem.conv1.bn.weight", "stem.conv1.bn.running_var", "head.fc.weight" };
            var three = one.Concat(new[] { "stem.conv2.conv.weight", "stem.conv3.bn.bias" }).ToArray();
            var r1 = map.For(one);
            Assert.Equal("conv1.weight", r1.Map("stem.conv1.conv.weight", out var applied));
            Assert.Equal(new[] { "stem.conv1.conv (one conv)" }, applied);
            Assert.Equal("bn1.running_var", r1.Map("stem.conv1.bn.running_var"));
            var r3 = map.For(three);
            Assert.Equal("conv1.0.weight", r3.Map("stem.conv1.conv.weight", out applied));
            Assert.Equal(new[] { "stem.conv1.conv" }, applied);
            Assert.Equal("conv1.1.weight", r3.Map("stem.conv1.bn.weight"));
            Assert.Equal("conv1.3.weight", r3.Map("stem.conv2.conv.weight"));
            Assert.Equal("bn1.bias", r3.Map("stem.conv3.bn.bias"));
            Assert.Equal(map.Rules.Count - 2, r1.Rules.Count);
            Assert.Equal(map.Rules.Count - 2, r3.Rules.Count);
            var guarded = map.Rules.Single(r => r.Name == "stem.conv1.conv (one conv)");
            Assert.Equal("stem.conv1.conv (one conv): ^stem\\.conv1\\.conv\\. -> conv1. (when no key starts with 'stem.conv2.')", guarded.ToString());
        }

        /// <summary>
        /// Every key of every byobnet the reference knows (issue 22's zoo: halo, lambda, SE, final_conv, stems without
        /// pool; botnet26t/eca_botnext26ts; halonet_h1's one-conv 7x7 stem with and without pool) is renamed by the
        /// 'timm' map, bound to that checkpoint's key set, to the Torchwright name the reference derives from its module
        /// tree (python/reference_byobnet.py names), by at least one rule, and no two keys collapse.
        /// </summary>
        [Theory]
        [InlineData("botnet26t_256", 0)]
        [InlineData("eca_botnext26ts_256", 0)]
        [InlineData("halonet26t", 0)]
        [InlineData("sehalonet33ts", 0)]
        [InlineData("halonet50ts", 0)]
        [InlineData("eca_halonext26ts", 0)]
        [InlineData("lambda_resnet26t", 0)]
        [InlineData("lambda_resnet50ts", 0)]
        [InlineData("lambda_resnet26rpt_256", 0)]
        [InlineData("halo2botnet50ts_256", 0)]
        [InlineData("lamhalobotnet50ts_256", 0)]
        [InlineData("sebotnet33ts_256", 0)]
        [InlineData("botnet50ts_256", 0)]
        [InlineData("halonet_h1", 1)]
        [InlineData("halonet_h1_nopool", 1)]
        public void Every_timm_key_is_renamed_to_its_torchwright_name(string net, int oneConvStem)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_cases[$"{net}.names.json"]));
            var expected = doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("torchwright").GetString()!, StringComparer.Ordinal);
            var renaming = KeyMaps.Get("timm").For(expected.Keys);
            foreach (var (timmKey, twKey) in expected)
            {
                Assert.Equal(twKey, renaming.Map(timmKey, out var applied));
                Assert.NotEmpty(applied);
            }
            Assert.Equal(expected.Count, expected.Values.Distinct(StringComparer.Ordinal).Count());
            Assert.Equal(oneConvStem == 1, expected.ContainsValue("conv1.weight"));
            Assert.Equal(oneConvStem == 0, expected.ContainsValue("conv1.6.weight"));
        }

        /// <summary>
        /// Exact counts of the PyTorch references (python/reference_byobnet.py counts: timm's byoanet layouts at 256x256,
        /// torchvision's resnet18/34 at 224); the script itself fails unless each parameter count rounds to timm's
        /// published millions (results/benchmark-infer-amp-nchw-pt113-cu117-rtx3090.csv) or equals torchvision's exact
        /// count. MACs: conv + linear + attention (BoT/Halo q.k, attn.v, relative logits; Lambda's content and position
        /// lambdas and both q.lambda products), 1 MAC = 1 multiply-add.
        /// </summary>
        [Fact]
        public void Reference_layouts_hit_the_published_parameter_counts_exactly()
        {
            var (code, output) = PythonReference.RunScript("reference_byobnet.py counts", 300_000);
            Assert.True(code == 0, output);
            var expected = new (string Net, long Params, long Macs, long Attention, int Size)[]
            {
                ("botnet26t_256", 12_488_672, 3_297_394_688, 118_030_336, 256),
                ("eca_botnext26ts_256", 10_593_301, 2_438_343_552, 63_234_048, 256),
                ("halonet26t", 12_480_288, 3_172_810_752, 43_778_048, 256),
                ("sehalonet33ts", 13_691_712, 3_530_416_128, 116_916_224, 256),
                ("halonet50ts", 22_733_280, 5_269_504_000, 160_759_808, 256),
                ("eca_halonext26ts", 10_756_885, 2_420_099_968, 28_213_248, 256),
                ("lambda_resnet26t", 10_958_272, 3_003_465_728, 82_575_360, 256),
                ("lambda_resnet50ts", 21_536_832, 5_036_654_592, 129_761_280, 256),
                ("lambda_resnet26rpt_256", 10_988_688, 3_138_863_104, 217_972_736, 256),
                ("halo2botnet50ts_256", 22_635_360, 4_991_369_216, 209_780_736, 256),
                ("lamhalobotnet50ts_256", 22_569_824, 4_989_796_352, 279_511_040, 256),
                ("sebotnet33ts_256", 13_701_984, 3_866_812_416, 402_980_864, 256),
                ("botnet50ts_256", 22_742_688, 5_511_725_056, 402_980_864, 256),
                ("resnet18", 11_689_512, 1_814_073_344, 0, 224),
                ("resnet34", 21_797_672, 3_663_761_408, 0, 224),
                ("halonet_h1", 8_100_056, 2_988_232_704, 862_257_152, 256),
                // output_stride (timm's create_byob_stages; torchvision's replace_stride_with_dilation): OutputStrideTests pins the same.
                ("botnet50ts_os16_128", 22_734_496, 1_927_036_928, 31_752_192, 128),
                ("botnet50ts_os8_128", 22_744_736, 5_776_392_192, 206_897_152, 128),
                ("resnet50_os16", 25_557_032, 6_208_618_496, 0, 224),
                ("resnet50_os8", 25_557_032, 19_079_364_608, 0, 224),
            };
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            foreach (var (net, p, m, a, size) in expected)
            {
                var line = output.Split('\n').SingleOrDefault(l => l.StartsWith(net + ": ", StringComparison.Ordinal));
                Assert.True(line != null, $"{net} missing from:\n{output}");
                Assert.StartsWith(string.Format(inv, "{0}: params {1:N0}; MACs {2:N0} = ", net, p, m), line);
                Assert.Contains(string.Format(inv, " + attention {0:N0} at {1}", a, size), line);
                Assert.DoesNotContain("MISMATCH", line);
            }
        }

        /// <summary>The Torchwright names of each self-attention kind, as issue 22's contract gives them.</summary>
        [Fact]
        public void Halo_lambda_and_final_conv_keys_take_the_contract_names()
        {
            Dictionary<string, string> Names(string net)
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(_cases[$"{net}.names.json"]));
                return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("torchwright").GetString()!, StringComparer.Ordinal);
            }
            var lamhalobot = Names("lamhalobotnet50ts_256").Values.Where(v => v.Contains(".mhsa.")).ToHashSet(StringComparer.Ordinal);
            // c3 (layer2): lambda with r = 13 at blocks 1 and 3; c4 (layer3): halo at 1, 3, 5; c5 (layer4): BoT at 1
            Assert.Subset(lamhalobot, new HashSet<string> { "layer2.1.mhsa.qkv.weight", "layer2.1.mhsa.norm_q.weight", "layer2.1.mhsa.norm_v.running_mean",
                "layer2.1.mhsa.conv_lambda.weight", "layer2.1.mhsa.conv_lambda.bias", "layer3.5.mhsa.q.weight", "layer3.5.mhsa.kv.weight",
                "layer3.5.mhsa.rel_pos.height_rel", "layer4.1.mhsa.qkv.weight", "layer4.1.mhsa.rel_pos.width_rel" });
            Assert.Equal(2 * 11 + 3 * 4 + 3, lamhalobot.Count(k => !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)));
            var rpt = Names("lambda_resnet26rpt_256");
            Assert.Equal("layer4.0.mhsa.pos_emb", rpt["stages.3.0.self_attn.pos_emb"]);
            var se = Names("sehalonet33ts");
            Assert.Equal("final_conv.0.weight", se["final_conv.conv.weight"]);
            Assert.Equal("final_conv.1.running_var", se["final_conv.bn.running_var"]);
            Assert.Equal("layer1.0.se.fc1.weight", se["stages.0.0.attn.fc1.weight"]);
            Assert.Equal("conv1.6.weight", se["stem.conv3.conv.weight"]);
        }

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
            file.Tensors["head.norm.weight"] = torch.zeros(2048);
            var report = net.LoadWeights(file, strict: false, keyMap: KeyMaps.Get("timm"));
            Assert.Equal(new[] { "head.norm.weight" }, report.Unexpected);
            Assert.Contains("head.norm.weight (no 'timm-byobnet' rule matched)", report.Problems);
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
