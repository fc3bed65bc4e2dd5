using System.Collections.Generic;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Syntax;
using Xunit;

namespace Torchwright.Dsl.Tests.Fuzz
{
    /// <summary>Structural facts every parsed tree must satisfy, whatever the input.</summary>
    internal static class AstInvariants
    {
        public static void AssertAll(ArchFile file, string text, string context)
        {
            foreach (var (loc, what) in Locations(file))
            {
                var problem = DiagnosticInvariants.Check(loc, text);
                if (problem != null) Assert.Fail($"{context}: {what}: {problem}");
            }
            foreach (var (value, what) in Values(file))
            {
                var loc = value.Location;
                string src = text.Substring(loc.Start, loc.Length);
                switch (value)
                {
                    case WordValue w when w.Word != src:
                    case BoolValue b when b.ToText() != src:
                        Assert.Fail($"{context}: {what} is '{value.ToText()}' but its location holds '{src}'");
                        break;
                    case ListValue when !(src.StartsWith("[") && src.EndsWith("]")):
                        Assert.Fail($"{context}: {what} list location holds '{src}'");
                        break;
                }
            }
        }

        private static IEnumerable<(SourceLocation, string)> Locations(ArchFile file)
        {
            foreach (var i in file.Imports) yield return (i.Location, "import");
            foreach (var a in file.Archs)
            {
                yield return (a.Location, "arch " + a.Name);
                yield return (a.NameLocation, "arch name " + a.Name);
                yield return (a.BaseLocation, "arch base " + a.Name);
                foreach (var f in a.Fields) foreach (var l in FieldLocations(f)) yield return l;
            }
            foreach (var s in file.Sweeps)
            {
                yield return (s.Location, "sweep " + s.Name);
                yield return (s.NameLocation, "sweep name " + s.Name);
                yield return (s.BaseLocation, "sweep base " + s.Name);
                foreach (var f in s.Axes) foreach (var l in FieldLocations(f)) yield return l;
            }
        }

        private static IEnumerable<(SourceLocation, string)> FieldLocations(FieldAssignment f)
        {
            yield return (f.Location, "field " + f.Path);
            yield return (f.PathLocation, "field path " + f.Path);
            foreach (var v in f.Values) foreach (var l in ValueTree(v, f.Path)) yield return (l.Item1.Location, l.Item2);
        }

        private static IEnumerable<(ArchValue, string)> Values(ArchFile file)
        {
            foreach (var a in file.Archs) foreach (var f in a.Fields) foreach (var v in f.Values) foreach (var x in ValueTree(v, f.Path)) yield return x;
            foreach (var s in file.Sweeps) foreach (var f in s.Axes) foreach (var v in f.Values) foreach (var x in ValueTree(v, f.Path)) yield return x;
        }

        private static IEnumerable<(ArchValue, string)> ValueTree(ArchValue v, string path)
        {
            yield return (v, "value of " + path);
            if (v is ListValue list)
                foreach (var item in list.Items)
                    foreach (var x in ValueTree(item, path)) yield return x;
        }
    }
}
