using System;
using System.Collections.Generic;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// One named training setting: the single name by which the CLI (<c>--NAME</c> on <c>train</c>/<c>sweep</c>), the
    /// <c>.arch</c> declarations (<c>train.NAME = value</c>) and the results store (the run's settings JSON) refer to it.
    /// Every setting of <see cref="TrainSettings"/> has exactly one entry in <see cref="TrainSettings.Catalog"/>.
    /// </summary>
    public sealed class TrainSetting
    {
        private readonly Func<TrainSettings, string, TrainSettings> _apply;
        private readonly Func<TrainSettings, string> _read;

        internal TrainSetting(string name, string description, string valueHelp,
            Func<TrainSettings, string, TrainSettings> apply, Func<TrainSettings, string> read)
        {
            Name = name;
            Description = description;
            ValueHelp = valueHelp;
            _apply = apply;
            _read = read;
        }

        /// <summary>snake_case name: <c>lr</c>, <c>weight_decay</c>, <c>mixup</c>, ...</summary>
        public string Name { get; }

        /// <summary>One sentence for <c>--help</c> and docs/training.md.</summary>
        public string Description { get; }

        /// <summary>What a value looks like, e.g. "a number > 0", "sgd | adamw", "two numbers a,b with 0 &lt; a ≤ b ≤ 1".</summary>
        public string ValueHelp { get; }

        /// <summary>The settings with this one set from <paramref name="text"/> (invariant culture).</summary>
        /// <exception cref="FormatException">The text is not a value of this setting; the message says what is expected.</exception>
        public TrainSettings Apply(TrainSettings settings, string text) => _apply(settings, text);

        /// <summary>This setting's value in <paramref name="settings"/>, as text that <see cref="Apply"/> reads back.</summary>
        public string Read(TrainSettings settings) => _read(settings);

        /// <summary>The default's text.</summary>
        public string DefaultText => _read(TrainSettings.Default);

        public override string ToString() => Name;
    }
}
