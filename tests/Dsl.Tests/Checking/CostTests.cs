using System;
using System.Linq;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>The zoo's compile-time numbers against the published models (the README's zoo table): parameters exactly, MACs within 1 %.</summary>
    public class CostTests
    {
        private static readonly Lazy<CompilationResult> Zoo = new Lazy<CompilationResult>(() =>
        {
            var dir = System.IO.Path.Combine(DiagnosticTests.RepoRoot(), "architectures");
            return ArchCompiler.Compile(System.IO.Directory.GetFiles(dir, "*.arch").Select(p => new SourceFile(p, System.IO.File.ReadAllText(p))));
        });

        private static CheckedArchitecture Arch(string name) => Zoo.Value.Architectures.Single(a => a.Name == name);

        [Theory]
        [InlineData("ResNet50", 25_557_032L)]
        [InlineData("BotNet50", 20_852_008L)]
        [InlineData("ResNeSt50", 27_483_240L)]
        [InlineData("VanB0", 4_105_800L)]
        [InlineData("VanB1", 13_861_800L)]
        [InlineData("CotNet50", 22_222_416L)]
        [InlineData("ResTLite", 10_508_300L)]
        [InlineData("ResTSmall", 13_679_708L)]
        [InlineData("ResTLitePaperStem", 10_489_196L)]
        [InlineData("ResTSmallPaperStem", 13_660_604L)]
        // Issue 10's models, against the peer code (JDAI-CV/CoTNet, timm), recounted with our PyTorch references
        // (tests/Runtime.Tests/python: check_cotnext_counts.py, reference_byobnet.py) and timm's published figures.
        [InlineData("CotNeXt50", 30_046_276L)]
        [InlineData("CotNeXt101", 53_346_068L)]
        [InlineData("ResNeSt50d_1s4x24d", 25_677_000L)]
        [InlineData("ResNeSt50d_4s2x40d", 30_417_592L)]
        [InlineData("SeResNet50", 28_088_024L)]
        [InlineData("BotNet26t256", 12_488_672L)]
        [InlineData("EcaBotNeXt26ts256", 10_593_301L)]
        // BoTNet-S1: our exact counts of the layout that meets the paper's FLOPs (bot_s1_search.py; the paper prints
        // 33.5M / 54.7M / 75.1M, which no layout reproduces together).
        [InlineData("BotNetS1_59", 33_659_480L)]
        [InlineData("BotNetS1_110", 54_898_328L)]
        [InlineData("BotNetS1_128", 75_449_240L)]
        // Issue 22's halo and lambda zoo and BotNet50ts256: timm's exact counts (reference_byobnet.py counts, checked
        // against timm 1.0.29.dev0; they round to timm's published millions).
        [InlineData("HaloNet26t", 12_480_288L)]
        [InlineData("EcaHaloNeXt26ts", 10_756_885L)]
        [InlineData("HaloNet50ts", 22_733_280L)]
        [InlineData("LambdaResNet26t", 10_958_272L)]
        [InlineData("LambdaResNet26rpt256", 10_988_688L)]
        [InlineData("LambdaResNet50ts", 21_536_832L)]
        [InlineData("BotNet50ts256", 22_742_688L)]
        // Issue 22: torchvision's exact counts; timm's sebotnet33ts_256 (reference_byobnet.py counts, checked against timm).
        [InlineData("ResNet18", 11_689_512L)]
        [InlineData("ResNet34", 21_797_672L)]
        [InlineData("SeBotNet33ts256", 13_701_984L)]
        [InlineData("SeHaloNet33ts", 13_691_712L)]
        [InlineData("Halo2BotNet50ts256", 22_635_360L)]
        [InlineData("LamHaloBotNet50ts256", 22_569_824L)]
        public void Parameter_counts_are_exact(string name, long expected) => Assert.Equal(expected, Arch(name).Costs.Params);

        /// <summary>Exact MACs of the PyTorch references (reference_byobnet.py counts: conv + linear + attention, 1 MAC =
        /// 1 multiply-add), at each network's default input.</summary>
        [Theory]
        [InlineData("ResNet18", 1_814_073_344L, 0L)]
        [InlineData("ResNet34", 3_663_761_408L, 0L)]
        [InlineData("SeBotNet33ts256", 3_866_812_416L, 402_980_864L)]
        [InlineData("SeHaloNet33ts", 3_530_416_128L, 116_916_224L)]
        [InlineData("Halo2BotNet50ts256", 4_991_369_216L, 209_780_736L)]
        [InlineData("LamHaloBotNet50ts256", 4_989_796_352L, 279_511_040L)]
        public void Issue22_macs_are_the_references_exact_counts(string name, long macs, long attentionMacs)
        {
            var c = Arch(name).Costs;
            Assert.Equal(macs, c.Macs);
            Assert.Equal(attentionMacs, c.AttentionMacs);
        }

        [Fact]
        public void SeBotNet33ts256_has_the_pool_less_stem_and_the_final_conv()
        {
            var c = Arch("SeBotNet33ts256").Costs;
            // stem: 3x3/2, 3x3, 3x3/2 (stem_pool = none): 64x64 after the stem, no maxpool row.
            Assert.Equal("64x64x64", c.Layers.Single(l => l.Path == "conv1").Output.ToString());
            Assert.DoesNotContain(c.Layers, l => l.Path == "maxpool");
            // final_conv: 1x1 1536 -> 1280 on 8x8 + BN; fc reads 1280.
            var final = c.Layers.Single(l => l.Path == "final_conv");
            Assert.Equal(("1536x8x8", "1280x8x8", 1536L * 1280 + 2 * 1280, 1536L * 1280 * 64), (final.Input.ToString(), final.Output.ToString(), final.Params, final.Macs));
            Assert.Equal(1280L * 1000 + 1000, c.Layers.Single(l => l.Path == "fc").Params);
        }

        [Theory]
        [InlineData("ResNet50", 4.089e9, false)]
        [InlineData("BotNet50", 4.025e9, false)]
        [InlineData("ResNeSt50", 5.37e9, false)]
        [InlineData("VanB0", 0.864e9, false)]
        [InlineData("VanB1", 2.495e9, false)]
        [InlineData("CotNet50", 3.24e9, false)]
        [InlineData("ResTLitePaperStem", 1.47e9, false)]
        [InlineData("ResTSmallPaperStem", 2.03e9, false)]
        [InlineData("ResTLitePaperStem", 1.4e9, true)]
        [InlineData("ResTSmallPaperStem", 1.9e9, true)]
        // timm's published GMACs (results/*.csv); ours count the same layers (0.4-0.7 % below: timm's counter also
        // counts the SE/ECA gates' and pooling's multiplies).
        [InlineData("ResNeSt50d_1s4x24d", 4.43e9, false)]
        [InlineData("ResNeSt50d_4s2x40d", 4.40e9, false)]
        [InlineData("SeResNet50", 4.11e9, false)]
        [InlineData("BotNet26t256", 3.32e9, false)]
        [InlineData("EcaBotNeXt26ts256", 2.46e9, false)]
        // The BoTNet paper's FLOPs (multiply-adds) of T3 (224), T4 (224), T5 (256).
        [InlineData("BotNetS1_59", 7.3e9, false)]
        [InlineData("BotNetS1_110", 10.9e9, false)]
        [InlineData("BotNetS1_128", 19.3e9, false)]
        public void Macs_are_within_one_percent(string name, double expected, bool withoutAttention)
        {
            var c = Arch(name).Costs;
            double macs = withoutAttention ? c.Macs - c.AttentionMacs : c.Macs;
            if (withoutAttention)
                // The paper prints conv+linear GFLOPs rounded to one decimal (1.4 / 1.9): ours must round to it.
                Assert.Equal(expected / 1e9, Math.Round(macs / 1e9, 1));
            else
                Assert.True(Math.Abs(macs / expected - 1) < 0.01, $"{name}: {macs:N0} MACs vs {expected:N0}");
        }

        [Theory]
        // Our exact counts at 224 (the CoTNet README prints 4.3 and 8.2 GFLOPs, 1.0 % and 1.6 % above: its counter is
        // not documented; CoTNet-50's 3.24 G above is our recount of the README's 3.3, check_cotnext_counts.py).
        [InlineData("CotNeXt50", 4_254_957_312L)]
        [InlineData("CotNeXt101", 8_072_871_168L)]
        public void CoTNeXt_macs_are_our_exact_recount(string name, long expected) => Assert.Equal(expected, Arch(name).Costs.Macs);

        [Theory]
        // reference_byobnet.py counts at 256 (conv + linear + attention MACs; attention: q·k, attn·v and the position
        // logits of BoT and Halo; Lambda's content and position lambdas and both q·λ products).
        [InlineData("HaloNet26t", 3_172_810_752L, 43_778_048L)]
        [InlineData("EcaHaloNeXt26ts", 2_420_099_968L, 28_213_248L)]
        [InlineData("HaloNet50ts", 5_269_504_000L, 160_759_808L)]
        [InlineData("LambdaResNet26t", 3_003_465_728L, 82_575_360L)]
        [InlineData("LambdaResNet26rpt256", 3_138_863_104L, 217_972_736L)]
        [InlineData("LambdaResNet50ts", 5_036_654_592L, 129_761_280L)]
        [InlineData("BotNet50ts256", 5_511_725_056L, 402_980_864L)]
        public void Halo_lambda_and_bot_macs_are_the_references_exactly(string name, long macs, long attention)
        {
            var c = Arch(name).Costs;
            Assert.Equal((macs, attention), (c.Macs, c.AttentionMacs));
        }

        [Fact]
        public void BoT_relative_position_tables_hold_13568_parameters()
        {
            var bot = Arch("BotNet50");
            var res = Arch("ResNet50");
            // c5 3x3 convs (3 x 512·512·9) become qkv 1x1 convs (3 x 512·1536) plus the tables.
            Assert.Equal(res.Costs.Params - 3 * 512L * 512 * 9 + 3 * 512L * 1536 + 13_568, bot.Costs.Params);
        }

        [Fact]
        public void Shapes_follow_the_strides()
        {
            var r = Arch("ResNet50").Costs.StageOutputs;
            Assert.Equal(new[] { "256x56x56", "512x28x28", "1024x14x14", "2048x7x7" }, r.Select(s => s.ToString()));
            var bot = Arch("BotNet50").Costs.Layers.Single(l => l.Path == "layer4.0");
            Assert.Equal("1024x14x14", bot.Input.ToString()); // MHSA runs before the 2x2 pool
            var van = Arch("VanB0").Costs.StageOutputs;
            Assert.Equal(new[] { "32x56x56", "64x28x28", "160x14x14", "256x7x7" }, van.Select(s => s.ToString()));
        }

        [Fact]
        public void Width_multiplier_and_interleave_change_the_network()
        {
            var text = "arch Half : ResNet50 {\n  width = 0.5\n}\narch Every2 : ResNet50 {\n  c4.mhsa_every = 2\n}\n";
            var result = ArchCompiler.Compile(new[] { new SourceFile("w.arch", text) });
            var half = result.Architectures.Single(a => a.Name == "Half");
            Assert.Equal(new long[] { 128, 256, 512, 1024 }, half.Ir.Stages.Select(s => s.OutChannels));
            Assert.Equal(32, half.Ir.Stem.OutChannels);
            var every2 = result.Architectures.Single(a => a.Name == "Every2");
            Assert.Equal(new[] { false, true, false, true, false, true },
                every2.Ir.Stages[2].Blocks.Select(b => b.Kind == Blocks.BotAttentionDefinition.Instance.Block));
        }

        [Fact]
        public void Sweep_expands_the_cartesian_product_with_stable_names()
        {
            var text = "sweep S : BotNet50 {\n  c5.mhsa = [0,0,1], [1,1,1]\n  width = 0.5, 1.0\n  c5.heads = 3\n}\n";
            var result = ArchCompiler.Compile(new[] { new SourceFile("s.arch", text) });
            var sweep = result.Sweeps.Single();
            Assert.Equal(new[]
            {
                "S/c5.mhsa=[0,0,1]/width=0.5/c5.heads=3", "S/c5.mhsa=[0,0,1]/width=1.0/c5.heads=3",
                "S/c5.mhsa=[1,1,1]/width=0.5/c5.heads=3", "S/c5.mhsa=[1,1,1]/width=1.0/c5.heads=3",
            }, sweep.Info.VariantNames);
            // Three heads do not divide c5's width: every variant is invalid and reported, none crashes.
            Assert.Empty(sweep.Variants);
            Assert.Equal(4, sweep.InvalidVariants.Count);
            Assert.Contains(result.Diagnostics, d => d.Id == "TW0006");
        }

        [Fact]
        public void A_sweep_without_axes_is_one_variant_named_after_the_sweep()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("s.arch", "sweep Only : BotNet50 {\n}\n") });
            Assert.DoesNotContain(result.Diagnostics, d => d.IsError);
            var variant = Assert.Single(result.Sweeps.Single().Variants);
            Assert.Equal("Only", variant.Name);
            Assert.Equal(20_852_008, variant.Costs.Params);
        }

        [Fact]
        public void A_command_line_axis_parses_like_a_sweep_axis_and_is_located_in_its_own_file()
        {
            var diagnostics = new System.Collections.Generic.List<Torchwright.Dsl.Diagnostics.Diagnostic>();
            var axis = Torchwright.Dsl.Syntax.ArchParser.ParseAxis("--set #2", "c5.mhsa=[0,0,1], [0,1,1]", diagnostics);
            Assert.Empty(diagnostics);
            Assert.Equal("c5.mhsa", axis!.Path);
            Assert.Equal(new[] { "[0,0,1]", "[0,1,1]" }, axis.Values.Select(v => v.ToText()));
            Assert.Equal("--set #2", axis.PathLocation.Path);

            Assert.Null(Torchwright.Dsl.Syntax.ArchParser.ParseAxis("--set #1", "width=0.5 extra", diagnostics));
            var error = Assert.Single(diagnostics);
            Assert.Equal("TW0001", error.Id);
            Assert.Equal((0, 10), (error.Location.StartPos.Line, error.Location.StartPos.Column));
        }
    }
}
