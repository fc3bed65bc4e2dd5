using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Model
{
    /// <summary>
    /// <c>train.NAME = value</c> in an arch or sweep declaration: a training setting (optimizer, schedule, augmentation,
    /// ...) carried with the architecture, inherited and swept like a field, but building nothing. The Dsl checks only
    /// the form (a name, a scalar or a list of numbers); the names and ranges belong to the training settings record of
    /// the Runtime (Torchwright.Runtime.Training.TrainSettings.Catalog), which the torchwright commands and
    /// TrainSettings.Default.With check them against, with the declaration's location.
    /// </summary>
    public static class TrainingFields
    {
        public const string Prefix = "train.";

        public static bool IsTrainingPath(string path) => path.StartsWith(Prefix, System.StringComparison.Ordinal);

        /// <summary>The setting's name: "lr" for "train.lr".</summary>
        public static string SettingName(string path) => path.Substring(Prefix.Length);

        /// <summary>Checks the form of one training assignment; reports and returns false on a problem.</summary>
        internal static bool Check(string path, SourceLocation pathLocation, ArchValue value, string owner, List<Diagnostic> diagnostics)
        {
            var name = SettingName(path);
            if (!IsName(name))
            {
                diagnostics.Add(DiagnosticCatalog.UnknownTrainSetting.Create(pathLocation, DisplayText.Escape(path), owner,
                    "; a training setting is written train.NAME with one snake_case name, e.g. train.lr or train.weight_decay (docs/training.md lists them)"));
                return false;
            }
            if (ValueText(value) != null) return true;
            diagnostics.Add(DiagnosticCatalog.InvalidTrainSetting.Create(value.Location, path,
                $"{value.TypeName} ({DisplayText.Escape(value.ToText())}) is not a training setting value; give a number, a word, true or false, or a list of numbers such as [0.08, 1.0]"));
            return false;
        }

        /// <summary>
        /// The value as the training settings catalog reads it: numbers in round-trip form, words, true/false, and a list
        /// of numbers as "a,b". Null for a value of another form (a shape, a nested list).
        /// </summary>
        public static string? ValueText(ArchValue value)
        {
            switch (value)
            {
                case IntValue i: return i.Value.ToString(CultureInfo.InvariantCulture);
                case FloatValue f: return f.Value.ToString("R", CultureInfo.InvariantCulture);
                case BoolValue b: return b.Value ? "true" : "false";
                case WordValue w: return w.Word;
                case ListValue l when l.Items.Count > 0 && l.Items.All(x => x is IntValue || x is FloatValue):
                    return string.Join(",", l.Items.Select(x => ValueText(x)));
                default: return null;
            }
        }

        /// <summary>The training settings of a resolved architecture, in the order they were first set.</summary>
        public static EquatableArray<ResolvedField> Of(ResolvedArch arch) =>
            EquatableArray.From(arch.Fields.Where(f => IsTrainingPath(f.Path)));

        private static bool IsName(string name)
        {
            if (name.Length == 0 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
            foreach (var c in name)
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
            return true;
        }
    }
}
