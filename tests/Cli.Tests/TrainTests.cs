using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Torchwright.Dsl;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// <c>torchwright train</c> end to end: the run folder's files, <c>best.safetensors</c> through <c>infer</c> and a
    /// strict PyTorch load, SIGKILL + <c>--resume</c> against an uninterrupted run, fine-tuning from torchvision and
    /// timm checkpoints, and the one-line errors.
    /// </summary>
    public sealed class TrainTests : IDisposable
    {
        private readonly TempDir _dir = new TempDir();

        public void Dispose() => _dir.Dispose();

        private static string Repo => CliRunner.RepoRoot;

        private const string Data = "shapes:32:n=256:test=64";

        private string Tiny => _dir.Write("tiny.arch", SweepTests.TinyArch);

        private string[] Args(string output, int steps, params string[] extra) =>
            new[] { "train", Tiny, "--name", "Tiny", "--dataset", Data, "--out", output, "--steps", steps.ToString(), "--batch", "8",
                "--threads", "1", "--progress", "plain" }.Concat(extra).ToArray();

        [Fact]
        public void Train_writes_weights_state_and_curves_and_best_loads_with_infer_and_strictly_into_pytorch()
        {
            var run = Path.Combine(_dir.Path, "run");
            var (code, stdout, stderr) = CliRunner.Run(Args(run, 12, "--eval-every", "6", "--ema", "0.9", "--opt", "adamw", "--lr", "0.003",
                "--label-smoothing", "0.1", "--clip-grad", "2", "--tensorboard", Path.Combine(_dir.Path, "tb")));
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("train Tiny: 130,448 params", stdout);
            Assert.Contains("12 steps of batch 8, adamw lr 0.003, seed 0, cpu", stdout);
            Assert.Contains("step 6/12: eval acc ", stdout);
            Assert.Contains("Tiny: 12 steps done (", stdout);
            foreach (var f in new[] { "best.safetensors", "best_ema.safetensors", "ema.safetensors", "last.safetensors", "state.safetensors", "log.json", "log.csv" })
                Assert.True(File.Exists(Path.Combine(run, f)), f);
            Assert.Empty(Directory.GetFiles(run, "*.tmp"));
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir.Path, "tb"), "events.out.tfevents.*"));

            // The curves: 12 one-step windows (12 steps, at most 200 points) and two evaluations, in JSON and CSV alike.
            using var log = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "log.json")));
            var train = log.RootElement.GetProperty("train").EnumerateArray().ToList();
            var evals = log.RootElement.GetProperty("eval").EnumerateArray().ToList();
            Assert.Equal(Enumerable.Range(1, 12), train.Select(t => t.GetProperty("step").GetInt32()));
            Assert.Equal(new[] { 6, 12 }, evals.Select(e => e.GetProperty("step").GetInt32()));
            Assert.Equal(0.1875, evals[0].GetProperty("epoch").GetDouble());   // 6 x 8 / 256
            Assert.Equal("0.1", log.RootElement.GetProperty("settings").GetProperty("label_smoothing").GetString());
            Assert.Equal("Tiny", log.RootElement.GetProperty("identity").GetProperty("architecture").GetString());
            var csv = File.ReadAllLines(Path.Combine(run, "log.csv"));
            Assert.Equal("kind,step,epoch,loss,accuracy,ema_loss,ema_accuracy,lr", csv[0]);
            Assert.Equal(12 + 2 + 1, csv.Length);
            Assert.StartsWith("eval,6,0.1875,", csv[7]);
            var best = log.RootElement.GetProperty("best");
            var bestAccuracy = evals.Max(e => e.GetProperty("accuracy").GetDouble());
            Assert.Equal(bestAccuracy, best.GetProperty("accuracy").GetDouble());

            // best.safetensors through infer, and into the PyTorch reference network with strict=True: the same logits.
            var input = Path.Combine(_dir.Path, "x.safetensors");
            manual_seed(3);
            TensorFiles.Save(input, new Dictionary<string, Tensor> { ["input"] = randn(4, 3, 32, 32) });
            (code, stdout, stderr) = CliRunner.Run("infer", Tiny, "--name", "Tiny", "--weights", Path.Combine(run, "best.safetensors"),
                "--input", input, "--output", Path.Combine(_dir.Path, "y.safetensors"));
            Assert.True(code == 0, stderr);
            Assert.Contains("Tiny: 104 tensors loaded; input (4, 3, 32, 32) -> output (4, 8)", stdout);

            var compiled = ArchCompiler.Compile(new[] { new SourceFile("tiny.arch", SweepTests.TinyArch) });
            var spec = _dir.Write("tiny.spec.json", Torchwright.Dsl.Emit.ArchSpecJson.Write(compiled.Architectures.Single(a => a.Name == "Tiny").Ir));
            var pyOut = Path.Combine(_dir.Path, "py.safetensors");
            var py = RunPython(Path.Combine(Repo, "tests", "Cli.Tests", "python", "trained_reference.py"), spec, Path.Combine(run, "best.safetensors"), input, pyOut);
            Assert.Contains("strict load: 104 tensors", py);
            var ours = TensorFiles.Load(Path.Combine(_dir.Path, "y.safetensors"))["output"];
            var theirs = TensorFiles.Load(pyOut)["output"];
            var diff = (ours - theirs).abs().max().item<float>();
            Assert.True(diff <= 1e-4f * Math.Max(1, theirs.abs().max().item<float>()), $"max |diff| {diff}");
        }

        /// <summary>
        /// A real <c>torchwright train</c> process is SIGKILLed after its state was saved at step 20 of 40; the same
        /// command with <c>--resume</c> finishes it. Its weights, EMA and curves equal an uninterrupted run's bit for bit
        /// (tolerance 0: CPU, one thread, every step a function of the saved state and (seed, step)).
        /// </summary>
        [Fact]
        public void A_sigkilled_train_resumes_to_exactly_the_weights_of_an_uninterrupted_run()
        {
            // Far more steps than the kill needs: the line "step 20/N: saved" reaches the test through a pipe, and on a
            // fast machine a 40-step run had finished before the kill landed.
            const int Steps = 200;
            string[] Common(string output) => Args(output, Steps, "--save-every", "5", "--eval-every", "15", "--ema", "0.9");
            var whole = Path.Combine(_dir.Path, "whole");
            var (code, stdout, stderr) = CliRunner.Run(Common(whole));
            Assert.True(code == 0, stderr + stdout);

            var cut = Path.Combine(_dir.Path, "cut");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "torchwright.dll"));
            foreach (var a in Common(cut)) psi.ArgumentList.Add(a);
            var log = new StringBuilder();
            using (var process = Process.Start(psi)!)
            {
                var saved = new System.Threading.ManualResetEventSlim();
                process.OutputDataReceived += (_, e) =>
                {
                    lock (log) log.AppendLine(e.Data);
                    if (e.Data == $"step 20/{Steps}: saved") saved.Set();
                };
                process.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                var reached = saved.Wait(TimeSpan.FromSeconds(120));
                process.Kill();   // SIGKILL
                process.WaitForExit();
                lock (log) Assert.True(reached, "the process never saved step 20:\n" + log);
                lock (log) Assert.DoesNotContain("steps done", log.ToString());
            }
            var state = TrainCheckpointPeek(cut);
            Assert.InRange(state.Step, 20, Steps - 1);

            (code, stdout, stderr) = CliRunner.Run(Common(cut).Append("--resume").ToArray());
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains($"; resuming from step {state.Step}", stdout);
            Assert.Contains($"Tiny: {Steps} steps done (resumed at step {state.Step}, ", stdout);
            foreach (var f in new[] { "last.safetensors", "ema.safetensors", "best.safetensors", "log.csv" })
                Assert.True(File.ReadAllBytes(Path.Combine(whole, f)).SequenceEqual(File.ReadAllBytes(Path.Combine(cut, f))), f + " differs");
        }

        private static (int Step, int Steps) TrainCheckpointPeek(string dir) =>
            Torchwright.Runtime.Training.TrainCheckpoint.Peek(dir) ?? throw new InvalidOperationException("no state in " + dir);

        /// <summary>A CIFAR-10 binary folder of random images, for 10-class runs.</summary>
        private string Cifar() => _dir.WriteRandomCifar10();

        /// <summary>
        /// torchvision's resnet50 written by PyTorch 1.13's torch.save (random weights, 1000 classes) fine-tunes to 10 classes:
        /// everything loads but fc, which is re-initialised and said so; with --freeze 4 every stage and the stem keep the
        /// checkpoint's exact values (BatchNorm statistics included) while the classifier trains.
        /// </summary>
        [Fact]
        public void Fine_tuning_a_torchvision_resnet50_checkpoint_to_10_classes()
        {
            RunPython(Path.Combine(Repo, "tests", "Cli.Tests", "python", "torchvision_resnet50.py"), _dir.Path, "pth", "mismatch");
            var arch = _dir.Write("r50.arch", "arch R50x10 : ResNet50 {\n  input   = 3x32x32\n  classes = 10\n}\n");
            var run = Path.Combine(_dir.Path, "ft");
            var (code, stdout, stderr) = CliRunner.Run("train", arch, "--dataset", "cifar10:" + Cifar(), "--out", run, "--init", Path.Combine(_dir.Path, "weights.pth"),
                "--freeze", "4", "--steps", "2", "--batch", "4", "--threads", "1", "--progress", "plain", "--lr", "0.01");
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("--init: 318 tensors loaded; ", stdout);
            Assert.Contains("the classifier (fc.bias: module [10] vs file [1000], fc.weight: module [10, 2048] vs file [1000, 2048]) does not fit 10 classes: re-initialised", stdout);
            Assert.Contains("--freeze 4: conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4 frozen (23,508,032 parameters; their BatchNorm stays in eval mode)", stdout);
            var source = TensorFiles.Load(Path.Combine(_dir.Path, "weights.safetensors"));
            var trained = TensorFiles.Load(Path.Combine(run, "last.safetensors"));
            foreach (var key in new[] { "conv1.weight", "bn1.running_mean", "layer1.0.bn1.running_var", "layer4.2.conv3.weight", "layer3.5.bn2.weight" })
                Assert.True(source[key].equal(trained[key]).all().item<bool>(), key + " changed");
            Assert.Equal(new long[] { 10, 2048 }, trained["fc.weight"].shape);

            // Any other mismatch (here a missing fc.bias, an unexpected key and a reshaped conv1 besides the classifier)
            // is the strict load's error, every key listed, and nothing trains.
            (code, stdout, stderr) = CliRunner.Run("train", arch, "--dataset", "cifar10:" + Path.Combine(_dir.Path, "cifar-10-batches-bin"), "--out", Path.Combine(_dir.Path, "bad"),
                "--init", Path.Combine(_dir.Path, "mismatch.pt"), "--steps", "2", "--batch", "4", "--threads", "1", "--progress", "plain");
            Assert.Equal(1, code);
            Assert.StartsWith($"torchwright train: --init: Checkpoint '{Path.Combine(_dir.Path, "mismatch.pt")}' does not match module 'R50x10' (1 missing, 1 unexpected, 2 shape mismatched; nothing was loaded):", stderr);
            Assert.Contains("conv1.weight: module [64, 3, 7, 7] vs file [64, 3, 3, 3]", stderr);
            Assert.False(File.Exists(Path.Combine(_dir.Path, "bad", "state.safetensors")));
        }

        /// <summary>A timm byobnet checkpoint (botnet26t_256 layout and names, tests/Runtime.Tests/python/reference_byobnet.py)
        /// fine-tunes through --weights-from timm into an 8-class BotNet26t256.</summary>
        [Fact]
        public void Fine_tuning_a_timm_byobnet_checkpoint_with_weights_from_timm()
        {
            RunPython(Path.Combine(Repo, "tests", "Runtime.Tests", "python", "reference_byobnet.py"), "cases", _dir.Path, "botnet26t_256");
            var arch = _dir.Write("b26.arch", "import \"" + Path.Combine(Repo, "architectures", "botnet26t.arch").Replace("\\", "/") + "\"\narch B26x8 : BotNet26t256 {\n  classes = 8\n}\n");
            var run = Path.Combine(_dir.Path, "ft");
            var (code, stdout, stderr) = CliRunner.Run("train", arch, "--name", "B26x8", "--dataset", "shapes:256:n=4:test=2", "--out", run,
                "--init", Path.Combine(_dir.Path, "botnet26t_256.state.safetensors"), "--weights-from", "timm", "--freeze", "4",
                "--steps", "1", "--batch", "2", "--threads", "1", "--progress", "plain");
            Assert.True(code == 0, stderr + stdout);
            Assert.Contains("keys renamed by key map 'timm-byobnet'", stdout);
            Assert.Contains("does not fit 8 classes: re-initialised", stdout);
            var trained = TensorFiles.Load(Path.Combine(run, "last.safetensors"));
            Assert.Equal(new long[] { 8, 2048 }, trained["fc.weight"].shape);
        }

        [Fact]
        public void Bad_requests_get_one_line_errors()
        {
            var run = Path.Combine(_dir.Path, "run");
            void Fails(int exit, string message, params string[] args)
            {
                var (code, stdout, stderr) = CliRunner.Run(args);
                Assert.True(exit == code, $"exit {code}: {stderr}{stdout}");
                Assert.Equal(message, stderr.TrimEnd('\n', '\r'));
            }
            Fails(2, "torchwright train: --dataset cifar10:/nope: cifar10: directory '/nope' does not exist; the directory must be cifar-10-batches-bin as extracted from the binary version of CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz), not the Python or MATLAB version",
                "train", Tiny, "--name", "Tiny", "--dataset", "cifar10:/nope", "--out", run);
            Fails(1, "torchwright train: Tiny declares classes = 8 but cifar10/train has 10: declare classes = 10 (e.g. arch Tiny10 : Tiny { classes = 10 }; with --init, a checkpoint's classifier for another class count is re-initialised)",
                "train", Tiny, "--name", "Tiny", "--dataset", "cifar10:" + Cifar(), "--out", run);
            Fails(2, "torchwright train: --lr -1: lr must be in (0, 1000000], not -1", Args(run, 2, "--lr", "-1"));
            Fails(2, "torchwright train: --eval-every: 'x' is not a cadence: give a number of steps (e.g. 500) or of epochs (e.g. 1e), at least 1", Args(run, 2, "--eval-every", "x"));
            Fails(2, "torchwright train: --init: file not found: /nope.pth", Args(run, 2, "--init", "/nope.pth"));
            Fails(2, "torchwright train: --freeze 5: Tiny has 4 stages; give 0 (the stem) to 4 (every stage: only the classifier trains)", Args(run, 2, "--freeze", "5"));
            var van = _dir.Write("v8.arch", "import \"" + Path.Combine(Repo, "architectures", "van.arch").Replace("\\", "/") + "\"\narch V8 : VanB0 {\n  input = 3x32x32\n  classes = 8\n}\n");
            Fails(1, "torchwright train: --freeze 0: V8 has no stem before its first stage (its first part is patch_embed1), so nothing would be frozen; give --freeze 1 or more",
                "train", van, "--name", "V8", "--dataset", Data, "--out", Path.Combine(_dir.Path, "v8"), "--steps", "1", "--threads", "1", "--freeze", "0");
            Fails(2, $"torchwright train: --dataset {Data}: dataset '{Data}': skipping bad images (--skip-bad-images) applies to imagefolder:DIR only; this set has no image files",
                Args(run, 2, "--skip-bad-images"));

            var (code, _, stderr) = CliRunner.Run(Args(run, 2, "--nesterov", "--zero-init-residual", "false"));
            Assert.True(code == 0, stderr);
            var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "log.json"))).RootElement.GetProperty("settings");
            Assert.Equal(("true", "false"), (settings.GetProperty("nesterov").GetString(), settings.GetProperty("zero_init_residual").GetString()));
            Fails(2, $"torchwright train: {run} holds the state of a run (step 2 of 2); pass --resume to continue it, or give another --out", Args(run, 2, "--nesterov"));
            Fails(1, $"torchwright train: {run} holds a run made with other settings (saved vs now: steps 2 vs 3; lr 0.1 vs 0.05; nesterov true vs false; zero_init_residual false vs true); resume with the saved ones, or train into another folder",
                Args(run, 3, "--resume", "--lr", "0.05"));
        }

        [Fact]
        public void Precision_bf16_mixed_trains_and_is_recorded_and_fp16_mixed_is_refused_on_the_cpu()
        {
            var run = Path.Combine(_dir.Path, "bf16");
            var (code, _, stderr) = CliRunner.Run(Args(run, 2, "--precision", "bf16-mixed"));
            Assert.True(code == 0, stderr);
            var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "log.json"))).RootElement.GetProperty("settings");
            Assert.Equal("bf16-mixed", settings.GetProperty("precision").GetString());
            (code, _, stderr) = CliRunner.Run(Args(Path.Combine(_dir.Path, "fp16"), 2, "--precision", "fp16-mixed"));
            Assert.True(code == 1, $"exit {code}: {stderr}");
            Assert.Equal("torchwright train: precision fp16-mixed is for CUDA devices (float16 with dynamic loss scaling); on the CPU use bf16-mixed",
                stderr.TrimEnd('\n', '\r'));
        }

        /// <summary>An architecture's <c>train.NAME</c> settings are the run's baseline; a flag overrides only its own
        /// setting; a bad declared setting is the located diagnostic <c>check</c> reports (exit 1).</summary>
        [Fact]
        public void Declared_train_settings_are_the_baseline_and_flags_override_only_their_own()
        {
            var file = _dir.Write("lr.arch", SweepTests.TinyArch + "\narch TinyLr : Tiny {\n  train.lr = 0.05\n  train.opt = adamw\n}\n"
                + "arch TinyBad : Tiny {\n  train.lrr = 0.05\n}\n");
            JsonElement Settings(string output, params string[] flags)
            {
                var args = new[] { "train", file, "--name", "TinyLr", "--dataset", Data, "--out", output, "--steps", "1", "--batch", "8", "--threads", "1", "--progress", "plain" };
                var (code, stdout, stderr) = CliRunner.Run(args.Concat(flags).ToArray());
                Assert.True(code == 0, stderr + stdout);
                return JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "log.json"))).RootElement.GetProperty("settings").Clone();
            }
            var declared = Settings(Path.Combine(_dir.Path, "declared"));
            Assert.Equal(("0.05", "adamw", "1"), (declared.GetProperty("lr").GetString(), declared.GetProperty("opt").GetString(), declared.GetProperty("steps").GetString()));
            var overridden = Settings(Path.Combine(_dir.Path, "overridden"), "--lr", "0.01");
            Assert.Equal(("0.01", "adamw"), (overridden.GetProperty("lr").GetString(), overridden.GetProperty("opt").GetString()));

            var (code, stdout, stderr) = CliRunner.Run("train", file, "--name", "TinyBad", "--dataset", Data, "--out", Path.Combine(_dir.Path, "bad"), "--steps", "1");
            Assert.True(code == 1, stderr + stdout);
            Assert.Matches(new System.Text.RegularExpressions.Regex(@"lr\.arch\(18,3\): error TW0048: Unknown training setting 'train\.lrr' in TinyBad; did you mean 'train\.lr'\?"), stderr);
            Assert.False(Directory.Exists(Path.Combine(_dir.Path, "bad")));
        }

        private static string RunPython(string script, params string[] args)
        {
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = Path.GetDirectoryName(script)! };
            psi.Environment["PYTHONPATH"] = Path.Combine(Repo, "src", "Cli", "python");   // st_io, reference_nets
            psi.ArgumentList.Add(script);
            foreach (var arg in args) psi.ArgumentList.Add(arg);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err.Result);
            return output;
        }
    }
}
