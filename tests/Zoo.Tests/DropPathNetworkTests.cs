using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using Torchwright.Dsl.Blocks;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Tests;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// drop_path and dropout on generated networks (Declared/droppath.arch): every block kind gets its DropPath with
    /// timm's rate, the eval forward is bit-equal to the same network declared without them, training draws; and the
    /// Dsl's linspace is torch 1.13's for every count up to 80 at several rates (a live run of /usr/bin/python3).
    /// </summary>
    public sealed class DropPathNetworkTests
    {
        [Fact]
        public void Dsl_linspace_is_torch_linspace_for_counts_1_to_80()
        {
            var rates = new[] { 0.05, 0.1, 0.123456, 0.2, 0.3, 0.5, 0.999 };
            var (code, output) = PythonReference.RunScript(
                "reference_drop_path.py linspace " + string.Join(",", rates.Select(r => r.ToString("R", CultureInfo.InvariantCulture))) + " 1 80");
            Assert.True(code == 0, output);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(rates.Length * 80, lines.Length);
            int line = 0, mismatches = 0;
            var first = new List<string>();
            foreach (var rate in rates)
                for (int n = 1; n <= 80; n++)
                {
                    var torchValues = JsonSerializer.Deserialize<double[]>(lines[line++])!;
                    var ours = Regularization.Linspace(rate, n);
                    if (!torchValues.SequenceEqual(ours))
                    {
                        mismatches++;
                        if (first.Count < 3) first.Add($"rate {rate}, {n} blocks: torch [{string.Join(", ", torchValues)}], ours [{string.Join(", ", ours)}]");
                    }
                }
            Assert.True(mismatches == 0, $"{mismatches} of {rates.Length * 80} linspaces differ:\n" + string.Join("\n", first));
        }

        /// <summary>The networks with drop_path and dropout, their plain twins, and the per-block rates torch 1.13 gives.</summary>
        public static TheoryData<string> Networks => new() { "resnet", "van", "rest" };

        private static (nn.Module<Tensor, Tensor> With, nn.Module<Tensor, Tensor> Plain, double[] Rates, string[] Blocks) Create(string family) => family switch
        {
            // torch.linspace(0, 0.2, 5) and (0, 0.3, 3), printed by torch 1.13.
            "resnet" => (new DpResNet(), new DpResNetPlain(), new[] { 0.05000000074505806, 0.10000000149011612, 0.15000000596046448, 0.20000000298023224 },
                new[] { "layer2.0", "layer3.0", "layer4.0", "layer4.1" }),
            "van" => (new DpVan(), new DpVanPlain(), new[] { 0.15000000596046448, 0.30000001192092896 }, new[] { "block2.0", "block2.1" }),
            "rest" => (new DpRest(), new DpRestPlain(), new[] { 0.15000000596046448, 0.30000001192092896 }, new[] { "stage2.0", "stage2.1" }),
            _ => throw new ArgumentOutOfRangeException(nameof(family)),
        };

        [Theory]
        [MemberData(nameof(Networks))]
        public void Every_block_but_the_first_carries_timms_rate(string family)
        {
            var (with, plain, rates, blocks) = Create(family);
            using (with)
            using (plain)
            {
                var found = with.named_modules().Where(m => m.module is DropPath).Select(m => (m.name, ((DropPath)m.module).Rate)).ToList();
                Assert.Equal(blocks.Select(b => b + ".drop_path"), found.Select(f => f.name));
                Assert.Equal(rates, found.Select(f => f.Rate));
                Assert.DoesNotContain(plain.named_modules(), m => m.module is DropPath);
                // The per-block kinds of the ResNet network: splat, cot and MHSA blocks each carry one.
                if (family == "resnet")
                    Assert.Equal(new[] { "SplitAttnBottleneck", "CotBottleneck", "Bottleneck", "SelfAttnBottleneck" },
                        blocks.Select(b => with.named_modules().Single(m => m.name == b).module.GetType().Name));
            }
        }

        /// <summary>The spec carries each block's rate and the dropout, and reference_nets.py (the PyTorch side of bench)
        /// builds timm's DropPath with exactly those rates under the same module names.</summary>
        [Theory]
        [MemberData(nameof(Networks))]
        public void The_PyTorch_reference_built_from_the_spec_carries_the_same_rates(string family)
        {
            var (with, plain, rates, blocks) = Create(family);
            with.Dispose();
            plain.Dispose();
            var name = family switch { "resnet" => "DpResNet", "van" => "DpVan", _ => "DpRest" };
            var path = System.IO.Path.Combine(AppContext.BaseDirectory, "Declared", "droppath.arch");
            var result = Torchwright.Dsl.ArchCompiler.Compile(new[] { new Torchwright.Dsl.SourceFile(path, System.IO.File.ReadAllText(path)) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            var spec = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"torchwright-droppath-{Guid.NewGuid():N}.spec.json");
            System.IO.File.WriteAllText(spec, Torchwright.Dsl.Emit.ArchSpecJson.Write(result.Architectures.Single(a => a.Name == name).Ir));
            try
            {
                var (code, output) = PythonReference.RunScript($"reference_drop_path.py network \"{spec}\"");
                Assert.True(code == 0, output);
                using var doc = JsonDocument.Parse(output.Trim());
                var torchRates = doc.RootElement.GetProperty("drop_path").EnumerateObject().Select(p => (p.Name, p.Value.GetDouble())).ToList();
                Assert.Equal(blocks.Select(b => b + ".drop_path").Zip(rates), torchRates);
                Assert.Equal(0.5, doc.RootElement.GetProperty("dropout").GetDouble());
            }
            finally
            {
                System.IO.File.Delete(spec);
            }
        }

        [Theory]
        [MemberData(nameof(Networks))]
        public void Eval_is_bit_equal_to_the_plain_network_and_training_draws(string family)
        {
            var (with, plain, _, _) = Create(family);
            using (with)
            using (plain)
            {
                Assert.Equal(plain.state_dict().Keys, with.state_dict().Keys);
                with.load_state_dict(plain.state_dict());
                torch.manual_seed(21);
                using var x = torch.randn(8, 3, 64, 64);
                with.eval();
                plain.eval();
                using (var a = plain.call(x))
                using (var b = with.call(x))
                    Assert.True(a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>(), $"{family}: eval output changed by drop_path/dropout");

                // Training: BatchNorm uses the same batch statistics in both, so only the drops tell them apart; two
                // training calls of the regularised network draw differently, the plain one repeats itself exactly.
                with.train();
                plain.train();
                using var p1 = plain.call(x);
                using var p2 = plain.call(x);
                using var w1 = with.call(x);
                using var w2 = with.call(x);
                Assert.True(p1.eq(p2).all().item<bool>(), $"{family}: the plain network is not deterministic in training");
                Assert.False(w1.eq(p1).all().item<bool>(), $"{family}: drop_path/dropout had no effect in training");
                Assert.False(w1.eq(w2).all().item<bool>(), $"{family}: two training calls drew the same drops");
            }
        }
    }
}
