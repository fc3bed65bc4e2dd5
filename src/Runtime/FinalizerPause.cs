using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Torchwright.Runtime
{
    /// <summary>
    /// Holds the .NET finalizer thread while TorchSharp calls run, so no TorchSharp object can be finalized in the
    /// middle of a native call that still uses it.
    /// </summary>
    /// <remarks>
    /// Why: TorchSharp 0.107.0 turns numbers into native <c>Scalar</c>s implicitly (<c>t.add_(1)</c>, BatchNorm's
    /// <c>num_batches_tracked.add_(1)</c>, SGD's <c>param.add_(grad, alpha: lr)</c>) and passes only their handles to
    /// libtorch, without <c>GC.KeepAlive</c>. A garbage collection during that call finds the temporary unreachable
    /// and its finalizer frees the native Scalar while libtorch reads it: "Unknown scalar type." or "Expected false to
    /// be true" from <c>c10::Scalar::toLong</c>, at random, a few times per million calls under allocation
    /// (TorchSharp PR #1496 is the upstream work on these temporaries). A sweep makes hundreds of such calls per step,
    /// so long runs failed now and then. Objects a collection finds unreachable while the pause is held are finalized
    /// only after it ends — when every call that used them has returned. The temporaries are made inside TorchSharp's own
    /// methods (<c>Tensor.add(Tensor)</c> calls <c>add(target, 1)</c>; BatchNorm's forward; SGD's step), so no caller can
    /// keep them alive: every loop that runs the engine holds a pause (training, evaluation, <c>infer</c>, <c>bench</c>). <see cref="Begin"/> costs one gen-0
    /// collection; hold a pause around a unit of work (a training step), not for minutes, since finalizable garbage
    /// waits while it is held. The finalizer thread is held at most <see cref="MaxPause"/>: TorchSharp itself calls
    /// <c>GC.WaitForPendingFinalizers</c> when a native allocation fails (its out-of-memory retry), which would otherwise
    /// wait for a pause that waits for it; past that time the protection lapses for the rest of the unit of work rather
    /// than the process hanging. <c>FinalizerPauseTests</c> shows the bug, that the pause removes it, and the bound.
    /// </remarks>
    internal sealed class FinalizerPause : IDisposable
    {
        /// <summary>The longest the finalizer thread waits for <see cref="Dispose"/> (a training step of the CPU-sized
        /// networks here takes well under a second).</summary>
        public static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(5);

        private static int _held;

        private readonly ManualResetEventSlim _release = new ManualResetEventSlim(false);
        private int _disposed;

        /// <summary>True while some pause is held (tests check that an engine loop runs under one).</summary>
        internal static bool IsHeld => Volatile.Read(ref _held) > 0;

        private FinalizerPause() { }

        /// <summary>Returns once the finalizer thread has run every finalizer queued so far and is parked until <see cref="Dispose"/>.</summary>
        public static FinalizerPause Begin()
        {
            var pause = new FinalizerPause();
            using var parked = new ManualResetEventSlim(false);
            Park(pause._release, parked);
            // The parker is finalized after everything queued before it; collect until the finalizer thread reaches it.
            while (!parked.Wait(0))
            {
                GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                parked.Wait(1);
            }
            Interlocked.Increment(ref _held);
            return pause;
        }

        // Not inlined, so the parker is unreachable as soon as this returns.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Park(ManualResetEventSlim release, ManualResetEventSlim parked) => _ = new Parker(release, parked);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            Interlocked.Decrement(ref _held);
            _release.Set();
        }

        private sealed class Parker
        {
            private readonly ManualResetEventSlim _release;
            private readonly ManualResetEventSlim _parked;

            public Parker(ManualResetEventSlim release, ManualResetEventSlim parked)
            {
                _release = release;
                _parked = parked;
            }

            ~Parker()
            {
                _parked.Set();
                // Not disposed here: the pause may still be set after a timed-out wait (nothing native to release).
                _release.Wait(MaxPause);
            }
        }
    }
}
