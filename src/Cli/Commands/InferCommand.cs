using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Torchwright.Cli.Output;
using Torchwright.Cli.Running;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Runtime;
using Torchwright.Runtime.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// <c>torchwright infer &lt;file.arch&gt; --name N --weights W.pth|W.pt|W.safetensors [--weights-key K] --input X.safetensors|X.pt --output Y.safetensors [--device cpu|cuda]</c>:
    /// builds the architecture (emitted and compiled in-process), loads the weights strictly (safetensors or a PyTorch
    /// torch.save file, told apart by content; <see cref="ModuleWeights.LoadWeights(nn.Module, TensorFile, bool, KeyMap?)"/>), runs the
    /// input (the tensor named <c>input</c>, or a bare <c>torch.save(x)</c> tensor) through it in eval mode and writes the
    /// tensor named <c>output</c> as safetensors. Every engine call runs under a <see cref="FinalizerPause"/>.
    /// </summary>
    internal static class InferCommand
    {
        public static Command Create(CliContext ctx)
        {
            var file = new Argument<string>("file") { Description = "the .arch file declaring the architecture" };
            var name = new Option<string?>("--name", "-n") { Description = "architecture name (needed when the file declares several)" };
            var weights = new Option<string>("--weights", "-w") { Description = "the module's state dict (reference names): .safetensors, or a PyTorch torch.save file (.pth/.pt); told apart by content", Required = true };
            var weightsKey = new Option<string?>("--weights-key") { Description = "the entry of a torch.save'd checkpoint dict to load, e.g. state_dict_ema (default: the file itself when it is a state dict, else its 'state_dict', else its 'model' entry)" };
            var input = new Option<string>("--input", "-i") { Description = "the image batch (N, C, H, W): a safetensors or torch.save file holding a tensor named 'input', or a bare torch.save(x) tensor; float64/float16/bfloat16 are converted to float32", Required = true };
            var output = new Option<string>("--output", "-o") { Description = "safetensors file to write the tensor named 'output' to", Required = true };
            var device = new Option<string>("--device", "-d") { Description = "cpu or cuda[:index]", DefaultValueFactory = _ => "cpu" };
            var precision = new Option<string>("--precision")
            {
                Description = "fp32, or bf16-mixed: convolutions, linears, attention matmuls, BatchNorm and GroupNorm in bfloat16, other norms and softmax in fp32, fp32 weights and statistics; the output is fp32",
                DefaultValueFactory = _ => "fp32",
            };
            precision.AcceptOnlyFromAmong("fp32", "bf16-mixed", "fp16-mixed");
            var from = new Option<string>("--weights-from") { Description = "whose names the checkpoint uses: none (Torchwright's = torchvision's, the default) or timm (timm ByobNet names: botnet26t_256, ...; timm's ResNet/ResNeSt names are Torchwright's already); see docs/weights.md", DefaultValueFactory = _ => "none" };
            var optimize = new Option<bool>("--optimize") { Description = "fold every BatchNorm into its convolution and run in the family's fastest memory layout (docs/inference.md)" };
            var command = new Command("infer", "Run an architecture on a tensor: emit, compile in-process, load weights, forward")
            {
                file, name, weights, weightsKey, input, output, device, from, precision, optimize,
            };
            command.SetAction(parse => TorchEngine.Missing(ctx, "infer") ?? Run(ctx, parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(weights)!,
                parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(device)!, parse.GetValue(from)!, parse.GetValue(weightsKey), parse.GetValue(precision)!,
                parse.GetValue(optimize)));
            return command;
        }

        public static int Run(CliContext ctx, string file, string? name, string weightsPath, string inputPath, string outputPath, string deviceName,
            string weightsFrom = "none", string? weightsKey = null, string precisionWord = "fp32", bool optimize = false)
        {
            KeyMap keyMap;
            try { keyMap = KeyMaps.Get(weightsFrom); }
            catch (ArgumentException e)
            {
                ctx.Error.WriteLine($"torchwright infer: --weights-from: {CommandSupport.OneLine(e)}");
                return ExitCodes.Usage;
            }
            var ws = CommandSupport.LoadOrReport(ctx, "infer", new[] { file }, allowDirectories: false);
            if (ws == null) return ExitCodes.Usage;
            foreach (var path in new[] { weightsPath, inputPath })
            {
                // The check .arch imports go through (TW0036): a FIFO would block the read, a device never ends.
                if (Loading.ArchFileReader.NonRegularKind(path) is string kind)
                {
                    ctx.Error.WriteLine($"torchwright infer: {path} is {kind}; --weights and --input take a regular file");
                    return ExitCodes.DeclarationErrors;
                }
                if (!File.Exists(path))
                {
                    ctx.Error.WriteLine($"torchwright infer: file not found: {path}");
                    return ExitCodes.Usage;
                }
            }

            var arch = CommandSupport.CompileOne(ctx, "infer", ws, file, name, out var compileExit);
            if (arch == null) return compileExit;

            if (!CommandSupport.TryGetDevice(ctx, "infer", deviceName, out var device)) return ExitCodes.Usage;
            var precision = Precisions.Parse(precisionWord);
            if (MixedPrecision.WhyUnavailable(precision, device) is string why)
            {
                ctx.Error.WriteLine($"torchwright infer: --precision {precisionWord}: {why}");
                return ExitCodes.Usage;
            }

            try
            {
                nn.Module<Tensor, Tensor> built;
                LoadReport report;
                IReadOnlyList<string> otherStateDicts;
                using (FinalizerPause.Begin())
                {
                    built = ModuleCompiler.Build(arch);
                    try
                    {
                        using var weights = TensorFiles.Read(weightsPath, weightsKey);
                        otherStateDicts = weights.OtherStateDicts;
                        report = built.LoadWeights(weights, strict: true, keyMap);
                    }
                    catch
                    {
                        built.Dispose();
                        throw;
                    }
                }
                using var module = built;

                using var scope = torch.NewDisposeScope();
                var x = TensorFiles.ReadTensor(inputPath, "input");
                if (!x.is_floating_point())
                {
                    ctx.Error.WriteLine($"torchwright infer: the input of {inputPath} is {x.dtype}; the module takes a floating-point image batch (N, C, H, W): save it as float32");
                    return ExitCodes.DeclarationErrors;
                }
                string? converted = null;
                if (x.dtype != ScalarType.Float32)
                {
                    // The module's weights are float32; libtorch refuses to mix ("expected scalar type Double but found Float").
                    converted = $"; input converted from {x.dtype} to Float32, the module's dtype";
                    x = x.to(ScalarType.Float32);
                }
                string optimised = "";
                nn.Module<Tensor, Tensor> run = module;
                if (optimize)
                {
                    module.to(device);
                    var folded = InferenceForm.Optimize(module);   // after loading: folding reads the loaded statistics
                    optimised = "; " + InferenceForm.Summary(folded.Report);
                    run = folded;
                }
                var y = Forward(run, x, device, precision);
                TensorFiles.Save(outputPath, new Dictionary<string, Tensor> { ["output"] = y });
                var others = otherStateDicts.Count > 0 ? $" (the file also holds {string.Join(", ", otherStateDicts)}: choose with --weights-key)" : "";
                ctx.Out.WriteLine($"{arch.Name}: {report.Summary}{others}{converted}; input ({string.Join(", ", x.shape)}) -> output ({string.Join(", ", y.shape)}) written to {outputPath}{optimised}");
                return ExitCodes.Ok;
            }
            catch (CheckpointMismatchException e)
            {
                // Every offending key, grouped, one group a line; the advice is the command line's: infer loads all or nothing.
                var advice = e.Report.SuggestedKeyMap is { } map
                    ? $"The unexpected keys are the names of key map '{map.Name}' (they rename onto the missing ones): add --weights-from {KeyMaps.ShortName(map)}"
                    : "Fix the architecture (or --name) or the checkpoint; infer loads every weight or none";
                ctx.Error.WriteLine($"torchwright infer: {e.Mismatch}\n{advice}");
                return ExitCodes.DeclarationErrors;
            }
            catch (Exception e) when (e is ArgumentException || e is InvalidDataException || e is IOException || e is UnauthorizedAccessException
                || e is ModuleBuildException || e is System.Runtime.InteropServices.ExternalException || e is InvalidOperationException || e is NotSupportedException)
            {
                // Shape guards and file format errors say what is wrong and how to fix it.
                ctx.Error.WriteLine($"torchwright infer: {CommandSupport.OneLine(e)}");
                return ExitCodes.DeclarationErrors;
            }
        }

        /// <summary>The module's output for <paramref name="x"/> on <paramref name="device"/>, back on the CPU: eval mode,
        /// no gradients, in <paramref name="precision"/> (the output in fp32), under a <see cref="FinalizerPause"/>
        /// (TorchSharp's implicit Scalars, see there).</summary>
        internal static Tensor Forward(nn.Module<Tensor, Tensor> module, Tensor x, Device device, Precision precision = Precision.Fp32)
        {
            using (FinalizerPause.Begin())
            using (torch.no_grad())
            using (MixedPrecision.Enter(precision))
            {
                module.to(device);
                module.eval();
                return MixedPrecision.Float(module.call(x.to(device))).to(torch.CPU);
            }
        }
    }
}
