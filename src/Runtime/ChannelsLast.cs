using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime
{
    /// <summary>
    /// PyTorch's channels_last memory format: an NCHW tensor over NHWC storage, oneDNN's native layout for convolutions.
    /// libtorch's convolution runs channels-last when its input or weight is, and its output, the norms and activations
    /// after it, and the gradients keep that layout. TorchSharp 0.107 has no memory_format argument, so tensors are
    /// re-strided by a permuted copy.
    /// </summary>
    public static class ChannelsLast
    {
        /// <summary>The same NCHW tensor over NHWC storage (another rank: contiguous).</summary>
        public static Tensor Of(Tensor x) =>
            x.dim() != 4 ? x.contiguous() : x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

        /// <summary>Whether <paramref name="x"/> is a rank-4 tensor over dense NHWC storage (libtorch's test: the strides of
        /// C, W, H, N grow in that order; a dimension of size 1 has no say, so a 1x1 or depthwise weight can be both).</summary>
        public static bool Is(Tensor x)
        {
            if (x.dim() != 4) return false;
            var shape = x.shape;
            var stride = x.stride();
            long expected = 1;
            foreach (var d in new[] { 1, 3, 2, 0 })
            {
                if (shape[d] == 1) continue;
                if (stride[d] != expected) return false;
                expected *= shape[d];
            }
            return true;
        }

        /// <summary>
        /// Stores every Conv2d weight of <paramref name="model"/> channels-last, for training: each weight becomes a new
        /// Parameter (same values, same requires_grad) registered in place of the old, so call it before optimizers,
        /// weight averages or anything else takes the parameters. The gradients libtorch accumulates take their
        /// parameter's strides, and in-place optimizer updates keep them, so the weights stay channels-last.
        /// </summary>
        public static void Restride(nn.Module model)
        {
            using (torch.no_grad())
                foreach (var conv in model.modules().OfType<Conv2d>())
                {
                    var w = conv.weight!;
                    if (Is(w)) continue;
                    // A copy of its own, not the permuted view (autograd refuses in-place updates of a view made under no_grad).
                    conv.weight = new Parameter(Of(w).clone(), requires_grad: w.requires_grad);
                }
        }
    }
}
