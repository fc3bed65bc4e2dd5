using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Torchwright.Dsl;
using Torchwright.Runtime.Tests;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// The block options end to end on small declared networks (Declared/options.arch, generated like the zoo): each
    /// generated module against reference_nets.py built from its spec, as <see cref="ZooParityTests"/> compares the
    /// zoo (float64, eval forward and one training step, the same tolerances). Together they cover SE on bottleneck,
    /// split-attention and CoT blocks, ECA, every activation (stems included), CoTNeXt cardinality 2, the deep stem
    /// at [12, 16, 32] and timm's exact tiered [24, 32, 64], avd_first at radix 2 and at radix 1 with cardinality 2,
    /// dilation 2 in a stride-1 c5 (bottleneck and split attention), a single-block stage's dilation taken by the next
    /// stage's first block (torchvision's previous_dilation) and MHSA beside SE blocks.
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class DeclaredParityTests
    {
        /// <summary>A declared network: its generated class, its ParameterCount constant and the count pinned from PyTorch.</summary>
        private sealed record Declared(Func<nn.Module<Tensor, Tensor>> Create, long ParameterCount, long Expected);

        /// <summary>
        /// Expected: PyTorch's count of the reference network (reference_nets.py SPEC.json --count); DeclEcaSiluDeep
        /// recounted by hand: stem 6,780 + c2 5,059 + 3,395 + c3 19,589 (ECA kernels 3, 3, 5) + fc 1,290 = 36,113.
        /// </summary>
        private static readonly Dictionary<string, Declared> Networks = new()
        {
            ["DeclBottleneckSeGelu"] = new(() => new DeclBottleneckSeGelu(), DeclBottleneckSeGelu.ParameterCount, 83_778),
            ["DeclEcaSiluDeep"] = new(() => new DeclEcaSiluDeep(), DeclEcaSiluDeep.ParameterCount, 36_113),
            ["DeclTieredSplatHardswish"] = new(() => new DeclTieredSplatHardswish(), DeclTieredSplatHardswish.ParameterCount, 87_802),
            ["DeclSplatR1DilatedEca"] = new(() => new DeclSplatR1DilatedEca(), DeclSplatR1DilatedEca.ParameterCount, 66_799),
            ["DeclCoxtSe"] = new(() => new DeclCoxtSe(), DeclCoxtSe.ParameterCount, 49_656),
            ["DeclBotSe"] = new(() => new DeclBotSe(), DeclBotSe.ParameterCount, 61_146),
            ["DeclDilationAcrossStages"] = new(() => new DeclDilationAcrossStages(), DeclDilationAcrossStages.ParameterCount, 58_042),
            ["DeclGroupNormBot"] = new(() => new DeclGroupNormBot(), DeclGroupNormBot.ParameterCount, 51_050),
            ["DeclFrozenBatchSplat"] = new(() => new DeclFrozenBatchSplat(), DeclFrozenBatchSplat.ParameterCount, 36_570),
        };

        /// <summary>The declarations checked from the same text the generator compiled.</summary>
        private static readonly Lazy<IReadOnlyDictionary<string, CheckedArchitecture>> Checked = new(() =>
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Declared", "options.arch");
            var result = ArchCompiler.Compile(new[] { new SourceFile(path, File.ReadAllText(path)) });
            if (result.HasErrors) throw new InvalidOperationException("Declared/options.arch does not check:\n" + string.Join("\n", result.Diagnostics));
            return result.Architectures.ToDictionary(a => a.Name, StringComparer.Ordinal);
        });

        private readonly PythonReference _python;
        private readonly ITestOutputHelper _out;

        public DeclaredParityTests(PythonReference python, ITestOutputHelper output)
        {
            _python = python;
            _out = output;
        }

        public static TheoryData<string> Names
        {
            get
            {
                var data = new TheoryData<string>();
                foreach (var name in Networks.Keys) data.Add(name);
                return data;
            }
        }

        [Fact]
        public void Every_declared_network_has_a_parity_case()
        {
            Assert.Equal(Checked.Value.Keys.OrderBy(k => k, StringComparer.Ordinal), Networks.Keys.OrderBy(k => k, StringComparer.Ordinal));
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void Runtime_parameter_count_equals_the_generated_constant(string name)
        {
            var n = Networks[name];
            Assert.Equal(n.Expected, n.ParameterCount);
            Assert.Equal(Checked.Value[name].Costs.Params, n.ParameterCount);
            using var module = n.Create();
            Assert.Equal(n.ParameterCount, module.parameters().Sum(p => p.numel()));
        }

        /// <summary>reference_nets.py's command line on the spec: it prints the PyTorch count and exits 1 if the spec's differs.</summary>
        [Theory]
        [MemberData(nameof(Names))]
        public void The_reference_network_built_from_the_spec_has_the_pinned_count(string name)
        {
            var dir = Path.Combine(ParityHarness.WorkDir, "declared");
            Directory.CreateDirectory(dir);
            var spec = Path.Combine(dir, name + ".spec.json");
            File.WriteAllText(spec, Torchwright.Dsl.Emit.ArchSpecJson.Write(Checked.Value[name].Ir));
            var (code, output) = PythonReference.RunScript($"reference_nets.py {spec} --count");
            File.Delete(spec);
            Assert.True(code == 0, $"{name}: reference_nets.py --count exited {code}:\n{output}");
            Assert.Equal(Networks[name].Expected.ToString(System.Globalization.CultureInfo.InvariantCulture), output.Trim());
        }

        [Theory]
        [MemberData(nameof(Names))]
        public async Task Eval_output_and_one_training_step_match_the_PyTorch_reference(string name)
        {
            var n = Networks[name];
            var result = await NetworkParity.AssertMatchesReference(_python, _out, Checked.Value[name], n.Create);
            Assert.Equal(n.Expected, result.ParamCount);
        }
    }
}
