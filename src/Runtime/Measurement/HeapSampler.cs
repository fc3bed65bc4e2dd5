using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Torchwright.Runtime.Measurement
{
    /// <summary>
    /// Peak bytes of glibc's malloc over a measured region, sampled by a background thread: what distinguishes memory the
    /// process's allocations still use from memory the allocator only keeps. libtorch's CPU allocator takes every tensor
    /// from malloc (posix_memalign), so <see cref="HeapPeak.InUseBytes"/> is the live tensors plus the runtime's own
    /// native allocations, and <see cref="HeapPeak.HeldBytes"/> adds the free chunks malloc keeps in its arenas. The
    /// resident set minus the held bytes is what malloc does not manage (the .NET GC heap, code, stacks).
    /// <para>Read through glibc's <c>mallinfo2()</c> (2.33+), summed over all arenas: in use = uordblks + hblkhd, held =
    /// arena + hblkhd. The PyTorch side of <c>bench</c> samples itself the same way at the same period. A sample costs a
    /// walk of malloc's bins under its arena locks, so sampling is opt-in (<c>bench --heap-profile</c>).</para>
    /// </summary>
    internal sealed class HeapSampler : IDisposable
    {
        /// <summary>The period both bench sides sample at.</summary>
        public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(1);

        private readonly Thread thread;
        private readonly object gate = new object();
        private volatile bool stopping;
        private long peakInUse, peakHeld, startInUse;

        private HeapSampler()
        {
            Sample();
            thread = new Thread(Run) { IsBackground = true, Name = "Torchwright heap sampler" };
            thread.Start();
        }

        /// <summary>Whether this process's C library has <c>mallinfo2</c> (glibc 2.33 and later).</summary>
        public static bool Available => available.Value;

        private static readonly Lazy<bool> available = new Lazy<bool>(() =>
        {
            try
            {
                mallinfo2();
                return true;
            }
            catch (DllNotFoundException) { return false; }
            catch (EntryPointNotFoundException) { return false; }
        });

        /// <summary>Starts sampling, or returns null where <see cref="Available"/> is false.</summary>
        public static HeapSampler? Start() => Available ? new HeapSampler() : null;

        /// <summary>Starts a new measured region: the peaks drop to the current values, and the in-use bytes now are
        /// its start (what the process holds between steps: weights, optimizer state, the runtimes' own).</summary>
        public void Reset()
        {
            lock (gate)
            {
                peakInUse = 0;
                peakHeld = 0;
            }
            Sample();
            lock (gate) startInUse = peakInUse;
        }

        /// <summary>The largest values since the last <see cref="Reset"/>, including one sample taken now.</summary>
        public HeapPeak Peak()
        {
            Sample();
            lock (gate) return new HeapPeak(peakInUse, peakHeld, startInUse);
        }

        public void Dispose()
        {
            stopping = true;
            thread.Join();
        }

        private void Run()
        {
            while (!stopping)
            {
                Sample();
                Thread.Sleep(Period);
            }
        }

        private void Sample()
        {
            var m = mallinfo2();
            long inUse = (long)(m.uordblks + m.hblkhd), held = (long)(m.arena + m.hblkhd);
            lock (gate)
            {
                peakInUse = Math.Max(peakInUse, inUse);
                peakHeld = Math.Max(peakHeld, held);
            }
        }

        // glibc's struct mallinfo2: ten size_t fields, in this order.
        [StructLayout(LayoutKind.Sequential)]
        private struct MallInfo2
        {
            public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
        }

        [DllImport("libc", EntryPoint = "mallinfo2")]
        private static extern MallInfo2 mallinfo2();
    }

    /// <summary>Peak bytes malloc handed out and not yet freed (<see cref="InUseBytes"/>), and peak bytes it held from the
    /// OS, its free chunks included (<see cref="HeldBytes"/>); each the largest sample of the region. <see cref="StartInUseBytes"/>:
    /// the bytes in use when the region started, so <see cref="InUseBytes"/> minus it is what the measured steps add.</summary>
    internal readonly record struct HeapPeak(long InUseBytes, long HeldBytes, long StartInUseBytes);
}
