using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Blocks;
using static TorchSharp.torch;

namespace Torchwright.Runtime
{
    /// <summary>
    /// The one place that decides which operation runs in which number format. TorchSharp 0.107 has no autocast, so the
    /// Runtime blocks, the residual skeleton and the generated modules route every convolution, linear, normalisation,
    /// softmax and attention matmul through <see cref="Call"/>, <see cref="Softmax"/> and <see cref="MatMul"/>; outside a
    /// mixed scope (<see cref="Enter"/>) these are exactly the plain calls. Inside one:
    /// <list type="bullet">
    /// <item>convolutions and linears cast their input, weight and bias to the compute type (bf16 or fp16) and return
    /// that type; the casts are differentiable, so the fp32 parameters get fp32 gradients (fp32 master weights);</item>
    /// <item>BatchNorm and GroupNorm take their input in the type it comes in, bf16 included, with their weight, bias
    /// and running statistics in fp32, as PyTorch's CPU autocast does: libtorch's mixed-type CPU kernels compute the
    /// statistics and accumulate in fp32 (running statistics update in fp32) and return the input's type, which saves
    /// the two casts around every conv → norm → activation. LayerNorm (libtorch 2.10's mixed-type backward gives weight
    /// and bias gradients off by bf16 roundoff: MixedPrecisionTests), frozen BatchNorm (an fp32 affine map), InstanceNorm
    /// (not verified mixed) and any norm off the CPU (the mixed kernels are verified on the CPU only) get their input in
    /// fp32 and return fp32;</item>
    /// <item>softmax runs in fp32; attention matmuls cast both operands to the compute type;</item>
    /// <item>everything else (activations, pooling, additions) runs in the type it is given, as under PyTorch's autocast:
    /// a residual stream whose branches end in BatchNorm or GroupNorm is bf16, one that meets an fp32 tensor promotes
    /// to fp32; libtorch's bf16 pooling and mean kernels accumulate in fp32, and <see cref="Logits"/> returns fp32, so
    /// losses and softmax over the logits are fp32.</item>
    /// </list>
    /// The scope is per thread (a forward pass runs on the calling thread; libtorch's own threads see only its kernels).
    /// </summary>
    public static class MixedPrecision
    {
        [ThreadStatic] private static ScalarType? s_compute;

        /// <summary>The compute type of the current scope (BFloat16 or Float16), or null outside a mixed scope.</summary>
        public static ScalarType? ComputeType => s_compute;

        /// <summary>The precision in force on this thread.</summary>
        public static Precision Current => s_compute switch
        {
            ScalarType.BFloat16 => Precision.Bf16Mixed,
            ScalarType.Float16 => Precision.Fp16Mixed,
            _ => Precision.Fp32,
        };

        /// <summary>Why <paramref name="precision"/> cannot run on <paramref name="device"/>, or null when it can.</summary>
        public static string? WhyUnavailable(Precision precision, Device device)
        {
            if (precision == Precision.Fp16Mixed && device.type != DeviceType.CUDA)
                return "precision fp16-mixed is for CUDA devices (float16 with dynamic loss scaling); on the CPU use bf16-mixed";
            return null;
        }

        /// <summary>
        /// Makes <paramref name="precision"/> the current precision on this thread until the returned scope is disposed
        /// (scopes nest; disposing restores the previous one). Null enters nothing and returns null: a module whose own
        /// precision is unset runs in its caller's.
        /// </summary>
        public static IDisposable? Enter(Precision? precision) =>
            precision is Precision p ? new Scope(p switch
            {
                Precision.Bf16Mixed => ScalarType.BFloat16,
                Precision.Fp16Mixed => ScalarType.Float16,
                _ => null,
            }) : null;

        /// <summary>Runs <paramref name="layer"/> on <paramref name="input"/> in the format the policy gives its kind.</summary>
        public static Tensor Call(nn.Module<Tensor, Tensor> layer, Tensor input)
        {
            if (s_compute is not ScalarType compute) return layer.call(input);
            switch (layer)
            {
                case Convolution conv when !conv.transposed && conv.padding_type is null && conv.padding_mode == PaddingModes.Zeros:
                    return Convolve(conv, input, compute);
                case Linear linear:
                    return InType(input, compute, x => InType(linear.weight, compute, w => linear.bias is null
                        ? nn.functional.linear(x, w, null)
                        : InType(linear.bias, compute, b => nn.functional.linear(x, w, b))));
                case BatchNorm or GroupNorm when input.device_type == DeviceType.CPU:
                    return layer.call(input);
                case NormBase or GroupNorm or LayerNorm or FrozenBatchNorm2d:
                    return InType(input, ScalarType.Float32, layer.call);
                default:
                    return layer.call(input);
            }
        }

        /// <summary>Softmax over <paramref name="dim"/>, in fp32 inside a mixed scope.</summary>
        public static Tensor Softmax(Tensor input, long dim) =>
            s_compute is null ? input.softmax(dim) : InType(input, ScalarType.Float32, x => x.softmax(dim));

        /// <summary>An attention matmul: both operands in the compute type inside a mixed scope.</summary>
        public static Tensor MatMul(Tensor a, Tensor b) =>
            s_compute is not ScalarType compute ? a.matmul(b) : InType(a, compute, x => InType(b, compute, y => x.matmul(y)));

        /// <summary><paramref name="input"/> in fp32: itself when it already is, else a new tensor (the caller owns it).</summary>
        public static Tensor Float(Tensor input) => input.dtype == ScalarType.Float32 ? input : input.to(ScalarType.Float32);

        /// <summary>The classifier: <see cref="Call"/>, with half-precision logits (a mixed scope's) returned in fp32 so that
        /// the losses and softmax taken from them run in fp32; a float32 or float64 network's logits keep its type.</summary>
        public static Tensor Logits(nn.Module<Tensor, Tensor> head, Tensor input)
        {
            var logits = Call(head, input);
            if (logits.dtype is not (ScalarType.BFloat16 or ScalarType.Float16)) return logits;
            using (logits) return logits.to(ScalarType.Float32);
        }

        private static Tensor Convolve(Convolution conv, Tensor input, ScalarType compute) =>
            InType(input, compute, x => InType(conv.weight, compute, w => conv.bias is null
                ? Convolve(conv, x, w, null)
                : InType(conv.bias, compute, b => Convolve(conv, x, w, b))));

        private static Tensor Convolve(Convolution conv, Tensor x, Tensor w, Tensor? b) => conv.kernel_size.Length switch
        {
            1 => nn.functional.conv1d(x, w, b, conv.stride[0], conv.padding![0], conv.dilation[0], conv.groups),
            2 => nn.functional.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups),
            _ => nn.functional.conv3d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups),
        };

        /// <summary>Applies <paramref name="f"/> to <paramref name="t"/> in <paramref name="type"/>, freeing the cast
        /// copy afterwards (autograd keeps what backward needs).</summary>
        private static Tensor InType(Tensor t, ScalarType type, Func<Tensor, Tensor> f)
        {
            if (t.dtype == type) return f(t);
            using var cast = t.to(type);
            return f(cast);
        }

        private sealed class Scope : IDisposable
        {
            private readonly ScalarType? _previous;
            private bool _disposed;

            public Scope(ScalarType? compute)
            {
                _previous = s_compute;
                s_compute = compute;
            }

            public void Dispose()
            {
                if (_disposed) return;
                _disposed = true;
                s_compute = _previous;
            }
        }
    }
}
