using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// Dynamic loss scaling for fp16-mixed training (PyTorch's <c>torch.cuda.amp.GradScaler</c>, same defaults): the loss
    /// is multiplied by <see cref="Scale"/> before backward so that small float16 gradients do not underflow; the
    /// gradients are divided by it again before the step. A step whose gradients hold an inf or NaN is skipped and the
    /// scale backs off (×<see cref="BackoffFactor"/>); after <see cref="GrowthInterval"/> finite steps in a row it grows
    /// (×<see cref="GrowthFactor"/>). bf16 has fp32's exponent range and needs none of this.
    /// </summary>
    public sealed class DynamicLossScaler
    {
        public const double DefaultInitialScale = 65536.0;

        /// <summary>The current scale.</summary>
        public double Scale { get; private set; }

        public double GrowthFactor { get; }

        public double BackoffFactor { get; }

        public int GrowthInterval { get; }

        /// <summary>Finite steps since the scale last changed.</summary>
        public int GrowthTracker { get; private set; }

        /// <summary>Steps skipped because their gradients were not finite.</summary>
        public int SkippedSteps { get; private set; }

        public DynamicLossScaler(double initialScale = DefaultInitialScale, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000)
        {
            if (!(initialScale > 0) || double.IsInfinity(initialScale))
                throw new ArgumentOutOfRangeException(nameof(initialScale), initialScale, "the initial loss scale must be a positive finite number");
            if (!(growthFactor > 1)) throw new ArgumentOutOfRangeException(nameof(growthFactor), growthFactor, "the growth factor must be above 1");
            if (!(backoffFactor > 0 && backoffFactor < 1)) throw new ArgumentOutOfRangeException(nameof(backoffFactor), backoffFactor, "the backoff factor must be in (0, 1)");
            if (growthInterval < 1) throw new ArgumentOutOfRangeException(nameof(growthInterval), growthInterval, "the growth interval must be at least 1 step");
            Scale = initialScale;
            GrowthFactor = growthFactor;
            BackoffFactor = backoffFactor;
            GrowthInterval = growthInterval;
        }

        /// <summary>The loss times <see cref="Scale"/> (call backward on this, in fp32).</summary>
        public Tensor ScaleLoss(Tensor loss) => loss.to(ScalarType.Float32).mul(Scale);

        /// <summary>Divides every gradient by <see cref="Scale"/> in place; true when all of them are finite (then the
        /// optimizer may step). Parameters without a gradient are skipped.</summary>
        public bool Unscale(IEnumerable<Parameter> parameters)
        {
            if (parameters is null) throw new ArgumentNullException(nameof(parameters));
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var finite = true;
            var inverse = 1.0 / Scale;
            foreach (var grad in parameters.Select(p => p.grad).Where(g => g is not null))
            {
                grad!.mul_(inverse);
                if (finite && !grad.isfinite().all().ToBoolean()) finite = false;
            }
            return finite;
        }

        /// <summary>After a step: backs off on non-finite gradients (and counts the skip), grows after
        /// <see cref="GrowthInterval"/> finite steps in a row.</summary>
        public void Update(bool finite)
        {
            if (!finite)
            {
                Scale *= BackoffFactor;
                GrowthTracker = 0;
                SkippedSteps++;
                return;
            }
            if (++GrowthTracker == GrowthInterval)
            {
                Scale *= GrowthFactor;
                GrowthTracker = 0;
            }
        }
    }
}
