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
    /// <c>torchwright infer &lt;file.arch&gt; --name N --weights W.pth|W.pt|W.safetensors --input X.safetensors --output Y.safetensors [--device cpu|cuda]</c>:
    /// builds the architecture (emitted and compiled in-process), loads the weights strictly (safetensors or a PyTorch
    /// torch.save file, told apart by content; <see cref="ModuleWeights.LoadWeights(nn.Module, string, bool)"/>), runs the
    /// tensor named <c>input</c> through it in eval mode and writes the tensor named <c>output</c> as safetensors.
    /// </summary>
    internal static class InferCommand
    {
        public static Command Create(CliContext ctx)
        {
            var file = new Argument<string>("file") { Description = "the .arch file declaring the architecture" };
            var name = new Option<string?>("--name", "-n") { Description = "architecture name (needed when the file declares several)" };
            var weights = new Option<string>("--weights", "-w") { Description = "the module's state dict (reference names): .safetensors, or a PyTorch torch.save file (.pth/.pt); told apart by content", Required = true };
            var input = new Option<string>("--input", "-i") { Description = "safetensors (or torch.save) file holding a tensor named 'input' (N, C, H, W)", Required = true };
            var output = new Option<string>("--output", "-o") { Description = "safetensors file to write the tensor named 'output' to", Required = true };
            var device = new Option<string>("--device", "-d") { Description = "cpu or cuda[:index]", DefaultValueFactory = _ => "cpu" };
            var from = new Option<string>("--weights-from") { Description = "whose names the checkpoint uses: none (Torchwright's = torchvision's, the default) or timm (timm ByobNet names: botnet26t_256, ...; timm's ResNet/ResNeSt names are Torchwright's already); see docs/weights.md", DefaultValueFactory = _ => "none" };
            var command = new Command("infer", "Run an architecture on a tensor: emit, compile in-process, load weights, forward")
            {
                file, name, weights, input, output, device, from,
            };
            command.SetAction(parse => TorchEngine.Missing(ctx, "infer") ?? Run(ctx, parse.GetValue(file)!, parse.GetValue(name), parse.GetValue(weights)!,
                parse.GetValue(input)!, parse.GetValue(output)!, parse.GetValue(device)!, parse.GetValue(from)!));
            return command;
        }

        public static int Run(CliContext ctx, string file, string? name, string weightsPath, string inputPath, string outputPath, string deviceName, string weightsFrom = "none")
        {
            KeyMap keyMap;
            try { keyMap = KeyMaps.Get(weightsFrom); }
            catch (ArgumentException e)
            {
                ctx.Error.WriteLine($"torchwright infer: --weights-from: {e.Message.Split(" (Parameter")[0]}");
                return ExitCodes.Usage;
            }
            var ws = CommandSupport.LoadOrReport(ctx, "infer", new[] { file }, allowDirectories: false);
            if (ws == null) return ExitCodes.Usage;
            foreach (var path in new[] { weightsPath, inputPath })
            {
                if (Directory.Exists(path))
                {
                    ctx.Error.WriteLine($"torchwright infer: {path} is a directory; --weights and --input take a file");
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

            try
            {
                using var module = ModuleCompiler.Build(arch);
                var report = module.LoadWeights(weightsPath, strict: true, keyMap);
                module.to(device);
                module.eval();

                using var scope = torch.NewDisposeScope();
                var tensors = TensorFiles.Load(inputPath);
                if (!tensors.TryGetValue("input", out var x))
                {
                    ctx.Error.WriteLine($"torchwright infer: {inputPath} has no tensor named 'input' (it has: {string.Join(", ", tensors.Keys)})");
                    return ExitCodes.Usage;
                }
                if (!x.is_floating_point())
                {
                    ctx.Error.WriteLine($"torchwright infer: tensor 'input' of {inputPath} is {x.dtype}; the module takes a floating-point image batch (N, C, H, W): save it as float32");
                    return ExitCodes.DeclarationErrors;
                }
                Tensor y;
                using (torch.no_grad())
                    y = module.call(x.to(device)).to(torch.CPU);
                TensorFiles.Save(outputPath, new Dictionary<string, Tensor> { ["output"] = y });
                ctx.Out.WriteLine($"{arch.Name}: {report.Summary}; input ({string.Join(", ", x.shape)}) -> output ({string.Join(", ", y.shape)}) written to {outputPath}");
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is ArgumentException || e is InvalidDataException || e is IOException || e is UnauthorizedAccessException
                || e is CheckpointMismatchException || e is ModuleBuildException || e is System.Runtime.InteropServices.ExternalException || e is InvalidOperationException || e is NotSupportedException)
            {
                // Shape guards, strict weight loading (every offending key, grouped, one group a line) and file format errors
                // all say what is wrong and how to fix it. libtorch's messages carry its C++ stack after the first line.
                var message = e is System.Runtime.InteropServices.ExternalException ? e.Message.Split('\n')[0] : e.Message;
                ctx.Error.WriteLine($"torchwright infer: {message}");
                return ExitCodes.DeclarationErrors;
            }
        }
    }
}
