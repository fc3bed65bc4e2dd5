using System;
using System.ComponentModel;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Blocks;
using static TorchSharp.torch;

namespace Torchwright.Runtime.CompilerServices
{
    /// <summary>
    /// Weight initialisation as each reference implementation does it.  Generated top-level modules call one of these
    /// after construction; each walks every submodule (<c>modules()</c>, no reflection) and leaves modules it does not
    /// know (relative-position tables, layer scales) with their constructor initialisation. Called by generated code
    /// and the Trainer, not meant to be called by hand.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static class Init
    {
        /// <summary>torchvision ResNet: convs kaiming_normal_(fan_out, relu); BatchNorm/GroupNorm weight 1, bias 0.
        /// Linear layers keep PyTorch's default (as torchvision does). As timm's ResNet <c>init_weights</c>: every Conv2d
        /// includes the squeeze-excitation <c>fc1</c>/<c>fc2</c> (their biases keep the default), and ECA's Conv1d is not a
        /// Conv2d, so it keeps TorchSharp's default (PyTorch's kaiming_uniform(a = √5)).</summary>
        public static void ResNet(nn.Module module)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            using var noGrad = torch.no_grad();
            foreach (var m in module.modules())
            {
                switch (m)
                {
                    case Conv2d conv:
                        nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                        break;
                    case BatchNorm2d bn:
                        NormOnesZeros(bn.weight, bn.bias);
                        break;
                    case GroupNorm gn:
                        NormOnesZeros(gn.weight, gn.bias);
                        break;
                }
            }
        }

        /// <summary>VAN: Linear trunc_normal_(std 0.02), bias 0; LayerNorm weight 1, bias 0;
        /// Conv2d normal(0, sqrt(2 / fan_out)) with fan_out = k_h·k_w·out/groups, bias 0.</summary>
        public static void Van(nn.Module module) => TransformerStyle(module, batchNorm: false);

        /// <summary>ResT: as <see cref="Van"/>, plus BatchNorm weight 1, bias 0.</summary>
        public static void Rest(nn.Module module) => TransformerStyle(module, batchNorm: true);

        private static void TransformerStyle(nn.Module module, bool batchNorm)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            using var noGrad = torch.no_grad();
            foreach (var m in module.modules())
            {
                switch (m)
                {
                    case Linear linear:
                        TruncNormal_(linear.weight, mean: 0.0, std: 0.02, a: -2.0, b: 2.0);
                        if (linear.bias is not null)
                            nn.init.zeros_(linear.bias);
                        break;
                    case LayerNorm ln:
                        NormOnesZeros(ln.weight, ln.bias);
                        break;
                    case Conv2d conv:
                        long fanOut = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels / conv.groups;
                        nn.init.normal_(conv.weight, 0.0, Math.Sqrt(2.0 / fanOut));
                        if (conv.bias is not null)
                            nn.init.zeros_(conv.bias);
                        break;
                    case BatchNorm2d bn when batchNorm:
                        NormOnesZeros(bn.weight, bn.bias);
                        break;
                }
            }
        }

        /// <summary>
        /// Zeroes the scale of the last BatchNorm in every residual bottleneck (<see cref="IResidualBottleneck"/>), so
        /// each block starts as the identity: timm's <c>zero_init_last</c> (its default for ResNets, and what the BoTNet
        /// and ResNeSt training recipes use), torchvision's <c>zero_init_residual=True</c>. Deep bottleneck stacks
        /// trained briefly from scratch often stay at chance without it. Returns how many blocks it changed.
        /// </summary>
        public static int ZeroResidualBranches(nn.Module module)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            using var noGrad = torch.no_grad();
            int count = 0;
            foreach (var m in module.modules())
                if (m is IResidualBottleneck block && NormWeight(block.LastNorm) is Tensor weight)
                {
                    nn.init.zeros_(weight);
                    count++;
                }
            return count;
        }

        /// <summary>
        /// Fills <paramref name="tensor"/> in place with a normal(mean, std) truncated to [a, b] (bounds absolute, as in
        /// PyTorch's and timm's <c>trunc_normal_</c>): inverse-CDF sampling of a uniform on [Φ(α), Φ(β)] with
        /// α = (a − mean)/std, β = (b − mean)/std, then clamped to [a, b] against rounding.
        /// Used instead of TorchSharp 0.107.0's <c>nn.init.trunc_normal_</c>, which fills every element with
        /// <paramref name="std"/> when the mean is 0 (InitAndValidationTests shows the bug).
        /// </summary>
        internal static Tensor TruncNormal_(Tensor tensor, double mean, double std, double a, double b)
        {
            if (tensor is null) throw new ArgumentNullException(nameof(tensor));
            if (!(std > 0) || double.IsInfinity(std)) throw new ArgumentOutOfRangeException(nameof(std), std, "the standard deviation must be positive and finite");
            if (!(a < b)) throw new ArgumentException($"the lower bound a ({a}) must be below the upper bound b ({b})", nameof(a));
            double lo = NormalCdf((a - mean) / std), hi = NormalCdf((b - mean) / std);
            using var noGrad = torch.no_grad();
            tensor.uniform_(2 * lo - 1, 2 * hi - 1);
            tensor.erfinv_();
            tensor.mul_(std * Math.Sqrt(2.0));
            tensor.add_(mean);
            tensor.clamp_(a, b);
            return tensor;
        }

        private static double NormalCdf(double x)
        {
            using var t = torch.tensor(x / Math.Sqrt(2.0), torch.float64);
            using var erf = t.erf();
            return (1 + erf.item<double>()) / 2;
        }

        /// <summary>A norm's scale: BatchNorm2d's and GroupNorm's parameter, FrozenBatchNorm2d's buffer; null when affine is off.</summary>
        private static Tensor? NormWeight(nn.Module norm)
        {
            foreach (var (name, p) in norm.named_parameters(recurse: false))
                if (name == "weight") return p;
            foreach (var (name, b) in norm.named_buffers(recurse: false))
                if (name == "weight") return b;
            return null;
        }

        private static void NormOnesZeros(Tensor? weight, Tensor? bias)
        {
            if (weight is not null)
                nn.init.ones_(weight);
            if (bias is not null)
                nn.init.zeros_(bias);
        }
    }
}
