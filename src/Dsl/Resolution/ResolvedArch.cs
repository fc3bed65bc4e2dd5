using System.Collections.Generic;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Resolution
{
    /// <summary>
    /// A field's effective value after inheritance, with where it was set (for diagnostics) and by which declaration
    /// (<see cref="SetBy"/>: the architecture or sweep variant that wrote it; a base's name when inherited).
    /// </summary>
    public sealed record ResolvedField(string Path, ArchValue Value, SourceLocation PathLocation, string SetBy = "");

    /// <summary>
    /// An architecture with its inheritance chain flattened: every field it (or a base) sets.
    /// <see cref="Variant"/> is non-null for a sweep variant and names the sweep and grid point.
    /// </summary>
    public sealed record ResolvedArch(
        string Name,
        SourceLocation Location,
        EquatableArray<ResolvedField> Fields,
        bool FromZoo,
        SweepPoint? Variant = null)
    {
        public Dictionary<string, ResolvedField> ToMap()
        {
            var map = new Dictionary<string, ResolvedField>(System.StringComparer.Ordinal);
            foreach (var f in Fields) map[f.Path] = f;
            return map;
        }
    }

    /// <summary>One point of a sweep grid: the sweep, its base, its grid index (odometer order, the last axis fastest)
    /// and the axis values in axis order.</summary>
    public sealed record SweepPoint(string Sweep, string Base, int Index, EquatableArray<ResolvedField> Settings);

    /// <summary>
    /// A declared sweep: its variants (in grid order, or the sample's points in the sample's order) and where it was
    /// declared. <see cref="AxisSizes"/>: values per axis; their product is <see cref="GridSize"/>.
    /// </summary>
    public sealed record SweepInfo(string Name, string Base, SourceLocation Location, EquatableArray<string> VariantNames, EquatableArray<string> Axes)
    {
        public EquatableArray<int> AxisSizes { get; init; }

        public long GridSize
        {
            get
            {
                long total = 1;
                foreach (var size in AxisSizes) total *= size;
                return total;
            }
        }
    }

    /// <summary>The grid points of one sweep to build (a sample drawn by the caller), by grid index.</summary>
    public sealed record SweepSample(string Sweep, EquatableArray<long> Indices);

    /// <summary>Grid index ↔ axis positions: odometer order in declaration order, the last axis fastest.</summary>
    public static class GridPoint
    {
        public static int[] Decode(long index, System.Collections.Generic.IReadOnlyList<int> sizes)
        {
            var counters = new int[sizes.Count];
            for (int k = sizes.Count - 1; k >= 0; k--)
            {
                counters[k] = (int)(index % sizes[k]);
                index /= sizes[k];
            }
            return counters;
        }

        public static long Encode(System.Collections.Generic.IReadOnlyList<int> counters, System.Collections.Generic.IReadOnlyList<int> sizes)
        {
            long index = 0;
            for (int k = 0; k < sizes.Count; k++) index = checked(index * sizes[k] + counters[k]);
            return index;
        }
    }
}
