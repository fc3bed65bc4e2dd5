using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using Torchwright.SystemTorch;
using static TorchSharp.torch;

namespace TorchSharp
{
    public static partial class torch
    {
        public enum InterpolationMode
        {
            Nearest = 0,
            Linear = 1,
            Bilinear = 2,
            Bicubic = 3,
            Trilinear = 4,
            Area = 5,
            NearestExact = 6
        }

        public static partial class nn
        {
            public enum Reduction : long
            {
                None = 0,
                Mean = 1,
                Sum = 2
            }

            // ------------------------------------------------------------ module factories
            public static Conv2d Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0, long dilation = 1, PaddingModes padding_mode = PaddingModes.Zeros, long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null)
                => new Conv2d(in_channels, out_channels, new[] { kernel_size, kernel_size }, new[] { stride, stride }, new[] { padding, padding }, null, new[] { dilation, dilation }, groups, bias, padding_mode, device, dtype);

            public static Conv2d Conv2d(long in_channels, long out_channels, (long, long) kernel_size, (long, long)? stride = null, (long, long)? padding = null, (long, long)? dilation = null, PaddingModes padding_mode = PaddingModes.Zeros, long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null)
                => new Conv2d(in_channels, out_channels, Ops.Pair(kernel_size), Ops.Pair(stride ?? (1, 1)), Ops.Pair(padding ?? (0, 0)), null, Ops.Pair(dilation ?? (1, 1)), groups, bias, padding_mode, device, dtype);

            public static Conv2d Conv2d(long in_channels, long out_channels, long kernel_size, Padding padding, long stride = 1, long dilation = 1, PaddingModes padding_mode = PaddingModes.Zeros, long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null)
                => new Conv2d(in_channels, out_channels, new[] { kernel_size, kernel_size }, new[] { stride, stride }, null, padding, new[] { dilation, dilation }, groups, bias, padding_mode, device, dtype);

            public static Conv2d Conv2d(long in_channels, long out_channels, (long, long) kernel_size, Padding padding, (long, long)? stride = null, (long, long)? dilation = null, PaddingModes padding_mode = PaddingModes.Zeros, long groups = 1, bool bias = true, Device? device = null, ScalarType? dtype = null)
                => new Conv2d(in_channels, out_channels, Ops.Pair(kernel_size), Ops.Pair(stride ?? (1, 1)), null, padding, Ops.Pair(dilation ?? (1, 1)), groups, bias, padding_mode, device, dtype);

            public static Linear Linear(long inputSize, long outputSize, bool hasBias = true, Device? device = null, ScalarType? dtype = null) => new Linear(inputSize, outputSize, hasBias, device, dtype);

            public static Linear Linear(Parameter weight, Parameter? bias = null) => new Linear(weight, bias);

            public static BatchNorm1d BatchNorm1d(long num_features, double eps = 1e-05, double momentum = 0.1, bool affine = true, bool track_running_stats = true, Device? device = null, ScalarType? dtype = null)
                => new BatchNorm1d(num_features, eps, momentum, affine, track_running_stats, device, dtype);

            public static BatchNorm2d BatchNorm2d(long num_features, double eps = 1e-05, double momentum = 0.1, bool affine = true, bool track_running_stats = true, Device? device = null, ScalarType? dtype = null)
                => new BatchNorm2d(num_features, eps, momentum, affine, track_running_stats, device, dtype);

            public static InstanceNorm2d InstanceNorm2d(long num_features, double eps = 1e-05, double momentum = 0.1, bool affine = false, bool track_running_stats = false, Device? device = null, ScalarType? dtype = null)
                => new InstanceNorm2d(num_features, eps, momentum, affine, track_running_stats, device, dtype);

            public static LayerNorm LayerNorm(long[] normalized_shape, double eps = 1e-05, bool elementwise_affine = true, bool bias = true, Device? device = null, ScalarType? dtype = null)
                => new LayerNorm(normalized_shape, eps, elementwise_affine, bias, device, dtype);

            public static LayerNorm LayerNorm(long normalized_shape, double eps = 1e-05, bool elementwise_affine = true, bool bias = true, Device? device = null, ScalarType? dtype = null)
                => new LayerNorm(new[] { normalized_shape }, eps, elementwise_affine, bias, device, dtype);

            public static GroupNorm GroupNorm(long num_groups, long num_channels, double eps = 1e-05, bool affine = true, Device? device = null, ScalarType? dtype = null)
                => new GroupNorm(num_groups, num_channels, eps, affine, device, dtype);

            public static ReLU ReLU(bool inplace = false) => new ReLU(inplace);
            public static GELU GELU() => new GELU(false);
            public static GELU GELU(bool inplace) => new GELU(inplace);
            public static GELU GELU(Modules.GELU.Approximate approximate, bool inplace = false) => new GELU(inplace, approximate);
            public static SiLU SiLU() => new SiLU(false);
            public static SiLU SiLU(bool inplace) => new SiLU(inplace);
            public static Sigmoid Sigmoid() => new Sigmoid(false);
            public static Sigmoid Sigmoid(bool inplace) => new Sigmoid(inplace);
            public static Tanh Tanh() => new Tanh(false);
            public static Softmax Softmax(long dim) => new Softmax(dim);
            public static Dropout Dropout(double p = 0.5, bool inplace = false) => new Dropout(p, inplace);
            public static Flatten Flatten(long start_dim = 1, long end_dim = -1) => new Flatten(start_dim, end_dim);
            public static Identity Identity() => new Identity();

            public static MaxPool2d MaxPool2d(long kernel_size, long? stride = null, long? padding = null, long? dilation = null, bool ceil_mode = false)
                => new MaxPool2d(Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? 0), Ops.Pair(dilation ?? 1), ceil_mode);
            public static MaxPool2d MaxPool2d((long, long) kernel_size, (long, long)? stride = null, (long, long)? padding = null, (long, long)? dilation = null, bool ceil_mode = false)
                => new MaxPool2d(Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? (0, 0)), Ops.Pair(dilation ?? (1, 1)), ceil_mode);
            public static MaxPool2d MaxPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false)
                => new MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode);

            public static AvgPool2d AvgPool2d(long[] kernel_size, long[]? stride = null, long[]? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
                => new AvgPool2d(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override);
            public static AvgPool2d AvgPool2d((long, long) kernel_size, (long, long)? stride = null, (long, long)? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
                => new AvgPool2d(Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? (0, 0)), ceil_mode, count_include_pad, divisor_override);
            public static AvgPool2d AvgPool2d(long kernel_size, long? stride = null, long? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
                => new AvgPool2d(Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? 0), ceil_mode, count_include_pad, divisor_override);

            public static AdaptiveAvgPool2d AdaptiveAvgPool2d(long[] output_size) => new AdaptiveAvgPool2d(output_size);
            public static AdaptiveAvgPool2d AdaptiveAvgPool2d((long, long) output_size) => new AdaptiveAvgPool2d(Ops.Pair(output_size));
            public static AdaptiveAvgPool2d AdaptiveAvgPool2d(long output_size) => new AdaptiveAvgPool2d(Ops.Pair(output_size));

            public static Sequential Sequential() => new Sequential();

            public static Sequential Sequential(params (string name, torch.nn.Module<Tensor, Tensor> submodule)[] modules)
            {
                var s = new Sequential();
                foreach (var (n, m) in modules) s.Add(n, m);
                return s;
            }

            public static Sequential Sequential(params torch.nn.Module<Tensor, Tensor>[] modules)
            {
                var s = new Sequential();
                foreach (var m in modules) s.append(m);
                return s;
            }

            public static Sequential Sequential(IEnumerable<(string name, torch.nn.Module<Tensor, Tensor> submodule)> modules) => Sequential(modules.ToArray());

            public static Sequential Sequential(IEnumerable<torch.nn.Module<Tensor, Tensor>> modules) => Sequential(modules.ToArray());

            public static ModuleList<Module> ModuleList(params Module[] modules) => new ModuleList<Module>(modules);

            public static ModuleList<T> ModuleList<T>(params T[] modules) where T : Module => new ModuleList<T>(modules);

            // ------------------------------------------------------------ functional
            public static partial class functional
            {
                public static Tensor relu(Tensor x, bool inplace = false) => inplace ? x.relu_() : x.relu();
                public static Tensor gelu(Tensor x) => x.gelu();
                public static Tensor gelu(Tensor x, bool inplace) => x.gelu();
                public static Tensor gelu(Tensor x, Modules.GELU.Approximate approximate, bool inplace = false) => Ops.T1(Op.GELU, x, stackalloc long[1] { approximate == Modules.GELU.Approximate.tanh ? 1 : 0 });
                public static Tensor silu(Tensor x, bool inplace = false) => inplace ? x.silu_() : x.silu();
                public static Tensor SiLU(Tensor x, bool inplace = false) => silu(x, inplace);
                public static Tensor sigmoid(Tensor x) => x.sigmoid();
                public static Tensor sigmoid(Tensor x, bool inplace) => inplace ? x.sigmoid_() : x.sigmoid();
                public static Tensor tanh(Tensor x, bool inplace = false) => x.tanh();
                public static Tensor leaky_relu(Tensor input, double negative_slope = 0.01, bool inplace = false) => Ops.T1(Op.LEAKY_RELU, input, default, stackalloc double[1] { negative_slope });
                public static Tensor hardswish(Tensor input, bool inplace = false) => Ops.T1(Op.HARDSWISH, input);
                public static Tensor hardsigmoid(Tensor input, bool inplace = false) => Ops.T1(Op.HARDSIGMOID, input);
                public static Tensor softmax(Tensor input, long dim, ScalarType? dtype = null) => input.softmax(dim, dtype);
                public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);
                public static Tensor dropout(Tensor input, double p = 0.5, bool training = true, bool inplace = false)
                {
                    if (inplace) return Ops.I1(Op.DROPOUT, input, stackalloc long[2] { training ? 1 : 0, 1 }, stackalloc double[1] { p });
                    return Ops.T1(Op.DROPOUT, input, stackalloc long[2] { training ? 1 : 0, 0 }, stackalloc double[1] { p });
                }

                public static Tensor linear(Tensor input, Tensor weights, Tensor? bias = null) => Ops.TN(Op.LINEAR, new Tensor?[] { input, weights, bias });

                public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? strides = null, long[]? padding = null, long[]? dilation = null, long groups = 1)
                {
                    var s = Ops.Pair(strides, 1); var p = Ops.Pair(padding, 0); var d = Ops.Pair(dilation, 1);
                    return Ops.TN(Op.CONV2D, new Tensor?[] { input, weight, bias }, stackalloc long[8] { s[0], s[1], p[0], p[1], d[0], d[1], groups, 0 });
                }

                public static Tensor conv2d_padding(Tensor input, Tensor weight, Tensor? bias = null, long[]? strides = null, Padding padding = Padding.Valid, long[]? dilation = null, long groups = 1)
                {
                    var s = Ops.Pair(strides, 1); var d = Ops.Pair(dilation, 1);
                    return Ops.TN(Op.CONV2D, new Tensor?[] { input, weight, bias }, stackalloc long[8] { s[0], s[1], 0, 0, d[0], d[1], groups, padding == Padding.Same ? 1 : 2 });
                }

                public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
                    => Ops.TN(Op.BATCH_NORM, new Tensor?[] { input, weight, bias, running_mean, running_var }, stackalloc long[1] { training ? 1 : 0 }, stackalloc double[2] { momentum, eps });

                public static Tensor group_norm(Tensor input, long num_groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
                    => Ops.TN(Op.GROUP_NORM, new Tensor?[] { input, weight, bias }, stackalloc long[1] { num_groups }, stackalloc double[1] { eps });

                public static Tensor instance_norm(Tensor input, Tensor? running_mean = null, Tensor? running_var = null, Tensor? weight = null, Tensor? bias = null, bool use_input_stats = true, double momentum = 0.1, double eps = 1e-5)
                    => Ops.TN(Op.INSTANCE_NORM, new Tensor?[] { input, weight, bias, running_mean, running_var }, stackalloc long[1] { use_input_stats ? 1 : 0 }, stackalloc double[2] { momentum, eps });

                public static Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
                    => Ops.TN(Op.LAYER_NORM, new Tensor?[] { input, weight, bias }, normalized_shape, stackalloc double[1] { eps });

                public static Tensor max_pool2d(Tensor input, long[] kernel_size, long[]? strides = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false)
                {
                    var k = Ops.Pair(kernel_size, 1); var s = strides is null || strides.Length == 0 ? k : Ops.Pair(strides, 1); var p = Ops.Pair(padding, 0); var d = Ops.Pair(dilation, 1);
                    return Ops.T1(Op.MAX_POOL2D, input, stackalloc long[9] { k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], ceil_mode ? 1 : 0 });
                }

                public static Tensor max_pool2d(Tensor input, long kernel_size, long? stride = null, long? padding = null, long? dilation = null, bool ceil_mode = false)
                    => max_pool2d(input, Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? 0), Ops.Pair(dilation ?? 1), ceil_mode);

                public static Tensor max_pool2d(Tensor input, (long, long) kernel_size, (long, long)? stride = null, (long, long)? padding = null, (long, long)? dilation = null, bool ceil_mode = false)
                    => max_pool2d(input, Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? (0, 0)), Ops.Pair(dilation ?? (1, 1)), ceil_mode);

                public static (Tensor output, Tensor indices) max_pool2d_with_indices(Tensor input, long[] kernel_size, long[]? strides = null, long[]? padding = null, long[]? dilation = null, bool ceil_mode = false)
                {
                    var k = Ops.Pair(kernel_size, 1); var s = strides is null || strides.Length == 0 ? k : Ops.Pair(strides, 1); var p = Ops.Pair(padding, 0); var d = Ops.Pair(dilation, 1);
                    var r = Ops.Multi(Op.MAX_POOL2D_IDX, new[] { input }, stackalloc long[9] { k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], ceil_mode ? 1 : 0 });
                    return (r[0], r[1]);
                }

                public static Tensor avg_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
                {
                    var k = Ops.Pair(kernel_size, 1); var s = stride is null || stride.Length == 0 ? k : Ops.Pair(stride, 1); var p = Ops.Pair(padding, 0);
                    return Ops.T1(Op.AVG_POOL2D, input, stackalloc long[10] { k[0], k[1], s[0], s[1], p[0], p[1], ceil_mode ? 1 : 0, count_include_pad ? 1 : 0, divisor_override.HasValue ? 1 : 0, divisor_override ?? 0 });
                }

                public static Tensor avg_pool2d(Tensor input, long kernel_size, long? stride = null, long padding = 0, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
                    => avg_pool2d(input, Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding), ceil_mode, count_include_pad, divisor_override);

                public static Tensor avg_pool2d(Tensor input, (long, long) kernel_size, (long, long)? stride = null, (long, long)? padding = null, bool ceil_mode = false, bool count_include_pad = true, long? divisor_override = null)
                    => avg_pool2d(input, Ops.Pair(kernel_size), Ops.Pair(stride ?? kernel_size), Ops.Pair(padding ?? (0, 0)), ceil_mode, count_include_pad, divisor_override);

                public static Tensor adaptive_avg_pool2d(Tensor input, long[] output_size) { var o = Ops.Pair(output_size, 1); return Ops.T1(Op.ADAPTIVE_AVG_POOL2D, input, o); }
                public static Tensor adaptive_avg_pool2d(Tensor input, (long, long) output_size) => Ops.T1(Op.ADAPTIVE_AVG_POOL2D, input, Ops.Pair(output_size));
                public static Tensor adaptive_avg_pool2d(Tensor input, long output_size) => Ops.T1(Op.ADAPTIVE_AVG_POOL2D, input, Ops.Pair(output_size));
                public static Tensor adaptive_max_pool2d(Tensor input, long[] output_size) => Ops.T1(Op.ADAPTIVE_MAX_POOL2D, input, Ops.Pair(output_size, 1));

                public static Tensor unfold(Tensor input, long kernel_size, long dilation = 1, long padding = 0, long stride = 1)
                    => Ops.T1(Op.UNFOLD, input, stackalloc long[8] { kernel_size, kernel_size, dilation, dilation, padding, padding, stride, stride });

                public static Tensor unfold(Tensor input, (long, long) kernel_size, (long, long)? dilation = null, (long, long)? padding = null, (long, long)? stride = null)
                {
                    var d = dilation ?? (1, 1); var p = padding ?? (0, 0); var s = stride ?? (1, 1);
                    return Ops.T1(Op.UNFOLD, input, stackalloc long[8] { kernel_size.Item1, kernel_size.Item2, d.Item1, d.Item2, p.Item1, p.Item2, s.Item1, s.Item2 });
                }

                public static Tensor pad(Tensor input, long[] pad, PaddingModes mode = PaddingModes.Constant, double value = 0)
                {
                    var ia = new long[pad.Length + 1];
                    ia[0] = mode switch {
                        PaddingModes.Constant or PaddingModes.Zeros => 0,
                        PaddingModes.Reflect => 1,
                        PaddingModes.Replicate => 2,
                        PaddingModes.Circular => 3,
                        _ => throw new ArgumentException("unsupported padding mode", nameof(mode)),
                    };
                    pad.CopyTo(ia, 1);
                    return Ops.T1(Op.PAD, input, ia, stackalloc double[1] { value });
                }

                public static Tensor pad(Tensor input, (long, long) pad, PaddingModes mode = PaddingModes.Constant, double value = 0) => functional.pad(input, new[] { pad.Item1, pad.Item2 }, mode, value);
                public static Tensor pad(Tensor input, (long, long, long, long) pad, PaddingModes mode = PaddingModes.Constant, double value = 0) => functional.pad(input, new[] { pad.Item1, pad.Item2, pad.Item3, pad.Item4 }, mode, value);
                public static Tensor pad(Tensor input, long pad, PaddingModes mode = PaddingModes.Constant, double value = 0) => functional.pad(input, new[] { pad, pad, pad, pad }, mode, value);

                public static Tensor interpolate(Tensor x, long[]? size = null, double[]? scale_factor = null, InterpolationMode mode = InterpolationMode.Nearest, bool? align_corners = null, bool recompute_scale_factor = false, bool antialias = false)
                {
                    long m = mode switch {
                        InterpolationMode.Nearest => 0,
                        InterpolationMode.Bilinear => 1,
                        InterpolationMode.Bicubic => 2,
                        InterpolationMode.NearestExact => 3,
                        InterpolationMode.Area => 4,
                        InterpolationMode.Linear => 5,
                        _ => throw new ArgumentException($"unsupported interpolation mode {mode}", nameof(mode)),
                    };
                    if (size is null && scale_factor is null) throw new ArgumentException("either size or scale_factor should be defined");
                    var ia = new List<long> { m, align_corners.HasValue ? (align_corners.Value ? 1 : 0) : -1, size?.Length ?? 0 };
                    if (size is not null) ia.AddRange(size);
                    return Ops.T1(Op.INTERPOLATE, x, ia.ToArray(), size is null ? scale_factor! : Array.Empty<double>());
                }

                public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean, double label_smoothing = 0.0)
                    => Ops.TN(Op.CROSS_ENTROPY, new Tensor?[] { input, target, weight }, stackalloc long[2] { (long)reduction, ignore_index }, stackalloc double[1] { label_smoothing });

                public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
                    => Ops.TN(Op.NLL_LOSS, new Tensor?[] { input, target, weight }, stackalloc long[2] { (long)reduction, -100 });

                public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
                    => Ops.T2(Op.MSE_LOSS, input, target, stackalloc long[1] { (long)reduction });

                public static Tensor l1_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
                    => Ops.T2(Op.L1_LOSS, input, target, stackalloc long[1] { (long)reduction });
            }

            // ------------------------------------------------------------ init
            public static class init
            {
                public enum NonlinearityType
                {
                    Linear = 0,
                    Conv1D = 1,
                    Conv2D = 2,
                    Conv3D = 3,
                    ConvTranspose1D = 4,
                    ConvTranspose2D = 5,
                    ConvTranspose3D = 6,
                    Sigmoid = 7,
                    Tanh = 8,
                    ReLU = 9,
                    LeakyReLU = 10
                }

                public enum FanInOut
                {
                    FanIn = 0,
                    FanOut = 1
                }

                public static double calculate_gain(NonlinearityType nonlinearity, double param = 0.0) => nonlinearity switch {
                    NonlinearityType.Sigmoid or NonlinearityType.Linear or NonlinearityType.Conv1D or NonlinearityType.Conv2D or NonlinearityType.Conv3D
                        or NonlinearityType.ConvTranspose1D or NonlinearityType.ConvTranspose2D or NonlinearityType.ConvTranspose3D => 1.0,
                    NonlinearityType.Tanh => 5.0 / 3,
                    NonlinearityType.ReLU => Math.Sqrt(2.0),
                    NonlinearityType.LeakyReLU => Math.Sqrt(2.0 / (1 + param * param)),
                    _ => 1.0,
                };

                public static Tensor ones_(Tensor tensor) { using var ng = torch.no_grad(); return tensor.fill_(1); }
                public static Tensor zeros_(Tensor tensor) { using var ng = torch.no_grad(); return tensor.zero_(); }
                public static Tensor constant_(Tensor tensor, Scalar val) { using var ng = torch.no_grad(); return tensor.fill_(val); }
                public static Tensor uniform_(Tensor tensor, double low = 0, double high = 1, Generator? generator = null) { using var ng = torch.no_grad(); return tensor.uniform_(low, high); }
                public static Tensor normal_(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null) { using var ng = torch.no_grad(); return tensor.normal_(mean, std); }

                public static Tensor trunc_normal_(Tensor tensor, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0, Generator? generator = null)
                {
                    // Inverse-CDF method, as torch.nn.init.trunc_normal_.
                    static double NormCdf(double x) => (1.0 + Erf(x / Math.Sqrt(2.0))) / 2.0;
                    using var ng = torch.no_grad();
                    var l = NormCdf((a - mean) / std);
                    var u = NormCdf((b - mean) / std);
                    tensor.uniform_(2 * l - 1, 2 * u - 1);
                    tensor.erfinv_();
                    tensor.mul_(std * Math.Sqrt(2.0));
                    tensor.add_(mean);
                    tensor.clamp_(a, b);
                    return tensor;
                }

                public static Tensor kaiming_uniform_(Tensor tensor, double a = 0, FanInOut mode = FanInOut.FanIn, NonlinearityType nonlinearity = NonlinearityType.LeakyReLU)
                {
                    var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
                    var fan = mode == FanInOut.FanIn ? fanIn : fanOut;
                    var bound = Math.Sqrt(3.0) * calculate_gain(nonlinearity, a) / Math.Sqrt(fan);
                    using var ng = torch.no_grad();
                    return tensor.uniform_(-bound, bound);
                }

                public static Tensor kaiming_normal_(Tensor tensor, double a = 0, FanInOut mode = FanInOut.FanIn, NonlinearityType nonlinearity = NonlinearityType.LeakyReLU)
                {
                    var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
                    var fan = mode == FanInOut.FanIn ? fanIn : fanOut;
                    var std = calculate_gain(nonlinearity, a) / Math.Sqrt(fan);
                    using var ng = torch.no_grad();
                    return tensor.normal_(0, std);
                }

                public static Tensor xavier_uniform_(Tensor tensor, double gain = 1.0)
                {
                    var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
                    var bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
                    using var ng = torch.no_grad();
                    return tensor.uniform_(-bound, bound);
                }

                public static Tensor xavier_normal_(Tensor tensor, double gain = 1.0)
                {
                    var (fanIn, fanOut) = CalculateFanInAndFanOut(tensor);
                    var std = gain * Math.Sqrt(2.0 / (fanIn + fanOut));
                    using var ng = torch.no_grad();
                    return tensor.normal_(0, std);
                }

                public static (long fanIn, long fanOut) CalculateFanInAndFanOut(Tensor tensor)
                {
                    var s = tensor.shape;
                    if (s.Length < 2) throw new ArgumentException("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
                    long receptive = 1;
                    for (int i = 2; i < s.Length; i++) receptive *= s[i];
                    return (s[1] * receptive, s[0] * receptive);
                }

                private static double Erf(double x)
                {
                    // Abramowitz-Stegun 7.1.26 is too coarse; use a series/continued fraction split.
                    if (Math.Abs(x) < 3) {
                        double sum = x, term = x, x2 = x * x;
                        for (int n = 1; n < 200; n++) {
                            term *= -x2 / n;
                            var add = term / (2 * n + 1);
                            sum += add;
                            if (Math.Abs(add) < 1e-17) break;
                        }
                        return 2 / Math.Sqrt(Math.PI) * sum;
                    }
                    return Math.Sign(x) * (1 - Math.Exp(-x * x) / (Math.Abs(x) * Math.Sqrt(Math.PI)) * (1 - 1 / (2 * x * x) + 3 / (4 * x * x * x * x)));
                }
            }
        }
    }
}
