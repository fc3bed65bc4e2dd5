using System;
using System.IO;

namespace Torchwright.Runtime.Measurement
{
    /// <summary>
    /// Peak resident memory of this process over a measured region, read from Linux's <c>/proc/self/status</c>.
    /// <see cref="Reset"/> clears the kernel's high-water mark (<c>echo 5 &gt; /proc/self/clear_refs</c>, Linux 4.0+),
    /// so <see cref="PeakBytes"/> afterwards is the largest resident set since the reset. The PyTorch side of
    /// <c>bench</c> measures itself the same way, which is what makes the two numbers comparable: libtorch's CPU
    /// allocator returns memory to the OS in both processes alike. Where /proc is missing (not Linux) both read 0 and
    /// <see cref="Available"/> is false.
    /// </summary>
    internal static class PeakMemory
    {
        private const string Status = "/proc/self/status";
        private const string ClearRefs = "/proc/self/clear_refs";

        public static bool Available => File.Exists(Status);

        /// <summary>Starts a new measured region: the high-water mark drops to the current resident set.</summary>
        public static void Reset()
        {
            if (!File.Exists(ClearRefs)) return;
            try { File.WriteAllText(ClearRefs, "5"); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        /// <summary>The largest resident set (bytes) since the last <see cref="Reset"/> (or process start).</summary>
        public static long PeakBytes() => ReadKiB("VmHWM:") * 1024;

        /// <summary>The resident set now (bytes).</summary>
        public static long CurrentBytes() => ReadKiB("VmRSS:") * 1024;

        private static long ReadKiB(string key)
        {
            if (!File.Exists(Status)) return 0;
            foreach (var line in File.ReadLines(Status))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal)) continue;
                var parts = line.Substring(key.Length).Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length > 0 && long.TryParse(parts[0], out var kib) ? kib : 0;
            }
            return 0;
        }
    }
}
