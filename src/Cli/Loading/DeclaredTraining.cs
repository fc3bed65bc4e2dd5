using System;
using System.Collections.Generic;
using Torchwright.Dsl;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
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
            }
            if (!ok) return null;
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

        /// <summary>The declaration that wrote the setting (the same for every variant that inherits it, so it is reported once).</summary>
        private static string Owner(CheckedArchitecture arch, string setBy) => setBy.Length > 0 ? setBy : arch.Name;
    }
}
