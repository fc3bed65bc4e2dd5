using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Analysis
{
    /// <summary>
    /// An architecture's resolved fields as the builder and the block, stem and attention definitions read them.
    /// Every value read through it is recorded as used: a read means the value shapes the network, so the
    /// definitions read a field only where it has an effect. After the build, <see cref="ReportUnused"/> turns every
    /// field nobody read into a diagnostic — the "no silent field" rule holds by construction, not by a list of
    /// special cases.
    /// </summary>
    public sealed class FieldReader
    {
        private readonly ResolvedArch arch;
        private readonly Dictionary<string, ResolvedField> fields;
        private readonly HashSet<string> used = new HashSet<string>(StringComparer.Ordinal);

        public FieldReader(ResolvedArch arch, List<Diagnostic> diagnostics)
        {
            this.arch = arch;
            fields = arch.ToMap();
            Diagnostics = diagnostics;
        }

        public string ArchName => arch.Name;

        public SourceLocation ArchLocation => arch.Location;

        public List<Diagnostic> Diagnostics { get; }

        public void Report(Diagnostic d) => Diagnostics.Add(d);

        /// <summary>Whether the declaration (or a base) sets the path. Not a read: asking does not make a field used.</summary>
        public bool Has(string path) => fields.ContainsKey(path);

        /// <summary>Whether the value was written by a base rather than by this declaration (or this sweep variant).</summary>
        public bool IsInherited(string path) => fields.TryGetValue(path, out var f) && f.SetBy.Length > 0 && f.SetBy != arch.Name;

        public ResolvedField? Field(string path) => fields.TryGetValue(path, out var f) ? f : null;

        public SourceLocation LocationOf(string path) =>
            fields.TryGetValue(path, out var f) ? f.Value.Location : arch.Location;

        public SourceLocation PathLocationOf(string path) =>
            fields.TryGetValue(path, out var f) ? f.PathLocation : arch.Location;

        private ArchValue? Read(string path)
        {
            if (!fields.TryGetValue(path, out var f)) return null;
            used.Add(path);
            return f.Value;
        }

        /// <summary>
        /// A word read without counting as a use: for a value whose effect is known only after the build (a stage's
        /// block kind builds nothing when every block of the stage is MHSA). The caller marks it with <see cref="MarkRead"/>.
        /// </summary>
        public string? PeekWord(string path) => fields.TryGetValue(path, out var f) && f.Value is WordValue w ? w.Word : null;

        /// <summary>Records a value read through <see cref="PeekWord"/> as used.</summary>
        public void MarkRead(string path)
        {
            if (fields.ContainsKey(path)) used.Add(path);
        }

        public long Int(string path, long fallback) => Read(path) is IntValue i ? i.Value : fallback;

        public double Float(string path, double fallback) => Read(path) switch
        {
            FloatValue fv => fv.Value,
            IntValue iv => iv.Value,
            _ => fallback,
        };

        public bool Bool(string path, bool fallback) => Read(path) is BoolValue b ? b.Value : fallback;

        public string? Word(string path) => Read(path) is WordValue w ? w.Word : null;

        public long[]? List(string path) => Read(path) is ListValue l ? l.Items.Select(i => ((IntValue)i).Value).ToArray() : null;

        public DimsValue? Dims(string path) => Read(path) as DimsValue;

        public static string StagePath(int stage, string field) => FieldCatalog.StageName(stage) + "." + field;

        /// <summary>A per-stage integer: cN.field, else list[stage], else the default.</summary>
        public long StageInt(int stage, string field, string list, long fallback)
        {
            var p = StagePath(stage, field);
            if (Has(p)) return Int(p, fallback);
            var l = List(list);
            return l != null && stage < l.Length ? l[stage] : fallback;
        }

        /// <summary>Where a per-stage value came from (the cN.field value, or the list entry).</summary>
        public SourceLocation StageLocation(int stage, string field, string list)
        {
            var p = StagePath(stage, field);
            if (Has(p)) return LocationOf(p);
            if (fields.TryGetValue(list, out var f) && f.Value is ListValue l && stage < l.Items.Count) return l.Items[stage].Location;
            return fields.TryGetValue(list, out var g) ? g.Value.Location : arch.Location;
        }

        /// <summary>Whether a per-stage value is set for the stage (cN.field, or the list).</summary>
        public bool HasStage(int stage, string field, string list) => Has(StagePath(stage, field)) || Has(list);

        /// <summary>A field that may be set on the arch or on one stage: cN.field overrides field.</summary>
        public long BothInt(int stage, string field, long fallback) =>
            Has(StagePath(stage, field)) ? Int(StagePath(stage, field), fallback) : Int(field, fallback);

        public double BothFloat(int stage, string field, double fallback) =>
            Has(StagePath(stage, field)) ? Float(StagePath(stage, field), fallback) : Float(field, fallback);

        public bool BothBool(int stage, string field, bool fallback) =>
            Has(StagePath(stage, field)) ? Bool(StagePath(stage, field), fallback) : Bool(field, fallback);

        public string? BothWord(int stage, string field) =>
            Has(StagePath(stage, field)) ? Word(StagePath(stage, field)) : Word(field);

        public bool HasBoth(int stage, string field) => Has(StagePath(stage, field)) || Has(field);

        public SourceLocation BothLocation(int stage, string field) =>
            Has(StagePath(stage, field)) ? LocationOf(StagePath(stage, field)) : LocationOf(field);

        // ---- typed handles: the path from the field's scope (cN.field overrides field), the default from the handle ----

        private string PathOf(FieldInfo field, int stage) =>
            (field.Scope & FieldScope.Stage) != 0 && stage >= 0 && ((field.Scope & FieldScope.Arch) == 0 || Has(StagePath(stage, field.Name)))
                ? StagePath(stage, field.Name) : field.Name;

        /// <summary>The field's value for the stage (-1: the architecture), or its default.</summary>
        public long Get(Field<long> field, int stage = -1) => Int(PathOf(field, stage), field.Default);

        public double Get(Field<double> field, int stage = -1) => Float(PathOf(field, stage), field.Default);

        public bool Get(Field<bool> field, int stage = -1) => Bool(PathOf(field, stage), field.Default);

        public string Get(Field<string> field, int stage = -1) => Word(PathOf(field, stage)) ?? field.Default;

        /// <summary>A per-stage setting: cN.name, else list[stage], else the handle's default, else <paramref name="fallback"/>.</summary>
        public long Get(PerStage setting, int stage, long fallback = 0) => StageInt(stage, setting.Stage.Name, setting.List.Name, setting.Default ?? fallback);

        public SourceLocation LocationOf(PerStage setting, int stage) => StageLocation(stage, setting.Stage.Name, setting.List.Name);

        public bool Has(PerStage setting, int stage) => HasStage(stage, setting.Stage.Name, setting.List.Name);

        /// <summary>An integer field whose default the reader computes (qk_head_dim: width / heads).</summary>
        public long Int(FieldInfo field, int stage, long fallback) => Int(PathOf(field, stage), fallback);

        /// <summary>An integer field that also takes the word <c>none</c> (lambda_r): null for none, else its value or the handle's default.</summary>
        public long? IntOrNone(Field<long> field, int stage) => Read(PathOf(field, stage)) switch
        {
            IntValue i => i.Value,
            WordValue w when w.Word == "none" => null,
            _ => field.Default,
        };

        /// <summary>Whether the field is set for the stage (cN.field or, for an arch-scope field, field). Not a read.</summary>
        public bool Has(FieldInfo field, int stage = -1) => Has(PathOf(field, stage));

        /// <summary>Where the field's value for the stage is written (the declaration when it is not).</summary>
        public SourceLocation LocationOf(FieldInfo field, int stage = -1) => LocationOf(PathOf(field, stage));

        public bool InRange(long value, long min, long max, SourceLocation at, string what, string owner)
        {
            if (value >= min && value <= max) return true;
            Diagnostics.Add(DiagnosticCatalog.OutOfRange.Create(at, owner, what, value, $"expected {min}..{max}"));
            return false;
        }

        /// <summary>
        /// Every field the build never read, as TW0024 (an error: the declaration set it and it builds nothing) or, when
        /// a base set it, TW0101 (a warning: the base meant it for other stages or kinds). The message says which kinds
        /// read the field (from the catalog) and what the stage has instead.
        /// </summary>
        /// <param name="describeStage">What a stage is built from, e.g. "bottleneck blocks"; arch-level fields get every stage's.</param>
        public void ReportUnused(int stageCount, Func<int, string> describeStage)
        {
            foreach (var f in arch.Fields)
            {
                if (used.Contains(f.Path)) continue;
                if (!FieldCatalog.TryParsePath(f.Path, out int stage, out string name) || stage >= stageCount) continue; // reported elsewhere
                var info = FieldCatalog.Lookup(f.Path);
                if (info == null) continue;
                string owner = stage >= 0 ? FieldCatalog.StageName(stage) : arch.Name;
                string has = stage >= 0
                    ? $"{FieldCatalog.StageName(stage)} is built from {describeStage(stage)}"
                    : "the stages are built from " + string.Join(", ", Enumerable.Range(0, stageCount).Select(describeStage).Distinct());
                string readBy = info.ReadBy.Length > 0 ? $"'{name}' is read only by {info.ReadBy}" : $"'{name}' is not read here";
                // A per-stage list that every stage overrides with its own cN. value.
                var perStage = FieldCatalog.All.FirstOrDefault(x => x.PerStage == name && x.Scope == FieldScope.Stage);
                if (stage < 0 && perStage != null && Enumerable.Range(0, stageCount).All(s => Has(StagePath(s, perStage.Name))))
                    readBy = $"every stage sets its own cN.{perStage.Name}, which overrides '{name}'";
                if (IsInherited(f.Path))
                {
                    // A sweep varies its base on purpose: a base field that one grid point leaves unread is not news.
                    if (arch.Variant != null) continue;
                    Diagnostics.Add(DiagnosticCatalog.UnusedField.Create(f.PathLocation, owner, f.Path,
                        $"{has}; {readBy} (set by the base '{f.SetBy}' for other stages or kinds)"));
                }
                else
                    Diagnostics.Add(DiagnosticCatalog.FieldHasNoEffect.Create(f.PathLocation, owner, f.Path, has, readBy));
            }
        }
    }
}
