using System;
using System.Globalization;
using System.IO;
using Spectre.Console;
using Torchwright.Runtime.Training;

namespace Torchwright.Cli.Output
{
    /// <summary>
    /// How <c>train</c> shows its progress: a Spectre.Console bar on an interactive terminal (step, loss, images/s,
    /// elapsed, ETA, the last evaluation), plain lines otherwise: twenty step lines per run, one per evaluation.
    /// </summary>
    internal static class TrainProgressDisplay
    {
        public static TrainResult Run(TextWriter output, bool live, string name, int steps, int startStep, Func<IProgress<TrainProgress>, TrainResult> train)
        {
            if (!live) return train(new Plain(output, steps));
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            return console.Progress()
                .AutoClear(false)
                .HideCompleted(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(name), maxValue: steps);
                    task.Value = startStep;
                    var result = train(new Live(console, task, name));
                    task.Value = steps;
                    task.StopTask();
                    return result;
                });
        }

        private static string Evaluated(TrainProgress p) =>
            $"step {p.Step}/{p.Steps}: eval acc {SweepProgress.Percent(p.Accuracy ?? 0)}, loss {SweepProgress.Loss(p.Loss)}"
            + (p.EmaAccuracy is double e ? $", EMA acc {SweepProgress.Percent(e)}" : "");

        private sealed class Plain : IProgress<TrainProgress>
        {
            private readonly TextWriter _out;
            private readonly int _every;

            public Plain(TextWriter output, int steps)
            {
                _out = output;
                _every = Math.Max(1, steps / 20);
            }

            public void Report(TrainProgress p)
            {
                switch (p.Phase)
                {
                    case "train" when p.Step % _every == 0 || p.Step == p.Steps:
                        _out.WriteLine($"step {p.Step}/{p.Steps} loss {SweepProgress.Loss(p.Loss)} {SweepProgress.Rate(p.ImagesPerSecond)}");
                        break;
                    case "evaluated":
                        _out.WriteLine(Evaluated(p));
                        break;
                    case "saved":
                        _out.WriteLine($"step {p.Step}/{p.Steps}: saved");
                        break;
                }
            }
        }

        private sealed class Live : IProgress<TrainProgress>
        {
            private readonly IAnsiConsole _console;
            private readonly ProgressTask _task;
            private readonly string _name;
            private string _lastEval = "";

            public Live(IAnsiConsole console, ProgressTask task, string name)
            {
                _console = console;
                _task = task;
                _name = name;
            }

            public void Report(TrainProgress p)
            {
                switch (p.Phase)
                {
                    case "train":
                        _task.Value = p.Step;
                        _task.Description = Markup.Escape($"{_name}  step {p.Step}/{p.Steps}  loss {SweepProgress.Loss(p.Loss)}  {SweepProgress.Rate(p.ImagesPerSecond)}{_lastEval}");
                        break;
                    case "eval" or "eval-ema":
                        _task.Description = Markup.Escape($"{_name}  evaluating{(p.Phase == "eval-ema" ? " the EMA" : "")} {p.Step}/{p.Steps}");
                        break;
                    case "evaluated":
                        _lastEval = "  acc " + SweepProgress.Percent(p.Accuracy ?? 0);
                        _console.MarkupLine(Markup.Escape(_name + ": " + Evaluated(p)));
                        break;
                }
            }
        }
    }
}
