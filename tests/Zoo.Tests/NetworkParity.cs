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
    /// Whole-network parity of a generated module against reference_nets.py built from the architecture's
    /// <see cref="ArchSpecJson"/> (the procedure, tolerances and the reason for float64 are described on
    /// <see cref="ZooParityTests"/>); shared by the zoo and the declared option networks.
    /// </summary>
    internal static class NetworkParity
    {
        public const double OutputTolerance = 1e-4;
        public const double GradTolerance = 1e-3;
        public const int Batch = 2;

        /// <summary>A measured tensor: max|Δ| against the reference, max|reference|, and the tolerance it must meet.</summary>
        public sealed record Diff(string Name, double MaxAbs, double Scale, double Tolerance)
        {
            public double Relative => MaxAbs / Math.Max(1.0, Scale);
            public bool Ok => MaxAbs <= Tolerance * Math.Max(1.0, Scale);
            public override string ToString() => string.Create(CultureInfo.InvariantCulture,
                $"{Name}: max|Δ| {MaxAbs:E2}, max|ref| {Scale:G4}, rel {Relative:E2} (tol {Tolerance:E0})");
        }

        /// <summary>What one parity run measured: the parameter count both sides agree on and every compared tensor.</summary>
        public sealed record Result(long ParamCount, IReadOnlyList<Diff> Outputs, IReadOnlyList<Diff> Grads, IReadOnlyList<Diff> States)
        {
            public double WorstRelative => Outputs.Concat(Grads).Concat(States).Max(d => d.Relative);
        }

        /// <summary>
        /// Randomises and calibrates the module, runs it against the reference (eval forward, one training step) and
        /// asserts a strict state-dict load, equal parameter counts and every tensor within its tolerance.
        /// </summary>
        /// <param name="calibrateOnInput">Calibrate the running statistics on the compared batch itself instead of another one:
        /// for a network whose eval pass is chaotic at random weights (the comparison would measure rounding, not the code).</param>
        /// <param name="evalIsChaotic">Report the eval logits but do not assert them: for a network whose eval pass stays chaotic
        /// either way (<see cref="EvalSensitivity"/> shows it); its training step, gradients and buffers are still asserted.</param>
        public static async Task<Result> AssertMatchesReference(PythonReference python, ITestOutputHelper output,
            CheckedArchitecture arch, Func<nn.Module<Tensor, Tensor>> create, bool calibrateOnInput = false, bool evalIsChaotic = false)
        {
            var name = arch.Name;
            var input = arch.Ir.Input;

            using var scope = torch.NewDisposeScope();
            var (module, x) = Prepare(arch, create, calibrateOnInput);
            using var _ = module;
            var labelValues = new long[] { 3 % arch.Ir.Classes, 917 % arch.Ir.Classes };
            var labels = torch.tensor(labelValues);

            var casePath = WriteCase(arch, module.state_dict(), x, labels);

            // The reference runs in its own (single-threaded) process while this one computes.
            var clock = Stopwatch.StartNew();
            var pending = Task.Run(() => (Reply: python.Request(casePath), Time: clock.Elapsed));
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

                output.WriteLine($"PARITY {name}: {count:N0} params, input {input}, batch {Batch}, labels [{string.Join(", ", labelValues)}]; " +
                    $"C# {csharpTime.TotalSeconds:F1} s, PyTorch {pythonTime.TotalSeconds:F1} s (concurrently; PyTorch with file transfer)");
                foreach (var d in outputs) output.WriteLine("  " + d);
                output.WriteLine($"  worst of {grads.Count} parameter gradients: {grads.OrderByDescending(d => d.Relative).First()}");
                // A network without BatchNorm (norm = group) has no buffers at all.
                output.WriteLine(states.Count == 0 ? "  no buffers" : $"  worst of {states.Count} buffers after the step: {states.OrderByDescending(d => d.Relative).First()}");

                if (evalIsChaotic) output.WriteLine("  out.eval reported, not asserted: this network's eval pass is chaotic at random weights (EvalSensitivity)");
                var failures = outputs.Where(d => !(evalIsChaotic && d.Name == "out.eval")).Concat(grads).Concat(states)
                    .Where(d => !d.Ok).OrderByDescending(d => d.Relative / d.Tolerance).ToList();
                Assert.True(failures.Count == 0,
                    $"{name}: {failures.Count} tensors differ from the PyTorch reference beyond max|Δ| <= tol·max(1, max|ref|):\n" +
                    string.Join("\n", failures.Take(25)) + (failures.Count > 25 ? $"\n... and {failures.Count - 25} more" : ""));
                return new Result(count, outputs, grads, states);
            }
            finally
            {
                foreach (var t in reference.Values) t.Dispose();
            }
        }

        /// <summary>The case file the Python server reads: the state dict as "sd.*", the input, the labels and the spec.</summary>
        public static string WriteCase(CheckedArchitecture arch, IReadOnlyDictionary<string, Tensor> state, Tensor x, Tensor labels)
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
        public static List<string> LoadProblems(JsonElement reply) =>
            new[] { "missing", "unexpected", "shapeMismatch" }
                .SelectMany(k => reply.GetProperty(k).EnumerateArray().Select(e => $"{k}: {e.GetString()}")).ToList();

        /// <summary>The module as the parity test runs it (seeded, randomised, calibrated) and the compared batch.</summary>
        private static (nn.Module<Tensor, Tensor> Module, Tensor X) Prepare(CheckedArchitecture arch, Func<nn.Module<Tensor, Tensor>> create, bool calibrateOnInput)
        {
            var input = arch.Ir.Input;
            torch.manual_seed(ParityHarness.StableSeed(arch.Name));
            var module = create();
            ParityHarness.Randomize(module);
            var calibration = torch.randn(Batch, input.C, input.H, input.W);
            var x = torch.randn(Batch, input.C, input.H, input.W);
            CalibrateRunningStats(module, calibrateOnInput ? x : calibration);
            return (module, x);
        }

        /// <summary>
        /// How far the eval logits of the parity test's module (prepared as the test prepares it, float64) move, relative to
        /// their largest magnitude, when the input is scaled by 1 + 1e-13: a change at float64's rounding scale. Far above
        /// <see cref="OutputTolerance"/>, the eval comparison measures rounding, not the code.
        /// </summary>
        public static double EvalSensitivity(CheckedArchitecture arch, Func<nn.Module<Tensor, Tensor>> create, bool calibrateOnInput)
        {
            using var scope = torch.NewDisposeScope();
            var (module, x) = Prepare(arch, create, calibrateOnInput);
            using var _ = module;
            module.to(ScalarType.Float64);
            module.eval();
            using var noGrad = torch.no_grad();
            var x64 = x.to(ScalarType.Float64);
            var a = module.call(x64);
            var b = module.call(x64 * (1 + 1e-13));
            return (a - b).abs().max().item<double>() / a.abs().max().item<double>();
        }

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
