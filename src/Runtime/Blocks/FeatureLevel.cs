namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// One feature map a detection backbone returns (a generated module with <c>out_indices</c> lists them in order as
    /// its <c>FeatureInfo</c> constant, as timm's <c>feature_info</c> does): what an FPN needs to wire its lateral convs.
    /// </summary>
    /// <param name="Module">The registered stage that produces it (its state-dict prefix, e.g. <c>layer2</c>).</param>
    /// <param name="Channels">Its channels.</param>
    /// <param name="Stride">Its reduction from the input: input size / map size, the product of the stem's and the stages' strides.</param>
    public sealed record FeatureLevel(string Module, long Channels, long Stride);
}
