using System.Globalization;
using System.Linq;
using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Dsl.Syntax
{
    // The declaration tree both front ends produce: the .arch parser and the C# attribute reader.
    // Records with value equality so they can be cached by the incremental generator.

    /// <summary>A field value as written: 64, 0.5, true, bottleneck, [0, 1, 1], 3x224x224.</summary>
    public abstract record ArchValue(SourceLocation Location)
    {
        /// <summary>The canonical text of the value (stable: used in variant names and reports).</summary>
        public abstract string ToText();

        /// <summary>A short description of the value's type for messages ("an integer", "a list").</summary>
        public abstract string TypeName { get; }
    }

    public sealed record IntValue(long Value, SourceLocation Location) : ArchValue(Location)
    {
        public override string ToText() => Value.ToString(CultureInfo.InvariantCulture);
        public override string TypeName => "an integer";
    }

    public sealed record FloatValue(double Value, SourceLocation Location) : ArchValue(Location)
    {
        public override string ToText() => Value.ToString("0.0###########", CultureInfo.InvariantCulture);
        public override string TypeName => "a number";
    }

    public sealed record BoolValue(bool Value, SourceLocation Location) : ArchValue(Location)
    {
        public override string ToText() => Value ? "true" : "false";
        public override string TypeName => "a boolean";
    }

    /// <summary>A bare word: a block kind, a stem kind, a shortcut style.</summary>
    public sealed record WordValue(string Word, SourceLocation Location) : ArchValue(Location)
    {
        public override string ToText() => Word;
        public override string TypeName => $"the word '{Word}'";
    }

    public sealed record ListValue(EquatableArray<ArchValue> Items, SourceLocation Location) : ArchValue(Location)
    {
        public override string ToText() => "[" + string.Join(",", Items.Select(i => i.ToText())) + "]";
        public override string TypeName => "a list";
    }

    /// <summary>A shape literal: 3x224x224 (C x H x W) or 224x224.</summary>
    public sealed record DimsValue(EquatableArray<long> Dims, SourceLocation Location) : ArchValue(Location)
    {
        public override string ToText() => string.Join("x", Dims.Select(d => d.ToString(CultureInfo.InvariantCulture)));
        public override string TypeName => "a shape";
    }

    /// <summary>
    /// <c>path = value</c>. In an arch, exactly one value; in a sweep, one value per grid point
    /// (<c>c5.mhsa = [0,0,1], [0,1,1]</c>).
    /// </summary>
    public sealed record FieldAssignment(string Path, SourceLocation PathLocation, EquatableArray<ArchValue> Values, SourceLocation Location);

    public sealed record ImportDecl(string Path, SourceLocation Location);

    /// <summary><c>arch Name [: Base] { assignments }</c>.</summary>
    public sealed record ArchDecl(
        string Name, SourceLocation NameLocation,
        string? Base, SourceLocation BaseLocation,
        EquatableArray<FieldAssignment> Fields, SourceLocation Location);

    /// <summary><c>sweep Name : Base { axes }</c>: the Cartesian product of the axes' values over Base.</summary>
    public sealed record SweepDecl(
        string Name, SourceLocation NameLocation,
        string Base, SourceLocation BaseLocation,
        EquatableArray<FieldAssignment> Axes, SourceLocation Location);

    /// <summary>One parsed .arch file (or one C# class's attributes, which form a file of one arch).</summary>
    public sealed record ArchFile(
        string Path,
        EquatableArray<ImportDecl> Imports,
        EquatableArray<ArchDecl> Archs,
        EquatableArray<SweepDecl> Sweeps);
}
