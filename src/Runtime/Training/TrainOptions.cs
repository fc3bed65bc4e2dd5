using System;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// How <see cref="Trainer.Run"/> trains: <paramref name="Steps"/> SGD steps of <paramref name="Batch"/> images at
    /// peak learning rate <paramref name="LearningRate"/>, from seed <paramref name="Seed"/> (model initialisation and
    /// data order), on <paramref name="Device"/>.
    /// </summary>
    public sealed record TrainOptions(int Steps, int Batch, double LearningRate, long Seed, Device Device)
    {
        /// <summary>SGD momentum (PyTorch's formulation, no dampening, no Nesterov).</summary>
        public double Momentum { get; init; } = 0.9;

        /// <summary>L2 weight decay (added to the gradient, as torch.optim.SGD does), applied to conv and linear weights and
        /// other parameters of rank ≥ 2 only: BatchNorm/LayerNorm scales and shifts, biases and layer-scale vectors are
        /// excluded, as in the usual ResNet/BoTNet training recipes.</summary>
        public double WeightDecay { get; init; } = 5e-5;

        /// <summary>Fraction of <see cref="Steps"/> over which the learning rate ramps linearly from LearningRate/W to
        /// LearningRate (W warm-up steps); a cosine decay towards 0 follows. 0 disables the warm-up.</summary>
        public double WarmupFraction { get; init; } = DefaultWarmupFraction;

        public const double DefaultWarmupFraction = 0.05;

        /// <summary>Images per evaluation forward pass (no gradients, so it may exceed <see cref="Batch"/>); defaults to
        /// the constructor's batch size.</summary>
        public int EvalBatch { get; init; } = Batch;

        /// <summary>Steps per point of the recorded loss curve (each point is the mean loss of its window); by default
        /// chosen from the constructor's step count so that the curve has at most 200 points.</summary>
        public int LossCurveEvery { get; init; } = Math.Max(1, (Steps + 199) / 200);

        /// <summary>Zero the last BatchNorm scale of every residual bottleneck before training
        /// (<see cref="Init.ZeroResidualBranches"/>): timm's zero_init_last, the BoTNet/ResNeSt recipe.</summary>
        public bool ZeroInitResidual { get; init; } = true;

        /// <summary>CPU threads for libtorch during the run (restored afterwards); null keeps the current setting.</summary>
        public int? Threads { get; init; }
    }
}
