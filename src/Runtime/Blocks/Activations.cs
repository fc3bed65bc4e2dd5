using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// The <see cref="Activation"/> choices with PyTorch's semantics: <c>nn.ReLU</c>, <c>nn.SiLU</c>, <c>nn.GELU</c> (exact erf
    /// form, PyTorch's default <c>approximate='none'</c>), <c>nn.Hardswish</c>. None has state, so which one a block uses
    /// never changes its state-dict keys.
    /// </summary>
    public static class Activations
    {
        /// <summary>
        /// The activation as a module (for blocks that register one, as torchvision's <c>relu</c>). ReLU is in place, as
        /// torchvision's <c>ReLU(inplace=True)</c>: the blocks only pass it a tensor they made and use no further, and its
        /// backward needs only its result, so it saves a full-size allocation (and its page faults) per call.
        /// </summary>
        public static nn.Module<Tensor, Tensor> Create(Activation activation) => Check(activation) switch
        {
            Activation.SiLU => nn.SiLU(),
            Activation.GELU => nn.GELU(),
            Activation.HardSwish => nn.Hardswish(),
            _ => nn.ReLU(inplace: true),
        };

        /// <summary>
        /// The activation applied to <paramref name="x"/>, which the caller gives up (it frees <paramref name="x"/> next): ReLU
        /// overwrites it in place, as <see cref="Create"/>'s module does; the others return a new tensor (their backward
        /// needs their input). Never pass a forward's input or a tensor whose producer saves it for backward.
        /// </summary>
        public static Tensor Apply(Activation activation, Tensor x) => activation switch
        {
            Activation.ReLU => nn.functional.relu(x, inplace: true),
            Activation.SiLU => nn.functional.silu(x),
            Activation.GELU => nn.functional.gelu(x),
            Activation.HardSwish => nn.functional.hardswish(x),
            _ => throw Undefined(activation),
        };

        /// <summary>Returns <paramref name="activation"/>, or throws when it is not one of the enum's values.</summary>
        public static Activation Check(Activation activation) =>
            Enum.IsDefined(activation) ? activation : throw Undefined(activation);

        private static ArgumentOutOfRangeException Undefined(Activation activation) =>
            new(nameof(activation), activation, $"Unknown activation {(int)activation}; use one of {string.Join(", ", Enum.GetNames<Activation>())}.");
    }
}
