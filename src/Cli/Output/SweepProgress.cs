using System;
using System.Globalization;
using System.IO;
using Spectre.Console;
using Torchwright.Runtime.Training;
using Torchwright.Sweeps;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// How a sweep shows its progress: a Spectre.Console live display on an interactive terminal (variant k/N, step,
    /// loss, images/s, ETA), one plain line per event otherwise (CI logs, redirected output, tests).
    /// </summary>
    internal static class SweepProgress
    {
        /// <param name="steps">The longest run's steps: a live bar's length until its run reports its own.</param>
        public static SweepOutcome Run(TextWriter output, bool live, int steps, Func<ISweepObserver, SweepOutcome> sweep) =>
            live ? RunLive(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) }), steps, sweep)
                : sweep(new PlainObserver(output));

        /// <summary>The live display on <paramref name="console"/> (the terminal; a test console in the tests).</summary>
        internal static SweepOutcome RunLive(IAnsiConsole console, int steps, Func<ISweepObserver, SweepOutcome> sweep) =>
            console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx => sweep(new LiveObserver(console, ctx, steps)));

        /// <summary>True when stdout is a terminal that can redraw (not redirected, not a dumb terminal).</summary>
        public static bool TerminalIsInteractive() =>
            !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && AnsiConsole.Profile.Capabilities.Ansi;

        internal static string Percent(double accuracy) => (accuracy * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

        internal static string Loss(double loss) => loss.ToString("0.0000", CultureInfo.InvariantCulture);

        /// <summary>The run's name in progress lines: the variant and, since every run has one, its seed.</summary>
        internal static string Label(VariantPlan plan) => plan.Variant + " seed " + plan.Seed.ToString(CultureInfo.InvariantCulture);

        internal static string Rate(double imagesPerSecond) => imagesPerSecond.ToString("0.0", CultureInfo.InvariantCulture) + " img/s";

        private sealed class PlainObserver : ISweepObserver
        {
            private readonly TextWriter _out;

            public PlainObserver(TextWriter output) => _out = output;

            public void Started(int planned, int toRun, int skippedDone) =>
                _out.WriteLine($"sweep: {Numbers.Plural(planned, "run")} planned, {skippedDone} already done, {toRun} to run");

            public void VariantStarted(int k, int n, VariantPlan plan) =>
                _out.WriteLine($"[{k}/{n}] {Label(plan)}: training ({Numbers.Grouped(plan.Params)} params, {Numbers.Scaled(plan.Macs)}MACs)");

            public void VariantProgress(int k, int n, VariantPlan plan, TrainProgress p)
            {
                // Ten progress lines per run keep a CI log readable (runs may differ in length: a train.steps axis).
                if (p.Phase != "train" || (p.Step % Math.Max(1, p.Steps / 10) != 0 && p.Step != p.Steps)) return;
                _out.WriteLine($"[{k}/{n}] {Label(plan)}: step {p.Step}/{p.Steps} loss {Loss(p.Loss)} {Rate(p.ImagesPerSecond)}");
            }

            public void VariantDone(int k, int n, VariantPlan plan, TrainResult r) =>
                _out.WriteLine($"[{k}/{n}] {Label(plan)}: done in {r.Duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s: "
                    + $"eval acc {Percent(r.EvalAccuracy)}, eval loss {Loss(r.EvalLoss)}, train loss {Loss(r.TrainLoss)}, {Rate(r.ImagesPerSecond)}");

            public void VariantFailed(int k, int n, VariantPlan plan, string error) =>
                _out.WriteLine($"[{k}/{n}] {Label(plan)}: FAILED: {error}");

            public void VariantPruned(int k, int n, VariantPlan plan, TrainResult r, string why) =>
                _out.WriteLine($"[{k}/{n}] {Label(plan)}: pruned at step {r.StoppedAt}/{r.Steps}: eval acc {Percent(r.EvalAccuracy)}; {why}");

            public void Note(string message) => _out.WriteLine("sweep: " + message);
        }

        private sealed class LiveObserver : ISweepObserver
        {
            private readonly IAnsiConsole _console;
            private readonly ProgressContext _ctx;
            private readonly int _steps;
            private ProgressTask? _overall;
            private ProgressTask? _current;

            public LiveObserver(IAnsiConsole console, ProgressContext ctx, int steps)
            {
                _console = console;
                _ctx = ctx;
                _steps = steps;
            }

            public void Started(int planned, int toRun, int skippedDone)
            {
                _console.MarkupLine($"[bold]sweep[/]: {Numbers.Plural(planned, "run")} planned, {skippedDone} already done, {toRun} to run");
                _overall = _ctx.AddTask("runs", maxValue: Math.Max(1, toRun));
            }

            public void VariantStarted(int k, int n, VariantPlan plan)
            {
                _overall!.Description = Markup.Escape($"run {k}/{n}");
                _current = _ctx.AddTask(Markup.Escape(Label(plan)), maxValue: _steps);
            }

            public void VariantProgress(int k, int n, VariantPlan plan, TrainProgress p)
            {
                if (_current == null) return;
                if (p.Phase is not ("train" or "eval" or "eval-ema")) return;   // "evaluated", "saved": the line stays
                _current.Description = Markup.Escape(p.Phase == "train"
                    ? $"{Label(plan)}  step {p.Step}/{p.Steps}  loss {Loss(p.Loss)}  {Rate(p.ImagesPerSecond)}"
                    : $"{Label(plan)}  evaluating");
                if (p.Phase == "train")
                {
                    _current.MaxValue = p.Steps; // variants may differ in length (a train.steps axis)
                    _current.Value = p.Step;
                }
            }

            public void VariantDone(int k, int n, VariantPlan plan, TrainResult r)
            {
                Finish($"{Label(plan)}  acc {Percent(r.EvalAccuracy)}  eval loss {Loss(r.EvalLoss)}  {Rate(r.ImagesPerSecond)}");
            }

            public void VariantPruned(int k, int n, VariantPlan plan, TrainResult r, string why) =>
                Finish($"{Label(plan)}  pruned at step {r.StoppedAt}  acc {Percent(r.EvalAccuracy)}");

            public void VariantFailed(int k, int n, VariantPlan plan, string error)
            {
                Finish($"{Label(plan)}  FAILED");
                _console.MarkupLine($"[red]{Markup.Escape(Label(plan))}: {Markup.Escape(error)}[/]");
            }

            public void Note(string message) => _console.MarkupLine("[bold]sweep[/]: " + Markup.Escape(message));

            private void Finish(string description)
            {
                if (_current != null)
                {
                    _current.Description = Markup.Escape(description);
                    _current.Value = _current.MaxValue;
                    _current.StopTask();
                }
                _overall?.Increment(1);
            }
        }
    }
}
