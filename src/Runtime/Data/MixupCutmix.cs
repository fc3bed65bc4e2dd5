using System;
using TorchSharp;
using Torchwright.Runtime.Training;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// timm's Mixup in 'batch' mode (Zhang et al. 2018; Yun et al. 2019), one draw per batch: with probability
    /// <see cref="TrainSettings.MixupProb"/> the batch is mixed with itself reversed along the batch axis — by Mixup
    /// (λ ~ Beta(mixup, mixup), x = λ·x + (1 − λ)·x.flip(0)) or, with probability <see cref="TrainSettings.MixupSwitchProb"/>
    /// when both are on, by CutMix (λ ~ Beta(cutmix, cutmix), a box of side √(1 − λ)·(H, W) centred uniformly and clipped
    /// to the image pasted from x.flip(0), λ then corrected to 1 − box area / image area). Targets are
    /// λ·smooth(y) + (1 − λ)·smooth(y.flip(0)) with smooth(y) = one-hot with on 1 − ε + ε/K and off ε/K
    /// (<see cref="TrainSettings.LabelSmoothing"/>), so every row sums to 1; train on them with soft-target cross-entropy.
    /// All draws come from SplitMix64 of (seed, step).
    /// </summary>
    public static class MixupCutmix
    {
        private const ulong MixStream = 0x4D49_5855_505F_4355UL;

        /// <summary>Whether the settings mix at all (mixup or cutmix α > 0 and a positive probability).</summary>
        public static bool Enabled(TrainSettings settings) =>
            settings is not null && (settings.Mixup > 0 || settings.Cutmix > 0) && settings.MixupProb > 0;

        /// <summary>The draw for one batch: λ (1 when the batch is not mixed) and, for CutMix, the box (rows
        /// [Top, Bottom), columns [Left, Right)) with λ already corrected to its area.</summary>
        public static (double Lambda, bool Cutmix, int Top, int Bottom, int Left, int Right) Draw(TrainSettings settings, long height, long width, long seed, long step)
        {
            if (settings is null) throw new ArgumentNullException(nameof(settings));
            var rng = SplitMix64.ForItem((ulong)seed ^ MixStream, (ulong)step);
            if (!Enabled(settings) || rng.NextDouble() >= settings.MixupProb) return (1.0, false, 0, 0, 0, 0);
            bool cutmix;
            double lambda;
            if (settings.Mixup > 0 && settings.Cutmix > 0)
            {
                cutmix = rng.NextDouble() < settings.MixupSwitchProb;
                lambda = Beta(ref rng, cutmix ? settings.Cutmix : settings.Mixup);
            }
            else
            {
                cutmix = settings.Cutmix > 0;
                lambda = Beta(ref rng, cutmix ? settings.Cutmix : settings.Mixup);
            }
            if (!cutmix) return (lambda, false, 0, 0, 0, 0);
            // timm's rand_bbox (no margin) and cutmix_bbox_and_lam with correct_lam.
            var ratio = Math.Sqrt(1 - lambda);
            int h = (int)height, w = (int)width;
            int cutH = (int)(h * ratio), cutW = (int)(w * ratio);
            var cy = rng.NextInt(h);
            var cx = rng.NextInt(w);
            var top = Math.Clamp(cy - cutH / 2, 0, h);
            var bottom = Math.Clamp(cy + cutH / 2, 0, h);
            var left = Math.Clamp(cx - cutW / 2, 0, w);
            var right = Math.Clamp(cx + cutW / 2, 0, w);
            lambda = 1.0 - (double)(bottom - top) * (right - left) / ((double)h * w);
            return (lambda, true, top, bottom, left, right);
        }

        /// <summary>Mixes a batch: <paramref name="images"/> (N, C, H, W) and integer <paramref name="labels"/> (N) give
        /// the mixed images and soft targets (N, <paramref name="classes"/>), float32 on the images' device; deterministic
        /// in (<paramref name="seed"/>, <paramref name="step"/>). The inputs are not modified; the caller disposes the
        /// results (they belong to the current dispose scope).</summary>
        public static (Tensor Images, Tensor Targets) Apply(Tensor images, Tensor labels, int classes, TrainSettings settings, long seed, long step)
        {
            if (images is null) throw new ArgumentNullException(nameof(images));
            if (labels is null) throw new ArgumentNullException(nameof(labels));
            if (images.dim() != 4) throw new ArgumentException($"images must be (N, C, H, W), not rank {images.dim()}", nameof(images));
            if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
                throw new ArgumentException($"labels must be ({images.shape[0]}), one per image", nameof(labels));
            if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "at least 2 classes");
            var (lambda, cutmix, top, bottom, left, right) = Draw(settings, images.shape[2], images.shape[3], seed, step);
            var targets = Targets(labels, classes, settings.LabelSmoothing, lambda, images.device);
            if (lambda == 1.0) return (images.clone(), targets);
            var flipped = images.flip(0);
            Tensor mixed;
            if (cutmix)
            {
                mixed = images.clone();
                if (bottom > top && right > left)
                {
                    var rows = TensorIndex.Slice(top, bottom);
                    var cols = TensorIndex.Slice(left, right);
                    mixed[TensorIndex.Colon, TensorIndex.Colon, rows, cols] = flipped[TensorIndex.Colon, TensorIndex.Colon, rows, cols];
                }
            }
            else
            {
                mixed = images.mul(lambda).add_(flipped.mul(1.0 - lambda));
            }
            return (mixed, targets);
        }

        /// <summary>timm's mixup_target: λ·smooth(y) + (1 − λ)·smooth(y.flip(0)).</summary>
        private static Tensor Targets(Tensor labels, int classes, double smoothing, double lambda, Device device)
        {
            var off = smoothing / classes;
            var on = 1.0 - smoothing + off;
            var values = labels.to(torch.CPU).data<long>().ToArray();
            var n = values.Length;
            var targets = new float[n * classes];
            for (var i = 0; i < n; i++)
            {
                var a = values[i];
                var b = values[n - 1 - i];
                if (a < 0 || a >= classes) throw new ArgumentOutOfRangeException(nameof(labels), a, $"labels are 0..{classes - 1}");
                for (var c = 0; c < classes; c++)
                    targets[i * classes + c] = (float)(lambda * (c == a ? on : off) + (1 - lambda) * (c == b ? on : off));
            }
            return torch.tensor(targets, new long[] { n, classes }).to(device);
        }

        /// <summary>Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α).</summary>
        private static double Beta(ref SplitMix64 rng, double alpha)
        {
            var x = Gamma(ref rng, alpha);
            var y = Gamma(ref rng, alpha);
            return x + y > 0 ? x / (x + y) : 0.5;
        }

        /// <summary>Gamma(α, 1) by Marsaglia and Tsang (2000), boosted by U^(1/α) for α &lt; 1.</summary>
        private static double Gamma(ref SplitMix64 rng, double alpha)
        {
            if (alpha < 1)
            {
                var u = 1.0 - rng.NextDouble();
                return Gamma(ref rng, alpha + 1) * Math.Pow(u, 1 / alpha);
            }
            var d = alpha - 1.0 / 3.0;
            var c = 1 / Math.Sqrt(9 * d);
            while (true)
            {
                double x, v;
                do
                {
                    x = rng.NextGaussian();
                    v = 1 + c * x;
                } while (v <= 0);
                v = v * v * v;
                var u = 1.0 - rng.NextDouble();
                if (Math.Log(u) < 0.5 * x * x + d - d * v + d * Math.Log(v)) return d * v;
            }
        }
    }
}
