using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Spectre.Console.Testing;
using Torchwright.Cli.Output;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>The sweep's two progress displays, driven with the events SweepRunner sends: the live one (Spectre.Console's
    /// progress widget, here on an interactive test console) and the plain one (one line per event).</summary>
    public sealed class SweepProgressTests
    {
        private static readonly VariantPlan A = new VariantPlan("w050", "Tiny", 0, "{}", 1_234_567, 89_000_000, 0);
        private static readonly VariantPlan B = new VariantPlan("w100[x]", "Tiny", 1, "{}", 2_000_000, 120_000_000, 1);
        private static readonly TrainResult Done = new TrainResult(new List<LossPoint> { new LossPoint(8, 0.9) }, 0.9, 0.5, 0.75, 123.44, 1 << 20, TimeSpan.FromSeconds(2.5));

        private static SweepOutcome Events(ISweepObserver o)
        {
            o.Started(planned: 3, toRun: 2, skippedDone: 1);
            o.VariantStarted(1, 2, A);
            o.VariantProgress(1, 2, A, new TrainProgress(4, 8, 1.25, 100, "train"));
            o.VariantProgress(1, 2, A, new TrainProgress(8, 8, 0.9, 110, "train"));
            o.VariantProgress(1, 2, A, new TrainProgress(1, 2, 0.5, 0, "eval"));
            o.VariantDone(1, 2, A, Done);
            o.VariantStarted(2, 2, B);
            o.VariantFailed(2, 2, B, "out of memory at layer3.0 [cuda]");
            o.Note("1 run failed");
            return new SweepOutcome(3, 1, 1, 1, false);
        }

        [Fact]
        public void Live_display_shows_each_run_its_result_and_the_failure_with_markup_escaped()
        {
            using var console = new TestConsole().Interactive().Width(200);
            var outcome = SweepProgress.RunLive(console, 8, Events);
            Assert.Equal(new SweepOutcome(3, 1, 1, 1, false), outcome);
            var output = console.Output;
            Assert.Contains("sweep: 3 runs planned, 1 already done, 2 to run", output);
            Assert.Contains("w100[x] seed 1: out of memory at layer3.0 [cuda]", output);   // markup in names and errors stays text
            Assert.Contains("sweep: 1 run failed", output);
            // The last frame: the finished tasks keep their last description (AutoClear off), their bars full.
            var frame = console.Lines.Where(l => l.Trim().Length > 0).TakeLast(3).ToList();
            Assert.All(frame, row => Assert.Contains(" 100% ", row));
            Assert.StartsWith("run 2/2 ", frame[0]);
            Assert.StartsWith("w050 seed 0  acc 75.0 %  eval loss 0.5000  123.4 img/s ", frame[1]);
            Assert.StartsWith("w100[x] seed 1  FAILED ", frame[2]);
        }

        [Fact]
        public void Plain_display_writes_one_line_per_event()
        {
            var text = new StringWriter();
            var outcome = SweepProgress.Run(text, live: false, 8, Events);
            Assert.Equal(new SweepOutcome(3, 1, 1, 1, false), outcome);
            Assert.Equal(new[]
            {
                "sweep: 3 runs planned, 1 already done, 2 to run",
                "[1/2] w050 seed 0: training (1,234,567 params, 89.000 MMACs)",
                "[1/2] w050 seed 0: step 4/8 loss 1.2500 100.0 img/s",
                "[1/2] w050 seed 0: step 8/8 loss 0.9000 110.0 img/s",
                "[1/2] w050 seed 0: done in 2.5 s: eval acc 75.0 %, eval loss 0.5000, train loss 0.9000, 123.4 img/s",
                "[2/2] w100[x] seed 1: training (2,000,000 params, 120.000 MMACs)",
                "[2/2] w100[x] seed 1: FAILED: out of memory at layer3.0 [cuda]",
                "sweep: 1 run failed",
            }, text.ToString().TrimEnd('\n').Split('\n'));
        }
    }
}
