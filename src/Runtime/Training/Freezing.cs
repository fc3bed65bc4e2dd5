using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// Frozen parts of a network, one mechanism for <c>train --freeze K</c> and the declared <c>frozen_stages</c>
    /// (mmdet's frozen_stages with norm_eval): the parameters of the named top-level parts get
    /// <c>requires_grad = false</c>, and a BatchNorm whose parameters are all frozen stays in eval mode (its running
    /// statistics are not updated) whenever the model is put in train mode.
    /// </summary>
    public static class Freezing
    {
        /// <summary>Stops gradients for the parameters of the top-level children named <paramref name="parts"/>; returns
        /// how many parameter values that froze. A name that is not a child throws (the caller computed the names).</summary>
        public static long Freeze(nn.Module model, IReadOnlyCollection<string> parts)
        {
            if (model is null) throw new ArgumentNullException(nameof(model));
            var children = model.named_children().ToDictionary(c => c.name, c => c.module, StringComparer.Ordinal);
            long count = 0;
            foreach (var name in parts)
            {
                if (!children.TryGetValue(name, out var child))
                    throw new ArgumentException($"{model.GetName()} has no top-level part '{name}' (it has {string.Join(", ", children.Keys)})", nameof(parts));
                foreach (var p in child.parameters())
                {
                    p.requires_grad = false;
                    count += p.numel();
                }
            }
            return count;
        }

        /// <summary>The BatchNorms whose parameters are all frozen: they stay in eval mode in training.</summary>
        public static IReadOnlyList<BatchNorm> FrozenNorms(nn.Module model) =>
            model.modules().OfType<BatchNorm>().Where(m => m.parameters().Any() && m.parameters().All(p => !p.requires_grad)).ToList();

        /// <summary>Puts the frozen BatchNorms (<see cref="FrozenNorms"/>) back in eval mode (call after <c>train()</c>).</summary>
        public static void KeepFrozenNormsInEval(nn.Module model)
        {
            foreach (var norm in FrozenNorms(model)) norm.eval();
        }
    }
}
