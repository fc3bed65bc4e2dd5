using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Attributes
{
    /// <summary>
    /// One named (or the stage's positional) argument of a Torchwright attribute, as the generator extracted it.
    /// <see cref="Value"/> is an int, double, bool, string or int[]; equality compares arrays by content so the
    /// record can sit in an incremental pipeline. <see cref="ItemLocations"/> locates each element of an int[]
    /// (empty when unknown: the elements then share <see cref="Location"/>).
    /// </summary>
    public sealed record AttributeArgument(string Attribute, string? Stage, string Property, object? Value, SourceLocation Location)
    {
        public EquatableArray<SourceLocation> ItemLocations { get; init; } = EquatableArray<SourceLocation>.Empty;

        public bool Equals(AttributeArgument? other) =>
            other is not null && Attribute == other.Attribute && Stage == other.Stage && Property == other.Property
            && ValueEquals(Value, other.Value) && Location.Equals(other.Location) && ItemLocations.Equals(other.ItemLocations);

        public override int GetHashCode()
        {
            unchecked
            {
                int h = (Attribute.GetHashCode() * 31 + (Stage?.GetHashCode() ?? 0)) * 31 + Property.GetHashCode();
                if (Value is int[] a) foreach (var x in a) h = h * 31 + x;
                else h = h * 31 + (Value?.GetHashCode() ?? 0);
                return h * 31 + Location.GetHashCode();
            }
        }

        private static bool ValueEquals(object? a, object? b) =>
            a is int[] x && b is int[] y ? x.SequenceEqual(y) : Equals(a, b);
    }

    /// <summary>A class carrying [Architecture] (and any [Stage]s): what the C# front end hands to the DSL.</summary>
    public sealed record AttributedClass(
        string ClassName, string Namespace, SourceLocation NameLocation, EquatableArray<AttributeArgument> Arguments);

    /// <summary>
    /// The C# attribute front end: the attribute declarations (generated from <see cref="FieldCatalog"/> so the two
    /// cannot drift) and the conversion of an attributed class into the same declaration tree a .arch file parses to.
    /// </summary>
    public static class AttributeModel
    {
        public const string Namespace = "Torchwright";
        public const string ArchitectureAttribute = "Architecture";
        public const string StageAttribute = "Stage";
        public const string ArchitectureMetadataName = "Torchwright.ArchitectureAttribute";
        public const string StageMetadataName = "Torchwright.StageAttribute";

        /// <summary>The pseudo-property under which the extractor passes a [Stage]'s positional name ("c5").</summary>
        public const string StageNameProperty = "<stage>";

        /// <summary>[Architecture] properties that are not fields.</summary>
        public const string ExtendsProperty = "Extends";
        public const string NameProperty = "Name";

        /// <summary>PascalCase of a catalog name: stem_width -> StemWidth.</summary>
        public static string Pascal(string snake)
        {
            var sb = new StringBuilder(snake.Length);
            bool upper = true;
            foreach (var ch in snake)
            {
                if (ch == '_') { upper = true; continue; }
                sb.Append(upper ? char.ToUpperInvariant(ch) : ch);
                upper = false;
            }
            return sb.ToString();
        }

        /// <summary>The fields an attribute exposes, keyed by property name.</summary>
        public static IReadOnlyDictionary<string, FieldInfo> Properties(string attribute)
        {
            var scope = attribute == StageAttribute ? FieldScope.Stage : FieldScope.Arch;
            var map = new Dictionary<string, FieldInfo>(StringComparer.Ordinal);
            foreach (var f in FieldCatalog.All)
                if ((f.Scope & scope) != 0) map[Pascal(f.Name)] = f;
            return map;
        }

        private static readonly Lazy<string> source = new Lazy<string>(BuildSource);

        /// <summary>The C# source of ArchitectureAttribute and StageAttribute (namespace Torchwright).</summary>
        public static string AttributeSource => source.Value;

        /// <summary>
        /// An integer field that also takes words (lambda_r = none) is an <c>object?</c> property, so that both are
        /// constants C# accepts (<c>LambdaR = 13</c>, <c>LambdaR = "none"</c>); anything else is the resolver's located
        /// TW0004, as in .arch text.
        /// </summary>
        private static string CSharpType(FieldInfo f) => f.Type == FieldType.Int && f.Words != null ? "object?" : CSharpType(f.Type);

        /// <summary>How the property is set, for its doc: the words an integer property also takes.</summary>
        private static string Spelling(FieldInfo f) =>
            f.Type == FieldType.Int && f.Words != null ? "; an int, or " + string.Join(" or ", f.Words.Select(w => "\"" + w + "\"")) : "";

        private static string CSharpType(FieldType t) => t switch
        {
            FieldType.Int => "int",
            FieldType.Float => "double",
            FieldType.Bool => "bool",
            FieldType.IntList => "int[]?",
            _ => "string?",
        };

        private static string BuildSource()
        {
            var w = new StringBuilder();
            w.Append("// <auto-generated>\n//   Generated by Torchwright from its field catalog. Do not edit.\n// </auto-generated>\n");
            w.Append("#nullable enable\n");
            w.Append("namespace Torchwright\n{\n");

            w.Append("    /// <summary>Declares a Torchwright vision backbone on a partial class; the generator emits the module.</summary>\n");
            w.Append("    [global::System.AttributeUsage(global::System.AttributeTargets.Class, AllowMultiple = false, Inherited = false)]\n");
            w.Append("    [global::System.Diagnostics.Conditional(\"TORCHWRIGHT_KEEP_ATTRIBUTES\")]\n");
            w.Append("    internal sealed class ArchitectureAttribute : global::System.Attribute\n    {\n");
            w.Append("        /// <summary>The architecture this one starts from (a zoo name such as ResNet50, or one declared in this project).</summary>\n");
            w.Append("        public string? Extends { get; set; }\n\n");
            w.Append("        /// <summary>The architecture's name (default: the class name).</summary>\n");
            w.Append("        public string? Name { get; set; }\n");
            AppendProperties(w, ArchitectureAttribute);
            w.Append("    }\n\n");

            w.Append("    /// <summary>Sets fields of one stage (c2, c3, ...) of the architecture declared on the same class.</summary>\n");
            w.Append("    [global::System.AttributeUsage(global::System.AttributeTargets.Class, AllowMultiple = true, Inherited = false)]\n");
            w.Append("    [global::System.Diagnostics.Conditional(\"TORCHWRIGHT_KEEP_ATTRIBUTES\")]\n");
            w.Append("    internal sealed class StageAttribute : global::System.Attribute\n    {\n");
            w.Append("        /// <summary>Names the stage: c2 is the first stage, c5 the fourth.</summary>\n");
            w.Append("        public StageAttribute(string stage) { Stage = stage; }\n\n");
            w.Append("        /// <summary>The stage's name (c2, c3, ...).</summary>\n");
            w.Append("        public string Stage { get; }\n");
            AppendProperties(w, StageAttribute);
            w.Append("    }\n}\n");
            return w.ToString();
        }

        private static void AppendProperties(StringBuilder w, string attribute)
        {
            foreach (var kv in Properties(attribute))
            {
                w.Append("\n        /// <summary>").Append(Xml(kv.Value.Doc)).Append(" (<c>").Append(kv.Value.Name).Append("</c>").Append(Xml(Spelling(kv.Value))).Append(")</summary>\n");
                w.Append("        public ").Append(CSharpType(kv.Value)).Append(' ').Append(kv.Key).Append(" { get; set; }\n");
            }
        }

        private static string Xml(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

        /// <summary>
        /// Converts an attributed class into a file of one <see cref="ArchDecl"/>: each set argument becomes a field
        /// assignment located at the argument. Bad shape strings and stage names become located diagnostics.
        /// </summary>
        public static ArchFile ToArchFile(AttributedClass cls, List<Diagnostic> diagnostics)
        {
            string name = cls.ClassName;
            var nameLoc = cls.NameLocation;
            string? baseName = null;
            var baseLoc = SourceLocation.None;
            var fields = new List<FieldAssignment>();
            var archProps = Properties(ArchitectureAttribute);
            var stageProps = Properties(StageAttribute);
            var badStages = new HashSet<SourceLocation>();

            foreach (var arg in cls.Arguments)
            {
                bool isStage = arg.Attribute == StageAttribute;
                if (!isStage && arg.Property == NameProperty)
                {
                    if (arg.Value is string n && NameProblem(n) is string problem)
                        diagnostics.Add(DiagnosticCatalog.UnprintableName.Create(arg.Location, "Name", DisplayText.Escape(n), problem));
                    else if (arg.Value is string ok) { name = ok; nameLoc = arg.Location; }
                    continue;
                }
                if (!isStage && arg.Property == ExtendsProperty)
                {
                    if (arg.Value is string b && b.Length > 0) { baseName = b; baseLoc = arg.Location; }
                    continue;
                }
                if (isStage && arg.Property == StageNameProperty)
                {
                    if (arg.Value == null)
                    {
                        diagnostics.Add(DiagnosticCatalog.UnknownField.Create(arg.Location, "<null>.*", name,
                            "; [Stage] needs a stage name such as \"c5\", not null (stages are named c2, c3, ...; c2 is the first stage)"));
                        continue;
                    }
                    var stage = arg.Value as string ?? "";
                    if (!IsStageName(stage))
                        diagnostics.Add(DiagnosticCatalog.UnknownField.Create(arg.Location, stage + ".*", name,
                            $"; '{stage}' is not a stage name: stages are named c2, c3, ... (c2 is the first stage, c5 the fourth)"));
                    continue;
                }
                if (isStage && !IsStageName(arg.Stage ?? "")) continue; // reported once at the stage's name
                if (arg.Value is null) continue;

                var props = isStage ? stageProps : archProps;
                if (!props.TryGetValue(arg.Property, out var info))
                {
                    diagnostics.Add(DiagnosticCatalog.UnknownField.Create(arg.Location, arg.Property, name,
                        $"; [{arg.Attribute}] has no property '{arg.Property}'"));
                    continue;
                }
                var path = isStage ? arg.Stage + "." + info.Name : info.Name;
                var value = ToValue(info, path, arg, diagnostics);
                if (value == null) continue;
                fields.Add(new FieldAssignment(path, arg.Location, new EquatableArray<ArchValue>(new[] { value }), arg.Location));
            }

            var decl = new ArchDecl(name, nameLoc, baseName, baseLoc, EquatableArray.From(fields), cls.NameLocation);
            return new ArchFile(cls.NameLocation.Path, EquatableArray<ImportDecl>.Empty,
                new EquatableArray<ArchDecl>(new[] { decl }), EquatableArray<SweepDecl>.Empty);
        }

        public static bool IsStageName(string stage) =>
            !stage.Contains(".") && FieldCatalog.TryParsePath(stage + ".depth", out int s, out _) && s >= 0;

        private static ArchValue? ToValue(FieldInfo info, string path, AttributeArgument arg, List<Diagnostic> diagnostics)
        {
            var loc = arg.Location;
            switch (arg.Value)
            {
                case int i: return new IntValue(i, loc);
                case long l: return new IntValue(l, loc);
                case double d when double.IsNaN(d) || double.IsInfinity(d):
                    diagnostics.Add(DiagnosticCatalog.NonFiniteNumber.Create(loc, path, NonFiniteText(d)));
                    return null;
                case float f when float.IsNaN(f) || float.IsInfinity(f):
                    diagnostics.Add(DiagnosticCatalog.NonFiniteNumber.Create(loc, path, NonFiniteText(f)));
                    return null;
                case double d: return new FloatValue(d, loc);
                case float f: return new FloatValue(f, loc);
                case bool b: return new BoolValue(b, loc);
                case int[] list:
                    {
                        var items = new ArchValue[list.Length];
                        for (int k = 0; k < list.Length; k++)
                            items[k] = new IntValue(list[k], k < arg.ItemLocations.Count ? arg.ItemLocations[k] : loc);
                        return new ListValue(new EquatableArray<ArchValue>(items), loc);
                    }
                case string s when info.Type == FieldType.Dims:
                    {
                        var dims = ParseDims(s);
                        if (dims != null) return new DimsValue(new EquatableArray<long>(dims), loc);
                        diagnostics.Add(DiagnosticCatalog.WrongType.Create(loc, path, "a shape such as \"3x224x224\" or \"224x224\"",
                            "the string \"" + (s.Length <= 40 ? s : s.Substring(0, 37) + "...") + "\""));
                        return null;
                    }
                case string s:
                    return new WordValue(s, loc);
                default:
                    diagnostics.Add(DiagnosticCatalog.WrongType.Create(loc, path, "a constant", "a value of type " + arg.Value!.GetType().Name));
                    return null;
            }
        }

        private static string NonFiniteText(double d) => double.IsNaN(d) ? "NaN" : d > 0 ? "positive infinity" : "negative infinity";

        /// <summary>
        /// Why an architecture name cannot be used, or null: it is empty, or has a character that would break a
        /// line or hide in generated code and messages (control, format/bidi, line or paragraph separator, lone
        /// surrogate).
        /// </summary>
        public static string? NameProblem(string name)
        {
            if (name.Length == 0) return "is empty";
            int at = DisplayText.FirstUnsafe(name);
            return at < 0 ? null : $"contains the character {DisplayText.CodeOf(name[at])} at position {at + 1}";
        }

        /// <summary>Parses "3x224x224" / "224x224" (positive integers separated by 'x'); null if malformed.</summary>
        public static long[]? ParseDims(string text)
        {
            var parts = text.Trim().Split('x', 'X');
            if (parts.Length < 2 || parts.Length > 3) return null;
            var dims = new long[parts.Length];
            for (int k = 0; k < parts.Length; k++)
                if (!long.TryParse(parts[k].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out dims[k]) || dims[k] <= 0) return null;
            return dims;
        }
    }
}
