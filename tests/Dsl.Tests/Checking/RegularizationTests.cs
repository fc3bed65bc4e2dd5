using System.Linq;
using System.Text.RegularExpressions;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>
    /// drop_path and dropout: each block's rate is timm's float32 linspace (pinned below from PyTorch 1.13; Zoo.Tests'
    /// DropPathNetworkTests also compares many counts with a live torch), the emitted code passes exactly those rates and
    /// nothing for a zero rate, and bad values are located errors.
    /// </summary>
    public class RegularizationTests
    {
        /// <summary>
        /// <c>[x.item() for x in torch.linspace(0, rate, n)]</c> printed by /usr/bin/python3 (torch 1.13). They differ from
        /// float32(rate·k/(n-1)) at 3 of 16, 2 of 17, 7 of 33 and 6 of 40 places, and at n = 10 from the scalar formula
        /// without a fused multiply-add (k = 6): the cases tell the three roundings apart.
        /// </summary>
        public static TheoryData<double, double[]> TorchLinspace => new()
        {
            { 0.1, new[] { 0.0, 0.10000000149011612 } },
            { 0.1, new[] { 0.0, 0.05000000074505806, 0.10000000149011612 } },
            { 0.05, new[] { 0.0, 0.0055555556900799274, 0.011111111380159855, 0.01666666753590107, 0.02222222276031971, 0.02777777798473835, 0.03333333507180214, 0.03888889029622078, 0.04444444552063942, 0.05000000074505806 } },
            { 0.1, new[] { 0.0, 0.006666666828095913, 0.013333333656191826, 0.019999999552965164, 0.02666666731238365, 0.03333333507180214, 0.03999999910593033, 0.046666666865348816, 0.0533333346247673, 0.06000000238418579, 0.06666667014360428, 0.07333333790302277, 0.07999999821186066, 0.08666667342185974, 0.09333333373069763, 0.10000000149011612 } },
            { 0.2, new[] { 0.0, 0.012500000186264515, 0.02500000037252903, 0.03750000149011612, 0.05000000074505806, 0.0625, 0.07500000298023224, 0.08749999850988388, 0.10000000149011612, 0.11250000447034836, 0.125, 0.13750000298023224, 0.15000000596046448, 0.16249999403953552, 0.17500001192092896, 0.1875, 0.20000000298023224 } },
            { 0.35, new[] { 0.0, 0.010937499813735485, 0.02187499962747097, 0.03281249850988388, 0.04374999925494194, 0.0546875, 0.06562499701976776, 0.07656250149011612, 0.08749999850988388, 0.09843749552965164, 0.109375, 0.12031249701976776, 0.13124999403953552, 0.14218750596046448, 0.15312498807907104, 0.1640625, 0.17499999701976776, 0.18593749403953552, 0.19687499105930328, 0.20781248807907104, 0.21875, 0.22968749701976776, 0.24062499403953552, 0.2515625059604645, 0.26249998807907104, 0.2734375, 0.28437498211860657, 0.2953124940395355, 0.3062499761581421, 0.31718748807907104, 0.328125, 0.33906248211860657, 0.3499999940395355 } },
            { 0.1, new[] { 0.0, 0.0025641026441007853, 0.0051282052882015705, 0.007692308165132999, 0.010256410576403141, 0.012820512987673283, 0.015384616330265999, 0.01794871874153614, 0.020512821152806282, 0.023076923564076424, 0.025641025975346565, 0.028205130249261856, 0.030769232660531998, 0.03333333507180214, 0.03589743748307228, 0.03846153989434242, 0.041025642305612564, 0.043589744716882706, 0.04615384712815285, 0.04871794953942299, 0.05128205195069313, 0.05384615436196327, 0.05641026049852371, 0.058974362909793854, 0.0615384615957737, 0.06410256773233414, 0.06666667014360428, 0.06923077255487442, 0.07179487496614456, 0.0743589773774147, 0.07692307978868484, 0.07948718219995499, 0.08205128461122513, 0.08461538702249527, 0.08717948943376541, 0.08974359184503555, 0.0923076942563057, 0.09487179666757584, 0.09743589907884598, 0.10000000149011612 } },
        };

        [Theory]
        [MemberData(nameof(TorchLinspace))]
        public void Linspace_is_torch_1_13_float32_bit_for_bit(double rate, double[] expected) =>
            Assert.Equal(expected, Regularization.Linspace(rate, expected.Length));

        [Fact]
        public void Linspace_of_one_step_is_the_start() => Assert.Equal(new[] { 0.0 }, Regularization.Linspace(0.3, 1));

        private static CompilationResult Compile(string text) => ArchCompiler.Compile(new[] { new SourceFile("t.arch", text) });

        private static CheckedArchitecture Single(string text)
        {
            var result = Compile(text);
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            return Assert.Single(result.Architectures);
        }

        [Fact]
        public void Every_block_of_every_stage_gets_its_linspace_rate_in_network_order()
        {
            // ResNet-50: 16 blocks over four stages (3, 4, 6, 3), as timm counts them.
            var arch = Single("arch A : ResNet50 {\n  drop_path = 0.1\n  dropout = 0.25\n}\n");
            var rates = arch.Ir.Stages.SelectMany(s => s.Blocks).Select(b => b.DropPath).ToArray();
            Assert.Equal((double[])TorchLinspace.ElementAt(3)[1], rates);
            Assert.Equal(0.25, arch.Ir.Dropout);

            // The emitted module passes each block its rate; block 0 (rate 0) is emitted as without drop_path.
            var code = CSharpEmitter.EmitArchitecture(arch, "A", new EmitOptions("N"));
            var passed = Regex.Matches(code, @"dropPath: ([0-9.E-]+)\)").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(rates.Skip(1), passed);
            Assert.Contains("new TorchwrightBlocks.Bottleneck(name: \"0\", inChannels: 64, width: 64, outChannels: 256, stride: 1, groups: 1, shortcut: TorchwrightBlocks.ShortcutKind.Conv)", code);
            Assert.Contains("x = nn.functional.dropout(x, 0.25, training).Freeing(x);", code);
        }

        [Fact]
        public void The_spec_json_carries_the_rates_only_where_they_are_above_zero()
        {
            var arch = Single("arch A : ResNet50 {\n  drop_path = 0.1\n  dropout = 0.25\n}\n");
            using var doc = System.Text.Json.JsonDocument.Parse(ArchSpecJson.Write(arch.Ir));
            Assert.Equal(0.25, doc.RootElement.GetProperty("dropout").GetDouble());
            var blocks = doc.RootElement.GetProperty("stages").EnumerateArray().SelectMany(s => s.GetProperty("blocks").EnumerateArray()).ToList();
            Assert.False(blocks[0].TryGetProperty("drop_path", out _));
            Assert.Equal(arch.Ir.Stages.SelectMany(s => s.Blocks).Skip(1).Select(b => b.DropPath), blocks.Skip(1).Select(b => b.GetProperty("drop_path").GetDouble()));
            using var plain = System.Text.Json.JsonDocument.Parse(ArchSpecJson.Write(Single("arch A : ResNet50 {\n}\n").Ir));
            Assert.False(plain.RootElement.TryGetProperty("dropout", out _));
        }

        [Theory]
        [InlineData("VanB0", 13)]      // depths [3, 3, 5, 2]
        [InlineData("ResTLite", 8)]    // depths [2, 2, 2, 2]
        [InlineData("BotNet50", 16)]
        [InlineData("CotNet50", 16)]
        [InlineData("ResNeSt50", 16)]
        public void Every_family_reads_drop_path_over_all_its_blocks(string zoo, int blocks)
        {
            var arch = Single($"arch A : {zoo} {{\n  drop_path = 0.2\n}}\n");
            var rates = arch.Ir.Stages.SelectMany(s => s.Blocks).Select(b => b.DropPath).ToArray();
            Assert.Equal(Regularization.Linspace(0.2, blocks), rates);
            Assert.Equal(0.20000000298023224, rates[rates.Length - 1]);
            var code = CSharpEmitter.EmitArchitecture(arch, "A", new EmitOptions("N"));
            Assert.Equal(blocks - 1, Regex.Matches(code, "dropPath: ").Count);
        }

        [Fact]
        public void Zero_rates_emit_the_same_code_as_no_declaration()
        {
            foreach (var zoo in new[] { "ResNet50", "VanB0", "ResTLite", "BotNet50" })
            {
                var plain = CSharpEmitter.EmitArchitecture(Single($"arch A : {zoo} {{\n}}\n"), "A", new EmitOptions("N"));
                var zero = CSharpEmitter.EmitArchitecture(Single($"arch A : {zoo} {{\n  drop_path = 0\n  dropout = 0.0\n}}\n"), "A", new EmitOptions("N"));
                Assert.Equal(plain, zero);
            }
        }

        [Theory]
        [InlineData("drop_path = ⟦1⟧", "A: drop_path = 1 is out of range: the last block's stochastic-depth rate must be in [0, 1) (1 would drop everything)")]
        [InlineData("drop_path = ⟦1.5⟧", "A: drop_path = 1.5 is out of range: the last block's stochastic-depth rate must be in [0, 1)")]
        [InlineData("dropout = ⟦2⟧", "A: dropout = 2 is out of range: the dropout probability before the classifier must be in [0, 1) (1 would drop everything)")]
        public void Out_of_range_values_are_located_TW0016(string line, string message)
        {
            var d = DiagnosticTests.Expect("arch A : ResNet50 {\n  " + line + "\n}\n", "TW0016");
            Assert.StartsWith(message, d.Message);
        }

        [Fact]
        public void A_negative_rate_is_TW0016() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  drop_path = ⟦-0.1⟧\n}\n", "TW0016", "drop_path = -0.1 is out of range", "[0, 1)");

        [Fact]
        public void Dropout_without_a_classifier_has_no_effect_TW0024() =>
            DiagnosticTests.Expect("arch A : ResNet50 {\n  classes = 0\n  ⟦dropout⟧ = 0.1\n}\n", "TW0024",
                "'dropout' has no effect", "'dropout' is read only by architectures with a classifier (classes > 0)");

        [Fact]
        public void Drop_path_on_a_single_block_has_no_effect_TW0024() =>
            DiagnosticTests.Expect("arch A {\n  block = bottleneck\n  depths = [1]\n  widths = [16]\n  ⟦drop_path⟧ = 0.1\n}\n", "TW0024",
                "'drop_path' has no effect", "'drop_path' is read only by networks of two or more blocks (linspace gives a lone block rate 0)");
    }
}
