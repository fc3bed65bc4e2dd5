using TorchSharp.Modules;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// A bottleneck whose residual branch ends in a BatchNorm (<c>bn3</c>) before the addition: ResNet, BoT,
    /// split-attention and CoT bottlenecks. <see cref="Init.ZeroResidualBranches"/> uses it.
    /// </summary>
    public interface IResidualBottleneck
    {
        BatchNorm2d LastNorm { get; }
    }
}
