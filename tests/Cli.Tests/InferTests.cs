using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Torchwright.Runtime.Weights;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary><c>torchwright infer</c>: emitted + compiled in-process, torchvision's own resnet50 as the reference.</summary>
    public class InferTests : IDisposable
    {
        private readonly string dir = Directory.CreateTempSubdirectory("tw-infer-").FullName;

        public void Dispose() => Directory.Delete(dir, recursive: true);

        private static string Repo => CliRunner.RepoRoot;

        private void WriteTorchvisionFiles(params string[] extras) =>
            RunPython(Path.Combine(Repo, "tests", "Cli.Tests", "python", "torchvision_resnet50.py"), new[] { dir }.Concat(extras).ToArray());

        /// <summary>Runs a reference script with Debian's Python in its own folder (it imports its neighbours, and the shared
        /// helpers such as st_io from src/Cli/python, where bench's reference networks live); fails on a non-zero exit.</summary>
        private static void RunPython(string script, params string[] args)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = Path.GetDirectoryName(script)! };
            psi.Environment["PYTHONPATH"] = Path.Combine(Repo, "src", "Cli", "python");
            psi.ArgumentList.Add(script);
            foreach (var arg in args) psi.ArgumentList.Add(arg);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err.Result);
        }

        [Fact]
        public void Infer_with_torchvision_resnet50_weights_reproduces_its_logits()
        {
            WriteTorchvisionFiles();
            var stdout = InferResNet50(Path.Combine(dir, "weights.safetensors"));
            Assert.Contains("ResNet50: 320 tensors loaded; input (2, 3, 224, 224) -> output (2, 1000)", stdout);
        }

        [Fact]
        public void Infer_optimize_folds_the_norms_after_loading_and_still_reproduces_torchvisions_logits()
        {
            WriteTorchvisionFiles();
            var stdout = InferResNet50(Path.Combine(dir, "weights.safetensors"), "--optimize");
            // 16 bottlenecks x 3 norms, 4 projection norms and the stem's bn1; nothing left.
            Assert.EndsWith("written to " + Path.Combine(dir, "output.safetensors") + "; optimised: 53 norms folded into their convolutions, channels-last",
                stdout.TrimEnd());
        }

        [Fact]
        public void Infer_with_a_torch_save_pth_of_torchvision_resnet50_reproduces_its_logits()
        {
            WriteTorchvisionFiles("pth");
            var stdout = InferResNet50(Path.Combine(dir, "weights.pth"));
            Assert.Contains("ResNet50: 320 tensors loaded; input", stdout);
        }

        [Fact]
        public void Infer_takes_a_training_checkpoint_without_num_batches_tracked()
        {
            // {'epoch', 'arch', 'state_dict': <no num_batches_tracked>, 'optimizer'}; the name says nothing of the format.
            WriteTorchvisionFiles("checkpoint");
            var stdout = InferResNet50(Path.Combine(dir, "checkpoint.pth.tar"));
            Assert.Contains("ResNet50: 267 tensors loaded from its 'state_dict' entry; 53 num_batches_tracked buffers not in the file, kept; input", stdout);
        }

        /// <summary>bf16-mixed, plain and with --optimize (the folded module in bf16-mixed: its fp32 folded weights cast
        /// to bf16 with each convolution).</summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void Infer_in_bf16_mixed_stays_within_bf16_tolerance_of_torchvision_logits(bool optimize)
        {
            WriteTorchvisionFiles();
            var output = Path.Combine(dir, "bf16.safetensors");
            var (code, stdout, stderr) = CliRunner.Run(new[] { "infer", Path.Combine(Repo, "architectures", "resnet50.arch"), "--name", "ResNet50",
                "--weights", Path.Combine(dir, "weights.safetensors"), "--input", Path.Combine(dir, "input.safetensors"), "--output", output,
                "--precision", "bf16-mixed" }.Concat(optimize ? new[] { "--optimize" } : Array.Empty<string>()).ToArray());
            Assert.True(code == 0, stderr);
            Assert.Equal(optimize, stdout.TrimEnd().EndsWith("; optimised: 53 norms folded into their convolutions, channels-last", StringComparison.Ordinal));
            var ours = TensorFiles.Load(output)["output"];
            var theirs = TensorFiles.Load(Path.Combine(dir, "expected.safetensors"))["expected"];
            Assert.Equal(TorchSharp.torch.ScalarType.Float32, ours.dtype);
            // bf16 keeps 8 significant bits: the 50-layer network's logits stay within 2 % (relative L2; they measure 0.44 %,
            // plain and folded alike), and are not fp32's.
            double error = (ours - theirs).norm().item<float>() / theirs.norm().item<float>();
            Assert.True(error < 0.02 && error > 1e-4, $"relative L2 error {error}");
        }

        /// <summary>Runs torchvision's resnet50 weights through <c>infer</c>; asserts torchvision's logits; returns stdout.</summary>
        private string InferResNet50(string weights, params string[] options)
        {
            var output = Path.Combine(dir, "output.safetensors");
            var (code, stdout, stderr) = CliRunner.Run(new[] { "infer", Path.Combine(Repo, "architectures", "resnet50.arch"), "--name", "ResNet50",
                "--weights", weights, "--input", Path.Combine(dir, "input.safetensors"), "--output", output }.Concat(options).ToArray());
            Assert.True(code == 0, stderr);
            var ours = TensorFiles.Load(output)["output"];
            var theirs = TensorFiles.Load(Path.Combine(dir, "expected.safetensors"))["expected"];
            Assert.Equal(theirs.shape, ours.shape);
            double scale = theirs.abs().max().item<float>();
            double diff = (ours - theirs).abs().max().item<float>();
            Assert.True(diff <= 1e-4 * scale, $"max abs diff {diff} vs logit scale {scale}");
            return stdout;
        }

        [Fact]
        public void Infer_lists_every_missing_unexpected_and_reshaped_key_of_a_pth()
        {
            WriteTorchvisionFiles("mismatch");
            var weights = Path.Combine(dir, "mismatch.pt");
            var (code, stdout, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "resnet50.arch"), "--name", "ResNet50",
                "--weights", weights, "--input", Path.Combine(dir, "input.safetensors"), "--output", Path.Combine(dir, "o.safetensors"));
            Assert.Equal(1, code);
            Assert.Equal("", stdout);
            Assert.Equal(new[]
            {
                $"torchwright infer: Checkpoint '{weights}' does not match module 'ResNet50' (1 missing, 1 unexpected, 1 shape mismatched; nothing was loaded):",
                "  missing from the file (1): fc.bias",
                "  unexpected in the file (1): fc.extra",
                "  shape mismatches (1): conv1.weight: module [64, 3, 7, 7] vs file [64, 3, 3, 3]",
                "Fix the architecture (or --name) or the checkpoint; infer loads every weight or none",
            }, stderr.TrimEnd().Split('\n'));
            Assert.False(File.Exists(Path.Combine(dir, "o.safetensors")));
        }

        [Fact]
        public void Infer_names_a_directory_or_an_unreadable_weights_file_in_one_line()
        {
            var arch = Path.Combine(Repo, "architectures", "resnet50.arch");
            var readme = Path.Combine(Repo, "README.md");
            var (code, _, stderr) = CliRunner.Run("infer", arch, "--name", "ResNet50", "--weights", dir, "--input", readme, "--output", Path.Combine(dir, "o.safetensors"));
            Assert.Equal(1, code);
            Assert.Equal($"torchwright infer: {dir} is a directory; --weights and --input take a regular file", stderr.TrimEnd());

            (code, _, stderr) = CliRunner.Run("infer", arch, "--name", "ResNet50", "--weights", readme, "--input", readme, "--output", Path.Combine(dir, "o.safetensors"));
            Assert.Equal(1, code);
            Assert.StartsWith($"torchwright infer: '{readme}' is neither a safetensors file nor a PyTorch torch.save zip file (it starts with bytes ", stderr);
            Assert.Single(stderr.TrimEnd().Split('\n'));
        }

        [Fact]
        public void Infer_reports_missing_weights_by_name()
        {
            WriteTorchvisionFiles();
            var (code, _, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "botnet50.arch"), "--name", "BotNet50",
                "--weights", Path.Combine(dir, "weights.safetensors"), "--input", Path.Combine(dir, "input.safetensors"), "--output", Path.Combine(dir, "o.safetensors"));
            Assert.Equal(1, code);
            Assert.Contains("layer4.0.mhsa.qkv.weight", stderr);
        }

        /// <summary>
        /// A timm-named checkpoint (tests/Runtime.Tests/python/reference_byobnet.py: timm's botnet26t_256 layout and names,
        /// random float64 weights, an input and its float64 logits) through <c>--weights-from timm</c>: it loads strictly
        /// into the zoo's BotNet26t256 and the float32 run matches the float64 logits to 1e-4 of the largest.
        /// </summary>
        [Fact]
        public void Infer_with_weights_from_timm_loads_a_timm_botnet26t_checkpoint()
        {
            RunPython(Path.Combine(Repo, "tests", "Runtime.Tests", "python", "reference_byobnet.py"), "cases", dir, "botnet26t_256");
            var io = TensorFiles.Load(Path.Combine(dir, "botnet26t_256.io.safetensors"));
            TensorFiles.Save(Path.Combine(dir, "x.safetensors"), new System.Collections.Generic.Dictionary<string, TorchSharp.torch.Tensor> { ["input"] = io["input"].to(TorchSharp.torch.ScalarType.Float32) });
            var (code, stdout, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "botnet26t.arch"), "--name", "BotNet26t256", "--weights-from", "timm",
                "--weights", Path.Combine(dir, "botnet26t_256.state.safetensors"), "--input", Path.Combine(dir, "x.safetensors"), "--output", Path.Combine(dir, "y.safetensors"));
            Assert.True(code == 0, stderr);
            Assert.Contains("keys renamed by key map 'timm-byobnet'", stdout);
            var got = TensorFiles.Load(Path.Combine(dir, "y.safetensors"))["output"].to(TorchSharp.torch.ScalarType.Float64);
            var want = io["logits"];
            double maxAbs = want.abs().max().item<double>(), diff = (got - want).abs().max().item<double>();
            Assert.True(diff <= 1e-4 * maxAbs, $"max |diff| {diff:E3} vs max |logit| {maxAbs:E3}");

            // Without the map the same file names timm's keys as unexpected; an unknown scheme is a usage error listing the known.
            (code, _, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "botnet26t.arch"), "--name", "BotNet26t256",
                "--weights", Path.Combine(dir, "botnet26t_256.state.safetensors"), "--input", Path.Combine(dir, "x.safetensors"), "--output", Path.Combine(dir, "y.safetensors"));
            // Issue 24: the keys are timm's, and the message says which option reads them (not "strict: false", which infer lacks).
            Assert.Equal(1, code);
            Assert.Contains("stages.3.1.self_attn.qkv.weight", stderr);
            Assert.StartsWith($"torchwright infer: Checkpoint '{Path.Combine(dir, "botnet26t_256.state.safetensors")}' does not match module 'BotNet26t256' (163 missing, 194 unexpected; nothing was loaded):", stderr);
            Assert.EndsWith("\nThe unexpected keys are the names of key map 'timm-byobnet' (they rename onto the missing ones): add --weights-from timm\n", stderr);
            Assert.DoesNotContain("strict", stderr);
            (code, _, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "botnet26t.arch"), "--name", "BotNet26t256", "--weights-from", "tim",
                "--weights", Path.Combine(dir, "botnet26t_256.state.safetensors"), "--input", Path.Combine(dir, "x.safetensors"), "--output", Path.Combine(dir, "y.safetensors"));
            Assert.Equal(2, code);
            Assert.Contains("Unknown key-map scheme 'tim'. Known schemes: none, timm, timm-byobnet, torchvision", stderr);
        }

        [Fact]
        public void Infer_needs_a_name_when_the_file_declares_several()
        {
            var (code, _, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "botnet50.arch"),
                "--weights", Path.Combine(Repo, "README.md"), "--input", Path.Combine(Repo, "README.md"), "--output", Path.Combine(dir, "o.safetensors"));
            Assert.Equal(2, code);
            Assert.Contains("choose one with --name (BotNet50, BotNet50_011)", stderr);
        }
    }
}
