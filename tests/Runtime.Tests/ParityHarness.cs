using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Weights;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>One parity configuration: the C# constructor call and the same arguments for the Python reference.</summary>
    public sealed record BlockCase(
        string Name,
        string Kind,
        IReadOnlyDictionary<string, object> Args,
        Func<nn.Module<Tensor, Tensor>> Build,
        long[] InputShape,
        Action<nn.Module> Init)
    {
        public override string ToString() => Name;
    }

    /// <summary>What a parity run measured (max abs differences C# vs PyTorch).</summary>
    public sealed record ParityResult(
        long ParamCount,
        long ReferenceParamCount,
        IReadOnlyList<string> StateKeys,
        IReadOnlyList<string> ReferenceStateKeys,
        double OutEval,
        double OutTrain,
        double GradInput,
        double GradParams,
        string WorstGradParam,
        double OutputScale);

    public static class ParityHarness
    {
        public const double OutputTolerance = 1e-4;
        public const double GradTolerance = 1e-3;

        public static readonly string WorkDir = Path.Combine(Path.GetTempPath(), "torchwright-runtime-tests", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        /// <summary>
        /// Builds the block, initialises it as its family does, randomises norm statistics/affine and layer scales (so eval
        /// and train differ and every parameter matters), exports state dict + input + projection, runs the PyTorch reference
        /// with identical weights and compares: eval output, input and parameter gradients of sum(out * proj) in eval mode,
        /// and a train-mode output.
        /// </summary>
        public static ParityResult Run(PythonReference python, BlockCase c, Func<string, Tensor, Tensor>? tamperExport = null, Func<string, string>? renameExport = null)
        {
            Directory.CreateDirectory(WorkDir);
            var casePath = Path.Combine(WorkDir, Sanitize(c.Name) + ".safetensors");
            torch.manual_seed(StableSeed(c.Name));
            using var scope = torch.NewDisposeScope();
            using var module = c.Build();
            c.Init(module);
            Randomize(module);

            var x = torch.randn(c.InputShape);
            module.eval();
            var xg = x.detach().clone().requires_grad_(true);
            var outEval = module.call(xg);
            var proj = torch.randn(outEval.shape);
            (outEval * proj).sum().backward();

            var state = module.state_dict();
            var export = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var kv in state) export["sd." + (renameExport is null ? kv.Key : renameExport(kv.Key))] = tamperExport is null ? kv.Value : tamperExport(kv.Key, kv.Value);
            export["input"] = x;
            export["proj"] = proj;
            var meta = new Dictionary<string, string>
            {
                ["kind"] = c.Kind,
                ["args"] = JsonSerializer.Serialize(c.Args.ToDictionary(k => k.Key, k => k.Value is Enum e ? (object)e.ToString() : k.Value)),
            };
            TensorFiles.Save(casePath, export, meta);

            var reply = python.Request(casePath);
            long refCount = reply.GetProperty("paramCount").GetInt64();
            var refKeys = reply.GetProperty("stateKeys").EnumerateArray().Select(e => e.GetString()!).ToList();
            long count = module.parameters().Sum(p => p.numel());
            var keys = state.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
            if (!File.Exists(casePath + ".ref.safetensors"))
                return new ParityResult(count, refCount, keys, refKeys, double.NaN, double.NaN, double.NaN, double.NaN, "(reference not run: state dicts differ)", double.NaN);

            var reference = TensorFiles.Load(casePath + ".ref.safetensors");
            double outEvalDiff = MaxAbs(outEval, reference["out.eval"]);
            double gradInput = MaxAbs(xg.grad!, reference["grad.input"]);
            double gradParams = 0;
            string worst = "";
            foreach (var (name, p) in module.named_parameters())
            {
                var g = p.grad ?? torch.zeros_like(p);
                double d = MaxAbs(g, reference["grad." + name]);
                if (d >= gradParams) { gradParams = d; worst = name; }
            }

            module.train();
            Tensor outTrain;
            using (torch.no_grad())
                outTrain = module.call(x);
            double outTrainDiff = MaxAbs(outTrain, reference["out.train"]);
            double scale = outEval.detach().abs().max().item<float>();
            foreach (var t in reference.Values) t.Dispose();
            File.Delete(casePath);
            File.Delete(casePath + ".ref.safetensors");
            return new ParityResult(count, refCount, keys, refKeys, outEvalDiff, outTrainDiff, gradInput, gradParams, worst, scale);
        }

        /// <summary>Norm affine parameters and running statistics drawn away from 1/0, layer scales drawn near 1.</summary>
        public static void Randomize(nn.Module module)
        {
            using var noGrad = torch.no_grad();
            foreach (var m in module.modules())
            {
                switch (m)
                {
                    case BatchNorm2d bn:
                        bn.weight.uniform_(0.5, 1.5);
                        bn.bias!.uniform_(-0.3, 0.3);
                        bn.running_mean!.uniform_(-0.3, 0.3);
                        bn.running_var!.uniform_(0.5, 1.5);
                        break;
                    case GroupNorm gn:
                        gn.weight.uniform_(0.5, 1.5);
                        gn.bias!.uniform_(-0.3, 0.3);
                        break;
                    case LayerNorm ln:
                        ln.weight.uniform_(0.5, 1.5);
                        ln.bias!.uniform_(-0.3, 0.3);
                        break;
                }
            }
            foreach (var (name, p) in module.named_parameters())
            {
                if (name.Contains("layer_scale", StringComparison.Ordinal))
                    p.uniform_(0.5, 1.0);
                else if (name.EndsWith("bias", StringComparison.Ordinal))
                    p.uniform_(-0.2, 0.2);
            }
        }

        public static double MaxAbs(Tensor a, Tensor b)
        {
            if (!a.shape.SequenceEqual(b.shape))
                throw new InvalidOperationException($"shape mismatch: C# [{string.Join(", ", a.shape)}] vs reference [{string.Join(", ", b.shape)}]");
            // In float64, so that float64 runs report their own differences rather than float32 rounding.
            using var d = (a.detach().to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max();
            return d.item<double>();
        }

        public static long StableSeed(string name)
        {
            long h = 17;
            foreach (char ch in name) h = unchecked(h * 31 + ch);
            return Math.Abs(h % 1_000_003);
        }

        private static string Sanitize(string name) =>
            new string(name.Select(ch => char.IsLetterOrDigit(ch) ? ch : '_').ToArray());
    }
}
