using System;
using System.Globalization;

namespace Torchwright.Runtime.Training
{
    /// <summary>The training loss became NaN or infinite.</summary>
    public sealed class TrainingDivergedException : Exception
    {
        public TrainingDivergedException(int step, int steps, double loss, double learningRate, double peakLearningRate)
            : base(string.Format(CultureInfo.InvariantCulture,
                "training diverged at step {0} of {1}: the loss is {2} (learning rate {3:G4} at that step, peak {4:G4}); " +
                "lower the learning rate (--lr), e.g. to {5:G3}", step, steps, loss, learningRate, peakLearningRate, peakLearningRate / 10))
        {
            Step = step;
            Loss = loss;
            LearningRate = learningRate;
        }

        /// <summary>The 1-based step whose loss was not finite.</summary>
        public int Step { get; }

        public double Loss { get; }

        /// <summary>The learning rate in effect at that step (after warm-up/cosine scheduling).</summary>
        public double LearningRate { get; }
    }
}
