using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Torchwright.Runtime.Data;

namespace Torchwright.Runtime.Training
{
    /// <summary>Which optimizer <see cref="Trainer"/> steps with.</summary>
    public enum OptimizerKind
    {
        /// <summary>torch.optim.SGD with <see cref="TrainSettings.Momentum"/> (and Nesterov when asked).</summary>
        Sgd,

        /// <summary>torch.optim.AdamW (decoupled weight decay) with <see cref="TrainSettings.Betas"/>.</summary>
        AdamW,
    }

    /// <summary>
    /// Every setting of a training run — optimizer, schedule, regularisation, augmentation — in one record: the C# API,
    /// the CLI flags of <c>train</c> and <c>sweep</c>, <c>train.NAME = value</c> in <c>.arch</c> declarations and the
    /// results store all read and write it through <see cref="Catalog"/>, one name per setting. Defaults are stated
    /// here only. Settings that change no result (device, threads, workers, where checkpoints go) are not in it.
    /// </summary>
    public sealed record TrainSettings
    {
        /// <summary>All defaults.</summary>
        public static TrainSettings Default { get; } = new TrainSettings();

        /// <summary>Optimizer steps; null: from <see cref="Epochs"/>, or 300 when neither is set.</summary>
        public int? Steps { get; init; }

        /// <summary>Passes over the training split (instead of <see cref="Steps"/>).</summary>
        public int? Epochs { get; init; }

        public const int DefaultSteps = 300;

        /// <summary>Images per optimizer step.</summary>
        public int Batch { get; init; } = 32;

        /// <summary>Images per evaluation forward pass; null: <see cref="Batch"/>.</summary>
        public int? EvalBatch { get; init; }

        /// <summary>Peak learning rate (after the warm-up).</summary>
        public double LearningRate { get; init; } = 0.1;

        public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

        /// <summary>SGD momentum (PyTorch's formulation, no dampening).</summary>
        public double Momentum { get; init; } = 0.9;

        /// <summary>SGD with Nesterov momentum.</summary>
        public bool Nesterov { get; init; }

        /// <summary>AdamW's (beta1, beta2).</summary>
        public (double Beta1, double Beta2) Betas { get; init; } = (0.9, 0.999);

        /// <summary>AdamW's epsilon.</summary>
        public double Eps { get; init; } = 1e-8;

        /// <summary>Weight decay (L2 added to the gradient for SGD, decoupled for AdamW), applied to parameters of rank ≥ 2
        /// only: norms, biases, layer scales and position tables are not decayed, as in timm.</summary>
        public double WeightDecay { get; init; } = 5e-5;

        /// <summary>Fraction of the steps over which the learning rate ramps linearly up to <see cref="LearningRate"/>;
        /// a cosine decay towards 0 follows. 0 disables the warm-up.</summary>
        public double Warmup { get; init; } = 0.05;

        /// <summary>Label smoothing ε of the cross-entropy (0 = none).</summary>
        public double LabelSmoothing { get; init; }

        /// <summary>Clip the global L2 norm of the gradients to this value before each step (0 = no clipping).</summary>
        public double ClipGrad { get; init; }

        /// <summary>Decay of an exponential moving average of the weights (timm ModelEmaV2), evaluated beside the
        /// model; 0 = no EMA.</summary>
        public double Ema { get; init; }

        /// <summary>Mixup's Beta(α, α) (0 = off).</summary>
        public double Mixup { get; init; }

        /// <summary>CutMix's Beta(α, α) (0 = off).</summary>
        public double Cutmix { get; init; }

        /// <summary>Probability that a batch is mixed at all when <see cref="Mixup"/> or <see cref="Cutmix"/> is on.</summary>
        public double MixupProb { get; init; } = 1.0;

        /// <summary>When both are on: probability of CutMix instead of Mixup for a mixed batch.</summary>
        public double MixupSwitchProb { get; init; } = 0.5;

        /// <summary>Seed of the initial weights, the data order, augmentation and dropout/drop-path draws.</summary>
        public long Seed { get; init; }

        /// <summary>Zero the last BatchNorm scale of every residual bottleneck before training (timm's zero_init_last).</summary>
        public bool ZeroInitResidual { get; init; } = true;

        /// <summary>Arithmetic of the forward passes (<see cref="MixedPrecision"/>): fp32, or bf16-mixed (convolutions,
        /// linears and attention matmuls in bfloat16; normalisation, softmax and the loss in fp32; fp32 master weights).
        /// fp16-mixed (with <see cref="DynamicLossScaler"/>) is for CUDA.</summary>
        public Precision Precision { get; init; } = Precision.Fp32;

        /// <summary>Per-image preprocessing and augmentation.</summary>
        public AugmentSettings Augment { get; init; } = AugmentSettings.Default;

        /// <summary>Every setting by name (the augmentation's among them), in the order <c>--help</c> lists them.</summary>
        public static IReadOnlyList<TrainSetting> Catalog => TrainSettingCatalog.All;

        /// <summary>The catalog entry called <paramref name="name"/>, or null.</summary>
        public static TrainSetting? Find(string name) => TrainSettingCatalog.All.FirstOrDefault(s => s.Name == name);

        /// <summary>
        /// These settings with <paramref name="pairs"/> applied in order (name → value text, as the CLI flags, the
        /// <c>.arch</c> <c>train.NAME = value</c> assignments and a generated class's <c>TrainingSettings</c> give them).
        /// </summary>
        /// <exception cref="ArgumentException">An unknown name (the message suggests a close one) or a value the
        /// setting does not take (the message says what it takes).</exception>
        public TrainSettings With(IEnumerable<KeyValuePair<string, string>> pairs)
        {
            if (pairs is null) throw new ArgumentNullException(nameof(pairs));
            var result = this;
            foreach (var pair in pairs)
            {
                var setting = Find(pair.Key) ?? throw new ArgumentException(UnknownMessage(pair.Key), nameof(pairs));
                try { result = setting.Apply(result, pair.Value); }
                catch (FormatException e) { throw new ArgumentException(e.Message, nameof(pairs), e); }
            }
            return result;
        }

        /// <summary>"unknown training setting 'lrr'; did you mean 'lr'?" (or the list of names).</summary>
        public static string UnknownMessage(string name) => Suggest(name) is string close
            ? $"unknown training setting '{name}'; did you mean '{close}'?"
            : $"unknown training setting '{name}'; the settings are {string.Join(", ", Catalog.Select(s => s.Name))}";

        /// <summary>The catalog name closest to <paramref name="name"/> when it is close enough to be a typo, else null.</summary>
        public static string? Suggest(string name)
        {
            var close = Catalog.Select(s => (s.Name, Distance: EditDistance(s.Name, name))).OrderBy(x => x.Distance).First();
            return close.Distance <= Math.Max(2, name.Length / 3) ? close.Name : null;
        }

        private static int EditDistance(string a, string b)
        {
            var row = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++) row[j] = j;
            for (var i = 1; i <= a.Length; i++)
            {
                var diagonal = row[0];
                row[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var above = row[j];
                    row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                    diagonal = above;
                }
            }
            return row[b.Length];
        }

        /// <summary>Every setting as name → text, in catalog order: what the results store records with each run.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> ToPairs() =>
            TrainSettingCatalog.All.Select(s => new KeyValuePair<string, string>(s.Name, s.Read(this))).ToList();
    }
}
