using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using Torchwright.SystemTorch;

namespace TorchSharp
{
    public static partial class torch
    {
        public enum RoundingMode
        {
            None,
            trunc,
            floor
        }

        /// <summary>A tensor: a managed wrapper over a libtorch tensor handle.</summary>
        public partial class Tensor : IDisposable
        {
            internal IntPtr handle;

            internal Tensor(IntPtr handle)
            {
                this.handle = handle;
                ScopeManager.Register(this);
            }

            internal Tensor(IntPtr handle, bool register)
            {
                this.handle = handle;
                if (register) ScopeManager.Register(this);
            }

            ~Tensor() => Dispose(false);

            public void Dispose()
            {
                OwningDisposeScope?.MarkAsDisposed(this);
                Dispose(true);
                GC.SuppressFinalize(this);
            }

            protected virtual void Dispose(bool disposing)
            {
                var h = handle;
                handle = IntPtr.Zero;
                if (h != IntPtr.Zero) Native.st_free(h);
            }

            public bool IsInvalid => handle == IntPtr.Zero;

            public IntPtr Handle {
                get {
                    if (handle == IntPtr.Zero) throw new InvalidOperationException("Tensor invalid -- empty handle.");
                    return handle;
                }
            }

            internal DisposeScope? OwningDisposeScope { get; set; }

            internal IntPtr MoveHandle()
            {
                var h = handle;
                handle = IntPtr.Zero;
                OwningDisposeScope?.MarkAsDisposed(this);
                GC.SuppressFinalize(this);
                return h;
            }

            public Tensor MoveToOuterDisposeScope()
            {
                OwningDisposeScope?.MoveToOuter(this);
                return this;
            }

            public Tensor DetachFromDisposeScope()
            {
                OwningDisposeScope?.Detach(this);
                return this;
            }

            // ------------------------------------------------------------ properties
            public long Dimensions => Native.Check(K(Native.st_ndim(Handle)));
            public long dim() => Dimensions;
            public long ndim => Dimensions;
            public long NumberOfElements => Native.Check(K(Native.st_numel(Handle)));
            public long numel() => NumberOfElements;
            public long ElementSize => ElementSizeOf(dtype);
            public long element_size() => ElementSize;
            public bool is_integral() => torch.is_integral(dtype);
            public bool is_floating_point() => torch.is_floating_point(dtype);

            public unsafe long[] shape {
                get {
                    long* buf = stackalloc long[16];
                    int n = Native.Check(K(Native.st_shape(Handle, buf, 16)));
                    var r = new long[n];
                    if (n <= 16) {
                        for (int i = 0; i < n; i++) r[i] = buf[i];
                    } else {
                        fixed (long* p = r) Native.Check(K(Native.st_shape(Handle, p, n)));
                    }
                    return r;
                }
            }

            public long size(int dim)
            {
                var s = shape;
                var d = dim < 0 ? dim + s.Length : dim;
                if (d < 0 || d >= s.Length) throw new IndexOutOfRangeException($"Dimension out of range (expected to be in range of [{-s.Length}, {s.Length - 1}], but got {dim})");
                return s[d];
            }

            public long[] size() => shape;

            public ScalarType dtype => (ScalarType)Native.Check(K(Native.st_dtype(Handle)));

            public unsafe Device device {
                get {
                    int idx;
                    var t = Native.Check(K(Native.st_device(Handle, &idx)));
                    return new Device((DeviceType)t, idx);
                }
            }

            public unsafe int device_index {
                get { int idx; Native.Check(K(Native.st_device(Handle, &idx))); return idx; }
            }

            public unsafe DeviceType device_type {
                get { int idx; return (DeviceType)Native.Check(K(Native.st_device(Handle, &idx))); }
            }

            public bool is_cuda => device_type == DeviceType.CUDA;

            public bool is_leaf => Native.Check(K(Native.st_is_leaf(Handle))) != 0;

            // ------------------------------------------------------------ autograd
            public bool requires_grad {
                get => Native.Check(K(Native.st_requires_grad(Handle))) != 0;
                set => Native.Check(K(Native.st_set_requires_grad(Handle, value ? 1 : 0)));
            }

            public Tensor requires_grad_(bool requires_grad = true)
            {
                this.requires_grad = requires_grad;
                return this;
            }

            public void retain_grad() => Native.Check(K(Native.st_retain_grad(Handle)));

            public Tensor with_requires_grad(bool requires_grad = true)
            {
                this.requires_grad = requires_grad;
                return this;
            }

            public unsafe Tensor? grad {
                get {
                    IntPtr g;
                    var rc = Native.Check(K(Native.st_grad(Handle, &g)));
                    return rc == 0 ? null : new Tensor(g);
                }
                set {
                    Native.Check(K(Native.st_set_grad(Handle, value is null ? IntPtr.Zero : value.Handle)));
                    GC.KeepAlive(value);
                }
            }

            public void backward() => Native.Check(K(Native.st_backward(Handle, IntPtr.Zero, 0, 0)));

            public void backward(IList<Tensor>? grad_tensors = null, bool retain_graph = false, bool create_graph = false, IList<Tensor>? inputs = null)
            {
                if (inputs is not null) throw new NotSupportedException("SystemTorch: backward(inputs: ...) is not supported.");
                var g = grad_tensors is { Count: > 0 } ? grad_tensors[0].Handle : IntPtr.Zero;
                Native.Check(K(Native.st_backward(Handle, g, retain_graph ? 1 : 0, create_graph ? 1 : 0)));
                GC.KeepAlive(grad_tensors);
            }

            // ------------------------------------------------------------ data access
            private static long ElementSizeOf(ScalarType t) => t switch {
                ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
                ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
                ScalarType.Int32 or ScalarType.Float32 => 4,
                _ => 8,
            };

            internal static ScalarType TypeOf(Type t)
            {
                if (t == typeof(float)) return ScalarType.Float32;
                if (t == typeof(double)) return ScalarType.Float64;
                if (t == typeof(long)) return ScalarType.Int64;
                if (t == typeof(int)) return ScalarType.Int32;
                if (t == typeof(short)) return ScalarType.Int16;
                if (t == typeof(byte)) return ScalarType.Byte;
                if (t == typeof(sbyte)) return ScalarType.Int8;
                if (t == typeof(bool)) return ScalarType.Bool;
                if (t == typeof(Half)) return ScalarType.Float16;
                throw new ArgumentException($"{t.Name} is not a supported element type");
            }

            internal unsafe T[] CopyOut<T>() where T : unmanaged
            {
                if (TypeOf(typeof(T)) != dtype) throw new ArgumentException($"{typeof(T).Name} is not compatible with {dtype}");
                var arr = new T[NumberOfElements];
                fixed (T* p = arr) Native.Check(K(Native.st_copy_out(Handle, p, (long)arr.Length * sizeof(T))));
                return arr;
            }

            public Utils.TensorAccessor<T> data<T>() where T : unmanaged => new Utils.TensorAccessor<T>(CopyOut<T>());

            public unsafe T item<T>() where T : unmanaged
            {
                if (NumberOfElements != 1) throw new ArgumentException("Number of elements in the tensor must be 1");
                if (TypeOf(typeof(T)) != dtype) throw new ArgumentException($"{typeof(T).Name} is not compatible with {dtype}");
                return CopyOut<T>()[0];
            }

            private unsafe double ItemDouble()
            {
                double d; long l;
                Native.Check(K(Native.st_item(Handle, &d, &l)));
                return d;
            }

            internal double ItemAsDouble() => ItemDouble();
            internal unsafe long ItemAsInt64() { double d; long l; Native.Check(K(Native.st_item(Handle, &d, &l))); return l; }

            public static explicit operator float(Tensor value) => value.ToSingle();
            public static explicit operator double(Tensor value) => value.ToDouble();
            public static explicit operator long(Tensor value) => value.ToInt64();
            public static explicit operator int(Tensor value) => value.ToInt32();
            public static explicit operator bool(Tensor value) => value.ToBoolean();

            public override string ToString()
            {
                if (handle == IntPtr.Zero) return "Tensor (disposed)";
                var s = shape;
                return $"[{string.Join("x", s.Select(x => x.ToString(CultureInfo.InvariantCulture)))}], type = {dtype}, device = {device}";
            }

            // ------------------------------------------------------------ conversion
            private Tensor ToImpl(long dtype, long devtype, long devidx, bool copy, bool disposeAfter, bool non_blocking)
            {
                Span<long> ia = stackalloc long[5] { dtype, devtype, devidx, copy ? 1 : 0, non_blocking ? 1 : 0 };
                var r = Ops.T1(Op.TO, this, ia);
                if (disposeAfter && !ReferenceEquals(r, this)) Dispose();
                return r;
            }

            public Tensor cpu() => ToImpl(-1, 0, -1, false, false, false);
            public Tensor cuda(Device? device = null, bool non_blocking = false) => ToImpl(-1, 1, device?.index ?? -1, false, false, non_blocking);
            public Tensor to_type(ScalarType type, bool copy = false, bool disposeAfter = false, bool non_blocking = false) => ToImpl((long)type, -1, -1, copy, disposeAfter, non_blocking);
            public Tensor type_as(Tensor tensor) => to_type(tensor.dtype);
            public Tensor to(DeviceType deviceType, int deviceIndex = -1, bool copy = false, bool disposeAfter = false, bool non_blocking = false) => ToImpl(-1, (long)deviceType, deviceIndex, copy, disposeAfter, non_blocking);
            public Tensor to(ScalarType type, torch.Device device, bool copy = false, bool disposeAfter = false, bool non_blocking = false) => ToImpl((long)type, (long)device.type, device.index, copy, disposeAfter, non_blocking);
            public Tensor to(ScalarType type, bool copy = false, bool disposeAfter = false, bool non_blocking = false) => to_type(type, copy, disposeAfter, non_blocking);
            public Tensor to(string device, bool copy = false, bool disposeAfter = false, bool non_blocking = false) => to(new torch.Device(device), copy, disposeAfter, non_blocking);
            public Tensor to(torch.Device device, bool copy = false, bool disposeAfter = false, bool non_blocking = false) => to(device.type, device.index, copy, disposeAfter, non_blocking);
            public Tensor to(Tensor other, bool non_blocking = false) => to(other.dtype, other.device, non_blocking);
            public Tensor type(ScalarType dtype) => to(dtype);
            public Tensor @float() => to_type(ScalarType.Float32);
            public Tensor @double() => to_type(ScalarType.Float64);
            public Tensor half() => to_type(ScalarType.Float16);
            public Tensor bfloat16() => to_type(ScalarType.BFloat16);
            public Tensor @long() => to_type(ScalarType.Int64);
            public Tensor @int() => to_type(ScalarType.Int32);
            public Tensor @bool() => to_type(ScalarType.Bool);

            // ------------------------------------------------------------ pointwise
            public Tensor add(Tensor target) => new Tensor(Native.Check(K(Native.st_add(Handle, target.Handle), target)));
            public Tensor add(Tensor target, Scalar alpha) => Ops.T2(Op.ADD, this, target, default, stackalloc double[1] { alpha.Value });
            public Tensor add(Scalar scalar) => Ops.T1(Op.ADDS, this, default, stackalloc double[2] { scalar.Value, 1 });
            public Tensor add(Scalar scalar, Scalar alpha) => Ops.T1(Op.ADDS, this, default, stackalloc double[2] { scalar.Value, alpha.Value });
            public Tensor add_(Tensor target) => Ops.I2(Op.ADD_, this, target);
            public Tensor add_(Tensor target, Scalar alpha) => Ops.I2(Op.ADD_, this, target, default, stackalloc double[1] { alpha.Value });
            public Tensor add_(Scalar scalar) => Ops.I1(Op.ADDS_, this, default, stackalloc double[2] { scalar.Value, 1 });
            public Tensor add_(Scalar scalar, Scalar alpha) => Ops.I1(Op.ADDS_, this, default, stackalloc double[2] { scalar.Value, alpha.Value });
            public Tensor sub(Tensor target) => Ops.T2(Op.SUB, this, target);
            public Tensor sub(Scalar target) => Ops.T1(Op.SUBS, this, default, stackalloc double[2] { target.Value, 1 });
            public Tensor sub_(Tensor target) => Ops.I2(Op.SUB_, this, target);
            public Tensor sub_(Scalar target) => Ops.I1(Op.SUBS_, this, default, stackalloc double[2] { target.Value, 1 });
            public Tensor mul(Tensor target) => new Tensor(Native.Check(K(Native.st_mul(Handle, target.Handle), target)));
            public Tensor mul(Scalar target) => Ops.T1(Op.MULS, this, default, stackalloc double[1] { target.Value });
            public Tensor mul_(Tensor target) => Ops.I2(Op.MUL_, this, target);
            public Tensor mul_(Scalar target) => Ops.I1(Op.MULS_, this, default, stackalloc double[1] { target.Value });
            public Tensor div(Tensor target, RoundingMode rounding_mode = RoundingMode.None) => Ops.T2(Op.DIV, this, target, stackalloc long[1] { (long)rounding_mode });
            public Tensor div(Scalar target, RoundingMode rounding_mode = RoundingMode.None)
            {
                if (rounding_mode == RoundingMode.None) return Ops.T1(Op.DIVS, this, default, stackalloc double[1] { target.Value });
                using var t = torch.tensor(target.Value, dtype, device);
                return div(t, rounding_mode);
            }
            public Tensor div_(Tensor target, RoundingMode rounding_mode = RoundingMode.None) => Ops.I2(Op.DIV_, this, target);
            public Tensor div_(Scalar target, RoundingMode rounding_mode = RoundingMode.None) => Ops.I1(Op.DIVS_, this, default, stackalloc double[1] { target.Value });
            public Tensor neg() => Ops.T1(Op.NEG, this);
            public Tensor negative() => neg();
            public Tensor pow(Tensor exponent) => Ops.T2(Op.POW, this, exponent);
            public Tensor pow(Scalar exponent) => Ops.T1(Op.POWS, this, default, stackalloc double[1] { exponent.Value });
            public Tensor pow_(Scalar exponent) => Ops.I1(Op.POW_S_, this, default, stackalloc double[1] { exponent.Value });
            public Tensor sqrt() => Ops.T1(Op.SQRT, this);
            public Tensor sqrt_() => Ops.I1(Op.SQRT_, this);
            public Tensor rsqrt() => Ops.T1(Op.RSQRT, this);
            public Tensor square() => Ops.T1(Op.SQUARE, this);
            public Tensor exp() => Ops.T1(Op.EXP, this);
            public Tensor log() => Ops.T1(Op.LOG, this);
            public Tensor abs() => Ops.T1(Op.ABS, this);
            public Tensor tanh() => Ops.T1(Op.TANH, this);
            public Tensor sin() => Ops.T1(Op.SIN, this);
            public Tensor cos() => Ops.T1(Op.COS, this);
            public Tensor erf() => Ops.T1(Op.ERF, this);
            public Tensor floor() => Ops.T1(Op.FLOOR, this);
            public Tensor ceil() => Ops.T1(Op.CEIL, this);
            public Tensor round(long decimals = 0L) => decimals == 0 ? Ops.T1(Op.ROUND, this) : throw new NotSupportedException("SystemTorch: round(decimals) is not supported.");
            public Tensor sign() => Ops.T1(Op.SIGN, this);
            public Tensor reciprocal() => Ops.T1(Op.RECIPROCAL, this);
            public Tensor logical_not() => Ops.T1(Op.LOGICAL_NOT, this);
            public Tensor isnan() => Ops.T1(Op.ISNAN, this);
            public Tensor sigmoid() => Ops.T1(Op.SIGMOID, this);
            public Tensor sigmoid_() => Ops.I1(Op.SIGMOID_, this);
            public Tensor relu() => new Tensor(Native.Check(K(Native.st_relu(Handle))));
            public Tensor relu_() => Ops.I1(Op.RELU_, this);
            public Tensor silu() => Ops.T1(Op.SILU, this);
            public Tensor silu_() => Ops.I1(Op.SILU_, this);
            public Tensor gelu() => Ops.T1(Op.GELU, this);
            public Tensor softmax(long dim, ScalarType? dtype = null) => Ops.T1(Op.SOFTMAX, this, stackalloc long[2] { dim, dtype.HasValue ? (long)dtype.Value : -1 });
            public Tensor log_softmax(long dim, ScalarType? dtype = null) => Ops.T1(Op.LOG_SOFTMAX, this, stackalloc long[2] { dim, dtype.HasValue ? (long)dtype.Value : -1 });
            public Tensor maximum(Tensor other) => Ops.T2(Op.MAXIMUM, this, other);
            public Tensor minimum(Tensor other) => Ops.T2(Op.MINIMUM, this, other);
            public Tensor erfinv_() => Ops.I1(Op.ERFINV_, this);
            public Tensor clamp(Scalar? min = null, Scalar? max = null) => Ops.T1(Op.CLAMP, this, stackalloc long[2] { min is null ? 0 : 1, max is null ? 0 : 1 }, stackalloc double[2] { min?.Value ?? 0, max?.Value ?? 0 });
            public Tensor clamp_(Scalar? min = null, Scalar? max = null) => Ops.I1(Op.CLAMP_, this, stackalloc long[2] { min is null ? 0 : 1, max is null ? 0 : 1 }, stackalloc double[2] { min?.Value ?? 0, max?.Value ?? 0 });
            public Tensor clip(Scalar? min = null, Scalar? max = null) => clamp(min, max);
            public Tensor addcmul_(Tensor tensor1, Tensor tensor2, Scalar value) => Ops.IN(Op.ADDCMUL_, new[] { this, tensor1, tensor2 }, default, stackalloc double[1] { value.Value });
            public Tensor addcdiv_(Tensor tensor1, Tensor tensor2, Scalar value) => Ops.IN(Op.ADDCDIV_, new[] { this, tensor1, tensor2 }, default, stackalloc double[1] { value.Value });
            internal Tensor lerp_(Tensor end, Scalar weight) => Ops.I2(Op.LERP_, this, end, default, stackalloc double[1] { weight.Value });

            public Tensor eq(Tensor target) => Ops.T2(Op.EQ, this, target);
            public Tensor eq(Scalar target) => Ops.T1(Op.EQS, this, default, stackalloc double[1] { target.Value });
            public Tensor ne(Tensor target) => Ops.T2(Op.NE, this, target);
            public Tensor ne(Scalar target) => Ops.T1(Op.NES, this, default, stackalloc double[1] { target.Value });
            public Tensor lt(Tensor target) => Ops.T2(Op.LT, this, target);
            public Tensor lt(Scalar target) => Ops.T1(Op.LTS, this, default, stackalloc double[1] { target.Value });
            public Tensor le(Tensor target) => Ops.T2(Op.LE, this, target);
            public Tensor le(Scalar target) => Ops.T1(Op.LES, this, default, stackalloc double[1] { target.Value });
            public Tensor gt(Tensor target) => Ops.T2(Op.GT, this, target);
            public Tensor gt(Scalar target) => Ops.T1(Op.GTS, this, default, stackalloc double[1] { target.Value });
            public Tensor ge(Tensor target) => Ops.T2(Op.GE, this, target);
            public Tensor ge(Scalar target) => Ops.T1(Op.GES, this, default, stackalloc double[1] { target.Value });
            public Tensor masked_fill(Tensor mask, Scalar value) => Ops.T2(Op.MASKED_FILL, this, mask, default, stackalloc double[1] { value.Value });
            public Tensor masked_fill_(Tensor mask, Scalar value) => Ops.I2(Op.MASKED_FILL_, this, mask, default, stackalloc double[1] { value.Value });
            public Tensor where(Tensor condition, Tensor y) => Ops.TN(Op.WHERE, new[] { condition, this, y });

            // ------------------------------------------------------------ linear algebra
            public Tensor matmul(Tensor target) => new Tensor(Native.Check(K(Native.st_matmul(Handle, target.Handle), target)));
            public Tensor mm(Tensor target) => Ops.T2(Op.MM, this, target);
            public Tensor bmm(Tensor batch2) => Ops.T2(Op.BMM, this, batch2);

            // ------------------------------------------------------------ shape
            public Tensor view(params long[] shape) => Ops.T1(Op.VIEW, this, shape);
            public Tensor reshape(params long[] shape) => Ops.T1(Op.RESHAPE, this, shape);
            public Tensor permute(params long[] permutation) => Ops.T1(Op.PERMUTE, this, permutation);
            public Tensor expand(params long[] sizes) => Ops.T1(Op.EXPAND, this, sizes);
            public Tensor expand(long[] sizes, bool isImplicit = false) => Ops.T1(Op.EXPAND, this, sizes);
            public Tensor expand_as(Tensor other) => expand(other.shape);
            public Tensor view_as(Tensor other) => view(other.shape);
            public Tensor repeat(params long[] sizes) => Ops.T1(Op.REPEAT, this, sizes);
            public Tensor flatten(long start_dim = 0, long end_dim = -1) => Ops.T1(Op.FLATTEN, this, stackalloc long[2] { start_dim, end_dim });
            public Tensor unsqueeze(long dim) => Ops.T1(Op.UNSQUEEZE, this, stackalloc long[1] { dim });
            public Tensor squeeze(long? dim = null) => dim.HasValue ? Ops.T1(Op.SQUEEZE, this, stackalloc long[1] { dim.Value }) : Ops.T1(Op.SQUEEZE_ALL, this);
            public Tensor transpose(long dim0, long dim1) => Ops.T1(Op.TRANSPOSE, this, stackalloc long[2] { dim0, dim1 });
            public Tensor swapaxes(long dim0, long dim1) => transpose(dim0, dim1);
            public Tensor swapdims(long dim0, long dim1) => transpose(dim0, dim1);
            public Tensor t() => transpose(0, 1);
            public Tensor T => permute(Enumerable.Range(0, (int)ndim).Reverse().Select(i => (long)i).ToArray());
            public Tensor mT => transpose(-2, -1);
            public Tensor narrow(long dim, long start, long length) => Ops.T1(Op.NARROW, this, stackalloc long[3] { dim, start, length });
            public Tensor select(long dim, long index) => Ops.T1(Op.SELECT, this, stackalloc long[2] { dim, index });
            public Tensor tril(long diagonal = 0) => Ops.T1(Op.TRIL, this, stackalloc long[1] { diagonal });
            public Tensor triu(long diagonal = 0) => Ops.T1(Op.TRIU, this, stackalloc long[1] { diagonal });
            public Tensor contiguous() => Ops.T1(Op.CONTIGUOUS, this);
            public Tensor clone() => Ops.T1(Op.CLONE, this);
            public Tensor detach() => Ops.T1(Op.DETACH, this);
            public Tensor detach_() => Ops.I1(Op.DETACH_, this);
            public Tensor alias() => Ops.T1(Op.ALIAS, this);
            public Tensor copy_(Tensor source, bool nonBlocking = false) => Ops.I2(Op.COPY_, this, source, stackalloc long[1] { nonBlocking ? 1 : 0 });
            public Tensor index_select(long dim, Tensor index) => Ops.T2(Op.INDEX_SELECT, this, index, stackalloc long[1] { dim });
            public Tensor gather(long dim, Tensor index) => Ops.T2(Op.GATHER, this, index, stackalloc long[1] { dim });

            public Tensor[] split(long size, int dim = 0) => Ops.Multi(Op.SPLIT_SIZE, new[] { this }, stackalloc long[2] { size, dim }, default, SplitMax(size, dim));
            public Tensor[] split(long[] sizes, long dim = 0)
            {
                var ia = new long[sizes.Length + 1];
                ia[0] = dim; sizes.CopyTo(ia, 1);
                return Ops.Multi(Op.SPLIT_SIZES, new[] { this }, ia, default, sizes.Length);
            }
            public Tensor[] split(params long[] sizes) => split(sizes, 0);
            public Tensor[] chunk(long chunks, long dim = 0L) => Ops.Multi(Op.CHUNK, new[] { this }, stackalloc long[2] { chunks, dim }, default, (int)Math.Max(1, Math.Min(chunks, 1 << 20)));

            private int SplitMax(long size, long dim)
            {
                if (size <= 0) return 1;
                var s = shape;
                var d = dim < 0 ? dim + s.Length : dim;
                if (d < 0 || d >= s.Length) return 1;
                return (int)Math.Max(1, (s[d] + size - 1) / size);
            }

            // ------------------------------------------------------------ reductions
            public Tensor sum(ScalarType? type = null) => Ops.T1(Op.SUM_ALL, this, stackalloc long[1] { type.HasValue ? (long)type.Value : -1 });
            public Tensor sum(long[] dim, bool keepdim = false, ScalarType? type = null) => Reduce(Op.SUM, dim, keepdim, type);
            public Tensor sum(long dim, bool keepdim = false, ScalarType? type = null) => Reduce(Op.SUM, new[] { dim }, keepdim, type);
            public Tensor sum(long dim0, long dim1, bool keepdim = false, ScalarType? type = null) => Reduce(Op.SUM, new[] { dim0, dim1 }, keepdim, type);
            public Tensor mean() => Ops.T1(Op.MEAN_ALL, this, stackalloc long[1] { -1 });
            public Tensor mean(long[] dimensions, bool keepdim = false, ScalarType? type = null) => Reduce(Op.MEAN, dimensions, keepdim, type);

            private Tensor Reduce(Op op, long[] dims, bool keepdim, ScalarType? type)
            {
                var ia = new long[dims.Length + 2];
                ia[0] = type.HasValue ? (long)type.Value : -1; ia[1] = keepdim ? 1 : 0;
                dims.CopyTo(ia, 2);
                return Ops.T1(op, this, ia);
            }

            private Tensor KeepReduce(Op op, long[] dims, bool keepdim)
            {
                var ia = new long[dims.Length + 1];
                ia[0] = keepdim ? 1 : 0; dims.CopyTo(ia, 1);
                return Ops.T1(op, this, ia);
            }

            public Tensor amax(long[] dims, bool keepdim = false, Tensor? @out = null) => KeepReduce(Op.AMAX, dims, keepdim);
            public Tensor amax(params long[] dims) => KeepReduce(Op.AMAX, dims, false);
            public Tensor amin(long[] dims, bool keepdim = false, Tensor? @out = null) => KeepReduce(Op.AMIN, dims, keepdim);
            public Tensor amin(params long[] dims) => KeepReduce(Op.AMIN, dims, false);
            public Tensor logsumexp(long dim, bool keepdim = false) => KeepReduce(Op.LOGSUMEXP, new[] { dim }, keepdim);
            public Tensor max() => Ops.T1(Op.MAX_ALL, this);
            public Tensor max(Tensor other) => maximum(other);
            public (Tensor values, Tensor indexes) max(long dim, bool keepdim = false)
            {
                var r = Ops.Multi(Op.MAX_DIM, new[] { this }, stackalloc long[2] { dim, keepdim ? 1 : 0 });
                return (r[0], r[1]);
            }
            public Tensor min() => Ops.T1(Op.MIN_ALL, this);
            public Tensor min(Tensor other) => minimum(other);
            public (Tensor values, Tensor indexes) min(long dim, bool keepdim = false)
            {
                var r = Ops.Multi(Op.MIN_DIM, new[] { this }, stackalloc long[2] { dim, keepdim ? 1 : 0 });
                return (r[0], r[1]);
            }
            public Tensor argmax() => Ops.T1(Op.ARGMAX, this, stackalloc long[3] { 0, 0, 0 });
            public Tensor argmax(long dim, bool keepdim = false) => Ops.T1(Op.ARGMAX, this, stackalloc long[3] { 1, dim, keepdim ? 1 : 0 });
            public Tensor argmin() => Ops.T1(Op.ARGMIN, this, stackalloc long[3] { 0, 0, 0 });
            public Tensor argmin(long dim, bool keepdim = false) => Ops.T1(Op.ARGMIN, this, stackalloc long[3] { 1, dim, keepdim ? 1 : 0 });
            public Tensor var(bool unbiased = true) => Ops.T1(Op.VAR, this, stackalloc long[2] { unbiased ? 1 : 0, 0 });
            public Tensor std(bool unbiased = true) => Ops.T1(Op.STD, this, stackalloc long[2] { unbiased ? 1 : 0, 0 });
            public Tensor var(long[] dimensions, bool unbiased = true, bool keepdim = false, ScalarType? type = null) => VarStd(Op.VAR, dimensions, unbiased, keepdim);
            public Tensor std(long[] dimensions, bool unbiased = true, bool keepdim = false, ScalarType? type = null) => VarStd(Op.STD, dimensions, unbiased, keepdim);
            public Tensor var(long dim, bool unbiased = true, bool keepdim = false, ScalarType? type = null) => VarStd(Op.VAR, new[] { dim }, unbiased, keepdim);
            public Tensor std(long dim, bool unbiased = true, bool keepdim = false, ScalarType? type = null) => VarStd(Op.STD, new[] { dim }, unbiased, keepdim);
            private Tensor VarStd(Op op, long[] dims, bool unbiased, bool keepdim)
            {
                var ia = new long[dims.Length + 2];
                ia[0] = unbiased ? 1 : 0; ia[1] = keepdim ? 1 : 0; dims.CopyTo(ia, 2);
                return Ops.T1(op, this, ia);
            }
            public (Tensor values, Tensor indexes) topk(int k, int dim = -1, bool largest = true, bool sorted = true)
            {
                var r = Ops.Multi(Op.TOPK, new[] { this }, stackalloc long[4] { k, dim, largest ? 1 : 0, sorted ? 1 : 0 });
                return (r[0], r[1]);
            }
            public (Tensor Values, Tensor Indices) sort(long dim = -1, bool descending = false, bool stable = false)
            {
                var r = Ops.Multi(Op.SORT, new[] { this }, stackalloc long[3] { dim, descending ? 1 : 0, stable ? 1 : 0 });
                return (r[0], r[1]);
            }
            public Tensor cumsum(long dim, ScalarType? type = null) => Ops.T1(Op.CUMSUM, this, stackalloc long[1] { dim });
            public Tensor all() => Ops.T1(Op.ALL, this);
            public Tensor any() => Ops.T1(Op.ANY, this);
            public Tensor norm(float p = 2.0f) => Ops.T1(Op.NORM, this, default, stackalloc double[1] { p });

            // ------------------------------------------------------------ in-place fills / random
            public Tensor zero_() => Ops.I1(Op.ZERO_, this);
            public Tensor fill_(Scalar value) => Ops.I1(Op.FILL_, this, default, stackalloc double[1] { value.Value });
            public Tensor uniform_(double from, double to, torch.Generator? generator = null) => Ops.I1(Op.UNIFORM_, this, default, stackalloc double[2] { from, to });
            public Tensor normal_(double mean = 0.0, double std = 1.0, torch.Generator? generator = null) => Ops.I1(Op.NORMAL_, this, default, stackalloc double[2] { mean, std });

            // ------------------------------------------------------------ indexing
            [System.Runtime.CompilerServices.IndexerName("TensorItems")]
            public Tensor this[params TensorIndex[] indices] {
                get => Index(indices);
                set => IndexPut(indices, value, 0);
            }

            [System.Runtime.CompilerServices.IndexerName("TensorItems")]
            public Tensor this[params Tensor[] indices] {
                get => Index(indices.Select(TensorIndex.Tensor).ToArray());
                set => IndexPut(indices.Select(TensorIndex.Tensor).ToArray(), value, 0);
            }

            [System.Runtime.CompilerServices.IndexerName("TensorItems")]
            public Tensor this[long i1] {
                get => Index(new TensorIndex[] { i1 });
                set => IndexPut(new TensorIndex[] { i1 }, value, 0);
            }

            [System.Runtime.CompilerServices.IndexerName("TensorItems")]
            public Tensor this[long i1, long i2] {
                get => Index(new TensorIndex[] { i1, i2 });
                set => IndexPut(new TensorIndex[] { i1, i2 }, value, 0);
            }

            [System.Runtime.CompilerServices.IndexerName("TensorItems")]
            public Tensor this[long i1, long i2, long i3] {
                get => Index(new TensorIndex[] { i1, i2, i3 });
                set => IndexPut(new TensorIndex[] { i1, i2, i3 }, value, 0);
            }

            [System.Runtime.CompilerServices.IndexerName("TensorItems")]
            public Tensor this[long i1, long i2, long i3, long i4] {
                get => Index(new TensorIndex[] { i1, i2, i3, i4 });
                set => IndexPut(new TensorIndex[] { i1, i2, i3, i4 }, value, 0);
            }

            public Tensor index(params TensorIndex[] indices) => Index(indices);

            public Tensor index_put_(Tensor value, params TensorIndex[] indices)
            {
                IndexPut(indices, value, 0);
                return this;
            }

            public Tensor index_put_(Scalar value, params TensorIndex[] indices)
            {
                IndexPut(indices, null, value.Value);
                return this;
            }

            private static void Encode(TensorIndex[] indices, long[] spec, List<Tensor> tensors)
            {
                for (int i = 0; i < indices.Length; i++) {
                    var ix = indices[i];
                    int o = 5 * i;
                    switch (ix.kind) {
                    case TensorIndex.Kind.Single: spec[o] = 0; spec[o + 1] = ix.startIndexOrBoolOrSingle ?? 0; break;
                    case TensorIndex.Kind.Slice:
                        spec[o] = 1;
                        spec[o + 1] = ix.startIndexOrBoolOrSingle ?? 0;
                        spec[o + 2] = ix.stopIndex ?? 0;
                        spec[o + 3] = ix.step ?? 1;
                        spec[o + 4] = (ix.startIndexOrBoolOrSingle.HasValue ? 1 : 0) | (ix.stopIndex.HasValue ? 2 : 0) | (ix.step.HasValue ? 4 : 0);
                        break;
                    case TensorIndex.Kind.None: spec[o] = 2; break;
                    case TensorIndex.Kind.Null: spec[o] = 2; break;
                    case TensorIndex.Kind.Ellipsis: spec[o] = 3; break;
                    case TensorIndex.Kind.Bool: spec[o] = 5; spec[o + 1] = ix.startIndexOrBoolOrSingle ?? 0; break;
                    case TensorIndex.Kind.Tensor: spec[o] = 4; tensors.Add(ix.tensor!); break;
                    }
                }
            }

            private unsafe Tensor Index(TensorIndex[] indices)
            {
                var spec = new long[indices.Length * 5];
                var ts = new List<Tensor>();
                Encode(indices, spec, ts);
                var hs = ts.Select(t => t.Handle).ToArray();
                fixed (long* ps = spec)
                fixed (IntPtr* ph = hs) {
                    var r = Native.Check(K(Native.st_index(Handle, ps, indices.Length, ph, hs.Length)));
                    GC.KeepAlive(ts);
                    return new Tensor(r);
                }
            }

            private unsafe void IndexPut(TensorIndex[] indices, Tensor? value, double scalar)
            {
                var spec = new long[indices.Length * 5];
                var ts = new List<Tensor>();
                Encode(indices, spec, ts);
                var hs = ts.Select(t => t.Handle).ToArray();
                fixed (long* ps = spec)
                fixed (IntPtr* ph = hs) {
                    Native.Check(K(Native.st_index_put(Handle, ps, indices.Length, ph, hs.Length, value is null ? IntPtr.Zero : value.Handle, scalar)));
                }
                GC.KeepAlive(ts); GC.KeepAlive(value);
            }

            /// <summary>Keeps this tensor (and its native handle) alive until the native call that produced v returned.</summary>
            private TValue K<TValue>(TValue v)
            {
                GC.KeepAlive(this);
                return v;
            }

            private TValue K<TValue>(TValue v, Tensor other)
            {
                GC.KeepAlive(this);
                GC.KeepAlive(other);
                return v;
            }

            // ------------------------------------------------------------ operators
            public static Tensor operator +(Tensor left, Tensor right) => left.add(right);
            public static Tensor operator +(Tensor left, Scalar right) => left.add(right);
            public static Tensor operator +(Scalar left, Tensor right) => right.add(left);
            public static Tensor operator +(Tensor left, int right) => left.add(right);
            public static Tensor operator +(Tensor left, long right) => left.add(right);
            public static Tensor operator +(Tensor left, float right) => left.add(right);
            public static Tensor operator +(Tensor left, double right) => left.add(right);
            public static Tensor operator +(int left, Tensor right) => right.add(left);
            public static Tensor operator +(long left, Tensor right) => right.add(left);
            public static Tensor operator +(float left, Tensor right) => right.add(left);
            public static Tensor operator +(double left, Tensor right) => right.add(left);
            public static Tensor operator *(Tensor left, Tensor right) => left.mul(right);
            public static Tensor operator *(Tensor left, Scalar right) => left.mul(right);
            public static Tensor operator *(Scalar left, Tensor right) => right.mul(left);
            public static Tensor operator *(Tensor left, int right) => left.mul(right);
            public static Tensor operator *(Tensor left, long right) => left.mul(right);
            public static Tensor operator *(Tensor left, float right) => left.mul(right);
            public static Tensor operator *(Tensor left, double right) => left.mul(right);
            public static Tensor operator *(int left, Tensor right) => right.mul(left);
            public static Tensor operator *(long left, Tensor right) => right.mul(left);
            public static Tensor operator *(float left, Tensor right) => right.mul(left);
            public static Tensor operator *(double left, Tensor right) => right.mul(left);
            public static Tensor operator -(Tensor left, Tensor right) => left.sub(right);
            public static Tensor operator -(Tensor left, Scalar right) => left.sub(right);
            public static Tensor operator -(Scalar left, Tensor right) => Ops.T1(Op.RSUB, right, default, stackalloc double[1] { left.Value });
            public static Tensor operator -(Tensor left, int right) => left.sub(right);
            public static Tensor operator -(Tensor left, long right) => left.sub(right);
            public static Tensor operator -(Tensor left, float right) => left.sub(right);
            public static Tensor operator -(Tensor left, double right) => left.sub(right);
            public static Tensor operator -(int left, Tensor right) => (Scalar)left - right;
            public static Tensor operator -(long left, Tensor right) => (Scalar)left - right;
            public static Tensor operator -(float left, Tensor right) => (Scalar)left - right;
            public static Tensor operator -(double left, Tensor right) => (Scalar)left - right;
            public static Tensor operator /(Tensor left, Tensor right) => left.div(right);
            public static Tensor operator /(Tensor left, Scalar right) => left.div(right);
            public static Tensor operator /(Scalar left, Tensor right) => Ops.T1(Op.RDIV, right, default, stackalloc double[1] { left.Value });
            public static Tensor operator /(Tensor left, int right) => left.div(right);
            public static Tensor operator /(Tensor left, long right) => left.div(right);
            public static Tensor operator /(Tensor left, float right) => left.div(right);
            public static Tensor operator /(Tensor left, double right) => left.div(right);
            public static Tensor operator /(int left, Tensor right) => (Scalar)left / right;
            public static Tensor operator /(long left, Tensor right) => (Scalar)left / right;
            public static Tensor operator /(float left, Tensor right) => (Scalar)left / right;
            public static Tensor operator /(double left, Tensor right) => (Scalar)left / right;
            public static Tensor operator -(Tensor tensor) => tensor.neg();
        }

        /// <summary>One index in a Tensor indexing expression (t[i, j], slices, None, Ellipsis, tensors).</summary>
        public struct TensorIndex
        {
            internal enum Kind
            {
                None,
                Single,
                Null,
                Ellipsis,
                Bool,
                Tensor,
                Slice
            }

            internal long? startIndexOrBoolOrSingle;
            internal long? stopIndex;
            internal long? step;
            internal Kind kind;
            internal Tensor? tensor;

            public static TensorIndex Slice(long? start = null, long? stop = null, long? step = null)
                => new TensorIndex() { startIndexOrBoolOrSingle = start, step = step, stopIndex = stop, kind = Kind.Slice };

            public static TensorIndex Slice((int? start, int? end) range) => Slice((long?)range.start, (long?)range.end);

            public static TensorIndex Slice(System.Range range)
            {
                long? start = range.Start.IsFromEnd ? -range.Start.Value : range.Start.Value;
                long? stop = range.End.IsFromEnd ? (range.End.Value == 0 ? null : -range.End.Value) : range.End.Value;
                return Slice(start, stop);
            }

            public static TensorIndex Bool(bool value) => new TensorIndex() { startIndexOrBoolOrSingle = value ? 1 : 0, kind = Kind.Bool };
            public static TensorIndex Single(long? index) => new TensorIndex() { startIndexOrBoolOrSingle = index, kind = Kind.Single };
            public static TensorIndex Tensor(Tensor tensor) => new TensorIndex() { tensor = tensor, kind = Kind.Tensor };
            public static TensorIndex Ellipsis = new TensorIndex() { kind = Kind.Ellipsis };
            public static TensorIndex None = new TensorIndex() { kind = Kind.None };
            public static TensorIndex Null = new TensorIndex() { kind = Kind.Null };
            public static TensorIndex Colon = Slice();

            public static implicit operator TensorIndex(long value) => Single(value);
            public static implicit operator TensorIndex((int? start, int? end) range) => Slice((long?)range.start, (long?)range.end);
            public static implicit operator TensorIndex(System.Range range) => Slice(range);
            public static implicit operator TensorIndex(System.Index index) => Single(index.IsFromEnd ? -index.Value : index.Value);
        }
    }
}

namespace TorchSharp
{
    public static class TensorExtensionMethods
    {
        public static float ToSingle(this torch.Tensor value) => (float)value.ItemAsDouble();
        public static double ToDouble(this torch.Tensor value) => value.ItemAsDouble();
        public static long ToInt64(this torch.Tensor value) => value.ItemAsInt64();
        public static int ToInt32(this torch.Tensor value) => (int)value.ItemAsInt64();
        public static bool ToBoolean(this torch.Tensor value) => value.ItemAsDouble() != 0;
    }
}

namespace TorchSharp.Utils
{
    /// <summary>A host copy of a tensor's elements (row-major).</summary>
    public sealed class TensorAccessor<T> : IDisposable, IEnumerable<T> where T : unmanaged
    {
        private readonly T[] _data;

        internal TensorAccessor(T[] data) { _data = data; }

        public long Count => _data.Length;

        public T[] ToArray() => (T[])_data.Clone();

        public T this[long index] {
            get => _data[index];
        }

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_data).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _data.GetEnumerator();

        public void Dispose() { }
    }
}
