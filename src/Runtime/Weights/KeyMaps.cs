using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace Torchwright.Runtime.Weights
{
    /// <summary>
    /// One rename of a key map: where <see cref="Pattern"/> matches, the match is replaced by <see cref="Replacement"/>
    /// (.NET regex substitution syntax, <c>$1</c> for a group).  Patterns are anchored with <c>^</c> so a rule renames a
    /// whole path segment, never a substring of one.
    /// </summary>
    public sealed class KeyRule
    {
        public KeyRule(string name, string pattern, string replacement, string description, KeySetCondition? when = null)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Pattern = pattern ?? throw new ArgumentNullException(nameof(pattern));
            Replacement = replacement ?? throw new ArgumentNullException(nameof(replacement));
            Description = description ?? throw new ArgumentNullException(nameof(description));
            When = when;
            Regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);
        }

        public string Name { get; }
        public string Pattern { get; }
        public string Replacement { get; }
        public string Description { get; }

        /// <summary>The condition on the whole checkpoint's key set under which the rule applies; null: always.</summary>
        public KeySetCondition? When { get; }

        public Regex Regex { get; }

        public override string ToString() => $"{Name}: {Pattern} -> {Replacement}{(When is null ? "" : $" ({When})")}";
    }

    /// <summary>
    /// A condition on a checkpoint's whole key set, for a rename that one key cannot decide: timm's <c>stem.conv1.conv</c>
    /// is torchvision's <c>conv1</c> when the stem has one conv and <c>conv1.0</c> when it has three, which only the
    /// presence of <c>stem.conv2.</c> keys tells.
    /// </summary>
    public sealed class KeySetCondition
    {
        private KeySetCondition(string prefix, bool present)
        {
            Prefix = prefix ?? throw new ArgumentNullException(nameof(prefix));
            Present = present;
        }

        /// <summary>Holds when some key of the checkpoint starts with <paramref name="prefix"/>.</summary>
        public static KeySetCondition AnyKeyStartsWith(string prefix) => new(prefix, true);

        /// <summary>Holds when no key of the checkpoint starts with <paramref name="prefix"/>.</summary>
        public static KeySetCondition NoKeyStartsWith(string prefix) => new(prefix, false);

        public string Prefix { get; }

        /// <summary>True: some key must start with <see cref="Prefix"/>; false: none may.</summary>
        public bool Present { get; }

        public bool Holds(IEnumerable<string> keys)
        {
            if (keys is null) throw new ArgumentNullException(nameof(keys));
            return keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal)) == Present;
        }

        public override string ToString() => Present ? $"when some key starts with '{Prefix}'" : $"when no key starts with '{Prefix}'";
    }

    /// <summary>
    /// A named rewrite of checkpoint keys into Torchwright's state-dict names, applied before matching
    /// (<see cref="ModuleWeights.LoadWeights(TorchSharp.torch.nn.Module, TensorFile, bool, KeyMap?)"/>).  The rules run in
    /// order, each on the result of the ones before it, each at most once; a key no rule matches stays as it is, so a
    /// strict load reports it as unexpected under its original name.  A rule with a <see cref="KeyRule.When"/> condition
    /// takes part only for checkpoints whose key set meets it, so a key is renamed for a whole checkpoint
    /// (<see cref="For"/>), never alone.
    /// </summary>
    public sealed class KeyMap
    {
        public KeyMap(string name, string description, IReadOnlyList<KeyRule> rules)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Description = description ?? throw new ArgumentNullException(nameof(description));
            Rules = rules ?? throw new ArgumentNullException(nameof(rules));
        }

        public string Name { get; }
        public string Description { get; }
        public IReadOnlyList<KeyRule> Rules { get; }

        /// <summary>True when the map renames nothing.</summary>
        public bool IsIdentity => Rules.Count == 0;

        /// <summary>The renaming of the checkpoint whose keys are <paramref name="checkpointKeys"/>: the rules whose
        /// conditions that key set meets (each condition evaluated once).</summary>
        public KeyRenaming For(IEnumerable<string> checkpointKeys)
        {
            if (checkpointKeys is null) throw new ArgumentNullException(nameof(checkpointKeys));
            var keys = checkpointKeys as IReadOnlyCollection<string> ?? checkpointKeys.ToList();
            return new KeyRenaming(this, Rules.Where(r => r.When is null || r.When.Holds(keys)).ToList());
        }

        public override string ToString() => Name;
    }

    /// <summary>A <see cref="KeyMap"/> bound to one checkpoint's key set (<see cref="KeyMap.For"/>).</summary>
    public sealed class KeyRenaming
    {
        internal KeyRenaming(KeyMap map, IReadOnlyList<KeyRule> rules)
        {
            KeyMap = map;
            Rules = rules;
        }

        public KeyMap KeyMap { get; }

        /// <summary>The map's rules that apply to this checkpoint, in order.</summary>
        public IReadOnlyList<KeyRule> Rules { get; }

        /// <summary>The Torchwright name of a checkpoint key (the key itself when no rule matches).</summary>
        public string Map(string key) => Map(key, out _);

        /// <summary>As <see cref="Map(string)"/>; <paramref name="applied"/> lists the names of the rules that matched.</summary>
        public string Map(string key, out IReadOnlyList<string> applied)
        {
            if (key is null) throw new ArgumentNullException(nameof(key));
            var names = new List<string>();
            foreach (var rule in Rules)
            {
                var m = rule.Regex.Match(key);
                if (!m.Success) continue;
                key = key.Substring(0, m.Index) + m.Result(rule.Replacement) + key.Substring(m.Index + m.Length);
                names.Add(rule.Name);
            }
            applied = names;
            return key;
        }
    }

    /// <summary>The key maps the runtime knows, by name (the CLI's <c>--weights-from</c>). See docs/weights.md.</summary>
    public static class KeyMaps
    {
        /// <summary>No renaming: torchvision-named checkpoints (and Torchwright's own) load as they are.</summary>
        public static readonly KeyMap Identity = new("none",
            "No renaming: the checkpoint already uses Torchwright's names (torchvision's for ResNet-family networks).",
            Array.Empty<KeyRule>());

        /// <summary>
        /// timm <c>ByobNet</c> (models/byobnet.py, byoanet.py: botnet, halonet, lambda_resnet and their mixes, ...) to the
        /// torchvision layout Torchwright's ResNet-family networks register.  Derived from
        /// tests/Runtime.Tests/python/reference_byobnet.py; what is deliberately left unmapped is listed in docs/weights.md.
        /// </summary>
        public static readonly KeyMap TimmByobnet = new("timm-byobnet",
            "timm ByobNet (byobnet.py/byoanet.py) -> torchvision ResNet layout: tiered/deep stem -> conv1.0..6 + bn1, " +
            "one-conv (7x7) stem -> conv1 + bn1, stages.i.j -> layer{i+1}.j, ConvNormAct .conv/.bn -> convN/bnN, " +
            "attn -> se (declare attention_at = spatial), self_attn (BoT, Halo, Lambda) -> mhsa, post_attn -> bn2, " +
            "shortcut -> downsample.0/.1, final_conv -> final_conv.0/.1, head.fc -> fc.",
            TimmByobnetRules());

        private static readonly Dictionary<string, KeyMap> ByName = new(StringComparer.OrdinalIgnoreCase)
        {
            ["none"] = Identity,
            ["torchvision"] = Identity,
            ["timm"] = TimmByobnet,
            ["timm-byobnet"] = TimmByobnet,
        };

        /// <summary>Every accepted name (aliases included), sorted.</summary>
        public static IReadOnlyList<string> Names => ByName.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();

        /// <summary>The key map called <paramref name="name"/> (case-insensitive); unknown names throw, listing the known ones.</summary>
        public static KeyMap Get(string name)
        {
            if (name is null) throw new ArgumentNullException(nameof(name));
            if (ByName.TryGetValue(name, out var map)) return map;
            throw new ArgumentException(
                $"Unknown key-map scheme '{name}'. Known schemes: {string.Join(", ", Names)} " +
                "('timm' = 'timm-byobnet'; 'torchvision' = 'none').", nameof(name));
        }

        /// <summary>The shortest name that selects <paramref name="map"/> (<c>"timm"</c> for <see cref="TimmByobnet"/>).</summary>
        internal static string ShortName(KeyMap map) =>
            ByName.Where(kv => ReferenceEquals(kv.Value, map)).Select(kv => kv.Key)
                .OrderBy(k => k.Length).ThenBy(k => k, StringComparer.Ordinal).FirstOrDefault() ?? map.Name;

        /// <summary>
        /// The known key map that renames the most of <paramref name="unexpected"/> (checkpoint keys the module does not
        /// have) onto <paramref name="missing"/> (module keys the checkpoint lacks), when it renames at least half of them;
        /// else null. It names where a checkpoint probably comes from when it was loaded without a key map. Each map is
        /// bound to <paramref name="checkpointKeys"/> (all the checkpoint's keys), as a load through it would be.
        /// </summary>
        internal static KeyMap? Suggest(IReadOnlyCollection<string> checkpointKeys, IReadOnlyCollection<string> unexpected, IReadOnlySet<string> missing)
        {
            KeyMap? best = null;
            int bestCount = 0;
            foreach (var map in ByName.Values.Distinct().Where(m => !m.IsIdentity))
            {
                var renaming = map.For(checkpointKeys);
                int count = unexpected.Count(k => missing.Contains(renaming.Map(k)));
                if (count > bestCount) (best, bestCount) = (map, count);
            }
            return bestCount > 0 && 2 * bestCount >= unexpected.Count ? best : null;
        }

        private static IReadOnlyList<KeyRule> TimmByobnetRules()
        {
            const string Block = @"^(layer\d+\.\d+)\.";
            var rules = new List<KeyRule>
            {
                // timm's one-conv stems: Stem('7x7' or '3x3', with a pool: num_rep 1) has stem.conv1 alone; without a pool
                // the stem is the ConvNormAct itself (stem.conv, stem.bn). Both are torchvision's conv1 + bn1. Which
                // stem.conv1 is meant only the whole checkpoint tells: a three-conv stem has stem.conv2.
                new("stem.conv1.conv (one conv)", @"^stem\.conv1\.conv\.", "conv1.", "the stem's only conv (7x7/2 or 3x3/2) is torchvision's conv1",
                    KeySetCondition.NoKeyStartsWith("stem.conv2.")),
                new("stem.conv1.bn (one conv)", @"^stem\.conv1\.bn\.", "bn1.", "its BatchNorm is bn1",
                    KeySetCondition.NoKeyStartsWith("stem.conv2.")),
                new("stem.conv", @"^stem\.conv\.", "conv1.", "a stem that is one ConvNormAct (no pool): its conv is conv1"),
                new("stem.bn", @"^stem\.bn\.", "bn1.", "its BatchNorm is bn1"),
                // timm Stem('tiered'/'deep'): three ConvNormAct (conv + BatchNormAct2d, each with its act); torchvision's
                // deep stem is conv1 = Sequential(conv, bn, act, conv, bn, act, conv) followed by bn1 and relu.
                new("stem.conv1.conv", @"^stem\.conv1\.conv\.", "conv1.0.", "first stem conv (3x3/2) of a three-conv stem",
                    KeySetCondition.AnyKeyStartsWith("stem.conv2.")),
                new("stem.conv1.bn", @"^stem\.conv1\.bn\.", "conv1.1.", "its BatchNorm",
                    KeySetCondition.AnyKeyStartsWith("stem.conv2.")),
                new("stem.conv2.conv", @"^stem\.conv2\.conv\.", "conv1.3.", "second stem conv"),
                new("stem.conv2.bn", @"^stem\.conv2\.bn\.", "conv1.4.", "its BatchNorm"),
                new("stem.conv3.conv", @"^stem\.conv3\.conv\.", "conv1.6.", "third stem conv (strided when the stem has no pool)"),
                new("stem.conv3.bn", @"^stem\.conv3\.bn\.", "bn1.", "its BatchNorm is torchvision's bn1 (the act after it is the stem relu)"),
            };
            // Stage index i -> layer{i+1}; a ResNet has four stages, so stages.4+ (gernet, final stages) stay unmapped.
            for (int i = 0; i < 4; i++)
                rules.Add(new($"stages.{i}", $@"^stages\.{i}\.", $"layer{i + 1}.", $"stage {i} is torchvision's layer{i + 1}"));
            rules.AddRange(new KeyRule[]
            {
                new("conv1_1x1.conv", Block + @"conv1_1x1\.conv\.", "$1.conv1.", "bottleneck reduction conv"),
                new("conv1_1x1.bn", Block + @"conv1_1x1\.bn\.", "$1.bn1.", "its BatchNorm"),
                new("conv2_kxk.conv", Block + @"conv2_kxk\.conv\.", "$1.conv2.", "3x3 conv (stride, groups)"),
                new("conv2_kxk.bn", Block + @"conv2_kxk\.bn\.", "$1.bn2.", "its BatchNorm"),
                // Every self-attention kind fills the block's one slot, mhsa, with timm's inner names (BoT: qkv; Halo: q,
                // kv; Lambda: qkv, norm_q, norm_v, conv_lambda or pos_emb), except the relative tables' module:
                // BoT's and Halo's pos_embed is rel_pos. The rules after these see mhsa, so they cannot rename inside it.
                new("self_attn.pos_embed", Block + @"self_attn\.pos_embed\.(height_rel|width_rel)$", "$1.mhsa.rel_pos.$2", "relative-position tables (BoT, Halo)"),
                new("self_attn", Block + @"self_attn\.", "$1.mhsa.", "the self-attention slot (BoT, Halo, Lambda)"),
                new("post_attn", Block + @"post_attn\.", "$1.bn2.", "BatchNormAct2d after the attention (and its AvgPool) is bn2"),
                // BottleneckBlock.attn (SE/ECA on the bottleneck width, between conv2_kxk and conv3_1x1) is the block's
                // `se` only when the Torchwright block declares attention_at = spatial (BlockOptions.Position
                // AfterSpatialConv); with attention after bn3 the shapes differ and a strict load reports them.
                // attn_last (after conv3_1x1) stays unmapped: not matched by `attn\.`.
                new("attn", Block + @"attn\.", "$1.se.", "channel attention after the 3x3 conv: Torchwright's se with attention_at = spatial"),
                new("conv3_1x1.conv", Block + @"conv3_1x1\.conv\.", "$1.conv3.", "bottleneck expansion conv"),
                new("conv3_1x1.bn", Block + @"conv3_1x1\.bn\.", "$1.bn3.", "its BatchNorm (no act)"),
                // downsample='avg' (DownsampleAvg: pool = AvgPool(2, s, ceil_mode, no pad count) or Identity, conv =
                // ConvNormAct 1x1) is Torchwright's AvgDown shortcut; it must run before the conv1x1 rules below.
                new("shortcut.conv.conv", Block + @"shortcut\.conv\.conv\.", "$1.downsample.1.", "avg-down shortcut conv (after the pool)"),
                new("shortcut.conv.bn", Block + @"shortcut\.conv\.bn\.", "$1.downsample.2.", "its BatchNorm"),
                new("shortcut.conv", Block + @"shortcut\.conv\.", "$1.downsample.0.", "conv1x1 shortcut conv (with the stride)"),
                new("shortcut.bn", Block + @"shortcut\.bn\.", "$1.downsample.1.", "its BatchNorm"),
                // num_features > 0: a ConvNormAct 1x1 (with act) between the last stage and the pool.
                new("final_conv.conv", @"^final_conv\.conv\.", "final_conv.0.", "final 1x1 conv (num_features)"),
                new("final_conv.bn", @"^final_conv\.bn\.", "final_conv.1.", "its BatchNorm"),
                new("head.fc", @"^head\.fc\.", "fc.", "classifier"),
            });
            return rules;
        }
    }
}
