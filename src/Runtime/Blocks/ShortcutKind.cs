namespace Torchwright.Runtime.Blocks
{
    /// <summary>How a residual block projects its input when the shape changes.</summary>
    public enum ShortcutKind
    {
        /// <summary>torchvision: <c>downsample.0</c> = conv 1x1 with the block's stride (no bias), <c>downsample.1</c> = BN.</summary>
        Conv,

        /// <summary>ResNet-D / ResNeSt: <c>downsample.0</c> = AvgPool(k = s, s, ceil_mode, no pad count) (Identity when s = 1),
        /// <c>downsample.1</c> = conv 1x1 (no bias), <c>downsample.2</c> = BN.</summary>
        AvgDown,
    }
}
