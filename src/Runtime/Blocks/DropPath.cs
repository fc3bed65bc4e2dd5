using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// Stochastic depth on a residual branch (timm <c>DropPath</c>, <c>scale_by_keep=True</c>): in training each sample's
    /// branch is kept with probability keep = 1 - <see cref="Rate"/> and, when kept, scaled by 1/keep; in eval it is the
    /// identity. The mask has shape (N, 1, 1, ...) and is drawn per call with <c>bernoulli_(keep)</c>; the output is
    /// <c>x * (mask / keep)</c>, timm's arithmetic (the scale is rounded to the input's dtype before the product).
    /// Blocks register it as <c>drop_path</c> only when their rate is above 0; it has no parameters or buffers, so
    /// state dicts are unchanged.
    /// </summary>
    public sealed class DropPath : nn.Module<Tensor, Tensor>
    {
        public DropPath(string name, double rate) : base(name)
        {
            if (!(rate >= 0 && rate < 1))
                throw new ArgumentOutOfRangeException(nameof(rate), rate, $"DropPath: rate must be in [0, 1), got {rate}.");
            Rate = rate;
        }

        /// <summary>The probability of dropping a sample's branch.</summary>
        public double Rate { get; }

        /// <summary>A registered <c>drop_path</c> for a block with <paramref name="rate"/> &gt; 0, else null (timm: Identity or None).</summary>
        public static DropPath? For(double rate) => rate == 0 ? null : new DropPath("drop_path", rate);

        public override Tensor forward(Tensor input)
        {
            if (Rate == 0 || !training) return input;
            using var scope = torch.NewDisposeScope();
            var shape = new long[input.dim()];
            Array.Fill(shape, 1L);
            shape[0] = input.shape[0];
            var mask = torch.empty(shape, input.dtype, input.device).bernoulli_(1 - Rate);
            return Apply(input, mask).MoveToOuterDisposeScope();
        }

        /// <summary>The training output for a given 0/1 <paramref name="mask"/> of shape (N, 1, ...): <c>x * (mask / keep)</c>.</summary>
        public Tensor Apply(Tensor input, Tensor mask)
        {
            using var scale = mask.div(1 - Rate);
            return input * scale;
        }
    }

    /// <summary>How the blocks apply their optional <see cref="DropPath"/> to a branch they own.</summary>
    internal static class DropPathExtensions
    {
        /// <summary>The branch through <paramref name="dropPath"/> (freeing the branch when a new tensor results), or the branch itself.</summary>
        public static Tensor DroppedBy(this Tensor branch, DropPath? dropPath) =>
            dropPath is null ? branch : dropPath.call(branch).Freeing(branch);
    }
}
