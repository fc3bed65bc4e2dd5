using System.Threading;
using TorchSharp;
using Torchwright.Runtime.Measurement;
using Xunit;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// <see cref="HeapSampler"/> (bench --heap-profile): libtorch takes a tensor's storage from glibc's malloc, so a
    /// 64 MiB tensor shows in the in-use peak; the background thread keeps that peak after the tensor is freed, which a
    /// read after the free alone could not; <see cref="HeapSampler.Reset"/> starts over.
    /// <para>In the collection that runs alone: another test's allocations would move the process's heap meanwhile.</para>
    /// </summary>
    [Collection(TorchRngCollection.Name)]
    public class HeapSamplerTests
    {
        private const long Size = 64L << 20;

        [Fact]
        public void Debian_12s_glibc_has_mallinfo2() => Assert.True(HeapSampler.Available);

        [Fact]
        public void The_sampled_peak_keeps_a_freed_64_MiB_tensor_until_reset()
        {
            // libtorch's first ops allocate its own state (thread pools, kernels' tables): do them before measuring.
            torch.ones(Size / sizeof(float)).add_(1).Dispose();
            using var sampler = HeapSampler.Start()!;
            sampler.Reset();
            long before = sampler.Peak().InUseBytes;

            var t = torch.ones(Size / sizeof(float));
            Thread.Sleep(100 * (int)HeapSampler.Period.TotalMilliseconds);
            t.Dispose();

            var peak = sampler.Peak();
            Assert.InRange(peak.InUseBytes - before, Size, Size + (16L << 20));
            Assert.InRange(peak.StartInUseBytes, before - (1L << 20), before);
            Assert.True(peak.HeldBytes >= peak.InUseBytes, $"held {peak.HeldBytes} < in use {peak.InUseBytes}");

            sampler.Reset();
            Assert.True(sampler.Peak().InUseBytes < peak.InUseBytes - Size / 2, "Reset keeps the old peak");
        }
    }
}
