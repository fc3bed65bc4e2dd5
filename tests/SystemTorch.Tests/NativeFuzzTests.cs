using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;
using Torchwright.SystemTorch;
using Xunit;
using static TorchSharp.torch;

namespace SystemTorch.Tests
{
    /// <summary>Random arguments straight into the native dispatcher: every call must return (value or error), never crash.</summary>
    public sealed class NativeFuzzTests
    {
        [Theory]
        [InlineData(11)]
        [InlineData(12)]
        public unsafe void RandomNativeCallsNeverCrash(int seed)
        {
            var rng = new Random(seed);
            var ops = Enum.GetValues<Op>().Select(o => (int)o).Concat(new[] { 0, 99, 777, -1 }).ToArray();
            var dtypes = new[] { ScalarType.Float32, ScalarType.Float64, ScalarType.Int64, ScalarType.Int32, ScalarType.Bool, ScalarType.Float16, ScalarType.BFloat16 };
            var pool = new List<Tensor>();
            for (int i = 0; i < 24; i++) {
                var shape = Enumerable.Range(0, rng.Next(0, 5)).Select(_ => (long)rng.Next(0, 4)).ToArray();
                using var r = torch.randn(shape);
                pool.Add(r.to_type(dtypes[rng.Next(dtypes.Length)]));
            }
            int errors = 0, ok = 0;
            var outs = new IntPtr[8];
            for (int i = 0; i < 5000; i++) {
                int op = ops[rng.Next(ops.Length)];
                var ins = Enumerable.Range(0, rng.Next(0, 6)).Select(_ => rng.Next(10) == 0 ? IntPtr.Zero : pool[rng.Next(pool.Count)].Handle).ToArray();
                var ia = Enumerable.Range(0, rng.Next(0, 12)).Select(_ => (long)rng.Next(-4, 9)).ToArray();
                var da = Enumerable.Range(0, rng.Next(0, 4)).Select(_ => rng.NextDouble() * 4 - 2).ToArray();
                fixed (IntPtr* pi = ins)
                fixed (long* pa = ia)
                fixed (double* pd = da)
                fixed (IntPtr* po = outs) {
                    int n = Native.st_opn(op, pi, ins.Length, pa, ia.Length, pd, da.Length, po, outs.Length);
                    if (n < 0) {
                        errors++;
                        Assert.False(string.IsNullOrEmpty(Marshal.PtrToStringUTF8(Native.st_last_error())));
                    } else {
                        ok++;
                        for (int k = 0; k < n; k++) if (!ins.Contains(outs[k])) Native.st_free(outs[k]);
                    }
                }
            }
            Assert.True(errors > 1000 && ok > 100, $"errors={errors} ok={ok}");
            foreach (var t in pool) t.Dispose();
        }

        [Fact]
        public void RandomIndexingNeverCrashes()
        {
            var rng = new Random(5);
            using var x = torch.randn(3, 4, 5);
            int thrown = 0;
            for (int i = 0; i < 2000; i++) {
                var idx = Enumerable.Range(0, rng.Next(1, 6)).Select(_ => rng.Next(6) switch {
                    0 => TensorIndex.Single(rng.Next(-8, 8)),
                    1 => TensorIndex.Slice(rng.Next(-8, 8), rng.Next(-8, 8), rng.Next(-1, 3)),
                    2 => TensorIndex.None,
                    3 => TensorIndex.Ellipsis,
                    4 => TensorIndex.Tensor(torch.tensor(new long[] { rng.Next(-6, 6) })),
                    _ => TensorIndex.Bool(rng.Next(2) == 0),
                }).ToArray();
                try {
                    using var scope = torch.NewDisposeScope();
                    _ = x[idx];
                    x.clone()[idx] = torch.zeros(1);
                } catch (ExternalException) {
                    thrown++;
                }
            }
            Assert.True(thrown > 0);
        }
    }
}
