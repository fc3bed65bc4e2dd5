using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Torchwright.Cli.Tests.Soundness
{
    /// <summary>
    /// A small architecture declaration as structure, so the shrinker can drop stages, lower depths and remove fields
    /// while keeping it well-formed (per-stage lists and masks follow the stage count and depths).
    /// </summary>
    public sealed class GenArch
    {
        public GenArch(string name) => Name = name;

        public string Name { get; }

        /// <summary>Arch-scope scalar fields in declaration order (value as .arch text).</summary>
        public List<KeyValuePair<string, string>> Scalars { get; } = new List<KeyValuePair<string, string>>();

        /// <summary>Per-stage lists: depths, widths, outs, strides, heads, mlp_ratios, sr_ratios, patch_kernels.</summary>
        public SortedDictionary<string, long[]> Lists { get; } = new SortedDictionary<string, long[]>(StringComparer.Ordinal);

        /// <summary>Stage-scope fields: (stage index, field) -> .arch text; <c>mhsa</c> masks are kept in <see cref="Masks"/>.</summary>
        public SortedDictionary<(int Stage, string Field), string> StageFields { get; } = new SortedDictionary<(int, string), string>();

        /// <summary>cN.mhsa masks, one entry per block of the stage.</summary>
        public SortedDictionary<int, long[]> Masks { get; } = new SortedDictionary<int, long[]>();

        public int Stages => Lists["depths"].Length;

        public GenArch Clone(string? name = null)
        {
            var c = new GenArch(name ?? Name);
            c.Scalars.AddRange(Scalars);
            foreach (var kv in Lists) c.Lists[kv.Key] = (long[])kv.Value.Clone();
            foreach (var kv in StageFields) c.StageFields[kv.Key] = kv.Value;
            foreach (var kv in Masks) c.Masks[kv.Key] = (long[])kv.Value.Clone();
            return c;
        }

        public string? Scalar(string key) => Scalars.Where(kv => kv.Key == key).Select(kv => kv.Value).FirstOrDefault();

        public void Set(string key, string value)
        {
            int at = Scalars.FindIndex(kv => kv.Key == key);
            if (at >= 0) Scalars[at] = new KeyValuePair<string, string>(key, value);
            else Scalars.Add(new KeyValuePair<string, string>(key, value));
        }

        public string ToText()
        {
            var sb = new StringBuilder();
            sb.Append("arch ").Append(Name).Append(" {\n");
            foreach (var kv in Scalars) sb.Append("  ").Append(kv.Key).Append(" = ").Append(kv.Value).Append('\n');
            foreach (var kv in Lists) sb.Append("  ").Append(kv.Key).Append(" = ").Append(ListText(kv.Value)).Append('\n');
            foreach (var kv in StageFields) sb.Append("  c").Append(kv.Key.Stage + 2).Append('.').Append(kv.Key.Field).Append(" = ").Append(kv.Value).Append('\n');
            foreach (var kv in Masks) sb.Append("  c").Append(kv.Key + 2).Append(".mhsa = ").Append(ListText(kv.Value)).Append('\n');
            sb.Append("}\n");
            return sb.ToString();
        }

        public static string ListText(IEnumerable<long> values) => "[" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";

        public override string ToString() => ToText();
    }

    /// <summary>
    /// Grammar-aware random declarations over every field and block kind, kept small (input 16-96 px, narrow stages,
    /// depths 1-2) so each builds and trains in well under a second. Values are drawn near the edges the checker must
    /// police: odd and large strides, tiny maps, widths that scale to few channels, heads and groups that may not divide.
    /// </summary>
    public static class ArchGenerator
    {
        private static readonly string[] ResNetKinds = { "bottleneck", "splat", "cot" };

        public static GenArch Generate(int seed)
        {
            var r = new Random(seed);
            var a = new GenArch("G" + seed.ToString(CultureInfo.InvariantCulture));
            int family = r.Next(10) switch { < 5 => 0, < 7 => 1, _ => 2 }; // ResNet, VAN, ResT
            int n = 1 + r.Next(4);
            long h = 16 + 8 * r.Next(11);                                      // 16..96
            long w = r.Next(6) == 0 ? 16 + 8 * r.Next(11) : h;
            long c = r.Next(8) == 0 ? 1 : 3;
            a.Set("input", c == 3 && r.Next(2) == 0 ? $"{h}x{w}" : $"{c}x{h}x{w}");
            a.Set("classes", r.Next(8) == 0 ? "0" : (2 + r.Next(9)).ToString(CultureInfo.InvariantCulture));
            if (r.Next(2) == 0) a.Set("width", Pick(r, "0.1", "0.125", "0.15", "0.2", "0.25"));
            bool scaled = a.Scalar("width") != null;

            a.Lists["depths"] = Fill(n, () => 1 + r.Next(2));
            long[] Widths(params long[] choices) => Fill(n, () => scaled ? 8 * choices[r.Next(choices.Length)] : choices[r.Next(choices.Length)]);
            switch (family)
            {
                case 0: ResNet(r, a, n, Widths(8, 16, 24, 32, 64)); break;
                case 1: Van(r, a, n, Widths(8, 16, 24, 32)); break;
                default: Rest(r, a, n, Widths(8, 16, 24, 32, 64)); break;
            }
            return a;
        }

        private static readonly string[] Activations = { "relu", "silu", "gelu", "hardswish" };

        private static void ResNet(Random r, GenArch a, int n, long[] widths)
        {
            // Stage kinds first: a field no stage reads is TW0024, so kind-specific fields go where some stage reads them
            // (with a small chance elsewhere, so the checker's rejection is exercised too).
            a.Set("block", ResNetKinds[r.Next(3)]);
            for (int s = 0; s < n; s++)
                if (r.Next(3) == 0) a.StageFields[(s, "block")] = ResNetKinds[r.Next(3)];
            string KindOf(int s) => a.StageFields.TryGetValue((s, "block"), out var k) ? k : a.Scalar("block")!;
            bool AnyStage(string kind) => Enumerable.Range(0, n).Any(s => KindOf(s) == kind);
            bool Sometimes(bool reads) => reads || r.Next(10) == 0;

            a.Set("stem", Pick(r, "resnet", "deep", "none", "resnet"));
            if (a.Scalar("stem") == "resnet" && r.Next(2) == 0) a.Set("stem_width", Pick(r, "8", "16", "32", "64"));
            if (a.Scalar("stem") == "deep" && r.Next(2) == 0) a.Set("stem_widths", Pick(r, "[8, 8, 16]", "[16, 16, 32]", "[24, 32, 64]", "[32, 32, 64]", "[8, 16, 8]"));
            a.Lists["widths"] = widths;
            if (r.Next(2) == 0) a.Lists["outs"] = widths.Select(x => x * Pick(r, 1L, 2L, 4L)).ToArray();
            if (r.Next(4) != 0) a.Lists["strides"] = Fill(n, () => Pick(r, 1L, 2L, 2L, 3L, 4L, 1L, 5L));
            if (r.Next(3) == 0) a.Set("shortcut", Pick(r, "conv", "avgdown"));
            if (r.Next(3) == 0) a.Set("cardinality", Pick(r, "1", "2", "4"));
            if (r.Next(3) == 0 && Sometimes(AnyStage("splat"))) a.Set("radix", Pick(r, "1", "2", "3", "4"));
            if (r.Next(4) == 0 && Sometimes(AnyStage("splat"))) a.Set("avd", Pick(r, "true", "false"));
            if (r.Next(4) == 0 && Sometimes(AnyStage("splat"))) a.Set("avd_first", Pick(r, "true", "false"));
            if (r.Next(3) == 0) a.Set("act", Pick(r, Activations));
            if (r.Next(3) == 0) Attention(r, a, null);
            for (int s = 0; s < n; s++)
            {
                bool splat = KindOf(s) == "splat";
                if (r.Next(6) == 0 && Sometimes(splat)) a.StageFields[(s, "radix")] = Pick(r, "1", "2", "4");
                if (r.Next(6) == 0) a.StageFields[(s, "cardinality")] = Pick(r, "1", "2", "8");
                if (r.Next(8) == 0) a.StageFields[(s, "shortcut")] = Pick(r, "conv", "avgdown");
                if (r.Next(8) == 0 && Sometimes(splat)) a.StageFields[(s, "avd")] = Pick(r, "true", "false");
                if (r.Next(8) == 0 && Sometimes(splat)) a.StageFields[(s, "avd_first")] = Pick(r, "true", "false");
                if (r.Next(8) == 0) a.StageFields[(s, "act")] = Pick(r, Activations);
                if (r.Next(8) == 0) Attention(r, a, s);
                if (r.Next(8) == 0) a.StageFields[(s, "stride")] = Pick(r, "1", "2", "3");
                if (r.Next(8) == 0) a.StageFields[(s, "width")] = Pick(r, "8", "16", "40");
                if (r.Next(8) == 0) a.StageFields[(s, "out")] = Pick(r, "8", "32", "64");
                if (r.Next(10) == 0) a.StageFields[(s, "in")] = Pick(r, "3", "8", "32", "64", "256");
                if (r.Next(8) == 0) a.StageFields[(s, "depth")] = Pick(r, "1", "2", "3");
                int depth = a.StageFields.TryGetValue((s, "depth"), out var d) ? int.Parse(d, CultureInfo.InvariantCulture) : (int)a.Lists["depths"][s];
                // Dilation (the blocks after the first, and the next stage's first) with stride 1 keeps the resolution, as torchvision's replace_stride_with_dilation.
                if (r.Next(6) == 0 && Sometimes(depth > 1 && KindOf(s) != "cot"))
                {
                    a.StageFields[(s, "dilation")] = Pick(r, "2", "3", "4", "1");
                    if (r.Next(4) != 0) a.StageFields[(s, "stride")] = "1";
                }
                if (r.Next(3) == 0)
                {
                    if (r.Next(4) == 0) a.StageFields[(s, "mhsa_every")] = "1";
                    else a.Masks[s] = Fill(depth, () => r.Next(2));
                    if (r.Next(2) == 0) a.StageFields[(s, "heads")] = Pick(r, "1", "2", "4", "8");
                    // MHSA's own options: channel attention after bn3, and q/k heads of their own width (timm's dim_head).
                    if (r.Next(4) == 0) a.StageFields[(s, "mhsa_attention")] = Pick(r, "se", "eca");
                    if (r.Next(4) == 0) a.StageFields[(s, "qk_head_dim")] = Pick(r, "1", "4", "8", "16");
                }
            }
            if (a.Masks.Count + a.StageFields.Keys.Count(k => k.Field == "mhsa_every") > 0 && r.Next(3) == 0)
                a.Lists["heads"] = Fill(n, () => Pick(r, 1L, 2L, 4L));
            // The per-stage heads above would override the list; keep one spelling per stage.
            if (a.Lists.ContainsKey("heads"))
                foreach (var k in a.StageFields.Keys.Where(k => k.Field == "heads").ToList()) a.StageFields.Remove(k);
        }

        /// <summary>Channel attention on the arch (stage null) or one stage, with its option's own field now and then.</summary>
        private static void Attention(Random r, GenArch a, int? stage)
        {
            var word = Pick(r, "se", "eca", "se", "eca", "none");
            void Put(string field, string value)
            {
                if (stage is int s) a.StageFields[(s, field)] = value;
                else a.Set(field, value);
            }
            Put("attention", word);
            if (word == "se" && r.Next(2) == 0) Put("se_ratio", Pick(r, "0.25", "0.125", "0.5", "1", "0.0625"));
            if (word == "eca" && r.Next(2) == 0) Put("eca_kernel", Pick(r, "1", "3", "5", "7"));
            // After the 3x3 conv instead of bn3 (timm ByobNet's slot); splat and cot refuse it (TW0016), bottleneck takes it.
            if (word != "none" && r.Next(4) == 0) Put("attention_at", "spatial");
        }

        private static void Van(Random r, GenArch a, int n, long[] widths)
        {
            a.Set("block", "van");
            if (r.Next(8) == 0) a.Set("stem", "none");
            a.Lists["widths"] = widths;
            if (r.Next(4) != 0) a.Lists["strides"] = Fill(n, i => i == 0 ? Pick(r, 4L, 2L, 1L, 3L) : Pick(r, 1L, 2L, 2L, 3L));
            if (r.Next(3) == 0) a.Lists["patch_kernels"] = Fill(n, () => Pick(r, 1L, 2L, 3L, 5L, 7L));
            if (r.Next(3) == 0) a.Lists["mlp_ratios"] = Fill(n, () => Pick(r, 1L, 2L, 4L));
            if (r.Next(2) == 0)
            {
                a.Set("lka_kernel", Pick(r, "5", "7", "9", "21", "11"));
                a.Set("lka_dilation", Pick(r, "1", "2", "3"));
            }
            if (r.Next(3) == 0) a.Set("layer_scale", Pick(r, "0.01", "1e-6", "0.5"));
            for (int s = 0; s < n; s++)
            {
                if (r.Next(6) == 0) a.StageFields[(s, "lka_kernel")] = Pick(r, "3", "7", "13");
                if (r.Next(6) == 0) a.StageFields[(s, "mlp_ratio")] = Pick(r, "1", "3", "8");
                if (r.Next(8) == 0) a.StageFields[(s, "lka_dilation")] = Pick(r, "1", "2", "4");
                if (r.Next(8) == 0) a.StageFields[(s, "patch_kernel")] = Pick(r, "1", "4", "9");
                if (r.Next(8) == 0) a.StageFields[(s, "stride")] = Pick(r, "1", "2", "4");
                if (r.Next(10) == 0) a.StageFields[(s, "depth")] = "2";
            }
            if (a.Lists.ContainsKey("mlp_ratios"))
                foreach (var k in a.StageFields.Keys.Where(k => k.Field == "mlp_ratio").ToList()) a.StageFields.Remove(k);
        }

        private static void Rest(Random r, GenArch a, int n, long[] widths)
        {
            a.Set("block", "rest");
            a.Set("stem", Pick(r, "rest", "rest_paper", "rest"));
            a.Lists["widths"] = widths;
            if (r.Next(4) != 0) a.Lists["strides"] = Fill(n, i => i == 0 ? 1 : Pick(r, 1L, 2L, 2L, 3L, 4L));
            if (r.Next(4) != 0) a.Lists["heads"] = Fill(n, () => Pick(r, 1L, 2L, 4L, 8L));
            if (r.Next(3) != 0) a.Lists["sr_ratios"] = Fill(n, () => Pick(r, 1L, 2L, 3L, 4L, 5L, 8L));
            if (r.Next(3) == 0) a.Lists["mlp_ratios"] = Fill(n, () => Pick(r, 1L, 2L, 4L));
            if (r.Next(3) == 0) a.Set("qkv_bias", Pick(r, "true", "false"));
            for (int s = 0; s < n; s++)
            {
                if (r.Next(6) == 0) a.StageFields[(s, "sr_ratio")] = Pick(r, "1", "2", "7");
                if (r.Next(8) == 0) a.StageFields[(s, "heads")] = Pick(r, "1", "2", "3");
                if (r.Next(8) == 0) a.StageFields[(s, "mlp_ratio")] = Pick(r, "1", "3");
                if (s > 0 && r.Next(8) == 0) a.StageFields[(s, "stride")] = Pick(r, "1", "2", "3");
            }
            if (a.Lists.ContainsKey("sr_ratios"))
                foreach (var k in a.StageFields.Keys.Where(k => k.Field == "sr_ratio").ToList()) a.StageFields.Remove(k);
        }

        private static T Pick<T>(Random r, params T[] choices) => choices[r.Next(choices.Length)];

        private static long[] Fill(int n, Func<long> value) => Enumerable.Range(0, n).Select(_ => value()).ToArray();

        private static long[] Fill(int n, Func<int, long> value) => Enumerable.Range(0, n).Select(value).ToArray();
    }
}
