using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using Torchwright.SystemTorch;

namespace TorchSharp
{
    public static partial class torch
    {
        // ------------------------------------------------------------ dispose scopes / grad mode
        public static DisposeScope NewDisposeScope() => ScopeManager.Instance.NewScope();

        public static IDisposable no_grad() => new AutoGradMode(false);

        public static IDisposable enable_grad(bool enabled = true) => new AutoGradMode(enabled);

        public static bool is_grad_enabled() => Native.st_grad_enabled() != 0;

        public static IDisposable set_grad_enabled(bool mode = true) => new AutoGradMode(mode);

        /// <summary>Scoped grad-mode switch; restores the previous mode on dispose.</summary>
        internal sealed class AutoGradMode : IDisposable
        {
            private bool _prev;
            private bool _disposed;

            public AutoGradMode(bool enabled)
            {
                _prev = Native.st_grad_enabled() != 0;
                Native.st_set_grad_enabled(enabled ? 1 : 0);
            }

            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                Native.st_set_grad_enabled(_prev ? 1 : 0);
            }

            public static bool IsEnabled => Native.st_grad_enabled() != 0;
        }

        // ------------------------------------------------------------ global state
        public static Generator manual_seed(long seed) => random.manual_seed(seed);

        public static void set_num_threads(int num) => Native.Check(Native.st_set_num_threads(num));

        public static int get_num_threads() => Native.Check(Native.st_get_num_threads());

        public static bool cuda_is_available() => cuda.is_available();

        public static string __version__ => Marshal.PtrToStringUTF8(Native.st_torch_version()) ?? "unknown";

        public class Generator : IDisposable
        {
            private long _seed;

            public Generator(ulong seed = 0, torch.Device? device = null)
            {
                _seed = (long)seed;
                this.device = device ?? torch.CPU;
            }

            public torch.Device device { get; private set; }

            public Generator manual_seed(long seed)
            {
                _seed = seed;
                Native.Check(Native.st_manual_seed(seed));
                return this;
            }

            public long initial_seed() => _seed;

            public long seed() => _seed;

            private static Generator? _default;
            public static Generator Default => _default ??= new Generator(0);

            public void Dispose() { }
        }

        public static class random
        {
            public static Generator manual_seed(long seed)
            {
                Native.Check(Native.st_manual_seed(seed));
                var g = Generator.Default;
                return g.manual_seed(seed);
            }
        }

        public static partial class cuda
        {
            public static bool is_available() => Native.st_cuda_is_available() != 0;

            public static int device_count() => Native.st_cuda_device_count();

            public static void manual_seed(long seed) => Native.Check(Native.st_manual_seed(seed));

            public static void manual_seed_all(long seed) => Native.Check(Native.st_manual_seed(seed));

            public static void synchronize(Device? device = null) => Native.Check(Native.st_cuda_synchronize(device?.index ?? -1));
        }

        // ------------------------------------------------------------ factories
        public static Tensor zeros(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.ZEROS, size, dtype, device, requires_grad);
        public static Tensor zeros(ReadOnlySpan<long> size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.ZEROS, size, dtype, device, requires_grad);
        public static Tensor zeros(long size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => zeros(new[] { size }, dtype, device, requires_grad);
        public static Tensor zeros(long rows, long columns, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => zeros(new[] { rows, columns }, dtype, device, requires_grad);
        public static Tensor zeros(long dim0, long dim1, long dim2, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => zeros(new[] { dim0, dim1, dim2 }, dtype, device, requires_grad);
        public static Tensor zeros(long dim0, long dim1, long dim2, long dim3, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => zeros(new[] { dim0, dim1, dim2, dim3 }, dtype, device, requires_grad);

        public static Tensor ones(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.ONES, size, dtype, device, requires_grad);
        public static Tensor ones(ReadOnlySpan<long> size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.ONES, size, dtype, device, requires_grad);
        public static Tensor ones(long size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => ones(new[] { size }, dtype, device, requires_grad);
        public static Tensor ones(long rows, long columns, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => ones(new[] { rows, columns }, dtype, device, requires_grad);
        public static Tensor ones(long dim0, long dim1, long dim2, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => ones(new[] { dim0, dim1, dim2 }, dtype, device, requires_grad);
        public static Tensor ones(long dim0, long dim1, long dim2, long dim3, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => ones(new[] { dim0, dim1, dim2, dim3 }, dtype, device, requires_grad);

        public static Tensor empty(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.EMPTY, size, dtype, device, requires_grad);
        public static Tensor empty(ReadOnlySpan<long> size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.EMPTY, size, dtype, device, requires_grad);
        public static Tensor empty(long size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => empty(new[] { size }, dtype, device, requires_grad);
        public static Tensor empty(long rows, long columns, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => empty(new[] { rows, columns }, dtype, device, requires_grad);
        public static Tensor empty(long dim0, long dim1, long dim2, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => empty(new[] { dim0, dim1, dim2 }, dtype, device, requires_grad);
        public static Tensor empty(long dim0, long dim1, long dim2, long dim3, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => empty(new[] { dim0, dim1, dim2, dim3 }, dtype, device, requires_grad);

        public static Tensor full(long[] size, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.FULL, size, dtype, device, requires_grad, stackalloc double[1] { value.Value });
        public static Tensor full(ReadOnlySpan<long> size, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => Ops.Factory(Op.FULL, size, dtype, device, requires_grad, stackalloc double[1] { value.Value });
        public static Tensor full(long size, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => full(new[] { size }, value, dtype, device, requires_grad);
        public static Tensor full(long rows, long columns, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => full(new[] { rows, columns }, value, dtype, device, requires_grad);
        public static Tensor full(long dim0, long dim1, long dim2, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => full(new[] { dim0, dim1, dim2 }, value, dtype, device, requires_grad);
        public static Tensor full(long dim0, long dim1, long dim2, long dim3, Scalar value, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => full(new[] { dim0, dim1, dim2, dim3 }, value, dtype, device, requires_grad);

        public static Tensor randn(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => Ops.Factory(Op.RANDN, size, dtype, device, requires_grad);
        public static Tensor randn(ReadOnlySpan<long> size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => Ops.Factory(Op.RANDN, size, dtype, device, requires_grad);
        public static Tensor randn(long size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => randn(new[] { size }, dtype, device, requires_grad);
        public static Tensor randn(long rows, long columns, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => randn(new[] { rows, columns }, dtype, device, requires_grad);
        public static Tensor randn(long dim0, long dim1, long dim2, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => randn(new[] { dim0, dim1, dim2 }, dtype, device, requires_grad);
        public static Tensor randn(long dim0, long dim1, long dim2, long dim3, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => randn(new[] { dim0, dim1, dim2, dim3 }, dtype, device, requires_grad);

        public static Tensor rand(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => Ops.Factory(Op.RAND, size, dtype, device, requires_grad);
        public static Tensor rand(ReadOnlySpan<long> size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => Ops.Factory(Op.RAND, size, dtype, device, requires_grad);
        public static Tensor rand(long size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => rand(new[] { size }, dtype, device, requires_grad);
        public static Tensor rand(long rows, long columns, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => rand(new[] { rows, columns }, dtype, device, requires_grad);
        public static Tensor rand(long dim0, long dim1, long dim2, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => rand(new[] { dim0, dim1, dim2 }, dtype, device, requires_grad);
        public static Tensor rand(long dim0, long dim1, long dim2, long dim3, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null) => rand(new[] { dim0, dim1, dim2, dim3 }, dtype, device, requires_grad);

        public static Tensor randint(long low, long high, long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null)
            => Ops.Factory(Op.RANDINT, size, dtype ?? ScalarType.Int64, device, requires_grad, default, stackalloc long[2] { low, high });
        public static Tensor randint(long high, long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, Generator? generator = null, string[]? names = null)
            => randint(0, high, size, dtype, device, requires_grad, generator, names);

        public static Tensor arange(Scalar start, Scalar stop, Scalar step, ScalarType? dtype = null, Device? device = null, bool requires_grad = false)
        {
            var dt = dtype ?? (IsIntegralScalar(start) && IsIntegralScalar(stop) && IsIntegralScalar(step) ? ScalarType.Int64 : get_default_dtype());
            return Ops.Factory(Op.ARANGE, ReadOnlySpan<long>.Empty, dt, device, requires_grad, stackalloc double[3] { start.Value, stop.Value, step.Value });
        }
        public static Tensor arange(Scalar start, Scalar stop, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => arange(start, stop, 1, dtype, device, requires_grad);
        public static Tensor arange(Scalar stop, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => arange(0, stop, 1, dtype, device, requires_grad);

        private static bool IsIntegralScalar(Scalar s) => s.Type is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte;

        public static Tensor eye(long rows, long columns = -1L, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null)
            => Ops.Factory(Op.EYE, ReadOnlySpan<long>.Empty, dtype, device, requires_grad, default, stackalloc long[1] { rows });

        public static Tensor zeros_like(Tensor input, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => WithOpts(Ops.T1(Op.ZEROS_LIKE, input), dtype, device, requires_grad);
        public static Tensor ones_like(Tensor input, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => WithOpts(Ops.T1(Op.ONES_LIKE, input), dtype, device, requires_grad);
        public static Tensor randn_like(Tensor input, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => WithOpts(Ops.T1(Op.RANDN_LIKE, input), dtype, device, requires_grad);

        private static Tensor WithOpts(Tensor t, ScalarType? dtype, Device? device, bool requires_grad)
        {
            if (dtype.HasValue || device is not null) {
                var r = t.to(dtype ?? t.dtype, device ?? t.device);
                t.Dispose();
                t = r;
            }
            if (requires_grad) t.requires_grad = true;
            return t;
        }

        // tensor(...) from host data
        private static unsafe Tensor FromArray<T>(T[] data, ReadOnlySpan<long> dims, ScalarType? dtype, Device? device, bool requires_grad) where T : unmanaged
        {
            var src = Tensor.TypeOf(typeof(T));
            long count = 1;
            foreach (var d in dims) count *= d;
            if (count != data.Length) throw new ArgumentException($"mismatched total size creating a tensor from an array: {data.Length} elements for shape [{string.Join(", ", dims.ToArray())}]");
            IntPtr h;
            fixed (T* p = data)
            fixed (long* pd = dims) {
                h = Native.Check(Native.st_from_data(p, (long)data.Length * sizeof(T), pd, dims.Length, (int)src, 0, -1, 0));
            }
            var t = new Tensor(h);
            if ((dtype.HasValue && dtype.Value != src) || (device is not null && device.type != DeviceType.CPU)) {
                var r = t.to(dtype ?? src, device ?? CPU);
                t.Dispose();
                t = r;
            }
            if (requires_grad) t.requires_grad = true;
            return t;
        }

        public static Tensor tensor(float[] rawArray, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, new[] { (long)rawArray.Length }, dtype, device, requires_grad);
        public static Tensor tensor(float[] rawArray, ReadOnlySpan<long> dimensions, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, dimensions, dtype, device, requires_grad);
        public static Tensor tensor(double[] rawArray, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, new[] { (long)rawArray.Length }, dtype, device, requires_grad);
        public static Tensor tensor(double[] rawArray, ReadOnlySpan<long> dimensions, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, dimensions, dtype, device, requires_grad);
        public static Tensor tensor(long[] dataArray, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(dataArray, new[] { (long)dataArray.Length }, dtype, device, requires_grad);
        public static Tensor tensor(long[] dataArray, ReadOnlySpan<long> dimensions, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(dataArray, dimensions, dtype, device, requires_grad);
        public static Tensor tensor(int[] rawArray, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, new[] { (long)rawArray.Length }, dtype, device, requires_grad);
        public static Tensor tensor(int[] rawArray, ReadOnlySpan<long> dimensions, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, dimensions, dtype, device, requires_grad);
        public static Tensor tensor(bool[] rawArray, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, new[] { (long)rawArray.Length }, dtype, device, requires_grad);
        public static Tensor tensor(bool[] rawArray, ReadOnlySpan<long> dimensions, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, dimensions, dtype, device, requires_grad);
        public static Tensor tensor(byte[] rawArray, ReadOnlySpan<long> dimensions, ScalarType? dtype = null, Device? device = null, bool requires_grad = false, string[]? names = null) => FromArray(rawArray, dimensions, dtype, device, requires_grad);
        public static Tensor tensor(float scalar, Device? device = null, bool requires_grad = false) => FromArray(new[] { scalar }, ReadOnlySpan<long>.Empty, null, device, requires_grad);
        public static Tensor tensor(double scalar, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => FromArray(new[] { scalar }, ReadOnlySpan<long>.Empty, dtype, device, requires_grad);
        public static Tensor tensor(long scalar, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => FromArray(new[] { scalar }, ReadOnlySpan<long>.Empty, dtype, device, requires_grad);
        public static Tensor tensor(int scalar, Device? device = null, bool requires_grad = false) => FromArray(new[] { scalar }, ReadOnlySpan<long>.Empty, null, device, requires_grad);
        public static Tensor tensor(bool scalar, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => FromArray(new[] { scalar }, ReadOnlySpan<long>.Empty, dtype, device, requires_grad);

        // ------------------------------------------------------------ joining / misc
        public static Tensor cat(IList<Tensor> tensors, long dim = 0) => Ops.TN(Op.CAT, tensors.ToArray(), stackalloc long[1] { dim });
        public static Tensor cat(Tensor[] tensors, long dim = 0) => Ops.TN(Op.CAT, tensors, stackalloc long[1] { dim });
        public static Tensor concat(IList<Tensor> tensors, long dim = 0) => cat(tensors, dim);
        public static Tensor stack(IEnumerable<Tensor> tensors, long dim = 0) => Ops.TN(Op.STACK, tensors.ToArray(), stackalloc long[1] { dim });

        public static unsafe Tensor einsum(string equation, params Tensor[] tensors)
        {
            var hs = tensors.Select(t => t.Handle).ToArray();
            fixed (IntPtr* p = hs) {
                var r = Native.Check(Native.st_einsum(equation, p, hs.Length));
                GC.KeepAlive(tensors);
                return new Tensor(r);
            }
        }

        public static Tensor matmul(Tensor input, Tensor target) => input.matmul(target);
        public static Tensor mm(Tensor input, Tensor target) => input.mm(target);
        public static Tensor bmm(Tensor input, Tensor batch2) => input.bmm(batch2);
        public static Tensor add(Tensor left, Tensor right) => left.add(right);
        public static Tensor add(Tensor left, Scalar right) => left.add(right);
        public static Tensor add(Tensor left, Tensor right, Scalar alpha) => left.add(right, alpha);
        public static Tensor sub(Tensor left, Tensor right) => left.sub(right);
        public static Tensor sub(Tensor left, Scalar right) => left.sub(right);
        public static Tensor mul(Tensor left, Tensor right) => left.mul(right);
        public static Tensor mul(Tensor left, Scalar right) => left.mul(right);
        public static Tensor div(Tensor left, Tensor right, RoundingMode rounding_mode = RoundingMode.None) => left.div(right, rounding_mode);
        public static Tensor div(Tensor left, Scalar right, RoundingMode rounding_mode = RoundingMode.None) => left.div(right, rounding_mode);
        public static Tensor pow(Tensor left, Tensor exponent) => left.pow(exponent);
        public static Tensor pow(Tensor left, Scalar exponent) => left.pow(exponent);
        public static Tensor sqrt(Tensor input) => input.sqrt();
        public static Tensor rsqrt(Tensor input) => input.rsqrt();
        public static Tensor exp(Tensor input) => input.exp();
        public static Tensor log(Tensor input) => input.log();
        public static Tensor abs(Tensor input) => input.abs();
        public static Tensor tanh(Tensor input) => input.tanh();
        public static Tensor sigmoid(Tensor input) => input.sigmoid();
        public static Tensor softmax(Tensor input, int dim, ScalarType? dtype = null) => input.softmax(dim, dtype);
        public static Tensor sum(Tensor input, ScalarType? type = null) => input.sum(type);
        public static Tensor mean(Tensor input) => input.mean();
        public static Tensor max(Tensor input) => input.max();
        public static Tensor amax(Tensor input, long[] dims, bool keepdim = false, Tensor? @out = null) => input.amax(dims, keepdim);
        public static Tensor argmax(Tensor input) => input.argmax();
        public static Tensor argmax(Tensor input, long dim, bool keepdim = false) => input.argmax(dim, keepdim);
        public static Tensor maximum(Tensor input, Tensor other) => input.maximum(other);
        public static Tensor minimum(Tensor input, Tensor other) => input.minimum(other);
        public static Tensor clamp(Tensor input, Scalar? min = null, Scalar? max = null) => input.clamp(min, max);
        public static Tensor where(Tensor condition, Tensor x, Tensor y) => x.where(condition, y);
        public static Tensor flatten(Tensor input, long start_dim = 0, long end_dim = -1) => input.flatten(start_dim, end_dim);
        public static Tensor reshape(Tensor input, params long[] shape) => input.reshape(shape);
        public static Tensor permute(Tensor input, params long[] permutation) => input.permute(permutation);
        public static Tensor transpose(Tensor input, long dim0, long dim1) => input.transpose(dim0, dim1);
        public static Tensor unsqueeze(Tensor input, long dim) => input.unsqueeze(dim);
        public static Tensor squeeze(Tensor input, long? dim = null) => input.squeeze(dim);
        public static Tensor narrow(Tensor input, long dim, long start, long length) => input.narrow(dim, start, length);
        public static Tensor[] split(Tensor tensor, long[] split_size_or_sections, long dim = 0L) => tensor.split(split_size_or_sections, dim);
        public static Tensor[] chunk(Tensor input, long chunks, long dim = 0L) => input.chunk(chunks, dim);
        public static Tensor clone(Tensor input) => input.clone();
        public static Tensor eq(Tensor left, Tensor right) => left.eq(right);
        public static bool allclose(Tensor tensor, Tensor target, double rtol = 1e-05, double atol = 1e-08, bool equal_nan = false)
        {
            using var scope = NewDisposeScope();
            using var d = (tensor - target).abs();
            using var tol = target.abs().mul(rtol).add(atol);
            return d.le(tol).all().ToBoolean();
        }
    }
}
