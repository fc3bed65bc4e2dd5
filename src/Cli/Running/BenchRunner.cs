using System;
using System.Collections.Generic;
using Torchwright.Runtime;
using System.IO;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Emit;
using Torchwright.Runtime.Measurement;
using Torchwright.Runtime.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>How to benchmark. <see cref="Python"/> is null when no PyTorch side is wanted; <see cref="PyTorchBest"/> adds
    /// the side that runs PyTorch's fastest own path; <see cref="Optimize"/> the inference-optimised Torchwright side;
    /// <see cref="TrainChannelsLast"/> the training layout of the Torchwright side (null: the architecture's, <c>ArchitectureIR.TrainChannelsLast</c>).</summary>
    internal sealed record BenchSettings(int Batch, BenchMode Mode, Device Device, int Warmup, int Iterations, int Threads, string? Python,
        BenchPrecision Precision = BenchPrecision.Fp32, bool PyTorchBest = true, bool Optimize = false,
        double BestBudgetSeconds = BenchSettings.DefaultBestBudgetSeconds, bool? TrainChannelsLast = null, bool HeapProfile = false)
    {
        /// <summary>Wall-time bound of PyTorch best's choice (builds, checks and trials) by default: ResNet50's five
        /// inference paths need about 20 s on 2 cores; slower models stop early and say so.</summary>
        public const double DefaultBestBudgetSeconds = 120;

        /// <summary>The name of the inference-optimised side (<c>--optimize</c>).</summary>
        public const string OptimisedSide = "Torchwright optimised";

        /// <summary>The name of the bf16-mixed side (<c>--precision bf16-mixed</c>).</summary>
        public const string MixedSide = "Torchwright bf16-mixed";

        /// <summary>The name of the inference-optimised side in bf16-mixed (<c>--optimize --precision bf16-mixed</c>).</summary>
        public const string OptimisedMixedSide = "Torchwright optimised bf16-mixed";

        /// <summary>Seed of the random input batch and labels (both sides get the same tensors).</summary>
        public const long Seed = 0;

        /// <summary>At most this many timed round-robin trial iterations of each PyTorch path (after one untimed) before "PyTorch best" keeps the
        /// lowest median (fewer within <see cref="BestBudgetSeconds"/>, or for a path clearly slower than the leader).</summary>
        public const int PathTrials = 5;
    }

    /// <summary>
    /// One side's measurements: every timed iteration (ms) and its page faults (minor + major), the resident set once
    /// set up (model, weights, optimizer, batch in memory, before any iteration) and the peak resident set over the
    /// timed rounds.
    /// </summary>
    /// <remarks><see cref="Path"/>, <see cref="Candidates"/> and <see cref="SelectionSeconds"/>: for "PyTorch best", the path it ran, every
    /// path it tried and how long the choice took.</remarks>
    internal sealed record BenchSide(string Name, IReadOnlyList<double> Milliseconds, IReadOnlyList<long> Faults, long SetupRssBytes, long PeakRssBytes,
        string? Path = null, IReadOnlyList<BenchCandidate>? Candidates = null, double? SelectionSeconds = null)
    {
        /// <summary>With <c>--heap-profile</c>: malloc's peak in-use and held bytes over the same rounds as <see cref="PeakRssBytes"/>, and its in-use bytes when they started.</summary>
        public HeapPeak? Heap { get; init; }

        public const string TorchwrightName = "Torchwright", EagerName = "PyTorch eager", BestName = "PyTorch best";

        /// <summary>The <see cref="Path"/> of a Torchwright side that trains channels-last (PyTorch's path of that name).</summary>
        public const string ChannelsLastPath = "channels_last";

        public double MedianMs
        {
            get
            {
                var s = Milliseconds.OrderBy(x => x).ToList();
                return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
            }
        }

        public double MinMs => Milliseconds.Min();

        public double MaxMs => Milliseconds.Max();

        public double ImagesPerSecond(int batch) => batch * 1000.0 / MedianMs;

        /// <summary>What the iterations add on top of the set-up process: activations, gradients, optimizer state, allocator caches.</summary>
        public long PeakOverSetupBytes => Math.Max(0, PeakRssBytes - SetupRssBytes);

        /// <summary>Mean page faults per timed iteration: memory newly touched (fresh pages from the OS, each zeroed) per step.</summary>
        public double FaultsPerIteration => Faults.Count == 0 ? 0 : Faults.Average();

        /// <summary>Achieved GFLOP/s at the median time, for <paramref name="flopsPerImage"/> (see <see cref="BenchFlops"/>).</summary>
        public double Gflops(int batch, long flopsPerImage) => ImagesPerSecond(batch) * flopsPerImage / 1e9;
    }

    /// <summary>What each side runs on: the Torchwright side's TorchSharp and libtorch, and the PyTorch side's torch.</summary>
    internal sealed record BenchEngines(string TorchSharpVersion, string LibTorchVersion, BenchPyTorch? PyTorch)
    {
        public string Torchwright => $"TorchSharp {TorchSharpVersion} / libtorch {LibTorchVersion}";

        /// <summary>TorchSharp's informational version (without the commit) and the libtorch it binds, read at run time.</summary>
        public static (string TorchSharp, string LibTorch) Current()
        {
            var assembly = typeof(torch).Assembly;
            var info = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString() ?? "?";
            var lib = torch.__version__;
            return (info.Split('+')[0], lib.EndsWith(".0", StringComparison.Ordinal) && lib.Count(c => c == '.') == 3 ? lib.Substring(0, lib.Length - 2) : lib);
        }
    }

    /// <summary>The PyTorch side's torch: its version, where it was imported from, and whether that is Debian's python3-torch.</summary>
    internal sealed record BenchPyTorch(string Version, string Path, bool Debian)
    {
        public override string ToString() => Debian
            ? $"PyTorch {Version} (Debian python3-torch: the system PyTorch, what this machine's users have)"
            : $"PyTorch {Version} (from {Path})";
    }

    /// <summary>
    /// A finished benchmark: the Torchwright side and the PyTorch sides that ran ("PyTorch eager", "PyTorch best").
    /// <see cref="ReferenceProblem"/> says why the eager side did not run and <see cref="BestProblem"/> why the best one
    /// did not (null when it ran or was not asked for).
    /// </summary>
    internal sealed record BenchResult(string Architecture, long[] InputShape, BenchSettings Settings, BenchEngines Engines,
        long Macs, BenchPeak Peak, BenchSide Torchwright, IReadOnlyList<BenchSide> References, string? ReferenceProblem, string? BestProblem,
        BenchSide? Optimised = null)
    {
        /// <summary>Optimised over PyTorch eager images/s, when both ran.</summary>
        public double? OptimisedRatio => RatioOf(Optimised, PyTorch);

        /// <summary>Optimised over PyTorch best images/s, when both ran.</summary>
        public double? OptimisedRatioBest => RatioOf(Optimised, PyTorchBest);

        /// <summary>Optimised over plain Torchwright images/s.</summary>
        public double? OptimisedSpeedup => RatioOf(Optimised, Torchwright);

        /// <summary>The "Torchwright bf16-mixed" row (with --precision bf16-mixed), timed in the same rounds as the fp32 one.</summary>
        public BenchSide? Bf16Mixed { get; init; }

        /// <summary>The "Torchwright optimised bf16-mixed" row (with --optimize and --precision bf16-mixed).</summary>
        public BenchSide? OptimisedBf16Mixed { get; init; }

        /// <summary>Optimised bf16-mixed images/s over the plain fp32 module's and over the optimised fp32 module's, same run.</summary>
        public double? OptimisedMixedSpeedup => RatioOf(OptimisedBf16Mixed, Torchwright);

        public double? OptimisedMixedOverOptimised => RatioOf(OptimisedBf16Mixed, Optimised);

        /// <summary>bf16-mixed images/s over the fp32 module's, same run.</summary>
        public double? MixedRatio => RatioOf(Bf16Mixed, Torchwright);

        /// <summary>bf16-mixed images/s over PyTorch eager's and PyTorch best's, when they ran.</summary>
        public double? MixedRatioEager => RatioOf(Bf16Mixed, PyTorch);

        public double? MixedRatioBest => RatioOf(Bf16Mixed, PyTorchBest);

        /// <summary>torch.__version__ of the PyTorch side, when it ran.</summary>
        public string? TorchVersion => Engines.PyTorch?.Version;

        public long FlopsPerImage => BenchFlops.PerImage(Macs, Settings.Mode);

        /// <summary>Every side in table order: the Torchwright sides (plain, optimised, bf16-mixed, optimised bf16-mixed), then the PyTorch sides.</summary>
        public IEnumerable<BenchSide> Sides => new[] { Torchwright, Optimised, Bf16Mixed, OptimisedBf16Mixed }.OfType<BenchSide>().Concat(References);

        public BenchSide? PyTorch => References.FirstOrDefault(r => r.Name == BenchSide.EagerName);

        public BenchSide? PyTorchBest => References.FirstOrDefault(r => r.Name == BenchSide.BestName);

        /// <summary>Torchwright images/s over PyTorch eager's (above 1: Torchwright is faster).</summary>
        public double? Ratio => RatioOf(Torchwright, PyTorch);

        /// <summary>Torchwright images/s over PyTorch best's.</summary>
        public double? RatioBest => RatioOf(Torchwright, PyTorchBest);

        private double? RatioOf(BenchSide? side, BenchSide? other) =>
            side is null || other is null ? null : side.ImagesPerSecond(Settings.Batch) / other.ImagesPerSecond(Settings.Batch);
    }

    /// <summary>
    /// Runs <c>bench</c>: builds the Torchwright module (emitted and compiled in-process) and the PyTorch reference of
    /// the same architecture (python/reference_nets.py from <see cref="ArchSpecJson"/>, loaded with the Torchwright
    /// module's weights), gives both the same random batch and thread count, warms both up, then alternates timed
    /// iterations between them so that load from other processes hits both sides alike. Before the warm-up it measures
    /// the matmul peak (<see cref="PeakCompute"/>) while the PyTorch process waits.
    /// </summary>
    internal static class BenchRunner
    {

        /// <param name="warn">Receives why the PyTorch side was dropped (the Torchwright side is still reported).</param>
        public static BenchResult Run(CheckedArchitecture arch, BenchSettings settings, Action<string> warn)
        {
            int previousThreads = torch.get_num_threads();
            torch.set_num_threads(settings.Threads);
            var tmp = Directory.CreateTempSubdirectory("torchwright-bench-").FullName;
            try
            {
                return Run(arch, settings, warn, tmp);
            }
            finally
            {
                torch.set_num_threads(previousThreads);
                Directory.Delete(tmp, recursive: true);
            }
        }

        /// <summary>A PyTorch process and what it measured; <see cref="Process"/> is null once it failed (<see cref="Problem"/> says why).</summary>
        private sealed class ReferenceRun
        {
            public ReferenceRun(string name, BenchPath path) => (Name, Path) = (name, path);

            public string Name { get; }
            public BenchPath Path { get; }
            public BenchReference? Process { get; set; }
            public BenchSetup? Setup { get; set; }
            public string? Problem { get; set; }
            public List<double> Ms { get; } = new List<double>();
            public List<long> Faults { get; } = new List<long>();
            public long Peak { get; set; }
            public HeapPeak? Heap { get; set; }

            /// <summary>Runs a request; if it fails, the side is dropped and the reason kept.</summary>
            public void Guard(Action<BenchReference> action)
            {
                if (Process == null) return;
                try
                {
                    action(Process);
                }
                catch (BenchReferenceException e)
                {
                    Problem = e.Message;
                    Process.Dispose();
                    Process = null;
                }
            }

            public void Step() => Guard(r =>
            {
                var (ms, faults) = r.Run(1);
                Ms.AddRange(ms);
                Faults.AddRange(faults);
            });
        }

        private static BenchResult Run(CheckedArchitecture arch, BenchSettings settings, Action<string> warn, string tmp)
        {
            var ir = arch.Ir;
            var shape = new[] { settings.Batch, ir.Input.C, ir.Input.H, ir.Input.W };
            nn.Module<Tensor, Tensor> built;
            using (FinalizerPause.Begin()) built = ModuleCompiler.Build(arch); // TorchSharp's implicit Scalars: see FinalizerPause
            using var module = built;
            long macs = BenchFlops.MacsOf(module);
            torch.manual_seed(BenchSettings.Seed);
            using var input = torch.randn(shape);
            using var target = torch.randint(ir.Classes, new long[] { settings.Batch });

            var references = new List<ReferenceRun>();
            if (settings.Python != null)
            {
                references.Add(new ReferenceRun(BenchSide.EagerName, BenchPath.Eager));
                if (settings.PyTorchBest) references.Add(new ReferenceRun(BenchSide.BestName, BenchPath.Best));
                StartReferences(arch, settings, settings.Python, module, input, target, tmp, references);
            }
            nn.Module<Tensor, Tensor>? optimised = null;
            if (settings.Optimize)
            {
                // A second module with the same weights, folded: the plain side keeps its norms.
                nn.Module<Tensor, Tensor> copy;
                using (FinalizerPause.Begin()) copy = ModuleCompiler.Build(arch);
                copy.load_state_dict(module.state_dict());
                optimised = InferenceForm.Optimize(copy);
            }
            try
            {
                // Training runs in the family's training layout, as train and sweep do (ModuleCompiler.BuildForTraining).
                bool channelsLast = settings.Mode == BenchMode.Train && (settings.TrainChannelsLast ?? arch.Ir.TrainChannelsLast);
                using var workload = new BenchWorkload(module, input, target, settings.Mode, settings.Device, settings.Precision, channelsLast: channelsLast);
                using var optimisedWorkload = optimised is null ? null : new BenchWorkload(optimised, input, target, settings.Mode, settings.Device, settings.Precision);
                // --precision bf16-mixed: the same module (same fp32 weights) once more in bf16-mixed, its own optimizer.
                using var mixed = settings.Precision == BenchPrecision.Bf16Mixed
                    ? new BenchWorkload(module, input, target, settings.Mode, settings.Device, settings.Precision, Precision.Bf16Mixed, channelsLast) : null;
                // With both: the folded module (same folded weights) in bf16-mixed too.
                using var optimisedMixed = optimised is not null && mixed is not null
                    ? new BenchWorkload(optimised, input, target, settings.Mode, settings.Device, settings.Precision, Precision.Bf16Mixed) : null;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long setupRss = PeakMemory.CurrentBytes();
                var peakCompute = PeakCompute.Find(settings.Device, settings.Threads, settings.Precision);

                for (int i = 0; i < settings.Warmup; i++)
                {
                    workload.Step();
                    optimisedWorkload?.Step();
                    mixed?.Step();
                    optimisedMixed?.Step();
                }
                foreach (var r in references) r.Guard(p => p.Run(settings.Warmup));

                // --heap-profile: malloc's peaks over the same rounds as the resident set's, sampled on both sides.
                using var heap = settings.HeapProfile ? HeapSampler.Start() : null;
                PeakMemory.Reset();
                heap?.Reset();
                foreach (var r in references) r.Guard(p => p.ResetPeak(settings.HeapProfile));
                var ours = new List<double>();
                var ourFaults = new List<long>();
                var optimisedMs = new List<double>();
                var optimisedFaults = new List<long>();
                var mixedMs = new List<double>();
                var mixedFaults = new List<long>();
                var optimisedMixedMs = new List<double>();
                var optimisedMixedFaults = new List<long>();
                long ourPeak = 0, optimisedPeak = 0, mixedPeak = 0, optimisedMixedPeak = 0;
                HeapPeak? ourHeap = null, optimisedHeap = null, mixedHeap = null, optimisedMixedHeap = null;
                // With a bf16-mixed row each Torchwright row gets its own high-water marks: reset before its step, read after.
                (double, long) Timed(BenchWorkload w, ref long sidePeak, ref HeapPeak? sideHeap)
                {
                    if (mixed != null)
                    {
                        PeakMemory.Reset();
                        heap?.Reset();
                    }
                    var result = w.Step();
                    if (mixed != null)
                    {
                        sidePeak = Math.Max(sidePeak, PeakMemory.PeakBytes());
                        if (heap?.Peak() is { } h)
                            sideHeap = sideHeap is { } old ? new HeapPeak(Math.Max(old.InUseBytes, h.InUseBytes), Math.Max(old.HeldBytes, h.HeldBytes), old.StartInUseBytes) : h;
                    }
                    return result;
                }
                var steps = new List<Action> { () => { var (ms, faults) = Timed(workload, ref ourPeak, ref ourHeap); ours.Add(ms); ourFaults.Add(faults); } };
                if (optimisedWorkload is not null)
                    steps.Add(() => { var (ms, faults) = Timed(optimisedWorkload, ref optimisedPeak, ref optimisedHeap); optimisedMs.Add(ms); optimisedFaults.Add(faults); });
                if (mixed is not null)
                    steps.Add(() => { var (ms, faults) = Timed(mixed, ref mixedPeak, ref mixedHeap); mixedMs.Add(ms); mixedFaults.Add(faults); });
                if (optimisedMixed is not null)
                    steps.Add(() => { var (ms, faults) = Timed(optimisedMixed, ref optimisedMixedPeak, ref optimisedMixedHeap); optimisedMixedMs.Add(ms); optimisedMixedFaults.Add(faults); });
                steps.AddRange(references.Select(r => (Action)r.Step));
                for (int round = 0; round < settings.Iterations; round++)
                {
                    // Rotate who goes first so no side always runs right after the same other one.
                    for (int k = 0; k < steps.Count; k++) steps[(round + k) % steps.Count]();
                }
                long peak = mixed != null ? ourPeak : PeakMemory.PeakBytes();
                var processHeap = mixed != null ? ourHeap : heap?.Peak();
                foreach (var r in references) r.Guard(p => (r.Peak, r.Heap) = p.Peaks());

                var tw = new BenchSide(BenchSide.TorchwrightName, ours, ourFaults, setupRss, peak, channelsLast ? BenchSide.ChannelsLastPath : null) { Heap = processHeap };
                var sides = references.Where(r => r.Process != null)
                    .Select(r => new BenchSide(r.Name, r.Ms, r.Faults, r.Setup!.SetupRssBytes, r.Peak,
                        r.Path == BenchPath.Best ? r.Setup.Path : null, r.Path == BenchPath.Best ? r.Setup.Candidates : null,
                        r.Path == BenchPath.Best ? r.Setup.SelectionSeconds : null) { Heap = r.Heap })
                    .ToList();
                foreach (var r in references.Where(r => r.Problem != null).DistinctBy(r => r.Problem))
                    warn(r.Path == BenchPath.Best ? $"({BenchSide.BestName}) {r.Problem}" : r.Problem!);
                var (torchSharp, libTorch) = BenchEngines.Current();
                var engines = new BenchEngines(torchSharp, libTorch, references.FirstOrDefault(r => r.Process != null)?.Process!.Torch);
                // The Torchwright sides share the process: without a bf16-mixed row their peak RSS is the process's.
                var opt = optimisedWorkload is null ? null
                    : new BenchSide(BenchSettings.OptimisedSide, optimisedMs, optimisedFaults, setupRss, mixed != null ? optimisedPeak : peak)
                    { Heap = mixed != null ? optimisedHeap : processHeap };
                return new BenchResult(arch.Name, shape, settings, engines, macs, peakCompute, tw, sides,
                    references.FirstOrDefault(r => r.Path == BenchPath.Eager)?.Problem, references.FirstOrDefault(r => r.Path == BenchPath.Best)?.Problem, opt)
                {
                    Bf16Mixed = mixed is null ? null
                        : new BenchSide(BenchSettings.MixedSide, mixedMs, mixedFaults, setupRss, mixedPeak, channelsLast ? BenchSide.ChannelsLastPath : null) { Heap = mixedHeap },
                    OptimisedBf16Mixed = optimisedMixed is null ? null
                        : new BenchSide(BenchSettings.OptimisedMixedSide, optimisedMixedMs, optimisedMixedFaults, setupRss, optimisedMixedPeak) { Heap = optimisedMixedHeap },
                };
            }
            finally
            {
                optimised?.Dispose();
                foreach (var r in references) r.Process?.Dispose();
            }
        }

        /// <summary>
        /// Hands the architecture's spec, the module's weights and the batch to one PyTorch process per side and has each
        /// build the reference network (the "best" one also picks its path); a side that cannot start keeps why.
        /// </summary>
        private static void StartReferences(CheckedArchitecture arch, BenchSettings settings, string python, nn.Module module, Tensor input, Tensor target,
            string tmp, List<ReferenceRun> references)
        {
            var spec = Path.Combine(tmp, "spec.json");
            var weights = Path.Combine(tmp, "weights.safetensors");
            var data = Path.Combine(tmp, "data.safetensors");
            File.WriteAllText(spec, ArchSpecJson.Write(arch.Ir));
            module.SaveSafetensors(weights);
            TensorFiles.Save(data, new Dictionary<string, Tensor> { ["input"] = input, ["target"] = target });
            string? cannotStart = null;
            foreach (var r in references)
            {
                if (cannotStart != null)
                {
                    r.Problem = cannotStart; // the same python: it would fail alike
                    continue;
                }
                try
                {
                    try { r.Process = BenchReference.Start(python); }
                    catch (BenchReferenceException e)
                    {
                        cannotStart = e.Message;
                        throw;
                    }
                    string device = settings.Device.ToString();
                    if (r.Path == BenchPath.Eager)
                    {
                        r.Setup = r.Process.Setup(spec, weights, data, settings.Mode, settings.Threads, device, settings.Precision, "eager", 0, 0);
                        continue;
                    }
                    // One process times every path and names the fastest; a fresh one runs it, so that side's resident set
                    // and faults are that path's alone (not the candidates' leftovers).
                    var chosen = r.Process.Setup(spec, weights, data, settings.Mode, settings.Threads, device, settings.Precision,
                        BenchReference.SelectPath, BenchSettings.PathTrials, settings.BestBudgetSeconds);
                    r.Process.Dispose();
                    r.Process = BenchReference.Start(python);
                    var run = r.Process.Setup(spec, weights, data, settings.Mode, settings.Threads, device, settings.Precision, chosen.Path, 0, 0);
                    r.Setup = run with { Candidates = chosen.Candidates, SelectionSeconds = chosen.SelectionSeconds };
                }
                catch (BenchReferenceException e)
                {
                    r.Process?.Dispose();
                    r.Process = null;
                    r.Problem = e.Message;
                }
            }
        }
    }
}
