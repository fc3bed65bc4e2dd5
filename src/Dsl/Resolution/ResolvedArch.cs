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

    /// <summary>One point of a sweep grid: the sweep, its base, and the axis values in axis order.</summary>
    public sealed record SweepPoint(string Sweep, string Base, int Index, EquatableArray<ResolvedField> Settings);

    /// <summary>A declared sweep: its variants (in grid order) and where it was declared.</summary>
    public sealed record SweepInfo(string Name, string Base, SourceLocation Location, EquatableArray<string> VariantNames, EquatableArray<string> Axes);
}
