using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Resolution;
using Torchwright.Runtime.Training;

namespace Torchwright.Cli.Loading
{
    /// <summary>
    /// The training settings of one checked architecture or sweep variant: the defaults, then its declaration's
    /// <c>train.NAME = value</c> assignments (inherited, declared or swept; checked against
    /// <see cref="TrainSettings.Catalog"/> with located TW0048/TW0049), then the command line's settings, which override
    /// the file.
    /// </summary>
    internal static class DeclaredTraining
    {
        /// <summary>The settings, or null with the declaration's problems added to <paramref name="diagnostics"/>.</summary>
        public static TrainSettings? Resolve(CheckedArchitecture arch, IReadOnlyList<KeyValuePair<string, string>> commandLine,
            List<Diagnostic> diagnostics)
        {
            var settings = TrainSettings.Default;
            var ok = true;
            ResolvedField? steps = null, epochs = null;
            foreach (var field in arch.Training)
            {
                var name = TrainingFields.SettingName(field.Path);
                var setting = TrainSettings.Find(name);
                if (setting == null)
                {
                    var hint = TrainSettings.Suggest(name) is string close
                        ? $"; did you mean '{TrainingFields.Prefix}{close}'?"
                        : "; docs/training.md lists the settings";
                    diagnostics.Add(DiagnosticCatalog.UnknownTrainSetting.Create(field.PathLocation, field.Path, Owner(arch, field.SetBy), hint));
                    ok = false;
                    continue;
                }
                try { settings = setting.Apply(settings, TrainingFields.ValueText(field.Value)!); }
                catch (FormatException e)
                {
                    diagnostics.Add(DiagnosticCatalog.InvalidTrainSetting.Create(field.Value.Location, field.Path, e.Message));
                    ok = false;
                }
                if (name == "steps") steps = field;
                if (name == "epochs") epochs = field;
            }
            if (steps != null && epochs != null)
            {
                var order = arch.Training.ToList();
                var later = order.IndexOf(steps) > order.IndexOf(epochs) ? steps : epochs;
                diagnostics.Add(DiagnosticCatalog.InvalidTrainSetting.Create(later.PathLocation, later.Path,
                    $"{Owner(arch, steps.SetBy)} sets train.steps and {Owner(arch, epochs.SetBy)} sets train.epochs; give one of the two"));
                ok = false;
            }
            if (!ok) return null;
            // A length from the command line replaces the declared one, whichever of steps and epochs each gives.
            foreach (var pair in commandLine)
            {
                if (pair.Key == "steps") settings = settings with { Epochs = null };
                if (pair.Key == "epochs") settings = settings with { Steps = null };
            }
            return settings.With(commandLine);
        }

        /// <summary>Checks every architecture's and variant's training settings (for <c>torchwright check</c>); each
        /// declaration's problem is reported once however many variants share it.</summary>
        public static void CheckAll(IEnumerable<CheckedArchitecture> archs, List<Diagnostic> diagnostics)
        {
            var found = new List<Diagnostic>();
            foreach (var arch in archs) Resolve(arch, Array.Empty<KeyValuePair<string, string>>(), found);
            var seen = new HashSet<Diagnostic>();
            foreach (var d in found)
                if (seen.Add(d)) diagnostics.Add(d);
        }

        /// <summary>The declaration that wrote the setting (the same for every variant that inherits it, so it is reported once):
        /// a sweep axis's is the sweep, not each of its variants.</summary>
        private static string Owner(CheckedArchitecture arch, string setBy) =>
            arch.Variant != null && setBy == arch.Name ? arch.Variant.Sweep : setBy.Length > 0 ? setBy : arch.Name;
    }
}
