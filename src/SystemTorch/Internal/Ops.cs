using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.SystemTorch
{
    /// <summary>Thin helpers that marshal arguments to the generic native dispatchers.</summary>
    internal static unsafe class Ops
    {
        internal static IntPtr H(Tensor? t) => t is null ? IntPtr.Zero : t.Handle;

        internal static IntPtr Raw(Op op, ReadOnlySpan<IntPtr> ins, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            fixed (IntPtr* pi = ins)
            fixed (long* pa = ia)
            fixed (double* pd = da) {
                var r = Native.st_op1((int)op, pi, ins.Length, pa, ia.Length, pd, da.Length);
                if (r == IntPtr.Zero) throw Native.Error();
                return r;
            }
        }

        internal static Tensor T1(Op op, Tensor a, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            IntPtr h = a.Handle;
            var r = Raw(op, new ReadOnlySpan<IntPtr>(&h, 1), ia, da);
            GC.KeepAlive(a);
            return new Tensor(r);
        }

        internal static Tensor T2(Op op, Tensor a, Tensor b, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            IntPtr* h = stackalloc IntPtr[2] { a.Handle, b.Handle };
            var r = Raw(op, new ReadOnlySpan<IntPtr>(h, 2), ia, da);
            GC.KeepAlive(a); GC.KeepAlive(b);
            return new Tensor(r);
        }

        internal static Tensor TN(Op op, Tensor?[] ts, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            Span<IntPtr> h = ts.Length <= 16 ? stackalloc IntPtr[ts.Length] : new IntPtr[ts.Length];
            for (int i = 0; i < ts.Length; i++) h[i] = H(ts[i]);
            var r = Raw(op, h, ia, da);
            GC.KeepAlive(ts);
            return new Tensor(r);
        }

        /// <summary>In-place op: runs and returns the receiver.</summary>
        internal static Tensor I1(Op op, Tensor a, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            IntPtr h = a.Handle;
            Raw(op, new ReadOnlySpan<IntPtr>(&h, 1), ia, da);
            return a;
        }

        internal static Tensor I2(Op op, Tensor a, Tensor b, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            IntPtr* h = stackalloc IntPtr[2] { a.Handle, b.Handle };
            Raw(op, new ReadOnlySpan<IntPtr>(h, 2), ia, da);
            GC.KeepAlive(b);
            return a;
        }

        internal static Tensor IN(Op op, Tensor?[] ts, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default)
        {
            Span<IntPtr> h = stackalloc IntPtr[ts.Length];
            for (int i = 0; i < ts.Length; i++) h[i] = H(ts[i]);
            Raw(op, h, ia, da);
            GC.KeepAlive(ts);
            return ts[0]!;
        }

        internal static Tensor[] Multi(Op op, Tensor?[] ts, ReadOnlySpan<long> ia = default, ReadOnlySpan<double> da = default, int maxOut = 0)
        {
            Span<IntPtr> h = stackalloc IntPtr[ts.Length];
            for (int i = 0; i < ts.Length; i++) h[i] = H(ts[i]);
            if (maxOut <= 0) maxOut = 2;
            var outs = new IntPtr[maxOut];
            int n;
            fixed (IntPtr* pi = h)
            fixed (long* pa = ia)
            fixed (double* pd = da)
            fixed (IntPtr* po = outs) {
                n = Native.st_opn((int)op, pi, h.Length, pa, ia.Length, pd, da.Length, po, maxOut);
            }
            GC.KeepAlive(ts);
            if (n < 0) throw Native.Error();
            var res = new Tensor[n];
            for (int i = 0; i < n; i++) res[i] = new Tensor(outs[i]);
            return res;
        }

        internal static Tensor Factory(Op op, ReadOnlySpan<long> shape, ScalarType? dtype, Device? device, bool requires_grad, ReadOnlySpan<double> da = default, ReadOnlySpan<long> extra = default)
        {
            var dt = dtype ?? torch.get_default_dtype();
            var dev = device ?? torch.CPU;
            Span<long> ia = stackalloc long[4 + extra.Length + shape.Length];
            ia[0] = (long)dt; ia[1] = (long)dev.type; ia[2] = dev.index; ia[3] = requires_grad ? 1 : 0;
            extra.CopyTo(ia.Slice(4));
            shape.CopyTo(ia.Slice(4 + extra.Length));
            return new Tensor(Raw(op, ReadOnlySpan<IntPtr>.Empty, ia, da));
        }

        internal static long[] Pair(long v) => new[] { v, v };
        internal static long[] Pair((long, long) v) => new[] { v.Item1, v.Item2 };
        internal static long[] Pair(long[]? v, long dflt)
        {
            if (v is null || v.Length == 0) return new[] { dflt, dflt };
            if (v.Length == 1) return new[] { v[0], v[0] };
            return new[] { v[0], v[1] };
        }
    }
}
