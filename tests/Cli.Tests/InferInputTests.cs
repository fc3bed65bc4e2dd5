using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using TorchSharp;
using Torchwright.Cli.Commands;
using Torchwright.Cli.Running;
using Torchwright.Runtime;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Issue 24, loading weights and inputs: checkpoints whose entries share tensors, a chosen entry (--weights-key),
    /// bare and non-float32 inputs, FIFOs, and the engine under a finalizer pause. A tiny network (the sweep tests'
    /// 1-1-1-1 ResNet at width 1/8 on 32 px) keeps every run fast; Debian's PyTorch 1.13 writes the torch.save files.
    /// </summary>
    public sealed class InferInputTests : IClassFixture<InferInputTests.Files>
    {
        /// <summary>The tiny network's weights and input, and PyTorch's files made from them, written once for the class.</summary>
        public sealed class Files : IDisposable
        {
            public Files()
            {
                Arch = Dir.Write("tiny.arch", SweepTests.TinyArch);
                Weights = Path.Combine(Dir.Path, "weights.safetensors");
                Input = Path.Combine(Dir.Path, "input.safetensors");
                var ws = Loading.ArchWorkspace.Load(new[] { Arch }, false, out _, out _)!;
                var checkedArch = ws.Compile().Architectures.Single(a => a.Name == "Tiny");
                torch.manual_seed(3);
                using (var module = ModuleCompiler.Build(checkedArch))
                {
                    // Non-trivial BatchNorm statistics, so a wrong or empty state dict shows in the logits.
                    using (torch.no_grad())
                        foreach (var (name, buffer) in module.named_buffers())
                            if (name.EndsWith("running_var", StringComparison.Ordinal)) buffer.uniform_(0.5, 2.0);
                            else if (name.EndsWith("running_mean", StringComparison.Ordinal)) buffer.uniform_(-0.2, 0.2);
                    module.SaveSafetensors(Weights);
                }
                TensorFiles.Save(Input, new Dictionary<string, Tensor> { ["input"] = torch.randn(new long[] { 2, 3, 32, 32 }) });
                var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
                psi.ArgumentList.Add(Path.Combine(CliRunner.RepoRoot, "tests", "Cli.Tests", "python", "checkpoint_layouts.py"));
                psi.ArgumentList.Add(Weights);
                psi.ArgumentList.Add(Input);
                psi.ArgumentList.Add(Dir.Path);
                using var p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEndAsync();
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, err.Result);
            }

            public TempDir Dir { get; } = new TempDir();
            public string Arch { get; }
            public string Weights { get; }
            public string Input { get; }

            public void Dispose() => Dir.Dispose();
        }

        private readonly TempDir dir;
        private readonly string arch;
        private readonly string weights;
        private readonly string input;

        public InferInputTests(Files files)
        {
            dir = files.Dir;
            arch = files.Arch;
            weights = files.Weights;
            input = files.Input;
        }

        private string In(string name) => Path.Combine(dir.Path, name);

        private CliRunner.Result Infer(string weightsFile, string inputFile, string output, params string[] extra) =>
            CliRunner.Run(new[] { "infer", arch, "--name", "Tiny", "--weights", weightsFile, "--input", inputFile, "--output", output }.Concat(extra).ToArray());

        private static Tensor Output(string path) => TensorFiles.Load(path)["output"];

        /// <summary>The logits of the safetensors weights on the float32 input: what every other layout must reproduce.</summary>
        private Tensor Reference()
        {
            var r = Infer(weights, input, In("reference.safetensors"));
            Assert.True(r.ExitCode == 0, r.Error);
            return Output(In("reference.safetensors"));
        }

        [Fact]
        public void A_checkpoint_whose_entries_share_tensors_loads_the_chosen_entry_and_names_it()
        {
            var reference = Reference();
            var r = Infer(In("shared_ema.pth"), input, In("a.safetensors"));
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.StartsWith("Tiny: 104 tensors loaded from its 'state_dict' entry (the file also holds state_dict_ema: choose with --weights-key); input (2, 3, 32, 32)", r.Out);
            Assert.True(reference.equal(Output(In("a.safetensors"))).all().item<bool>(), "the state_dict entry's logits differ from the safetensors weights'");

            r = Infer(In("shared_ema.pth"), input, In("b.safetensors"), "--weights-key", "state_dict_ema");
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.StartsWith("Tiny: 104 tensors loaded from its 'state_dict_ema' entry (the file also holds state_dict: choose with --weights-key); input", r.Out);
            Assert.True(reference.equal(Output(In("b.safetensors"))).all().item<bool>());

            r = Infer(In("shared_ema.pth"), input, In("c.safetensors"), "--weights-key", "ema");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal($"torchwright infer: '{In("shared_ema.pth")}' has no entry 'ema' holding a state dict; the entries that hold one: state_dict, state_dict_ema.\n", r.Error);
            Assert.False(File.Exists(In("c.safetensors")));
        }

        [Fact]
        public void A_bare_tensor_or_a_float64_input_runs_as_float32_and_a_float16_one_is_converted_with_a_note()
        {
            var reference = Reference();
            var r = Infer(weights, In("bare.pt"), In("bare.safetensors"));
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.True(reference.equal(Output(In("bare.safetensors"))).all().item<bool>(), "the bare tensor's logits differ");

            r = Infer(weights, In("f64.pt"), In("f64.safetensors"));
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Contains("; input converted from Float64 to Float32, the module's dtype; input (2, 3, 32, 32) -> output (2, 8)", r.Out);
            Assert.True(reference.equal(Output(In("f64.safetensors"))).all().item<bool>(), "float64 values that are float32 values must give the same logits");

            r = Infer(weights, In("f16.pt"), In("f16.safetensors"));
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Contains("; input converted from Float16 to Float32, the module's dtype;", r.Out);
            Assert.Equal(ScalarType.Float32, Output(In("f16.safetensors")).dtype);
        }

        [Fact]
        public void A_wrong_size_says_so_in_one_line_without_the_parameter_name()
        {
            var r = Infer(weights, In("one_channel.pt"), In("o.safetensors"));
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("torchwright infer: Tiny: expected input (N, 3, H, W) but got (2, 1, 32, 32).\n", r.Error);
        }

        [Theory]
        [InlineData("--weights")]
        [InlineData("--input")]
        public void A_fifo_or_a_device_is_refused_up_front(string option)
        {
            var fifo = In(option.TrimStart('-') + ".pipe");
            using (var mk = Process.Start("mkfifo", fifo)) mk.WaitForExit();
            foreach (var (path, kind) in new[] { (fifo, "a FIFO (named pipe)"), ("/dev/zero", "a character device") })
            {
                var r = option == "--weights" ? Infer(path, input, In("o.safetensors")) : Infer(weights, path, In("o.safetensors"));
                Assert.Equal(1, r.ExitCode);
                Assert.Equal($"torchwright infer: {path} is {kind}; --weights and --input take a regular file\n", r.Error);
            }
        }

        /// <summary>A module that records whether a finalizer pause is held while it runs (TorchSharp's implicit Scalars).</summary>
        private sealed class PauseProbe : nn.Module<Tensor, Tensor>
        {
            public readonly List<bool> Held = new List<bool>();
            private readonly nn.Module<Tensor, Tensor> fc = nn.Linear(4, 3);

            public PauseProbe() : base("probe") => RegisterComponents();

            public override Tensor forward(Tensor x)
            {
                Held.Add(FinalizerPause.IsHeld);
                return fc.call(x);
            }
        }

        [Fact]
        public void Infer_and_bench_run_the_engine_under_a_finalizer_pause()
        {
            using var probe = new PauseProbe();
            using var x = torch.randn(2, 4);
            InferCommand.Forward(probe, x, torch.CPU).Dispose();
            using var target = torch.tensor(new long[] { 0, 2 });
            using (var infer = new BenchWorkload(probe, x, target, BenchMode.Infer, torch.CPU, BenchPrecision.Fp32))
                infer.Step();
            using (var train = new BenchWorkload(probe, x, target, BenchMode.Train, torch.CPU, BenchPrecision.Fp32))
                train.Step();
            Assert.Equal(new[] { true, true, true }, probe.Held);
            Assert.False(FinalizerPause.IsHeld);
        }
    }
}
