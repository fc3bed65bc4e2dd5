using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Linq;
using Torchwright.Runtime.Training;

namespace Torchwright.Cli.Commands
{
    /// <summary>
    /// The training settings as command-line options, one per <see cref="TrainSettings.Catalog"/> entry, for <c>train</c>
    /// and <c>sweep</c>: <c>--NAME VALUE</c> with the catalog's snake_case name (a name with underscores is also taken
    /// in kebab case, <c>--label-smoothing</c>; a true/false setting also as a bare flag). Parsing, ranges and messages
    /// are the catalog's.
    /// </summary>
    internal sealed class SettingOptions
    {
        private const string BoolValues = "true | false";

        private readonly List<(TrainSetting Setting, Option<string?> Option)> _options;

        public SettingOptions(params (string Name, string Alias)[] aliases)
        {
            _options = TrainSettings.Catalog.Select(s =>
            {
                var names = new List<string>();
                if (s.Name.Contains('_')) names.Add("--" + s.Name.Replace('_', '-'));
                names.AddRange(aliases.Where(a => a.Name == s.Name).Select(a => a.Alias));
                var option = new Option<string?>("--" + s.Name, names.ToArray())
                {
                    Description = $"{s.Description} ({s.ValueHelp}; default {s.DefaultText})",
                    HelpName = s.ValueHelp.Contains(' ') ? "value" : s.ValueHelp,
                };
                // A true/false setting also reads as a bare flag: --nesterov is --nesterov true.
                if (s.ValueHelp == BoolValues) option.Arity = ArgumentArity.ZeroOrOne;
                return (s, option);
            }).ToList();
        }

        public IEnumerable<Option> Options => _options.Select(o => (Option)o.Option);

        /// <summary>The option of one setting (e.g. to read whether it was given).</summary>
        public Option<string?> this[string name] => _options.Single(o => o.Setting.Name == name).Option;

        /// <summary>The settings given on the command line, in catalog order, as (name, value text) pairs (a bare
        /// true/false flag as "true"): what overrides a declaration's <c>train.NAME</c> settings.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Given(ParseResult parse)
        {
            var given = new List<KeyValuePair<string, string>>();
            foreach (var (setting, option) in _options)
            {
                var text = parse.GetValue(option);
                if (text is null && setting.ValueHelp == BoolValues && parse.GetResult(option) is not null) text = "true";
                if (text is not null) given.Add(new KeyValuePair<string, string>(setting.Name, text));
            }
            return given;
        }

        /// <summary><paramref name="baseline"/> with every given option applied; on a bad value, null and the option's
        /// one-line error ("--lr: lr must be in (0, 1000000], not -1").</summary>
        public TrainSettings? Read(ParseResult parse, TrainSettings baseline, out string? error)
        {
            var settings = baseline;
            foreach (var (name, text) in Given(parse))
            {
                try { settings = TrainSettings.Find(name)!.Apply(settings, text); }
                catch (FormatException e)
                {
                    error = $"--{name} {text}: {e.Message}";
                    return null;
                }
            }
            error = null;
            if (settings.Steps is not null && settings.Epochs is not null)
            {
                error = "give --steps or --epochs, not both";
                return null;
            }
            try { Trainer.CheckSettings(settings); }
            catch (ArgumentException e)
            {
                error = e.Message.Split(" (Parameter")[0];
                return null;
            }
            return settings;
        }
    }
}
