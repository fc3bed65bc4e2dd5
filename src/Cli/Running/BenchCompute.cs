using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using Torchwright.Cli.Output;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// FLOPs per image from the compile-time MAC count (1 MAC = 2 FLOPs). Inference counts the forward pass; training
    /// counts forward + backward as 3 x forward (the gradients with respect to activations and to weights each cost about
    /// one forward), the usual convention; the loss and the SGD update are not counted.
    /// </summary>
    internal static class BenchFlops
    {
        public static long PerImage(long macs, BenchMode mode) => (mode == BenchMode.Train ? 6 : 2) * macs;

        public static string Convention(long macs, BenchMode mode)
        {
            string m = Numbers.Scaled(macs) + "MACs";
            return mode == BenchMode.Train
                ? $"3 x 2 x {m} per image: forward + backward counted as 3 x forward (loss and SGD update not counted)"
                : $"2 x {m} per image (forward)";
        }

        /// <summary>The generated class's <c>Macs</c> constant: MACs per image at the checked input size, attention matmuls included.</summary>
        public static long MacsOf(nn.Module module)
        {
            var field = module.GetType().GetField("Macs", BindingFlags.Public | BindingFlags.Static);
            if (field?.GetRawConstantValue() is long macs) return macs;
            throw new InvalidOperationException($"{module.GetType().Name} has no 'public const long Macs'; it is not a Torchwright-generated module");
        }
    }

    /// <summary>One measured matmul ceiling: its precision ("fp32"/"bf16"), GFLOP/s and how it was measured.</summary>
    internal sealed record BenchMatmul(string Precision, double Gflops, string How);

    /// <summary>
    /// The machine's compute ceiling: measured with large matmuls (fp32 always; bf16 too where the CPU has bf16 dot
    /// products, or when the benchmark runs in bf16), and derived from the CPU's description at its nominal clock, which
    /// understates it where the CPU boosts. <see cref="Measured"/> is the yardstick: the benchmark precision's matmul.
    /// </summary>
    internal sealed record BenchPeak(double? DerivedGflops, string DerivedHow, BenchMatmul Fp32, BenchMatmul? Bf16, BenchPrecision Precision,
        IReadOnlyList<string> Isa)
    {
        /// <summary>The measured matmul of the benchmark's precision: what "% of peak" is against.</summary>
        public BenchMatmul Measured => Precision == BenchPrecision.Bf16 ? Bf16! : Fp32;
    }

    internal static class PeakCompute
    {
        /// <summary>Side length of the measured square matmul (2·n³ = 17.2 GFLOP a run).</summary>
        public const int MatmulSize = 2048;

        public static BenchPeak Find(Device device, int threads, BenchPrecision precision)
        {
            var (derived, how) = device.type == DeviceType.CPU
                ? CpuPeak.Derive(threads)
                : ((double?)null, "not derived for CUDA devices (only the measured matmul)");
            var isa = CpuIsa.Current();
            var fp32 = MeasureMatmul(device, threads, BenchPrecision.Fp32);
            bool bf16 = precision == BenchPrecision.Bf16 || device.type != DeviceType.CPU || CpuIsa.HasBf16(isa);
            return new BenchPeak(derived, how, fp32, bf16 ? MeasureMatmul(device, threads, BenchPrecision.Bf16) : null, precision, isa);
        }

        /// <summary>
        /// Best time of <see cref="MatmulSize"/>² matmuls in TorchSharp in <paramref name="precision"/> and the thread
        /// count: one warm-up, then at least 3 runs and 0.5 s (at most 10 runs). A lower bound on what the machine can
        /// do, and the practical ceiling of libtorch's kernels on it.
        /// </summary>
        private static BenchMatmul MeasureMatmul(Device device, int threads, BenchPrecision precision)
        {
            const int n = MatmulSize;
            var dtype = precision == BenchPrecision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
            using var scope = torch.NewDisposeScope();
            var a = torch.randn(new long[] { n, n }, dtype, device);
            var b = torch.randn(new long[] { n, n }, dtype, device);
            void Once()
            {
                a.matmul(b).Dispose();
                if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
            }
            Once();
            double best = double.MaxValue, total = 0;
            int runs = 0;
            while (runs < 10 && (runs < 3 || total < 0.5))
            {
                var sw = Stopwatch.StartNew();
                Once();
                double s = sw.Elapsed.TotalSeconds;
                best = Math.Min(best, s);
                total += s;
                runs++;
            }
            double gflops = 2.0 * n * n * n / best / 1e9;
            string name = precision == BenchPrecision.Bf16 ? "bf16" : "fp32";
            string on = device.type == DeviceType.CPU ? Plural(threads, "thread") : device.ToString();
            return new BenchMatmul(name, gflops, $"best of {runs} {n}x{n} {name} matmuls in TorchSharp on {on}");
        }

        private static string Plural(int n, string word) => n.ToString(CultureInfo.InvariantCulture) + " " + word + (n == 1 ? "" : "s");
    }

    /// <summary>
    /// The vector instruction sets libtorch's CPU kernels can use, from /proc/cpuinfo's flags: AVX2 (avx2 + fma),
    /// AVX-512 (avx512f), AVX-512 BF16 (avx512_bf16: bf16 dot products) and AMX (amx_tile with amx_bf16).
    /// </summary>
    internal static class CpuIsa
    {
        public const string Avx2 = "AVX2", Avx512 = "AVX-512", Avx512Bf16 = "AVX-512 BF16", Amx = "AMX";

        /// <summary>This machine's; empty where there is no /proc/cpuinfo.</summary>
        public static IReadOnlyList<string> Current()
        {
            try { return Of(File.ReadAllText("/proc/cpuinfo")); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return Array.Empty<string>(); }
        }

        /// <summary>The instruction sets of the first processor a /proc/cpuinfo text lists, oldest first.</summary>
        public static IReadOnlyList<string> Of(string cpuinfo)
        {
            var blocks = CpuPeak.Parse(cpuinfo);
            if (blocks.Count == 0) return Array.Empty<string>();
            var flags = new HashSet<string>(blocks[0].GetValueOrDefault("flags", "").Split(' ', StringSplitOptions.RemoveEmptyEntries));
            var isa = new List<string>();
            if (flags.Contains("avx2") && flags.Contains("fma")) isa.Add(Avx2);
            if (flags.Contains("avx512f")) isa.Add(Avx512);
            if (flags.Contains("avx512_bf16")) isa.Add(Avx512Bf16);
            if (flags.Contains("amx_tile") && flags.Contains("amx_bf16")) isa.Add(Amx);
            return isa;
        }

        /// <summary>Whether the CPU has bf16 dot products (AVX-512 BF16 or AMX), so a bf16 matmul can beat fp32.</summary>
        public static bool HasBf16(IReadOnlyList<string> isa) => isa.Contains(Avx512Bf16) || isa.Contains(Amx);

        /// <summary>What bf16 arithmetic can gain on a CPU with <paramref name="isa"/> (bench's "bf16 instructions" line).</summary>
        public static string Bf16Note(IReadOnlyList<string> isa)
        {
            var found = new[] { (Amx, "AMX-BF16 (amx_bf16)"), (Avx512Bf16, "AVX-512 BF16 (avx512_bf16)") }.Where(f => isa.Contains(f.Item1)).Select(f => f.Item2).ToList();
            return found.Count > 0
                ? string.Join(" and ", found) + ": bf16 dot products in hardware"
                : "no AVX-512 BF16 or AMX: oneDNN converts bf16 to fp32 to compute, so bf16 saves memory traffic only";
        }

        /// <summary>"AVX2, AVX-512, AVX-512 BF16", or "none of AVX2, AVX-512, AVX-512 BF16, AMX".</summary>
        public static string Describe(IReadOnlyList<string> isa) =>
            isa.Count == 0 ? $"none of {Avx2}, {Avx512}, {Avx512Bf16}, {Amx}" : string.Join(", ", isa);
    }

    /// <summary>
    /// fp32 peak from /proc/cpuinfo: cores x FMA units x fp32 lanes per unit x 2 FLOP (multiply + add) x clock. The FMA
    /// unit count is not in /proc/cpuinfo; it is inferred from the vendor, family and flags, and the text says what was
    /// assumed. The clock is cpufreq's maximum where the kernel exposes it, else cpuinfo's "cpu MHz" (in a VM usually
    /// the nominal clock: boost can make the real peak higher).
    /// </summary>
    internal static class CpuPeak
    {
        private const string MaxFreq = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq";

        /// <summary>The peak of this machine for <paramref name="threads"/> threads.</summary>
        public static (double? Gflops, string How) Derive(int threads)
        {
            string cpuinfo;
            try { cpuinfo = File.ReadAllText("/proc/cpuinfo"); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return (null, "not derived: no /proc/cpuinfo"); }
            long? khz = null;
            try
            {
                if (File.Exists(MaxFreq) && long.TryParse(File.ReadAllText(MaxFreq).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long k) && k > 0)
                    khz = k;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { }
            return Derive(cpuinfo, threads, khz);
        }

        /// <summary>The peak described by a /proc/cpuinfo text and cpufreq's maximum clock (kHz; null where there is no cpufreq).</summary>
        public static (double? Gflops, string How) Derive(string cpuinfo, int threads, long? cpufreqMaxKhz)
        {
            var blocks = Parse(cpuinfo);
            if (blocks.Count == 0) return (null, "not derived: /proc/cpuinfo lists no processors");
            var first = blocks[0];
            string vendor = first.GetValueOrDefault("vendor_id", "");
            string model = first.GetValueOrDefault("model name", "unknown CPU");
            int.TryParse(first.GetValueOrDefault("cpu family", ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out int family);
            var flags = new HashSet<string>(first.GetValueOrDefault("flags", "").Split(' ', StringSplitOptions.RemoveEmptyEntries));

            var fma = Fma(vendor, family, flags);
            if (fma is null) return (null, $"not derived: {model} has neither AVX-512F nor AVX2+FMA");
            var (units, lanes, why) = fma.Value;

            var physical = blocks.Select(b => (b.GetValueOrDefault("physical id", ""), b.GetValueOrDefault("core id", b.GetValueOrDefault("processor", ""))))
                .Distinct().Count();
            int cores = Math.Max(1, Math.Min(threads, Math.Min(physical, Environment.ProcessorCount)));

            var (ghz, clock) = Clock(first, cpufreqMaxKhz);
            if (ghz <= 0) return (null, $"not derived: no clock for {model}");
            double gflops = cores * units * lanes * 2 * ghz;
            string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
            return (gflops, $"{cores} core{(cores == 1 ? "" : "s")} x {units} FMA units x {lanes} fp32 lanes x 2 FLOP x {F(ghz, "0.000")} GHz " +
                $"({model}; {why}; clock: {clock}; cores: the threads used, at most the {physical} physical)");
        }

        /// <summary>FMA units per core and fp32 lanes per unit, and what that rests on.</summary>
        private static (int Units, int Lanes, string Why)? Fma(string vendor, int family, HashSet<string> flags)
        {
            bool amd = vendor == "AuthenticAMD", intel = vendor == "GenuineIntel";
            if (flags.Contains("avx512f"))
            {
                if (amd && family == 25) return (2, 8, "AMD family 25 (Zen 4) runs AVX-512 on two 256-bit FMA pipes");
                if (amd && family >= 26) return (2, 16, "AMD family 26 (Zen 5): two 512-bit FMA pipes assumed");
                if (intel) return (2, 16, "Intel AVX-512: two 512-bit FMA units assumed (Xeon Gold 6xxx/Platinum and newer; some parts have one)");
                return (1, 16, "AVX-512: one 512-bit FMA unit assumed");
            }
            if (flags.Contains("avx2") && flags.Contains("fma"))
                return (2, 8, "AVX2 + FMA: two 256-bit FMA units assumed (Intel Haswell and newer, AMD Zen 2 and newer)");
            return null;
        }

        private static (double Ghz, string How) Clock(Dictionary<string, string> first, long? cpufreqMaxKhz)
        {
            if (cpufreqMaxKhz is long khz && khz > 0) return (khz / 1e6, "cpufreq cpuinfo_max_freq");
            if (double.TryParse(first.GetValueOrDefault("cpu MHz", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out double mhz) && mhz > 0)
                return (mhz / 1000, "/proc/cpuinfo 'cpu MHz' (no cpufreq here; boost may be higher)");
            return (0, "");
        }

        /// <summary>One dictionary per processor block ("key : value" lines, blocks separated by blank lines).</summary>
        internal static List<Dictionary<string, string>> Parse(string cpuinfo)
        {
            var blocks = new List<Dictionary<string, string>>();
            Dictionary<string, string>? current = null;
            foreach (var raw in cpuinfo.Split('\n'))
            {
                var line = raw.TrimEnd('\r');
                int colon = line.IndexOf(':');
                if (line.Trim().Length == 0 || colon < 0)
                {
                    current = null;
                    continue;
                }
                if (current == null) blocks.Add(current = new Dictionary<string, string>(StringComparer.Ordinal));
                current[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
            }
            return blocks.Where(b => b.ContainsKey("processor")).ToList();
        }
    }

    /// <summary>This process's page faults (minor + major) from /proc/self/stat; 0 where there is no /proc.</summary>
    internal static class PageFaults
    {
        public static long Current()
        {
            try
            {
                var stat = File.ReadAllText("/proc/self/stat");
                // The fields after the command name "(...)": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt ...
                var fields = stat.Substring(stat.LastIndexOf(')') + 1).Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(fields[7], CultureInfo.InvariantCulture) + long.Parse(fields[9], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is FormatException || e is IndexOutOfRangeException)
            {
                return 0;
            }
        }
    }
}
