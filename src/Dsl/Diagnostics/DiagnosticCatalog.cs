namespace Torchwright.Dsl.Diagnostics
{
    /// <summary>
    /// Every diagnostic Torchwright reports. IDs are stable: never renumber, only append.
    /// Each message names the stage/block, the expected and actual value, and a fix. Help: docs/diagnostics.md.
    /// </summary>
    /// <remarks>
    /// Adding an ID: append the descriptor here and to <see cref="All"/>; add its row
    /// ("TWnnnn | Torchwright | Error/Warning/Info | title") to src/Generator/AnalyzerReleases.Unshipped.md (the build fails
    /// with RS2000 until it is there); run tests/Dsl.Tests and tests/Generator.Tests with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1
    /// (filter DiagnosticsDocTests and DiagnosticReleaseTests), which regenerate docs/diagnostics.md's ID table and
    /// section heading and src/Generator/DiagnosticDescriptors.Tracked.cs; then write the explanation under the new
    /// "## TWnnnn" heading in docs/diagnostics.md.
    /// </remarks>
    public static class DiagnosticCatalog
    {
        // --- syntax and declarations -------------------------------------------------------------
        public static readonly DiagnosticDescriptor SyntaxError = new DiagnosticDescriptor(
            "TW0001", "Syntax error", "Syntax error: expected {0} but found {1}", Severity.Error);

        public static readonly DiagnosticDescriptor UnknownField = new DiagnosticDescriptor(
            "TW0002", "Unknown field", "Unknown field '{0}' in {1}{2}", Severity.Error);

        public static readonly DiagnosticDescriptor UnknownKind = new DiagnosticDescriptor(
            "TW0003", "Unknown kind", "Unknown {0} '{1}' for field '{2}': expected one of {3}", Severity.Error);

        public static readonly DiagnosticDescriptor ChannelMismatch = new DiagnosticDescriptor(
            "TW0004", "Channel mismatch", "{0}: declared {1} input channels but {2} flow in from {3}; set it to {2} or change {3}", Severity.Error);

        public static readonly DiagnosticDescriptor GroupsDoNotDivide = new DiagnosticDescriptor(
            "TW0005", "Groups do not divide channels", "{0}: {1} = {2} does not divide {3} = {4}; choose {3} as a multiple of {2}", Severity.Error);

        public static readonly DiagnosticDescriptor HeadsDoNotDivide = new DiagnosticDescriptor(
            "TW0006", "Heads do not divide width", "{0}: {1} heads do not divide attention width {2}; use a head count that divides {2} (e.g. {3})", Severity.Error);

        public static readonly DiagnosticDescriptor MaskLength = new DiagnosticDescriptor(
            "TW0007", "Mask length differs from stage depth", "{0}: the {1} mask has {2} entries but the stage has depth {3}; give exactly {3} entries (0 = keep the block, 1 = attention)", Severity.Error);

        public static readonly DiagnosticDescriptor InputSizeRequired = new DiagnosticDescriptor(
            "TW0008", "Fixed input size required", "{0}: {1} needs a fixed feature-map size, but the architecture declares no input; add 'input = 3x224x224' (or the size you train at)", Severity.Error);

        public static readonly DiagnosticDescriptor FeatureMapNotDivisible = new DiagnosticDescriptor(
            "TW0009", "Feature map does not divide evenly", "{0}: input {1} does not divide evenly: {2}; use an input size that is a multiple of {3}", Severity.Error);

        public static readonly DiagnosticDescriptor InvalidLka = new DiagnosticDescriptor(
            "TW0010", "Invalid large-kernel decomposition", "{0}: cannot decompose a {1}x{1} kernel with dilation {2}: {3}", Severity.Error);

        public static readonly DiagnosticDescriptor SweepUnknownField = new DiagnosticDescriptor(
            "TW0011", "Sweep over an unknown field", "Sweep '{0}' varies '{1}', which is not a field of {2}{3}", Severity.Error);

        public static readonly DiagnosticDescriptor InheritanceCycle = new DiagnosticDescriptor(
            "TW0012", "Inheritance cycle", "'{0}' inherits from itself through {1}; break the cycle", Severity.Error);

        public static readonly DiagnosticDescriptor DuplicateName = new DiagnosticDescriptor(
            "TW0013", "Duplicate name", "{0} '{1}' is declared more than once (first at {2}); rename one of them", Severity.Error);

        public static readonly DiagnosticDescriptor UnknownReference = new DiagnosticDescriptor(
            "TW0014", "Unknown reference", "{0} '{1}' was not found{2}", Severity.Error);

        public static readonly DiagnosticDescriptor WrongType = new DiagnosticDescriptor(
            "TW0015", "Wrong value type", "Field '{0}' expects {1} but got {2}", Severity.Error);

        public static readonly DiagnosticDescriptor OutOfRange = new DiagnosticDescriptor(
            "TW0016", "Value out of range", "{0}: {1} = {2} is out of range: {3}", Severity.Error);

        public static readonly DiagnosticDescriptor ListLength = new DiagnosticDescriptor(
            "TW0017", "Per-stage list has the wrong length", "{0}: '{1}' has {2} entries but the architecture has {3} stages (from {4}); {5}", Severity.Error);

        public static readonly DiagnosticDescriptor MixedFamilies = new DiagnosticDescriptor(
            "TW0018", "Stages from different families", "{0}: block '{1}' belongs to the {2} family but earlier stages are {3}; one architecture uses one family's layout", Severity.Error);

        public static readonly DiagnosticDescriptor MissingField = new DiagnosticDescriptor(
            "TW0019", "Required field missing", "{0} has no '{1}'; {2}", Severity.Error);

        public static readonly DiagnosticDescriptor DuplicateAssignment = new DiagnosticDescriptor(
            "TW0020", "Field set twice", "Field '{0}' is set twice in '{1}' (first at {2}); keep one", Severity.Error);

        public static readonly DiagnosticDescriptor AttributedClassShape = new DiagnosticDescriptor(
            "TW0021", "Attributed class must be a top-level non-generic partial class", "'{0}' carries [Architecture] but is {1}; declare it as a top-level, non-generic 'partial class' so the generated module can complete it", Severity.Error);

        public static readonly DiagnosticDescriptor MhsaStride = new DiagnosticDescriptor(
            "TW0022", "MHSA block stride other than 1 or 2", "{0} block 0 (MHSA): an MHSA block downsamples with a 2x2 average pool after the attention, so it takes stride 1 or 2, but the stage stride is {1}; set the stage's stride to 1 or 2, or keep block 0 a convolution (mask entry 0)", Severity.Error);

        public static readonly DiagnosticDescriptor MapTooSmall = new DiagnosticDescriptor(
            "TW0023", "Feature map too small for the kernel", "{0}: {1} receives a {2}x{3} map (at input {4}), smaller than its {5}x{5} kernel even padded, so it would leave no pixels; use {6}, or a larger input or smaller strides before this stage", Severity.Error);

        public static readonly DiagnosticDescriptor FieldHasNoEffect = new DiagnosticDescriptor(
            "TW0024", "Field has no effect", "{0}: '{1}' has no effect: {2}, and {3}; remove it, or change the block kind, stem or option it belongs to", Severity.Error);

        // --- generated names, attribute use, imports and work caps (TW0030-TW0039) -----------------
        public static readonly DiagnosticDescriptor GeneratedTypeNameTaken = new DiagnosticDescriptor(
            "TW0030", "Two declarations generate the same C# type", "{0} '{1}' generates the C# type '{2}', which {3} (at {4}) already generates; rename one of them", Severity.Error);

        public static readonly DiagnosticDescriptor TypeNameIsMemberName = new DiagnosticDescriptor(
            "TW0031", "Type name equals a generated member", "{0} '{1}' generates the C# type '{2}', but its generated class also has a member '{2}' (C# forbids a member named after its type); rename it, e.g. '{2}Net'", Severity.Error);

        public static readonly DiagnosticDescriptor UnprintableName = new DiagnosticDescriptor(
            "TW0032", "Name with a line break, control or format character", "{0} \"{1}\" {2}; use a name of printable characters on one line", Severity.Error);

        public static readonly DiagnosticDescriptor NonFiniteNumber = new DiagnosticDescriptor(
            "TW0033", "Number is not finite", "Field '{0}' is {1}; give a finite number", Severity.Error);

        public static readonly DiagnosticDescriptor StageWithoutArchitecture = new DiagnosticDescriptor(
            "TW0034", "[Stage] without [Architecture]", "'{0}' carries [Stage] but no [Architecture], so its stage settings would apply to nothing; add [Architecture(Extends = \"ResNet50\")] (or the base you mean) to the class", Severity.Error);

        public static readonly DiagnosticDescriptor EmptyImport = new DiagnosticDescriptor(
            "TW0035", "Empty import path", "Import path is empty; name a .arch file relative to the importing file, e.g. import \"resnet50.arch\"", Severity.Error);

        public static readonly DiagnosticDescriptor ImportNotRegularFile = new DiagnosticDescriptor(
            "TW0036", "Import is not a regular file", "Import '{0}' names {1}, not a regular file; import a .arch file", Severity.Error);

        public static readonly DiagnosticDescriptor ImportTooLarge = new DiagnosticDescriptor(
            "TW0037", "Imported file too large", "Import '{0}' is {1:N0} bytes, over the cap of {2:N0} bytes for a .arch file; split it or check that the path names the file you mean", Severity.Error);

        public static readonly DiagnosticDescriptor ContextualKeywordName = new DiagnosticDescriptor(
            "TW0039", "Name is a C# contextual keyword", "{0} '{1}' would generate the C# type '{2}', a contextual keyword: a type of that name changes what code beside it means (a type 'var' captures every 'var x = ...' in its namespace); rename it, e.g. '{2}Net'", Severity.Error);

        public static readonly DiagnosticDescriptor TooMuchWork = new DiagnosticDescriptor(
            "TW0038", "Declarations ask for too much checking", "{0} '{1}' brings the blocks to check to {2:N0} ({3}), over the cap of {4:N0} blocks per compilation; sweep fewer values or shallower stages, or split the file", Severity.Error);

        public static readonly DiagnosticDescriptor UnknownTrainSetting = new DiagnosticDescriptor(
            "TW0048", "Unknown training setting", "Unknown training setting '{0}' in {1}{2}", Severity.Error);

        public static readonly DiagnosticDescriptor InvalidTrainSetting = new DiagnosticDescriptor(
            "TW0049", "Invalid training setting value", "{0}: {1}", Severity.Error);

        // --- warnings -----------------------------------------------------------------------------
        public static readonly DiagnosticDescriptor LargeAttentionMap = new DiagnosticDescriptor(
            "TW0100", "Self-attention on a large feature map", "{0}: MHSA runs on a {1}x{2} map ({3} tokens); the attention matrix needs about {4} per image in fp32; consider placing MHSA in a later stage or a smaller input", Severity.Warning);

        public static readonly DiagnosticDescriptor UnusedField = new DiagnosticDescriptor(
            "TW0101", "Inherited field has no effect", "{0}: inherited '{1}' has no effect here: {2}; override it or remove it from the base if that is not what you want", Severity.Warning);

        public static readonly DiagnosticDescriptor WidthRounded = new DiagnosticDescriptor(
            "TW0102", "Width multiplier rounded channels", "{0}: width multiplier {1} gives {2} channels, rounded to {3} (a multiple of 8)", Severity.Info);

        public static readonly DiagnosticDescriptor FeatureMapRounded = new DiagnosticDescriptor(
            "TW0103", "Feature map rounds", "{0}: input {1} does not divide evenly: {2}; convolutions round the odd sizes up, which is legal but shifts features; prefer a multiple of {3}", Severity.Warning);

        public static readonly DiagnosticDescriptor[] All =
        {
            SyntaxError, UnknownField, UnknownKind, ChannelMismatch, GroupsDoNotDivide, HeadsDoNotDivide, MaskLength,
            InputSizeRequired, FeatureMapNotDivisible, InvalidLka, SweepUnknownField, InheritanceCycle, DuplicateName,
            UnknownReference, WrongType, OutOfRange, ListLength, MixedFamilies, MissingField, DuplicateAssignment, AttributedClassShape,
            MhsaStride, MapTooSmall, FieldHasNoEffect,
            GeneratedTypeNameTaken, TypeNameIsMemberName, UnprintableName, NonFiniteNumber, StageWithoutArchitecture, EmptyImport,
            ImportNotRegularFile, ImportTooLarge, TooMuchWork, ContextualKeywordName, UnknownTrainSetting, InvalidTrainSetting,
            LargeAttentionMap, UnusedField, WidthRounded, FeatureMapRounded,
        };
    }
}
