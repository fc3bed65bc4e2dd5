namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// A self-attention layer that fills the spatial slot of a ResNet-family bottleneck (timm's <c>self_attn_layer</c>:
    /// BoT's <see cref="MultiHeadSelfAttention2d"/>, Halo, Lambda). It maps <see cref="InChannels"/> to
    /// <see cref="OutChannels"/> and applies the block's <see cref="Stride"/> itself (BoT and Lambda pool after
    /// attending, Halo subsamples its queries), so the bottleneck around it never pools. Registered as <c>mhsa</c>.
    /// </summary>
    public interface ISelfAttention2d
    {
        long InChannels { get; }
        long OutChannels { get; }
        long Stride { get; }
    }
}
