using System.Collections.Generic;
using TorchSharp.Modules;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// Clears gradients before a backward pass by dropping them (PyTorch's <c>zero_grad(set_to_none=True)</c>), not by
    /// zeroing them as TorchSharp 0.107.0's <c>Optimizer.zero_grad()</c> does. A zeroed gradient stays allocated through
    /// the forward pass, and backward then allocates each new gradient and adds it into the old one; a dropped one is
    /// simply taken over by backward. ResNet50 training at batch 8 on 2 threads: page faults per step 121,532 -> 62,956
    /// and peak RSS 2,119 -> 1,938 MiB (bench --mode train). The values are the same (0 + g = g); a parameter that gets
    /// no gradient in a step is skipped by the optimizers (no momentum or weight-decay update), as in PyTorch 2.
    /// </summary>
    internal static class Gradients
    {
        public static void Clear(IEnumerable<Parameter> parameters)
        {
            foreach (var p in parameters) p.grad = null;
        }
    }
}
