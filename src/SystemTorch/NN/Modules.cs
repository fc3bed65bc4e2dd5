using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.SystemTorch;
using static TorchSharp.torch;

namespace TorchSharp
{
    public enum PaddingModes
    {
        Zeros = 0,
        Reflect = 1,
        Replicate = 2,
        Circular = 3,
        Constant = 4,
    }

    public enum Padding
    {
        Valid = 0,
        Same = 1
    }

    namespace Modules
    {
        internal static class ModuleInit
        {
            /// <summary>Creates an uninitialized parameter outside any dispose scope.</summary>
            internal static Parameter NewParam(long[] shape, Device? device, ScalarType? dtype)
            {
                var t = torch.empty(shape, dtype, device).DetachFromDisposeScope();
                return new Parameter(t);
            }

            internal static Tensor NewBuffer(Tensor t) => t.DetachFromDisposeScope();

            /// <summary>PyTorch's default init for conv/linear: kaiming_uniform_(a=sqrt(5)) and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
            internal static void DefaultInit(Parameter weight, Parameter? bias)
            {
                using var ng = torch.no_grad();
                var shape = weight.shape;
                long fanIn = shape.Length > 1 ? shape.Skip(1).Aggregate(1L, (a, b) => a * b) : shape[0];
                double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
                weight.uniform_(-bound, bound);
                bias?.uniform_(-bound, bound);
            }
        }

        public abstract class Convolution : torch.nn.Module<Tensor, Tensor>
        {
            protected Parameter? _bias;
            protected Parameter? _weight;

            protected Convolution(string name, long in_channels, long out_channels, long[] kernel_size, long[] stride, long[]? padding, Padding? padding_type, long[] dilation, bool transposed, long[] output_padding, long groups, bool bias, PaddingModes padding_mode, Device? device = null, ScalarType? dtype = null) : base(name)
            {
                if (groups <= 0) throw new ArgumentException("groups must be a positive integer");
                if (in_channels % groups != 0) throw new ArgumentException("in_channels must be divisible by groups");
                if (out_channels % groups != 0) throw new ArgumentException("out_channels must be divisible by groups");
                this.in_channels = in_channels;
                this.out_channels = out_channels;
                this.kernel_size = kernel_size;
                this.stride = stride;
                this.padding = padding;
                this.padding_type = padding_type;
                this.dilation = dilation;
                this.transposed = transposed;
                this.output_padding = output_padding;
                this.groups = groups;
                this.padding_mode = padding_mode;
                var wshape = new[] { out_channels, in_channels / groups }.Concat(kernel_size).ToArray();
                _weight = ModuleInit.NewParam(wshape, device, dtype);
                if (bias) _bias = ModuleInit.NewParam(new[] { out_channels }, device, dtype);
                reset_parameters();
                register_parameter("weight", _weight);
                if (_bias is not null) register_parameter("bias", _bias);
            }

            public void reset_parameters()
            {
                if (_weight is not null) ModuleInit.DefaultInit(_weight, _bias);
            }

            public Parameter? bias {
                get => _bias;
                set {
                    _bias = value;
                    ConditionallyRegisterParameter("bias", _bias);
                }
            }

            public Parameter weight {
                get => _weight!;
                set {
                    if (value is null) throw new ArgumentNullException(nameof(weight));
                    _weight = value;
                    ConditionallyRegisterParameter("weight", _weight);
                }
            }

            public long in_channels { get; }
            public long out_channels { get; }
            public bool transposed { get; }
            public Padding? padding_type { get; private set; }
            public long[]? padding { get; private set; }
            public PaddingModes padding_mode { get; set; }
            public long groups { get; set; }
            public long[] kernel_size { get; set; }
            public long[] stride { get; set; }
            public long[] dilation { get; set; }
            public long[] output_padding { get; set; }
        }

        public sealed class Conv2d : Convolution
        {
            internal Conv2d(long in_channels, long out_channels, long[] kernel_size, long[] stride, long[]? padding, Padding? padding_type, long[] dilation, long groups, bool bias, PaddingModes padding_mode, Device? device, ScalarType? dtype)
                : base(nameof(Conv2d), in_channels, out_channels, kernel_size, stride, padding, padding_type, dilation, false, new long[] { 0, 0 }, groups, bias, padding_mode, device, dtype)
            {
            }

            public override Tensor forward(Tensor input)
            {
                if (padding_type.HasValue) {
                    Span<long> ia = stackalloc long[8] { stride[0], stride[1], 0, 0, dilation[0], dilation[1], groups, padding_type.Value == Padding.Same ? 1 : 2 };
                    return Ops.TN(Op.CONV2D, new Tensor?[] { input, weight, bias }, ia);
                }
                var p = padding!;
                if (padding_mode != PaddingModes.Zeros && padding_mode != PaddingModes.Constant && (p[0] != 0 || p[1] != 0)) {
                    using var padded = torch.nn.functional.pad(input, new long[] { p[1], p[1], p[0], p[0] }, padding_mode);
                    Span<long> ib = stackalloc long[8] { stride[0], stride[1], 0, 0, dilation[0], dilation[1], groups, 0 };
                    return Ops.TN(Op.CONV2D, new Tensor?[] { padded, weight, bias }, ib);
                }
                Span<long> ic = stackalloc long[8] { stride[0], stride[1], p[0], p[1], dilation[0], dilation[1], groups, 0 };
                return Ops.TN(Op.CONV2D, new Tensor?[] { input, weight, bias }, ic);
            }
        }

        public sealed class Linear : torch.nn.Module<Tensor, Tensor>
        {
            private Parameter? _bias;
            private Parameter _weight;

            internal Linear(long inputSize, long outputSize, bool hasBias, Device? device, ScalarType? dtype) : base(nameof(Linear))
            {
                in_features = inputSize;
                out_features = outputSize;
                _weight = ModuleInit.NewParam(new[] { outputSize, inputSize }, device, dtype);
                if (hasBias) _bias = ModuleInit.NewParam(new[] { outputSize }, device, dtype);
                reset_parameters();
                register_parameter("weight", _weight);
                if (_bias is not null) register_parameter("bias", _bias);
            }

            internal Linear(Parameter weight, Parameter? bias) : base(nameof(Linear))
            {
                _weight = weight;
                _bias = bias;
                out_features = weight.shape[0];
                in_features = weight.shape[1];
                register_parameter("weight", _weight);
                if (_bias is not null) register_parameter("bias", _bias);
            }

            internal void reset_parameters() => ModuleInit.DefaultInit(_weight, _bias);

            public override Tensor forward(Tensor tensor) => Ops.TN(Op.LINEAR, new Tensor?[] { tensor, _weight, _bias });

            public Parameter? bias {
                get => _bias;
                set { _bias = value; ConditionallyRegisterParameter("bias", _bias); }
            }

            public Parameter weight {
                get => _weight;
                set { _weight = value ?? throw new ArgumentNullException(nameof(weight)); ConditionallyRegisterParameter("weight", _weight); }
            }

            public long in_features { get; set; }
            public long out_features { get; set; }
        }

        public abstract class NormBase : torch.nn.Module<Tensor, Tensor>
        {
            private Parameter? _weight;
            private Parameter? _bias;
            private Tensor? _running_mean;
            private Tensor? _running_var;
            private Tensor? _num_batches_tracked;

            public NormBase(long num_features, double eps, double? momentum, bool affine, bool track_running_stats, Device? device, ScalarType? dtype, string name) : base(name)
            {
                this.num_features = num_features;
                this.eps = eps;
                this.momentum = momentum;
                this.affine = affine;
                this.track_running_stats = track_running_stats;
                if (affine) {
                    _weight = ModuleInit.NewParam(new[] { num_features }, device, dtype);
                    _bias = ModuleInit.NewParam(new[] { num_features }, device, dtype);
                    register_parameter("weight", _weight);
                    register_parameter("bias", _bias);
                }
                if (track_running_stats) {
                    _running_mean = ModuleInit.NewBuffer(torch.zeros(num_features, dtype, device));
                    _running_var = ModuleInit.NewBuffer(torch.ones(num_features, dtype, device));
                    _num_batches_tracked = ModuleInit.NewBuffer(torch.zeros(new long[0], ScalarType.Int64, device));
                    register_buffer("running_mean", _running_mean);
                    register_buffer("running_var", _running_var);
                    register_buffer("num_batches_tracked", _num_batches_tracked);
                }
                reset_parameters();
            }

            public void reset_running_stats()
            {
                if (!track_running_stats) return;
                using var ng = torch.no_grad();
                _running_mean!.zero_();
                _running_var!.fill_(1);
                _num_batches_tracked!.zero_();
            }

            public void reset_parameters()
            {
                reset_running_stats();
                if (!affine) return;
                using var ng = torch.no_grad();
                _weight!.fill_(1);
                _bias!.zero_();
            }

            protected abstract void ValidateInputDimensions(Tensor input);

            public Parameter? bias {
                get => _bias;
                set { _bias = value; ConditionallyRegisterParameter("bias", _bias); }
            }

            public Parameter weight {
                get => _weight!;
                set { _weight = value; ConditionallyRegisterParameter("weight", _weight); }
            }

            public Tensor? running_mean {
                get => _running_mean;
                set { _running_mean = value; ConditionallyRegisterBuffer("running_mean", _running_mean); }
            }

            public Tensor? running_var {
                get => _running_var;
                set { _running_var = value; ConditionallyRegisterBuffer("running_var", _running_var); }
            }

            public Tensor? num_batches_tracked {
                get => _num_batches_tracked;
                set { _num_batches_tracked = value; ConditionallyRegisterBuffer("num_batches_tracked", _num_batches_tracked); }
            }

            public long num_features { get; private set; }
            public double eps { get; set; }
            public double? momentum { get; set; }
            public bool affine { get; private set; }
            public bool track_running_stats { get; private set; }
        }

        public abstract class BatchNorm : NormBase
        {
            public BatchNorm(long num_features, double eps, double momentum, bool affine, bool track_running_stats, Device? device, ScalarType? dtype, string name)
                : base(num_features, eps, momentum, affine, track_running_stats, device, dtype, name)
            {
            }

            public override Tensor forward(Tensor input)
            {
                ValidateInputDimensions(input);
                double factor = momentum ?? 0.0;
                if (training && track_running_stats && num_batches_tracked is not null) {
                    using (torch.no_grad()) num_batches_tracked.add_(1);
                    if (momentum is null) factor = 1.0 / num_batches_tracked.ToDouble();
                }
                bool useBatchStats = training || (running_mean is null && running_var is null);
                var rm = !training || track_running_stats ? running_mean : null;
                var rv = !training || track_running_stats ? running_var : null;
                return Ops.TN(Op.BATCH_NORM, new Tensor?[] { input, weight, bias, rm, rv }, stackalloc long[1] { useBatchStats ? 1 : 0 }, stackalloc double[2] { factor, eps });
            }
        }

        public sealed class BatchNorm1d : BatchNorm
        {
            internal BatchNorm1d(long num_features, double eps, double momentum, bool affine, bool track_running_stats, Device? device, ScalarType? dtype)
                : base(num_features, eps, momentum, affine, track_running_stats, device, dtype, nameof(BatchNorm1d)) { }

            protected override void ValidateInputDimensions(Tensor input)
            {
                if (input.ndim != 2 && input.ndim != 3) throw new ArgumentException($"expected 2D or 3D input, but got {input.ndim}D input.");
            }
        }

        public sealed class BatchNorm2d : BatchNorm
        {
            internal BatchNorm2d(long num_features, double eps, double momentum, bool affine, bool track_running_stats, Device? device, ScalarType? dtype)
                : base(num_features, eps, momentum, affine, track_running_stats, device, dtype, nameof(BatchNorm2d)) { }

            protected override void ValidateInputDimensions(Tensor input)
            {
                if (input.ndim != 4) throw new ArgumentException($"expected 4D input, but got {input.ndim}D input.");
            }
        }

        public abstract class InstanceNorm : NormBase
        {
            public InstanceNorm(long num_features, double eps, double? momentum, bool affine, bool track_running_stats, Device? device, ScalarType? dtype, string name)
                : base(num_features, eps, momentum, affine, track_running_stats, device, dtype, name) { }

            protected abstract long GetNumberOfBatchDimensions();

            public override Tensor forward(Tensor input)
            {
                ValidateInputDimensions(input);
                var featureDim = (int)(input.ndim - GetNumberOfBatchDimensions());
                if (input.size(featureDim) != num_features)
                    throw new ArgumentException($"expected input's size at dim={featureDim} to match num_features ({num_features}), but got: {input.size(featureDim)}.");
                if (featureDim == 0) {
                    using var t0 = input.unsqueeze(0);
                    using var r = Apply(t0);
                    return r.squeeze(0);
                }
                return Apply(input);
            }

            private Tensor Apply(Tensor input)
            {
                bool useInputStats = training || !track_running_stats;
                return Ops.TN(Op.INSTANCE_NORM, new Tensor?[] { input, weight, bias, running_mean, running_var }, stackalloc long[1] { useInputStats ? 1 : 0 }, stackalloc double[2] { momentum ?? 0.1, eps });
            }
        }

        public sealed class InstanceNorm2d : InstanceNorm
        {
            internal InstanceNorm2d(long num_features, double eps, double momentum, bool affine, bool track_running_stats, Device? device, ScalarType? dtype)
                : base(num_features, eps, momentum, affine, track_running_stats, device, dtype, nameof(InstanceNorm2d)) { }

            protected override long GetNumberOfBatchDimensions() => 3;

            protected override void ValidateInputDimensions(Tensor input)
            {
                if (input.ndim != 3 && input.ndim != 4) throw new ArgumentException($"expected 3D or 4D input, but got {input.ndim}D input.");
            }
        }

        public sealed class LayerNorm : torch.nn.Module<Tensor, Tensor>
        {
            private Parameter? _weight;
            private Parameter? _bias;

            internal LayerNorm(long[] normalized_shape, double eps, bool elementwise_affine, bool bias, Device? device, ScalarType? dtype) : base(nameof(LayerNorm))
            {
                this.normalized_shape = normalized_shape;
                this.eps = eps;
                this.elementwise_affine = elementwise_affine;
                if (elementwise_affine) {
                    _weight = ModuleInit.NewParam(normalized_shape, device, dtype);
                    register_parameter("weight", _weight);
                    if (bias) {
                        _bias = ModuleInit.NewParam(normalized_shape, device, dtype);
                        register_parameter("bias", _bias);
                    }
                }
                reset_parameters();
            }

            public void reset_parameters()
            {
                using var ng = torch.no_grad();
                _weight?.fill_(1);
                _bias?.zero_();
            }

            public override Tensor forward(Tensor tensor) => Ops.TN(Op.LAYER_NORM, new Tensor?[] { tensor, _weight, _bias }, normalized_shape, stackalloc double[1] { eps });

            public Parameter? bias {
                get => _bias;
                set { _bias = value; ConditionallyRegisterParameter("bias", _bias); }
            }

            public Parameter weight {
                get => _weight!;
                set { _weight = value; ConditionallyRegisterParameter("weight", _weight); }
            }

            public long[] normalized_shape { get; set; }
            public double eps { get; set; }
            public bool elementwise_affine { get; set; }
        }

        public sealed class GroupNorm : torch.nn.Module<Tensor, Tensor>
        {
            private Parameter? _weight;
            private Parameter? _bias;

            internal GroupNorm(long num_groups, long num_channels, double eps, bool affine, Device? device, ScalarType? dtype) : base(nameof(GroupNorm))
            {
                if (num_groups <= 0 || num_channels % num_groups != 0) throw new ArgumentException("num_channels must be divisible by num_groups");
                this.num_groups = num_groups;
                this.eps = eps;
                this.affine = affine;
                if (affine) {
                    _weight = ModuleInit.NewParam(new[] { num_channels }, device, dtype);
                    _bias = ModuleInit.NewParam(new[] { num_channels }, device, dtype);
                    using var ng = torch.no_grad();
                    _weight.fill_(1);
                    _bias.zero_();
                    register_parameter("weight", _weight);
                    register_parameter("bias", _bias);
                }
            }

            public override Tensor forward(Tensor tensor) => Ops.TN(Op.GROUP_NORM, new Tensor?[] { tensor, _weight, _bias }, stackalloc long[1] { num_groups }, stackalloc double[1] { eps });

            public Parameter? bias {
                get => _bias;
                set { _bias = value; ConditionallyRegisterParameter("bias", _bias); }
            }

            public Parameter weight {
                get => _weight!;
                set { _weight = value; ConditionallyRegisterParameter("weight", _weight); }
            }

            public long num_groups { get; set; }
            public double eps { get; set; }
            public bool affine { get; set; }
        }

        // ---------------------------------------------------------------- parameter-less modules
        public sealed class ReLU : ParameterLessModule<Tensor, Tensor>
        {
            internal ReLU(bool inplace) : base(nameof(ReLU)) { this.inplace = inplace; }
            public override Tensor forward(Tensor tensor) => torch.nn.functional.relu(tensor, inplace);
            public bool inplace { get; set; }
        }

        public sealed class GELU : ParameterLessModule<Tensor, Tensor>
        {
            public enum Approximate
            {
                none,
                tanh
            }

            internal GELU(bool inplace, Approximate approximate = Approximate.none) : base(nameof(GELU))
            {
                this.inplace = inplace;
                this.approximate = approximate;
            }

            public override Tensor forward(Tensor tensor) => torch.nn.functional.gelu(tensor, approximate, inplace);
            public bool inplace { get; set; }
            public Approximate approximate { get; set; }
        }

        public sealed class SiLU : ParameterLessModule<Tensor, Tensor>
        {
            internal SiLU(bool inplace) : base(nameof(SiLU)) { this.inplace = inplace; }
            public override Tensor forward(Tensor tensor) => torch.nn.functional.silu(tensor, inplace);
            public bool inplace { get; set; }
        }

        public sealed class Sigmoid : ParameterLessModule<Tensor, Tensor>
        {
            internal Sigmoid(bool inplace) : base(nameof(Sigmoid)) { this.inplace = inplace; }
            public override Tensor forward(Tensor tensor) => torch.nn.functional.sigmoid(tensor, inplace);
            public bool inplace { get; set; }
        }

        public sealed class Tanh : ParameterLessModule<Tensor, Tensor>
        {
            internal Tanh(bool inplace) : base(nameof(Tanh)) { this.inplace = inplace; }
            public override Tensor forward(Tensor tensor) => tensor.tanh();
            public bool inplace { get; set; }
        }

        public sealed class Softmax : ParameterLessModule<Tensor, Tensor>
        {
            internal Softmax(long dim) : base(nameof(Softmax)) { this.dim = dim; }
            public override Tensor forward(Tensor tensor) => tensor.softmax(dim);
            public long dim { get; set; }
        }

        public sealed class Dropout : ParameterLessModule<Tensor, Tensor>
        {
            internal Dropout(double p = 0.5, bool inplace = false) : base(nameof(Dropout))
            {
                this.p = p;
                this.inplace = inplace;
            }

            public override Tensor forward(Tensor tensor) => torch.nn.functional.dropout(tensor, p, training, inplace);
            public bool inplace { get; set; }
            public double p { get; set; }
        }

        public sealed class MaxPool2d : ParameterLessModule<Tensor, Tensor>
        {
            internal MaxPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false) : base(nameof(MaxPool2d))
            {
                this.kernel_size = kernel_size;
                this.stride = stride ?? kernel_size;
                this.padding = padding ?? new long[] { 0, 0 };
                this.dilation = dilation ?? new long[] { 1, 1 };
                this.ceil_mode = ceil_mode;
            }

            public override Tensor forward(Tensor input) => torch.nn.functional.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode);

            public (Tensor Values, Tensor Indices) forward_with_indices(Tensor input) => torch.nn.functional.max_pool2d_with_indices(input, kernel_size, stride, padding, dilation, ceil_mode);

            public long[] kernel_size { get; set; }
            public long[] stride { get; set; }
            public long[] padding { get; set; }
            public long[] dilation { get; set; }
            public bool ceil_mode { get; set; }
        }

        public sealed class AvgPool2d : ParameterLessModule<Tensor, Tensor>
        {
            internal AvgPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null) : base(nameof(AvgPool2d))
            {
                this.kernel_size = kernel_size;
                this.stride = stride ?? kernel_size;
                this.padding = padding ?? new long[] { 0, 0 };
                this.ceil_mode = ceil_mode;
                this.count_include_pad = count_include_pad;
                this.divisor_override = divisor_override;
            }

            public override Tensor forward(Tensor input) => torch.nn.functional.avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);

            public long[] kernel_size { get; set; }
            public long[] stride { get; set; }
            public long[] padding { get; set; }
            public bool ceil_mode { get; set; }
            public bool count_include_pad { get; set; }
            public long? divisor_override { get; set; }
        }

        public sealed class AdaptiveAvgPool2d : ParameterLessModule<Tensor, Tensor>
        {
            internal AdaptiveAvgPool2d(long[] output_size) : base(nameof(AdaptiveAvgPool2d)) { this.output_size = output_size; }
            public override Tensor forward(Tensor input) => torch.nn.functional.adaptive_avg_pool2d(input, output_size);
            public long[] output_size { get; set; }
        }

        public sealed class Flatten : ParameterLessModule<Tensor, Tensor>
        {
            internal Flatten(long start_dim = 1, long end_dim = -1) : base(nameof(Flatten))
            {
                this.start_dim = start_dim;
                this.end_dim = end_dim;
            }

            public override Tensor forward(Tensor input) => input.flatten(start_dim, end_dim);
            public long start_dim { get; set; }
            public long end_dim { get; set; }
        }

        public sealed class Identity : ParameterLessModule<Tensor, Tensor>
        {
            internal Identity() : base(nameof(Identity)) { }

            // Like TorchSharp: returns an alias so the caller may dispose input and output independently.
            public override Tensor forward(Tensor tensor) => tensor.alias();
        }

        // ---------------------------------------------------------------- containers
        public class Sequential : torch.nn.Module<Tensor, Tensor>
        {
            private readonly List<torch.nn.Module> _list = new();

            internal Sequential() : base(nameof(Sequential)) { }

            public Sequential append(string name, torch.nn.IModule<Tensor, Tensor> module)
            {
                Add(name, module);
                return this;
            }

            public Sequential append(torch.nn.IModule<Tensor, Tensor> module)
            {
                Add(_list.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
                return this;
            }

            internal void Add(string name, torch.nn.IModule<Tensor, Tensor> sm)
            {
                if (sm is not torch.nn.Module m) throw new ArgumentException("Sequential elements must be modules");
                register_module(name, m);
                _list.Add(m);
            }

            public override Tensor forward(Tensor tensor)
            {
                if (_list.Count == 0) return tensor.alias();
                if (_list.Count == 1) return ((torch.nn.IModule<Tensor, Tensor>)_list[0]).call(tensor);
                var x = ((torch.nn.IModule<Tensor, Tensor>)_list[0]).call(tensor);
                for (int i = 1; i < _list.Count; i++) {
                    var y = ((torch.nn.IModule<Tensor, Tensor>)_list[i]).call(x);
                    if (!ReferenceEquals(y, x) && !ReferenceEquals(x, tensor)) x.Dispose();
                    x = y;
                }
                return x;
            }

            public int Count => _list.Count;

            [System.Runtime.CompilerServices.IndexerName("SequentialItems")]
            public torch.nn.IModule<Tensor, Tensor> this[int index] => (torch.nn.IModule<Tensor, Tensor>)_list[index];

            protected override void Dispose(bool disposing)
            {
                _list.Clear();
                base.Dispose(disposing);
            }
        }

        public class ModuleList<T> : torch.nn.Module, IList<T> where T : torch.nn.Module
        {
            private readonly List<T> _list = new();
            private bool _registered;

            public ModuleList(params T[] modules) : base(nameof(ModuleList<T>))
            {
                if (modules is not null && modules.Length > 0) _list.AddRange(modules);
            }

            protected override void RegisterComponents()
            {
                if (_registered) return;
                for (int i = 0; i < _list.Count; i++) register_module($"{i}", _list[i]);
                _registered = true;
            }

            public T this[int index] {
                get => _list[index];
                set => throw new NotSupportedException("ModuleList does not support replacing elements.");
            }

            public int Count => _list.Count;

            public bool IsReadOnly => false;

            public void Add(T item)
            {
                _list.Add(item);
                if (_registered) register_module($"{_list.Count - 1}", item);
            }

            public void append(params T[] parameters)
            {
                foreach (var m in parameters) Add(m);
            }

            public void Clear() => throw new NotSupportedException("ModuleList does not support Clear().");

            public bool Contains(T item) => _list.Contains(item);

            public void CopyTo(T[] array, int arrayIndex) => _list.CopyTo(array, arrayIndex);

            public void extend(IEnumerable<T> modules)
            {
                foreach (var m in modules) Add(m);
            }

            public IEnumerator<T> GetEnumerator() => _list.GetEnumerator();

            System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

            public int IndexOf(T item) => _list.IndexOf(item);

            public void Insert(int index, T item) => throw new NotSupportedException("ModuleList does not support Insert().");

            public bool Remove(T item) => throw new NotSupportedException("ModuleList does not support Remove().");

            public void RemoveAt(int index) => throw new NotSupportedException("ModuleList does not support RemoveAt().");
        }
    }
}
