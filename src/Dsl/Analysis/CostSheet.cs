using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Analysis
{
    /// <summary>
    /// Accumulates the exact parameters and MACs of one component as its layers are walked in order; each layer
    /// returns its output shape. The definitions in src/Dsl/Blocks write their cost rule with these calls.
    /// Convention: 1 MAC = one multiply-add (= 2 FLOPs); arithmetic is checked (an overflow throws).
    /// </summary>
    public sealed class CostSheet
    {
        /// <param name="normParams">Whether <see cref="Norm"/> counts a weight and a bias per channel (false for frozen BatchNorm, whose are buffers).</param>
        public CostSheet(bool normParams = true) => this.normParams = normParams;

        private readonly bool normParams;

        public long Params { get; private set; }
        public long Macs { get; private set; }
        public long AttentionMacs { get; private set; }

        /// <summary>A conv (padding defaults to "same" for odd kernels: dilation·(k-1)/2).</summary>
        public Shape Conv(Shape x, long cout, long k, long stride = 1, long pad = -1, long dilation = 1, long groups = 1, bool bias = false)
        {
            if (pad < 0) pad = dilation * (k - 1) / 2;
            long h = CostModel.OutSize(x.H, k, stride, pad, dilation), w = CostModel.OutSize(x.W, k, stride, pad, dilation);
            long perOut = checked(x.C / groups * k * k);
            Params = checked(Params + cout * perOut + (bias ? cout : 0));
            Macs = checked(Macs + cout * perOut * h * w);
            return new Shape(cout, h, w);
        }

        /// <summary>A normalisation with a weight and a bias per channel (BatchNorm, LayerNorm, GroupNorm); none for frozen BatchNorm.</summary>
        public void Norm(long c) => Params = checked(Params + (normParams ? 2 * c : 0));

        public void Linear(long tokens, long inF, long outF, bool bias = true)
        {
            Params = checked(Params + inF * outF + (bias ? outF : 0));
            Macs = checked(Macs + tokens * inF * outF);
        }

        /// <summary>Attention matmuls (also counted apart, for the conv+linear-only figure papers print).</summary>
        public void Attention(long macs) { Macs = checked(Macs + macs); AttentionMacs = checked(AttentionMacs + macs); }

        public void AddMacs(long macs) => Macs = checked(Macs + macs);

        public void Add(long parameters) => Params = checked(Params + parameters);

        public static Shape Pool(Shape x, long k, long stride, long pad, bool ceilMode = false) =>
            new Shape(x.C, CostModel.OutSize(x.H, k, stride, pad, 1, ceilMode), CostModel.OutSize(x.W, k, stride, pad, 1, ceilMode));
    }
}
