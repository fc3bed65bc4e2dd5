using System;
using System.Globalization;

namespace Torchwright.Sweeps
{
    /// <summary>
    /// Worker <see cref="Index"/> of <see cref="Count"/> (1-based, as written on the command line: <c>--shard 2/4</c>).
    /// A shard owns the grid points whose index i satisfies i mod Count = Index - 1: round-robin, so every shard gets
    /// a similar mix of variants, and the partition depends only on the grid (not on timing, machine or database),
    /// so a Slurm array task or a Kubernetes indexed Job can compute its part from its index alone.
    /// </summary>
    public readonly record struct Shard(int Index, int Count)
    {
        public static readonly Shard All = new Shard(1, 1);

        public bool Contains(int gridIndex) => gridIndex % Count == Index - 1;

        public override string ToString() => Index.ToString(CultureInfo.InvariantCulture) + "/" + Count.ToString(CultureInfo.InvariantCulture);

        /// <summary>Parses <c>i/n</c> with 1 &lt;= i &lt;= n; the error message says what was wrong and shows the form.</summary>
        public static bool TryParse(string text, out Shard shard, out string error)
        {
            shard = All;
            error = "";
            var parts = text.Split('/');
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                error = $"'{text}' is not a shard; write i/n, e.g. 1/4 (this worker's 1-based index / number of workers)";
                return false;
            }
            if (n < 1 || i < 1 || i > n)
            {
                error = $"shard '{text}': the index must be between 1 and the number of workers ({Math.Max(n, 1)})";
                return false;
            }
            shard = new Shard(i, n);
            return true;
        }
    }
}
