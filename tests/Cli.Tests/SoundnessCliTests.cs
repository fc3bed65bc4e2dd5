using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using Torchwright.Runtime;
using Torchwright.Runtime.Data;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// The two declarations of issue 13 through the CLI: each fails <c>check</c> with a located TW error; one step inside
    /// the limit each trains in a 1-step sweep. A variant whose module cannot be built fails alone; the sweep goes on.
    /// </summary>
    public class SoundnessCliTests : IDisposable
    {
        private readonly TempDir dir = new TempDir();

        public void Dispose() => dir.Dispose();

        private const string G9 = "arch G9 {\n  input = 3x16x16\n  classes = 8\n  depths = [1, 1]\n  widths = [64, 8]\n  block = splat\n  stem = none\n"
            + "  strides = [2, 4]\n  outs = [16, 4]\n  c2.block = bottleneck\n  c3.mhsa = [1]\n}\n";

        private const string G85 = "arch G85 {\n  input = 3x24x24\n  classes = 8\n  width = 0.1\n  depths = [2, 2, 2]\n  widths = [128, 256, 256]\n"
            + "  block = rest\n  stem = rest\n  strides = [1, 3, 2]\n  heads = [4, 4, 8]\n  sr_ratios = [1, 5, 3]\n  qkv_bias = true\n}\n";

        [Fact]
        public void G9_fails_check_at_its_stride_with_TW0022()
        {
            var file = dir.Write("g9.arch", G9);
            var r = CliRunner.Run("check", file);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(file + "(8,17): error TW0022: c3 block 0 (MHSA): an MHSA block downsamples with a 2x2 average pool after the attention, "
                + "so it takes stride 1 or 2, but the stage stride is 4; set the stage's stride to 1 or 2, or keep block 0 a convolution (mask entry 0)", r.Out + r.Error);
        }

        [Fact]
        public void G85_fails_check_at_its_sr_ratio_with_TW0023()
        {
            var file = dir.Write("g85.arch", G85);
            var r = CliRunner.Run("check", file);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(file + "(11,22): error TW0023: c4: the EMSA spatial reduction (sr_ratio 3) receives a 1x1 map (at input 3x24x24), smaller than its "
                + "4x4 kernel even padded, so it would leave no pixels; use an sr_ratio of 2 or less for c4, or a larger input or smaller strides before this stage", r.Out + r.Error);
        }

        [Theory]
        [InlineData("G9", "strides = [2, 4]", "strides = [2, 2]", 16)]
        [InlineData("G85", "sr_ratios = [1, 5, 3]", "sr_ratios = [1, 5, 2]", 24)]
        public void Within_the_limit_each_trains_in_a_one_step_sweep(string name, string from, string to, int size)
        {
            var text = (name == "G9" ? G9 : G85).Replace(from, to);
            var file = dir.Write(name + ".arch", text);
            var db = Path.Combine(dir.Path, name + ".db");
            var r = CliRunner.Run("sweep", file, "--db", db, "--dataset", $"shapes:{size}:n=8:test=4", "--steps", "1", "--batch", "4",
                "--threads", "1", "--progress", "plain");
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            Assert.Contains("sweep: 1 trained, 0 already done, 0 failed", r.Out);
        }

        private sealed class Recorder : ISweepObserver
        {
            public readonly List<string> Events = new List<string>();
            public void Started(int planned, int toRun, int skippedDone) { }
            public void VariantStarted(int k, int n, VariantPlan plan) { }
            public void VariantProgress(int k, int n, VariantPlan plan, TrainProgress progress) { }
            public void VariantDone(int k, int n, VariantPlan plan, TrainResult result) => Events.Add("done " + plan.Variant);
            public void VariantFailed(int k, int n, VariantPlan plan, string error) => Events.Add("failed " + plan.Variant + ": " + error);
            public void Note(string message) => Events.Add("note " + message);
        }

        [Fact]
        public void A_variant_whose_module_cannot_be_built_is_recorded_as_failed_and_the_sweep_goes_on()
        {
            var compiled = ArchCompiler.Compile(new[] { new SourceFile("t.arch", G9.Replace("strides = [2, 4]", "strides = [2, 2]")) });
            var good = compiled.Architectures.Single();
            var settings = TrainSettings.Default with { Steps = 1, Batch = 4, LearningRate = 0.01 };
            var jobs = new[]
            {
                new SweepJob(new VariantPlan("S/a", "S", 0, "{}", 1, 1, 0),
                    () => throw new ModuleBuildException("S/a", "layer2.0 (stage c3, block 0)", "MHSA: stride must be 1 or 2 (AvgPool 2x2 after attention), got 4."), settings),
                new SweepJob(new VariantPlan("S/b", "S", 1, "{}", good.Costs.Params, good.Costs.Macs, 0), () => ModuleCompiler.Build(good), settings),
            };
            var data = Datasets.Open("shapes:16:n=8:test=4");
            var observer = new Recorder();
            using var db = ResultsDb.Open(Path.Combine(dir.Path, "s.db"));

            var outcome = SweepRunner.Run(db, jobs, data, TrainRun.Default, "{}", observer);

            Assert.Equal((1, 1, false), (outcome.Done, outcome.Failed, outcome.Cancelled));
            const string why = "S/a: its module could not be built at layer2.0 (stage c3, block 0): MHSA: stride must be 1 or 2 (AvgPool 2x2 after attention), got 4.";
            Assert.Equal(new[] { "failed S/a: " + why, "done S/b" }, observer.Events);
            var rows = db.ReadAll().ToDictionary(x => x.Variant);
            Assert.Equal((VariantStatus.Failed, why), (rows["S/a"].Status, rows["S/a"].Error));
            Assert.Equal(VariantStatus.Done, rows["S/b"].Status);
        }
    }
}
