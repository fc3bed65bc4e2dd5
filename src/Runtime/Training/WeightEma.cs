using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// An exponential moving average of a module's state dict, as timm's ModelEmaV2: after every optimizer step each
    /// floating-point entry (parameters and BatchNorm statistics) becomes <c>decay·ema + (1 − decay)·model</c>; integer
    /// entries (BatchNorm's step counter) are copied, as timm's ModelEmaV3 does. It starts as a copy of the model.
    /// </summary>
    public sealed class WeightEma : IDisposable
    {
        private readonly List<(Tensor Model, Tensor Ema, bool Floating)> _pairs;

        /// <param name="module">The model; its state dict's tensors are read in place at every <see cref="Update"/>.</param>
        /// <param name="decay">In [0, 1).</param>
        public WeightEma(nn.Module module, double decay)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            if (!(decay >= 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "the EMA decay must be in [0, 1)");
            Decay = decay;
            using var noGrad = torch.no_grad();
            _pairs = module.state_dict().Select(kv => (kv.Value, kv.Value.detach().clone().DetachFromDisposeScope(), kv.Value.is_floating_point())).ToList();
            Names = module.state_dict().Keys.ToList();
        }

        public double Decay { get; }

        /// <summary>The state-dict names, in the order of <see cref="Tensors"/>.</summary>
        public IReadOnlyList<string> Names { get; }

        /// <summary>The averaged tensors by state-dict name (owned by this object).</summary>
        public IReadOnlyDictionary<string, Tensor> Tensors =>
            Names.Select((n, i) => (n, _pairs[i].Ema)).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal);

        /// <summary>One EMA step from the model's current state.</summary>
        public void Update()
        {
            using var noGrad = torch.no_grad();
            foreach (var (model, ema, floating) in _pairs)
            {
                if (floating) ema.mul_(Decay).add_(model, alpha: 1 - Decay);
                else ema.copy_(model);
            }
        }

        /// <summary>Replaces the averages with saved ones (same names and shapes).</summary>
        public void Load(IReadOnlyDictionary<string, Tensor> saved)
        {
            using var noGrad = torch.no_grad();
            for (var i = 0; i < Names.Count; i++)
            {
                if (!saved.TryGetValue(Names[i], out var t))
                    throw new System.IO.InvalidDataException($"the saved EMA has no '{Names[i]}'");
                _pairs[i].Ema.copy_(t);
            }
        }

        /// <summary>Runs <paramref name="action"/> with the averaged weights in the model, then puts the model's back.</summary>
        public T WithAveragedWeights<T>(Func<T> action)
        {
            var backup = new List<Tensor>(_pairs.Count);
            try
            {
                using (torch.no_grad())
                    foreach (var (model, ema, _) in _pairs)
                    {
                        backup.Add(model.detach().clone().DetachFromDisposeScope());
                        model.copy_(ema);
                    }
                return action();
            }
            finally
            {
                using (torch.no_grad())
                    for (var i = 0; i < backup.Count; i++)
                    {
                        _pairs[i].Model.copy_(backup[i]);
                        backup[i].Dispose();
                    }
            }
        }

        public void Dispose()
        {
            foreach (var p in _pairs) p.Ema.Dispose();
        }
    }
}
