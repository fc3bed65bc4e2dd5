using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using TorchSharp;
using Torchwright.Dsl;
using Torchwright.Dsl.Emit;
using Torchwright.Runtime.Tests;
using Torchwright.Runtime.Weights;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// Every zoo architecture end to end against a PyTorch network assembled from the reference blocks
    /// (reference_nets.py, driven by the architecture's <see cref="ArchSpecJson"/>), on CPU, batch 2 at the declared
    /// input size. The generated module (norm affine parameters, biases and layer scales randomised, running statistics
    /// calibrated on another batch) loads strictly into the reference; both convert to float64 and run an eval
    /// forward, then one training step: train-mode forward (batch statistics), cross-entropy against fixed labels,
    /// backward. Compared: eval logits, train logits, loss, input and parameter gradients, every buffer after the step.
    /// Rule, per tensor: max|C# - reference| &lt;= tol · max(1, max|reference|), tol = 1e-4 for outputs, the loss and
    /// buffers, 1e-3 for gradients.
    /// Why float64: randomly initialised 50-layer networks are too ill-conditioned in float32 for these tolerances
    /// to separate bugs from rounding. PyTorch against itself, float32 vs float64: ResNet-50's training-step
    /// gradients differ by 2.8e-2 of max|grad| (rounding moves activations across ReLU kinks and train-mode BatchNorm
    /// spreads each change over a channel; 1 vs 2 threads differ as much); CoTNet-50's eval logits by 1.2e-2 (its
    /// unnormalised local-attention weights compound); batch-2 statistics of ResNeSt's and CoTNet's pooled attention
    /// branches move train-mode logits by 2e-3 to 3e-2. In float64 C# and PyTorch agree to 1e-8 or better.
    /// </summary>
    [Collection(PythonCollection.Name)]
    public sealed class ZooParityTests
    {
        private const int Batch = NetworkParity.Batch;

        private static readonly Dictionary<string, Func<nn.Module<Tensor, Tensor>>> Factories = new()
        {
            ["ResNet50"] = () => new ResNet50(),
            ["BotNet50"] = () => new BotNet50(),
            ["BotNet50_011"] = () => new BotNet50_011(),
            ["ResNeSt50"] = () => new ResNeSt50(),
            ["VanB0"] = () => new VanB0(),
            ["VanB1"] = () => new VanB1(),
            ["CotNet50"] = () => new CotNet50(),
            ["ResTLite"] = () => new ResTLite(),
            ["ResTSmall"] = () => new ResTSmall(),
            ["ResTLitePaperStem"] = () => new ResTLitePaperStem(),
            ["ResTSmallPaperStem"] = () => new ResTSmallPaperStem(),
            // Issue 10's models. Peers whose names are Torchwright's: timm's seresnet50 and resnest50d_*, the official
            // cotnext*_2x48d; and BoTNet-S1 (SE in every block, SiLU, c5 at stride 1).
            ["SeResNet50"] = () => new SeResNet50(),
            ["ResNeSt50d_1s4x24d"] = () => new ResNeSt50d_1s4x24d(),
            ["CotNeXt50"] = () => new CotNeXt50(),
            ["BotNetS1_59"] = () => new BotNetS1_59(),
            ["BotNetS1_110"] = () => new BotNetS1_110(),
            ["BotNetS1_128"] = () => new BotNetS1_128(),
            ["ResNeSt50d_4s2x40d"] = () => new ResNeSt50d_4s2x40d(),
            ["CotNeXt101"] = () => new CotNeXt101(),
            // timm's ByobNet pair in torchvision names (their timm-named checkpoints: PeerCheckpointTests).
            ["BotNet26t256"] = () => new BotNet26t256(),
            ["EcaBotNeXt26ts256"] = () => new EcaBotNeXt26ts256(),
            // Issue 22: the basic block (torchvision's ResNet-18/34); the pool-less stem and the final 1x1 conv (timm's
            // sebotnet33ts_256; its timm-named checkpoint: PeerCheckpointTests).
            ["ResNet18"] = () => new ResNet18(),
            ["ResNet34"] = () => new ResNet34(),
            ["SeBotNet33ts256"] = () => new SeBotNet33ts256(),
        };

        /// <summary>The zoo checked by the same pipeline the generator ran over architectures/*.arch.</summary>
        private static readonly Lazy<IReadOnlyDictionary<string, CheckedArchitecture>> Checked = new(() =>
        {
            var result = ArchCompiler.Compile(Torchwright.Dsl.Zoo.Sources);
            if (result.HasErrors) throw new InvalidOperationException("The zoo does not check:\n" + string.Join("\n", result.Diagnostics));
            return result.Architectures.ToDictionary(a => a.Name, StringComparer.Ordinal);
        });

        private readonly PythonReference _python;
        private readonly ITestOutputHelper _out;

        public ZooParityTests(PythonReference python, ITestOutputHelper output)
        {
            _python = python;
            _out = output;
        }

        public static TheoryData<string> Names
        {
            get
            {
                var data = new TheoryData<string>();
                foreach (var name in Factories.Keys) data.Add(name);
                return data;
            }
        }

        /// <summary>
        /// Zoo members whose whole-network parity is PeerCheckpointTests' instead: timm's layout and names
        /// (reference_byobnet.py), strict loads through the 'timm' key map, float64 eval logits to 1e-6. reference_nets.py
        /// (the CLI's spec-driven reference) has no halo or lambda block yet, so these have no training-step case here.
        /// </summary>
        private static readonly HashSet<string> ParityInPeerCheckpointTests = new(StringComparer.Ordinal)
        {
            "HaloNet26t", "EcaHaloNeXt26ts", "HaloNet50ts", "LambdaResNet26t", "LambdaResNet26rpt256", "LambdaResNet50ts", "BotNet50ts256",
            "SeHaloNet33ts", "Halo2BotNet50ts256", "LamHaloBotNet50ts256",
        };

        [Fact]
        public void Every_zoo_architecture_has_a_parity_case()
        {
            Assert.Equal(Checked.Value.Keys.OrderBy(k => k, StringComparer.Ordinal),
                Factories.Keys.Concat(ParityInPeerCheckpointTests).OrderBy(k => k, StringComparer.Ordinal));
            Assert.Empty(ParityInPeerCheckpointTests.Intersect(Factories.Keys));
            var peer = typeof(PeerCheckpointTests).GetMethods().Select(m => m.Name).ToList();
            foreach (var name in ParityInPeerCheckpointTests)
                Assert.Contains(peer, m => m.StartsWith(name + "_loads_timm_", StringComparison.Ordinal));
        }

        [Theory]
        [MemberData(nameof(Names))]
        public Task Eval_output_and_one_training_step_match_the_PyTorch_reference(string name) =>
            NetworkParity.AssertMatchesReference(_python, _out, Checked.Value[name], Factories[name], CalibratedOnTheInput.Contains(name),
                evalIsChaotic: ChaoticEval.Contains(name));

        /// <summary>
        /// Networks whose eval pass at random weights is chaotic with statistics calibrated on either batch, so their eval
        /// logits are reported, not asserted (their training step, gradients and buffers are). CoTNeXt-101 (101 layers of
        /// CoT's unnormalised local attention): its difference from PyTorch went from 7.6e-5 to 1.4e-4 and 3.0e-3 of the
        /// largest logit as only the float32 rounding of its calibrated statistics changed (CoT's aggregation summed in
        /// another order), and the reference's own largest logit moved between 2,130 and 2,467 with it; calibrated on the
        /// compared batch it differed by 9.4e-3. Its training step matches to 1.3e-10. The eval path of CoT is asserted
        /// by CotNet50 and CotNeXt50 here and by every CoT case of the Runtime's block parity.
        /// </summary>
        private static readonly System.Collections.Generic.HashSet<string> ChaoticEval = new(StringComparer.Ordinal) { "CotNeXt101" };

        /// <summary>The exemption above holds only while it is true: a rounding-scale change of the input moves each such
        /// network's eval logits by more than the output tolerance.</summary>
        [Fact]
        public void Every_network_whose_eval_logits_are_not_asserted_has_a_chaotic_eval_pass()
        {
            foreach (var name in ChaoticEval)
            {
                double moved = NetworkParity.EvalSensitivity(Checked.Value[name], Factories[name], CalibratedOnTheInput.Contains(name));
                _out.WriteLine($"{name}: eval logits move by {moved:E2} of the largest for an input scaled by 1 + 1e-13");
                Assert.True(moved > NetworkParity.OutputTolerance, $"{name}: its eval logits move by only {moved:E2} (tolerance {NetworkParity.OutputTolerance:E0}): compare them again");
            }
        }

        /// <summary>
        /// Networks whose eval pass is chaotic at random weights with statistics from another batch: BoTNet-S1-128's eval
        /// logits reach 1.1e4 and move by 8.4e2 when the input is scaled by 1 + 1e-13 (measured in float64), so float64
        /// rounding alone gave a 3e-4 relative difference from PyTorch while its training step (batch statistics) matched
        /// to the usual tolerances. Calibrated on the compared batch, its eval pass is as well conditioned as the step.
        /// </summary>
        private static readonly System.Collections.Generic.HashSet<string> CalibratedOnTheInput = new(StringComparer.Ordinal) { "BotNetS1_128" };

        [Fact]
        public void A_weight_missing_extra_or_of_another_shape_is_named()
        {
            var arch = Checked.Value["VanB0"];
            using var scope = torch.NewDisposeScope();
            using var module = new VanB0();
            var state = module.state_dict();
            state["head.weights"] = state["head.weight"];
            state.Remove("head.weight");
            state["norm4.weight"] = state["norm4.weight"].narrow(0, 0, 255);
            var casePath = NetworkParity.WriteCase(arch, state, torch.zeros(Batch, 3, 224, 224), torch.zeros(Batch, ScalarType.Int64));
            var reply = _python.Request(casePath);
            File.Delete(casePath);
            Assert.Equal(new[] { "missing: head.weight", "unexpected: head.weights", "shapeMismatch: norm4.weight: C# [255] vs reference [256]" }, NetworkParity.LoadProblems(reply));
            Assert.False(File.Exists(casePath + ".ref.safetensors"), "the reference ran although the state dict did not load");
        }
    }
}
