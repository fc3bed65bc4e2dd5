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
    /// <summary>How to benchmark. <see cref="Python"/> is null when the PyTorch side is not wanted.</summary>
    internal sealed record BenchSettings(int Batch, BenchMode Mode, Device Device, int Warmup, int Iterations, int Threads, string? Python,
        BenchPrecision Precision = BenchPrecision.Fp32)
    {
        /// <summary>Seed of the random input batch and labels (both sides get the same tensors).</summary>
        public const long Seed = 0;
    }

    /// <summary>
    /// One side's measurements: every timed iteration (ms) and its page faults (minor + major), the resident set once
    /// set up (model, weights, optimizer, batch in memory, before any iteration) and the peak resident set over the
    /// timed rounds.
    /// </summary>
    internal sealed record BenchSide(string Name, IReadOnlyList<double> Milliseconds, IReadOnlyList<long> Faults, long SetupRssBytes, long PeakRssBytes)
    {
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

    /// <summary>A finished benchmark. <see cref="PyTorch"/> is null when the reference side did not run (<see cref="ReferenceProblem"/> says why, unless it was not asked for).</summary>
    internal sealed record BenchResult(string Architecture, long[] InputShape, BenchSettings Settings, BenchEngines Engines,
        long Macs, BenchPeak Peak, BenchSide Torchwright, BenchSide? PyTorch, string? ReferenceProblem)
    {
        /// <summary>The "Torchwright bf16-mixed" row (with --precision bf16-mixed), timed in the same rounds as the fp32 one.</summary>
        public BenchSide? Bf16Mixed { get; init; }

        /// <summary>bf16-mixed images/s over the fp32 module's, same run.</summary>
        public double? MixedRatio => Bf16Mixed is null ? null : Bf16Mixed.ImagesPerSecond(Settings.Batch) / Torchwright.ImagesPerSecond(Settings.Batch);

        /// <summary>torch.__version__ of the PyTorch side, when it ran.</summary>
        public string? TorchVersion => Engines.PyTorch?.Version;

        public long FlopsPerImage => BenchFlops.PerImage(Macs, Settings.Mode);

        /// <summary>Torchwright images/s over PyTorch images/s (above 1: Torchwright is faster).</summary>
        public double? Ratio => PyTorch is null ? null : Torchwright.ImagesPerSecond(Settings.Batch) / PyTorch.ImagesPerSecond(Settings.Batch);
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

            var (reference, referenceSetupRss, problem) = settings.Python == null
                ? (null, 0, null)
                : StartReference(arch, settings, settings.Python, module, input, target, tmp);
            try
            {
                using var workload = new BenchWorkload(module, input, target, settings.Mode, settings.Device, settings.Precision);
                // --precision bf16-mixed: the same module (same fp32 weights) once more in bf16-mixed, its own optimizer.
                using var mixed = settings.Precision == BenchPrecision.Bf16Mixed
                    ? new BenchWorkload(module, input, target, settings.Mode, settings.Device, settings.Precision, Precision.Bf16Mixed) : null;
                GC.Collect();
                GC.WaitForPendingFinalizers();
                long setupRss = PeakMemory.CurrentBytes();
                var peakCompute = PeakCompute.Find(settings.Device, settings.Threads, settings.Precision);

                for (int i = 0; i < settings.Warmup; i++)
                {
                    workload.Step();
                    mixed?.Step();
                }
                Guard(ref reference, ref problem, r => r.Run(settings.Warmup));

                PeakMemory.Reset();
                Guard(ref reference, ref problem, r => r.ResetPeak());
                var ours = new List<double>();
                var ourFaults = new List<long>();
                var theirs = new List<double>();
                var theirFaults = new List<long>();
                var mixedMs = new List<double>();
                var mixedFaults = new List<long>();
                long ourPeak = 0, mixedPeak = 0;
                // With two Torchwright rows each gets its own high-water mark: reset before its step, read after.
                (double, long) Timed(BenchWorkload w, ref long sidePeak)
                {
                    if (mixed != null) PeakMemory.Reset();
                    var result = w.Step();
                    if (mixed != null) sidePeak = Math.Max(sidePeak, PeakMemory.PeakBytes());
                    return result;
                }
                void Theirs(BenchReference r)
                {
                    var (ms, faults) = r.Run(1);
                    theirs.AddRange(ms);
                    theirFaults.AddRange(faults);
                }
                for (int round = 0; round < settings.Iterations; round++)
                {
                    // Alternate who goes first so neither side always runs right after the other.
                    if (round % 2 == 1) Guard(ref reference, ref problem, Theirs);
                    var (ms, faults) = Timed(workload, ref ourPeak);
                    ours.Add(ms);
                    ourFaults.Add(faults);
                    if (mixed != null)
                    {
                        var (mms, mfaults) = Timed(mixed, ref mixedPeak);
                        mixedMs.Add(mms);
                        mixedFaults.Add(mfaults);
                    }
                    if (round % 2 == 0) Guard(ref reference, ref problem, Theirs);
                }
                long peak = mixed != null ? ourPeak : PeakMemory.PeakBytes();
                long referencePeak = 0;
                Guard(ref reference, ref problem, r => referencePeak = r.PeakBytes());

                var tw = new BenchSide("Torchwright", ours, ourFaults, setupRss, peak);
                var pt = reference == null ? null : new BenchSide("PyTorch", theirs, theirFaults, referenceSetupRss, referencePeak);
                if (problem != null) warn(problem);
                var (torchSharp, libTorch) = BenchEngines.Current();
                var engines = new BenchEngines(torchSharp, libTorch, reference?.Torch);
                return new BenchResult(arch.Name, shape, settings, engines, macs, peakCompute, tw, pt, problem)
                {
                    Bf16Mixed = mixed is null ? null : new BenchSide("Torchwright bf16-mixed", mixedMs, mixedFaults, setupRss, mixedPeak),
                };
            }
            finally
            {
                reference?.Dispose();
            }
        }

        /// <summary>
        /// Hands the architecture's spec, the module's weights and the batch to a new PyTorch process and has it build
        /// the reference network: the running process and its resident set once set up, or why it could not.
        /// </summary>
        private static (BenchReference? Reference, long SetupRss, string? Problem) StartReference(CheckedArchitecture arch, BenchSettings settings,
            string python, nn.Module module, Tensor input, Tensor target, string tmp)
        {
            BenchReference? reference = null;
            try
            {
                var spec = Path.Combine(tmp, "spec.json");
                var weights = Path.Combine(tmp, "weights.safetensors");
                var data = Path.Combine(tmp, "data.safetensors");
                File.WriteAllText(spec, ArchSpecJson.Write(arch.Ir));
                module.SaveSafetensors(weights);
                TensorFiles.Save(data, new Dictionary<string, Tensor> { ["input"] = input, ["target"] = target });
                reference = BenchReference.Start(python);
                return (reference, reference.Setup(spec, weights, data, settings.Mode, settings.Threads, settings.Device.ToString(), settings.Precision), null);
            }
            catch (BenchReferenceException e)
            {
                reference?.Dispose();
                return (null, 0, e.Message);
            }
        }

        /// <summary>Runs a step on the PyTorch side; if it fails, the side is dropped and the reason kept.</summary>
        private static void Guard(ref BenchReference? reference, ref string? problem, Action<BenchReference> action)
        {
            if (reference == null) return;
            try
            {
                action(reference);
            }
            catch (BenchReferenceException e)
            {
                problem = e.Message;
                reference.Dispose();
                reference = null;
            }
        }
    }
}
