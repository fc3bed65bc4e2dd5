using System;
using System.Collections.Generic;
using System.Globalization;
using Torchwright.Cli.Output;
using Torchwright.Dsl;

namespace Torchwright.Cli.Planning
{
    /// <summary>
    /// <c>--max-params</c> and <c>--max-macs</c>: limits on the exact compile-time counts (the ones <c>summary</c>
    /// prints). A variant over a limit is excluded before anything trains, and the plan and the report say by which.
    /// A variant exactly at a limit is kept.
    /// </summary>
    public sealed record SweepBudget(long? MaxParams, long? MaxMacs)
    {
        public static readonly SweepBudget None = new SweepBudget(null, null);

        public bool IsNone => MaxParams is null && MaxMacs is null;

        /// <summary>Why <paramref name="variant"/> is excluded ("params 25,557,032 > --max-params 25M"), or null.</summary>
        public string? Exclusion(CheckedArchitecture variant)
        {
            var reasons = new List<string>();
            if (MaxParams is long p && variant.Costs.Params > p)
                reasons.Add($"params {Numbers.Grouped(variant.Costs.Params)} > --max-params {Numbers.Grouped(p)}");
            if (MaxMacs is long m && variant.Costs.Macs > m)
                reasons.Add($"MACs {Numbers.Grouped(variant.Costs.Macs)} > --max-macs {Numbers.Grouped(m)}");
            return reasons.Count == 0 ? null : string.Join(" and ", reasons);
        }

        /// <summary>
        /// A count as written on the command line: a whole number (25000000), or a number with K, M or G (powers of 1000:
        /// 25M, 4.5G, 300k); the result must be a whole positive count. Null with <paramref name="error"/> otherwise.
        /// </summary>
        public static long? ParseCount(string option, string text, out string? error)
        {
            error = null;
            var t = text.Trim();
            double scale = 1;
            if (t.Length > 0)
            {
                switch (char.ToUpperInvariant(t[^1]))
                {
                    case 'K': scale = 1e3; t = t[..^1]; break;
                    case 'M': scale = 1e6; t = t[..^1]; break;
                    case 'G': scale = 1e9; t = t[..^1]; break;
                }
            }
            if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var number))
            {
                error = $"{option} {text}: give a count such as 25000000, 25M or 4.5G";
                return null;
            }
            var value = number * (decimal)scale;
            if (value < 1 || value > long.MaxValue || value != decimal.Truncate(value))
            {
                error = $"{option} {text}: the limit must be a whole count of at least 1 (got {value.ToString(CultureInfo.InvariantCulture)})";
                return null;
            }
            return (long)value;
        }
    }
}
