using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>
    /// The training-time regularisers every family declares the same way: stochastic depth (<c>drop_path</c>, the rate of
    /// the last block, rising linearly from 0 over every block of the network in order) and dropout before the
    /// classifier (<c>dropout</c>, timm's <c>drop_rate</c>). Both are identities in eval and change no parameter.
    /// </summary>
    public static class Regularization
    {
        public static readonly Field<double> DropPath = new Field<double>("drop_path", FieldScope.Arch, 0,
            "Stochastic depth: the drop rate of the network's last block, in [0, 1); block k of n (all stages, in order) gets " +
            "float32 torch.linspace(0, drop_path, n)[k], as timm. Per sample on every residual branch (both of van and rest blocks), " +
            "scaled by 1/keep in training; the identity in eval.",
            readBy: "networks of two or more blocks (linspace gives a lone block rate 0)");

        public static readonly Field<double> Dropout = new Field<double>("dropout", FieldScope.Arch, 0,
            "Dropout on the pooled features before the classifier (timm's drop_rate), in [0, 1); the identity in eval.",
            readBy: "architectures with a classifier (classes > 0)");

        public static IEnumerable<FieldInfo> Fields => new[] { DropPath, Dropout };

        /// <summary>
        /// Each block's drop rate in network order (all 0 when drop_path is unset), or null after reporting an out-of-range
        /// value. A network of one block leaves drop_path unread (its only rate is 0), so a declared one is TW0024.
        /// </summary>
        internal static double[]? ReadDropPath(FieldReader f, int blocks, string owner)
        {
            if (!f.Has(DropPath) || blocks < 2) return new double[blocks];
            double rate = f.Get(DropPath);
            if (!InUnitInterval(f, DropPath.Name, rate, owner, "the last block's stochastic-depth rate")) return null;
            return Linspace(rate, blocks);
        }

        /// <summary>The classifier's dropout (0 when unset, or when there is no classifier to drop before), or null after an error.</summary>
        internal static double? ReadDropout(FieldReader f, long classes, string owner)
        {
            if (!f.Has(Dropout) || classes == 0) return 0;
            double p = f.Get(Dropout);
            return InUnitInterval(f, Dropout.Name, p, owner, "the dropout probability before the classifier") ? p : (double?)null;
        }

        private static bool InUnitInterval(FieldReader f, string field, double value, string owner, string what)
        {
            if (value >= 0 && value < 1) return true;
            f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(field), owner, field, value,
                $"{what} must be in [0, 1) (1 would drop everything)"));
            return false;
        }


        /// <summary>
        /// <c>[x.item() for x in torch.linspace(0, end, count)]</c> bit for bit: float32, as PyTorch 1.13's CPU kernel
        /// computes it with AVX2 (the reference these tests run). step = (end - 0) / (count - 1); element i below count/2
        /// is 0 + step·i, the rest end - step·(count - 1 - i), each one fused multiply-add (one rounding). Where the
        /// kernel writes a full run of 16 it writes two 8-lane vectors: lane 0 is that value, lane k adds k·step rounded
        /// separately. PyTorch 2.x dropped the vector path; the values then differ at most in the last float32 bit.
        /// </summary>
        public static double[] Linspace(double end, int count)
        {
            if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "linspace needs at least one step.");
            var result = new double[count];
            if (count == 1) return result;   // torch fills a single step with start
            float start = 0f, stop = (float)end;
            float step = Div(Sub(stop, start), count - 1);
            int halfway = count / 2;
            float Scalar(int i) => i < halfway ? Fma(step, i, start) : Fma(-step, count - i - 1, stop);
            const int Lanes = 8;
            int idx = 0;
            for (; idx + 2 * Lanes <= count; idx += 2 * Lanes)
            {
                for (int v = idx; v < idx + 2 * Lanes; v += Lanes)
                {
                    float lane0 = Scalar(v);
                    result[v] = lane0;
                    for (int k = 1; k < Lanes; k++) result[v + k] = Add(lane0, Mul(k, step));
                }
            }
            for (; idx < count; idx++) result[idx] = Scalar(idx);
            return result;
        }

        // float32 arithmetic through double: exact products, and + - * / of floats rounded once more from double give the
        // correctly rounded float (53 >= 2·24 + 2), whatever precision the host evaluates float expressions in.
        private static float Add(float a, float b) => (float)((double)a + b);

        private static float Sub(float a, float b) => (float)((double)a - b);

        private static float Mul(float a, float b) => (float)((double)a * b);

        private static float Div(float a, float b) => (float)((double)a / b);

        /// <summary>a·b + c rounded once to float (netstandard2.0 has no MathF.FusedMultiplyAdd).</summary>
        private static float Fma(float a, float b, float c)
        {
            double p = (double)a * b;   // exact: 24 + 24 bits
            double s = p + c;
            double bv = s - p, err = (p - (s - bv)) + (c - bv);   // TwoSum: s + err is exactly p + c
            float r = (float)s;
            if (err == 0 || (double)r == s) return r;
            // s lies between r and its neighbour; only a tie at their midpoint can round the wrong way.
            float other = Adjacent(r, s > r);
            if (((double)r + other) / 2 != s) return r;
            return (err > 0) == (other > r) ? other : r;
        }

        private static float Adjacent(float r, bool up)
        {
            int bits = BitConverter.ToInt32(BitConverter.GetBytes(r), 0);
            if (r == 0) bits = up ? 1 : unchecked((int)0x80000001);
            else bits += (r > 0) == up ? 1 : -1;
            return BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
        }
    }
}
