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

        private void WriteTorchvisionFiles()
        {
            var script = Path.Combine(Repo, "tests", "Cli.Tests", "python", "torchvision_resnet50.py");
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(dir);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err);
        }

        [Fact]
        public void Infer_with_torchvision_resnet50_weights_reproduces_its_logits()
        {
            WriteTorchvisionFiles();
            var output = Path.Combine(dir, "output.safetensors");
            var (code, stdout, stderr) = CliRunner.Run("infer", Path.Combine(Repo, "architectures", "resnet50.arch"), "--name", "ResNet50",
                "--weights", Path.Combine(dir, "weights.safetensors"), "--input", Path.Combine(dir, "input.safetensors"), "--output", output);
            Assert.True(code == 0, stderr);
            Assert.Contains("ResNet50: 320 tensors loaded", stdout);

            var ours = SafeTensors.Load(output)["output"];
            var theirs = SafeTensors.Load(Path.Combine(dir, "expected.safetensors"))["expected"];
            Assert.Equal(theirs.shape, ours.shape);
            double scale = theirs.abs().max().item<float>();
            double diff = (ours - theirs).abs().max().item<float>();
            Assert.True(diff <= 1e-4 * scale, $"max abs diff {diff} vs logit scale {scale}");
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
