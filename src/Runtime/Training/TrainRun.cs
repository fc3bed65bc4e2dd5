using System;
using System.Collections.Generic;
using System.Globalization;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// How a training run is carried out, as opposed to what it computes (<see cref="TrainSettings"/>): the device,
    /// threads and data workers, where checkpoints and logs go and how often, and how often to evaluate. None of these
    /// changes the trained weights of a given step (evaluations run without gradients and without touching the random
    /// streams), so a run may be resumed with other ones.
    /// </summary>
    public sealed record TrainRun
    {
        /// <summary>All defaults: CPU, libtorch's threads, one data worker, nothing written to disk.</summary>
        public static TrainRun Default { get; } = new TrainRun();

        public Device Device { get; init; } = CPU;

        /// <summary>CPU threads for libtorch during the run (restored afterwards); null keeps the current setting.</summary>
        public int? Threads { get; init; }

        /// <summary>Threads that decode and augment training images (the batches do not depend on it).</summary>
        public int Workers { get; init; } = 1;

        /// <summary>
        /// Folder of the run's files (<see cref="TrainCheckpoint"/>): <c>last.safetensors</c>, <c>best.safetensors</c>,
        /// the resumable <c>state.safetensors</c> and the <c>log.json</c>/<c>log.csv</c> curves; null writes nothing.
        /// </summary>
        public string? Directory { get; init; }

        /// <summary>Continue from <see cref="Directory"/>'s saved state (a fresh start when it holds none yet). Without it,
        /// a folder that holds a run's state is refused rather than overwritten.</summary>
        public bool Resume { get; init; }

        /// <summary>Save the state every this many steps, besides every evaluation and the end; null: by time only
        /// (<see cref="SaveInterval"/>).</summary>
        public int? SaveEvery { get; init; }

        /// <summary>Save the state when this much time has passed since the last save (a few minutes of work at most is
        /// lost to a kill).</summary>
        public TimeSpan SaveInterval { get; init; } = TimeSpan.FromMinutes(5);

        /// <summary>Evaluate (model and EMA) this often besides the end; null: at the end only.</summary>
        public Cadence? EvalEvery { get; init; }

        /// <summary>Further steps to evaluate at besides <see cref="EvalEvery"/> (a sweep's pruning rungs); null: none.</summary>
        public IReadOnlyCollection<int>? EvalAt { get; init; }

        /// <summary>Asked after every evaluation before the last step, with every evaluation so far (the new one last;
        /// the run's state is saved by then): true ends the run there (<see cref="TrainResult.StoppedAt"/>), to be
        /// continued later from its state. Null: the run always trains to the end.</summary>
        public Func<IReadOnlyList<EvalPoint>, bool>? StopAfterEvaluation { get; init; }

        /// <summary>Steps per point of the recorded loss curve (each point is the mean loss of its window); null: chosen
        /// so that the curve has at most 200 points.</summary>
        public int? LossCurveEvery { get; init; }

        /// <summary>Folder for TensorBoard event files (train loss, learning rate, eval loss and accuracy); null: none.</summary>
        public string? TensorBoard { get; init; }

        /// <summary>What else a resumed run must share with the saved one besides the settings (architecture, dataset,
        /// initial checkpoint, frozen stages ...), name → value; a resume with a different value is refused.</summary>
        public IReadOnlyDictionary<string, string>? Identity { get; init; }
    }

    /// <summary>"every N steps" or "every N epochs" (the text <c>500</c> or <c>2e</c>).</summary>
    public readonly record struct Cadence(int Count, bool Epochs)
    {
        /// <summary>Reads <c>N</c> (steps) or <c>Ne</c> (epochs), N ≥ 1.</summary>
        /// <exception cref="FormatException">Anything else; the message says what is expected.</exception>
        public static Cadence Parse(string text)
        {
            var t = (text ?? "").Trim();
            var epochs = t.EndsWith("e", StringComparison.Ordinal);
            if (epochs) t = t[..^1];
            if (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                throw new FormatException($"'{text}' is not a cadence: give a number of steps (e.g. 500) or of epochs (e.g. 1e), at least 1");
            return new Cadence(n, epochs);
        }

        /// <summary>The cadence in steps for a training split of <paramref name="trainCount"/> images in batches of
        /// <paramref name="batch"/> (an epoch is rounded to whole steps, at least 1).</summary>
        public int Steps(int trainCount, int batch) =>
            Epochs ? (int)Math.Max(1, Math.Min(int.MaxValue, Math.Round((double)Count * trainCount / batch, MidpointRounding.AwayFromZero))) : Count;

        public override string ToString() => Count.ToString(CultureInfo.InvariantCulture) + (Epochs ? "e" : "");
    }
}
