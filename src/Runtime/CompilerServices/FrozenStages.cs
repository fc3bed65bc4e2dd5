using System.ComponentModel;
using Torchwright.Runtime.Training;
using static TorchSharp.torch;

namespace Torchwright.Runtime.CompilerServices
{
    /// <summary>Used by generated modules with <c>frozen_stages</c>: the mechanism of <c>train --freeze</c> (<see cref="Freezing"/>).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static class FrozenStages
    {
        /// <summary>Stops gradients for the named top-level parts (the stem and the first k stages).</summary>
        public static void Freeze(nn.Module module, params string[] parts) => Freezing.Freeze(module, parts);

        /// <summary>Called by the generated <c>train</c> override: the frozen parts' BatchNorm stays in eval mode.</summary>
        public static void KeepNormsInEval(nn.Module module) => Freezing.KeepFrozenNormsInEval(module);
    }
}
