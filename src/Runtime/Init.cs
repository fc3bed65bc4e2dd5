using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime
{
    /// <summary>
    /// Weight initialisation as each reference implementation does it.  Generated top-level modules call one of these
    /// after construction; each walks every submodule (<c>modules()</c>, no reflection) and leaves modules it does not
    /// know (relative-position tables, layer scales) with their constructor initialisation.
    /// </summary>
    public static class Init
    {
        /// <summary>torchvision ResNet: convs kaiming_normal_(fan_out, relu); BatchNorm/GroupNorm weight 1, bias 0.
        /// Linear layers keep PyTorch's default (as torchvision does).</summary>
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
                        nn.init.trunc_normal_(linear.weight, std: 0.02);
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

        private static void NormOnesZeros(Tensor? weight, Tensor? bias)
        {
            if (weight is not null)
                nn.init.ones_(weight);
            if (bias is not null)
                nn.init.zeros_(bias);
        }
    }
}
