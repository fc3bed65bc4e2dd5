namespace Torchwright.Runtime.Blocks
{
    /// <summary>The non-linearity of a block (timm's <c>act_layer</c>): every ReLU of the block becomes this one.</summary>
    public enum Activation
    {
        ReLU,
        SiLU,
        GELU,
        HardSwish,
    }

    /// <summary>Channel attention on the residual branch, after its last BatchNorm and before the addition (SE-ResNet, ECA-Net).</summary>
    public enum ChannelAttentionKind
    {
        None,

        /// <summary>Squeeze-excitation (timm <c>SEModule</c>): mean over H·W, <c>fc1</c> 1x1 conv (bias) to the reduced
        /// channels, ReLU, <c>fc2</c> 1x1 conv (bias) back, sigmoid gate. Registered as <c>se</c>.
        /// Parameters (C·r + r) + (r·C + C) (<see cref="Blocks.SqueezeExcite.ParameterCount"/>). SE uses ReLU whatever the
        /// block's activation, as timm (its ResNet and ByobNet create SEModule without <c>act_layer</c>).</summary>
        SqueezeExcite,

        /// <summary>ECA (timm <c>EcaModule</c>): mean over H·W, <c>conv</c> Conv1d(1, 1, k, padding (k-1)/2, no bias) across
        /// channels, sigmoid gate. Registered as <c>se</c>, as timm's ecaresnet names it. Parameters: k.</summary>
        Eca,
    }

    /// <summary>Where a bottleneck applies its channel attention (<see cref="BlockOptions.Attention"/>).</summary>
    public enum ChannelAttentionPosition
    {
        /// <summary>After the branch's last BatchNorm (bn3), on the out channels, before the addition: SE-ResNet, ECA-ResNet.</summary>
        AfterLastNorm,

        /// <summary>After the spatial conv's BatchNorm and activation, on the width channels, before conv3: timm ByobNet's
        /// <c>attn</c> (BottleneckBlock without attn_last, e.g. eca_botnext26ts). Only Bottleneck has this position; SelfAttnBottleneck,
        /// SplitAttnBottleneck and CotBottleneck throw <see cref="System.ArgumentException"/> (timm's SelfAttnBlock has no attn).</summary>
        AfterSpatialConv,
    }

    /// <summary>
    /// Options every ResNet-family bottleneck (Bottleneck, SelfAttnBottleneck, SplitAttnBottleneck, CotBottleneck) takes.
    /// The checker computes every number (SE's rounded channels, ECA's kernel, each block's dilation); the blocks
    /// only build what they are given.
    /// </summary>
    /// <param name="Activation">Replaces every ReLU of the block (including the one after the residual addition, split
    /// attention's two, and the CoT/CoXt layer's three in key_embed, embed and se; not CoT's SiLU on K2, nor the ReLU inside
    /// squeeze-excitation, which stays ReLU as in timm).</param>
    /// <param name="Attention">Channel attention on the residual branch.</param>
    /// <param name="AttentionChannels">SE: the reduced channels of fc1; 0 otherwise.</param>
    /// <param name="AttentionKernel">ECA: the odd Conv1d kernel; 0 otherwise.</param>
    /// <param name="Dilation">Dilation (and padding) of the block's 3x3 spatial conv (Bottleneck's conv2, split attention's
    /// conv); 1 for none. SelfAttnBottleneck and CotBottleneck have no dilated form and throw <see cref="System.ArgumentException"/>
    /// for any other value.</param>
    /// <param name="Position">Where the channel attention sits (<see cref="ChannelAttentionPosition"/>); without attention it must
    /// stay AfterLastNorm.</param>
    /// <param name="Norm">The normalisation after each of the block's convolutions (<see cref="Norms.Create"/>).</param>
    /// <param name="NormGroups">Groups of <see cref="NormKind.Group"/>; with another kind it must stay 32 (the blocks refuse any other value).</param>
    public sealed record BlockOptions(
        Activation Activation = Activation.ReLU,
        ChannelAttentionKind Attention = ChannelAttentionKind.None,
        long AttentionChannels = 0,
        long AttentionKernel = 0,
        long Dilation = 1,
        ChannelAttentionPosition Position = ChannelAttentionPosition.AfterLastNorm,
        NormKind Norm = NormKind.Batch,
        long NormGroups = 32)
    {
        public static readonly BlockOptions Default = new();
    }
}
