using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Torchwright.Cli.Tests.Soundness
{
    /// <summary>
    /// Greedy shrinking of a failing declaration: repeatedly tries smaller candidates (drop a stage, lower a depth,
    /// remove an optional field, halve a width, a smaller input) and keeps the first that still fails, until none
    /// does or the budget of tries is spent.
    /// </summary>
    public static class Shrinker
    {
        /// <summary>Fields every declaration keeps (without them nothing checks, or the input grows to 224 px).</summary>
        private static readonly HashSet<string> Required = new HashSet<string>(StringComparer.Ordinal) { "input", "block", "depths", "widths" };

        public static GenArch Shrink(GenArch failing, Func<GenArch, bool> stillFails, int maxTries = 200)
        {
            var current = failing;
            int tries = 0;
            bool progress = true;
            while (progress && tries < maxTries)
            {
                progress = false;
                foreach (var candidate in Candidates(current))
                {
                    if (++tries > maxTries) break;
                    if (!stillFails(candidate)) continue;
                    current = candidate;
                    progress = true;
                    break;
                }
            }
            return current;
        }

        /// <summary>Smaller variants, the biggest reductions first.</summary>
        public static IEnumerable<GenArch> Candidates(GenArch a)
        {
            int n = a.Stages;
            for (int s = n - 1; s >= 0 && n > 1; s--) yield return DropStage(a, s);
            for (int s = 0; s < n; s++)
                if (a.Lists["depths"][s] > 1) yield return LowerDepth(a, s);
            foreach (var key in a.Masks.Keys.ToList())
            {
                var c = a.Clone();
                c.Masks.Remove(key);
                yield return c;
            }
            foreach (var key in a.StageFields.Keys.ToList())
            {
                var c = a.Clone();
                c.StageFields.Remove(key);
                yield return c;
            }
            foreach (var key in a.Scalars.Select(kv => kv.Key).Where(k => !Required.Contains(k)).ToList())
            {
                var c = a.Clone();
                c.Scalars.RemoveAll(kv => kv.Key == key);
                yield return c;
            }
            foreach (var key in a.Lists.Keys.Where(k => !Required.Contains(k)).ToList())
            {
                var c = a.Clone();
                c.Lists.Remove(key);
                yield return c;
            }
            for (int s = 0; s < n; s++)
                if (a.Lists["widths"][s] >= 16)
                {
                    var c = a.Clone();
                    c.Lists["widths"][s] /= 2;
                    yield return c;
                }
            var smaller = SmallerInput(a);
            if (smaller != null) yield return smaller;
        }

        private static GenArch DropStage(GenArch a, int stage)
        {
            var c = new GenArch(a.Name);
            c.Scalars.AddRange(a.Scalars);
            foreach (var kv in a.Lists) c.Lists[kv.Key] = kv.Value.Where((_, i) => i != stage).ToArray();
            foreach (var kv in a.StageFields)
                if (kv.Key.Stage != stage) c.StageFields[(kv.Key.Stage > stage ? kv.Key.Stage - 1 : kv.Key.Stage, kv.Key.Field)] = kv.Value;
            foreach (var kv in a.Masks)
                if (kv.Key != stage) c.Masks[kv.Key > stage ? kv.Key - 1 : kv.Key] = (long[])kv.Value.Clone();
            return c;
        }

        private static GenArch LowerDepth(GenArch a, int stage)
        {
            var c = a.Clone();
            c.Lists["depths"][stage]--;
            if (c.Masks.TryGetValue(stage, out var mask)) c.Masks[stage] = mask.Take(mask.Length - 1).ToArray();
            return c;
        }

        /// <summary>The input 8 px smaller on each side (not below 8).</summary>
        private static GenArch? SmallerInput(GenArch a)
        {
            var text = a.Scalar("input");
            if (text == null) return null;
            var dims = text.Split('x').Select(d => long.Parse(d, CultureInfo.InvariantCulture)).ToArray();
            int first = dims.Length == 3 ? 1 : 0;
            if (dims.Skip(first).Any(d => d <= 8)) return null;
            for (int i = first; i < dims.Length; i++) dims[i] -= 8;
            var c = a.Clone();
            c.Set("input", string.Join("x", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))));
            return c;
        }
    }
}
