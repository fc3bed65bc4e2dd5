using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>The normalisation a block builds after each of its convolutions (<see cref="BlockOptions.Norm"/>).</summary>
    public enum NormKind
    {
        /// <summary>BatchNorm2d (momentum 0.1, eps 1e-5), PyTorch's defaults.</summary>
        Batch,

        /// <summary><see cref="FrozenBatchNorm2d"/>: BatchNorm with fixed statistics and affine terms (torchvision's
        /// detection backbones): nothing is trained or updated, in train mode as in eval.</summary>
        FrozenBatch,

        /// <summary>GroupNorm over <see cref="BlockOptions.NormGroups"/> groups (eps 1e-5), independent of the batch.</summary>
        Group,
    }

    /// <summary>Builds the norm layer a block asked for; every block creates its norms here.</summary>
    public static class Norms
    {
        public static nn.Module<Tensor, Tensor> Create(NormKind kind, long channels, long groups = 32)
        {
            if (channels <= 0) throw new ArgumentOutOfRangeException(nameof(channels), channels, "Norm channels must be positive.");
            switch (kind)
            {
                case NormKind.Batch:
                    return nn.BatchNorm2d(channels);
                case NormKind.FrozenBatch:
                    return new FrozenBatchNorm2d(channels);
                case NormKind.Group:
                    if (groups <= 0 || channels % groups != 0)
                        throw new ArgumentException($"GroupNorm: {groups} groups do not divide {channels} channels; choose a divisor of {channels}.", nameof(groups));
                    var norm = nn.GroupNorm(groups, channels);
                    // TorchSharp 0.107 allocates GroupNorm's affine terms uninitialised (torch.empty, no reset): start
                    // them at PyTorch's ones and zeros, as every other norm here starts.
                    using (torch.no_grad())
                    {
                        norm.weight!.fill_(1);
                        norm.bias!.zero_();
                    }
                    return norm;
                default:
                    throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown norm kind.");
            }
        }
    }

    /// <summary>
    /// torchvision's FrozenBatchNorm2d: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, with all four
    /// tensors buffers (they load from and save to the same names as BatchNorm2d's, without num_batches_tracked, and
    /// receive no gradients). The arithmetic is the same in train and eval mode.
    /// </summary>
    public sealed class FrozenBatchNorm2d : nn.Module<Tensor, Tensor>
    {
        private readonly Tensor weight, bias, running_mean, running_var;

        public double Eps { get; }

        public long Channels { get; }

        public FrozenBatchNorm2d(long channels, double eps = 1e-5) : base(nameof(FrozenBatchNorm2d))
        {
            Eps = eps;
            Channels = channels;
            weight = torch.ones(channels);
            bias = torch.zeros(channels);
            running_mean = torch.zeros(channels);
            running_var = torch.ones(channels);
            register_buffer("weight", weight);
            register_buffer("bias", bias);
            register_buffer("running_mean", running_mean);
            register_buffer("running_var", running_var);
        }

        /// <summary>The norm as y = scale·x + shift per channel, in <paramref name="dtype"/> (for folding into a convolution).</summary>
        public (Tensor Scale, Tensor Shift) Affine(ScalarType dtype)
        {
            using var scope = torch.NewDisposeScope();
            var scale = weight.to(dtype) * (running_var.to(dtype) + Eps).rsqrt();
            var shift = bias.to(dtype) - running_mean.to(dtype) * scale;
            return (scale.MoveToOuterDisposeScope(), shift.MoveToOuterDisposeScope());
        }

        /// <summary>Set once its affine is folded into the convolution before it, where a typed field keeps it in the forward.</summary>
        private bool identity;

        /// <summary>Makes it the exact identity: weight 1, bias 0, mean 0, variance 1, and the forward returns its input.</summary>
        internal void BecomeIdentity()
        {
            using (torch.no_grad())
            {
                weight.fill_(1);
                bias.zero_();
                running_mean.zero_();
                running_var.fill_(1);
            }
            identity = true;
        }

        public override Tensor forward(Tensor input)
        {
            if (identity) return input.alias();
            using var scope = torch.NewDisposeScope();
            var scale = weight * (running_var + Eps).rsqrt();
            var shift = bias - running_mean * scale;
            return (input * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1)).MoveToOuterDisposeScope();
        }
    }
}
