using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// A bottleneck whose residual branch ends in a norm (<c>bn3</c>: BatchNorm2d, FrozenBatchNorm2d or GroupNorm, as
    /// <see cref="BlockOptions.Norm"/> says) before the addition: every <see cref="ResidualBottleneck"/>.
    /// <see cref="CompilerServices.Init.ZeroResidualBranches"/> uses it.
    /// </summary>
    public interface IResidualBottleneck
    {
        nn.Module<Tensor, Tensor> LastNorm { get; }
    }
}
