using System;
using System.Collections.Generic;
using System.ComponentModel;
using TorchSharp;
using Torchwright.Runtime;
using static TorchSharp.torch;

namespace Torchwright.Runtime.CompilerServices
{
    /// <summary>
    /// Frees an intermediate tensor as soon as the step that consumes it has run, as PyTorch's reference counting does
    /// (a dispose scope alone would keep every intermediate until the scope ends). The blocks and the generated
    /// modules write each step as <c>y = step(x).Freeing(x)</c>, and module sequences as <c>input.Through(a, b, c)</c>.
    /// <para>Rules: free only tensors the calling code created and uses no further. Never free a forward's input (the
    /// caller owns it; that includes a residual identity that is the input), a tensor still needed later, or one that is
    /// returned. Freeing drops the managed handle only: a view, or autograd's saved tensors for backward, keep the
    /// storage they need alive in libtorch, so training is unaffected. A freed tensor also leaves its dispose scope,
    /// so callers' scopes (the Trainer's, bench's) keep working; the blocks keep their own scope to catch anything
    /// small left over (views of parameters, split pieces).</para>
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static class Intermediates
    {
        /// <summary>Returns <paramref name="result"/> after freeing <paramref name="consumed"/> (unless it is null or is
        /// <paramref name="result"/> itself, as in-place ops return).</summary>
        public static Tensor Freeing(this Tensor result, Tensor? consumed)
        {
            Free(result, consumed);
            return result;
        }

        /// <summary>Returns <paramref name="result"/> after freeing two consumed tensors (nulls are skipped).</summary>
        public static Tensor Freeing(this Tensor result, Tensor? a, Tensor? b)
        {
            Free(result, a);
            if (!ReferenceEquals(a, b)) Free(result, b);
            return result;
        }

        /// <summary>Returns <paramref name="result"/> after freeing three consumed tensors (nulls are skipped).</summary>
        public static Tensor Freeing(this Tensor result, Tensor? a, Tensor? b, Tensor? c)
        {
            Free(result, a);
            if (!ReferenceEquals(a, b)) Free(result, b);
            if (!ReferenceEquals(a, c) && !ReferenceEquals(b, c)) Free(result, c);
            return result;
        }

        /// <summary>
        /// Runs <paramref name="input"/> through <paramref name="modules"/> in order, freeing each module's output once the
        /// next has consumed it, like <c>nn.Sequential</c>. <paramref name="input"/> itself is never freed; with no modules
        /// it is returned as is.
        /// </summary>
        public static Tensor Through(this Tensor input, params nn.Module<Tensor, Tensor>[] modules) =>
            Through(input, (IEnumerable<nn.Module<Tensor, Tensor>>)modules);

        /// <inheritdoc cref="Through(Tensor, nn.Module{Tensor, Tensor}[])"/>
        public static Tensor Through(this Tensor input, IEnumerable<nn.Module<Tensor, Tensor>> modules)
        {
            if (modules is null) throw new ArgumentNullException(nameof(modules));
            var x = input;
            foreach (var module in modules)
            {
                var y = MixedPrecision.Call(module, x);   // the precision policy (fp32 outside a mixed scope)
                if (!ReferenceEquals(x, input)) Free(y, x);
                x = y;
            }
            return x;
        }

        private static void Free(Tensor result, Tensor? consumed)
        {
            if (consumed is not null && !ReferenceEquals(consumed, result))
                consumed.Dispose();
        }
    }
}
