using System;
using System.Collections.Generic;
using System.Linq;

namespace Torchwright.Runtime
{
    /// <summary>The arithmetic of a forward pass (<see cref="MixedPrecision"/>). Parameters stay fp32 in every mode.</summary>
    public enum Precision
    {
        /// <summary>Everything in float32.</summary>
        Fp32,

        /// <summary>Convolutions, linears and attention matmuls in bfloat16; normalisation, softmax, losses and
        /// reductions in float32; fp32 master weights (gradients flow through the casts to the fp32 parameters).</summary>
        Bf16Mixed,

        /// <summary>As <see cref="Bf16Mixed"/> in float16, for CUDA: training scales the loss (<see cref="Training.DynamicLossScaler"/>)
        /// because float16's range underflows small gradients. Refused on the CPU.</summary>
        Fp16Mixed,
    }

    /// <summary>
    /// The words of <see cref="Precision"/> for the command line, the settings catalog and the store. Kept apart from
    /// <see cref="MixedPrecision"/>, whose thread state has a TorchSharp type: the tool builds its commands (and this
    /// catalog) before it knows whether the torch engine is installed.
    /// </summary>
    public static class Precisions
    {
        /// <summary>The command-line and settings word of each precision, in the order help lists them.</summary>
        public static IReadOnlyList<string> Words { get; } = new[] { "fp32", "bf16-mixed", "fp16-mixed" };

        /// <summary>"fp32", "bf16-mixed" or "fp16-mixed".</summary>
        public static string Word(Precision precision) => Words[(int)precision];

        /// <summary>The precision called <paramref name="word"/>; bf16_mixed and fp16_mixed are the same words as the
        /// <c>.arch</c> language writes them (a word there cannot hold a '-').</summary>
        /// <exception cref="FormatException">Not one of <see cref="Words"/> (the message lists them).</exception>
        public static Precision Parse(string word)
        {
            var i = Words.ToList().IndexOf(word?.Trim().Replace('_', '-') ?? "");
            if (i < 0)
                throw new FormatException($"precision takes {string.Join(", ", Words.Take(Words.Count - 1))} or {Words[Words.Count - 1]} (bf16_mixed, fp16_mixed in .arch files), not '{word}'");
            return (Precision)i;
        }

    }
}
