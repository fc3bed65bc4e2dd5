using System.Collections.Generic;
using Torchwright.Runtime.Training;

namespace Torchwright.Runtime.Data
{
    /// <summary>
    /// Per-image preprocessing and augmentation of a training run (part of <see cref="TrainSettings"/>): train-time
    /// crops, flips, auto-augmentation and erasing; eval-time resize and centre crop; normalisation.
    /// CONTRACT STUB: the data work fills in the fields and their catalog entries (<see cref="Settings"/>).
    /// </summary>
    public sealed record AugmentSettings
    {
        public static AugmentSettings Default { get; } = new AugmentSettings();

        /// <summary>The catalog entries of these settings (snake_case names, one per field), appended to
        /// <see cref="TrainSettings.Catalog"/>.</summary>
        internal static IReadOnlyList<TrainSetting> Settings { get; } = new List<TrainSetting>();
    }
}
