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
        private const double OutputTolerance = 1e-4;
        private const double GradTolerance = 1e-3;
        private const int Batch = 2;

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

        [Fact]
        public void Every_zoo_architecture_has_a_parity_case()
        {
            Assert.Equal(Checked.Value.Keys.OrderBy(k => k, StringComparer.Ordinal), Factories.Keys.OrderBy(k => k, StringComparer.Ordinal));
        }

        /// <summary>A measured tensor: max|Δ| against the reference, max|reference|, and the tolerance it must meet.</summary>
        private sealed record Diff(string Name, double MaxAbs, double Scale, double Tolerance)
        {
            public double Relative => MaxAbs / Math.Max(1.0, Scale);
            public bool Ok => MaxAbs <= Tolerance * Math.Max(1.0, Scale);
            public override string ToString() => string.Create(CultureInfo.InvariantCulture,
                $"{Name}: max|Δ| {MaxAbs:E2}, max|ref| {Scale:G4}, rel {Relative:E2} (tol {Tolerance:E0})");
        }

        [Theory]
        [MemberData(nameof(Names))]
        public async Task Eval_output_and_one_training_step_match_the_PyTorch_reference(string name)
        {
            var arch = Checked.Value[name];
            var input = arch.Ir.Input;

            torch.manual_seed(ParityHarness.StableSeed(name));
            using var scope = torch.NewDisposeScope();
            using var module = Factories[name]();
            ParityHarness.Randomize(module);
            CalibrateRunningStats(module, torch.randn(Batch, input.C, input.H, input.W));
            var x = torch.randn(Batch, input.C, input.H, input.W);
            var labelValues = new long[] { 3 % arch.Ir.Classes, 917 % arch.Ir.Classes };
            var labels = torch.tensor(labelValues);

            var casePath = WriteCase(arch, module.state_dict(), x, labels);

            // The reference runs in its own (single-threaded) process while this one computes.
            var clock = Stopwatch.StartNew();
            var pending = Task.Run(() => (Reply: _python.Request(casePath), Time: clock.Elapsed));
            module.to(ScalarType.Float64);
            var x64 = x.to(ScalarType.Float64).requires_grad_(true);
            Tensor outEval;
            module.eval();
            using (torch.no_grad())
                outEval = module.call(x64);
            module.train();
            var stepOut = module.call(x64);
            var stepLoss = nn.functional.cross_entropy(stepOut, labels);
            stepLoss.backward();
            var csharpTime = clock.Elapsed;
            var (reply, pythonTime) = await pending;
            File.Delete(casePath);
            var problems = LoadProblems(reply);
            Assert.True(problems.Count == 0,
                $"{name}: the state dict does not load strictly into the reference (missing = in the reference only, unexpected = in C# only):\n" + string.Join("\n", problems));
            long count = module.parameters().Sum(p => p.numel());
            Assert.Equal(reply.GetProperty("paramCount").GetInt64(), count);

            var reference = TensorFiles.Load(casePath + ".ref.safetensors");
            File.Delete(casePath + ".ref.safetensors");
            try
            {
                var outputs = new List<Diff>
                {
                    Compare("out.eval", outEval, reference, OutputTolerance),
                    Compare("step.out", stepOut, reference, OutputTolerance),
                    Compare("step.loss", stepLoss, reference, OutputTolerance),
                    Compare("grad.input", x64.grad!, reference, GradTolerance),
                };
                var grads = module.named_parameters()
                    .Select(p => Compare("grad." + p.name, p.parameter.grad ?? torch.zeros_like(p.parameter), reference, GradTolerance)).ToList();
                var states = module.named_buffers().Select(b => Compare("state." + b.name, b.buffer, reference, OutputTolerance)).ToList();
                var unmatched = reference.Keys.Except(outputs.Concat(grads).Concat(states).Select(d => d.Name)).ToList();
                Assert.True(unmatched.Count == 0, $"{name}: the reference has tensors the C# module lacks: {string.Join(", ", unmatched)}");

                _out.WriteLine($"PARITY {name}: {count:N0} params, input {input}, batch {Batch}, labels [{string.Join(", ", labelValues)}]; " +
                    $"C# {csharpTime.TotalSeconds:F1} s, PyTorch {pythonTime.TotalSeconds:F1} s (concurrently; PyTorch with file transfer)");
                foreach (var d in outputs) _out.WriteLine("  " + d);
                _out.WriteLine($"  worst of {grads.Count} parameter gradients: {grads.OrderByDescending(d => d.Relative).First()}");
                _out.WriteLine($"  worst of {states.Count} buffers after the step: {states.OrderByDescending(d => d.Relative).First()}");

                var failures = outputs.Concat(grads).Concat(states).Where(d => !d.Ok).OrderByDescending(d => d.Relative / d.Tolerance).ToList();
                Assert.True(failures.Count == 0,
                    $"{name}: {failures.Count} tensors differ from the PyTorch reference beyond max|Δ| <= tol·max(1, max|ref|):\n" +
                    string.Join("\n", failures.Take(25)) + (failures.Count > 25 ? $"\n... and {failures.Count - 25} more" : ""));
            }
            finally
            {
                foreach (var t in reference.Values) t.Dispose();
            }
        }

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
            var casePath = WriteCase(arch, state, torch.zeros(Batch, 3, 224, 224), torch.zeros(Batch, ScalarType.Int64));
            var reply = _python.Request(casePath);
            File.Delete(casePath);
            Assert.Equal(new[] { "missing: head.weight", "unexpected: head.weights", "shapeMismatch: norm4.weight: C# [255] vs reference [256]" }, LoadProblems(reply));
            Assert.False(File.Exists(casePath + ".ref.safetensors"), "the reference ran although the state dict did not load");
        }

        /// <summary>The case file the Python server reads: the state dict as "sd.*", the input, the labels and the spec.</summary>
        private static string WriteCase(CheckedArchitecture arch, IReadOnlyDictionary<string, Tensor> state, Tensor x, Tensor labels)
        {
            var dir = Path.Combine(ParityHarness.WorkDir, "zoo");
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, arch.Name + ".safetensors");
            var export = state.ToDictionary(kv => "sd." + kv.Key, kv => kv.Value, StringComparer.Ordinal);
            export["input"] = x;
            export["labels"] = labels;
            TensorFiles.Save(path, export, new Dictionary<string, string> { ["spec"] = ArchSpecJson.Write(arch.Ir) });
            return path;
        }

        /// <summary>What kept the state dict from loading strictly, as "missing: key", "unexpected: key", "shapeMismatch: key: ...".</summary>
        private static List<string> LoadProblems(JsonElement reply) =>
            new[] { "missing", "unexpected", "shapeMismatch" }
                .SelectMany(k => reply.GetProperty(k).EnumerateArray().Select(e => $"{k}: {e.GetString()}")).ToList();

        /// <summary>
        /// Running statistics of one train-mode pass over a calibration batch (momentum 1 for that pass), so that eval
        /// activations stay near the range they have in a trained network instead of compounding mismatched statistics
        /// through 50 layers (random statistics drive CoTNet-50's eval logits to 1e12 and VAN-B0's past float32's range).
        /// </summary>
        private static void CalibrateRunningStats(nn.Module<Tensor, Tensor> module, Tensor batch)
        {
            var norms = module.modules().OfType<TorchSharp.Modules.BatchNorm2d>().ToList();
            foreach (var bn in norms) bn.momentum = 1.0;
            module.train();
            using (torch.no_grad())
                module.call(batch).Dispose();
            foreach (var bn in norms) bn.momentum = 0.1;
        }

        private static Diff Compare(string key, Tensor actual, IReadOnlyDictionary<string, Tensor> reference, double tolerance)
        {
            if (!reference.TryGetValue(key, out var expected))
                throw new InvalidOperationException($"The reference wrote no \"{key}\" (the C# module has it).");
            using var scale = expected.to(ScalarType.Float64).abs().max();
            return new Diff(key, ParityHarness.MaxAbs(actual, expected), scale.item<double>(), tolerance);
        }
    }
}
