using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Emit
{
    /// <summary>Where and how to emit: namespace, accessibility, and the declaration's source for the header.</summary>
    public sealed record EmitOptions(string Namespace, string Accessibility = "public", string Source = "");

    /// <summary>
    /// Emits one TorchSharp module per checked architecture, using only TorchSharp's public API and the Runtime
    /// blocks. Compile-time facts (input shape, per-stage shapes, parameter count, MACs) become constants; the
    /// forward pass checks its input against them.
    /// </summary>
    public static class CSharpEmitter
    {
        private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

        public static string EmitArchitecture(CheckedArchitecture arch, string className, EmitOptions options)
        {
            var w = Header(options);
            OpenNamespace(w, options);
            WriteClass(w, arch, className, options.Accessibility);
            w.Close();
            return w.ToString();
        }

        /// <summary>
        /// A sweep: one class per valid variant, and a static class listing the variants with their costs and
        /// factories, in grid order.
        /// </summary>
        public static string EmitSweep(CheckedSweep sweep, string className, EmitOptions options)
        {
            var w = Header(options);
            OpenNamespace(w, options);
            var classNames = VariantClassNames(sweep, className);
            w.Line($"/// <summary>Sweep <c>{sweep.Info.Name}</c> over <c>{sweep.Info.Base}</c>: {sweep.Variants.Count} variants (axes: {Xml(string.Join(", ", sweep.Info.Axes))}).</summary>");
            w.Open($"{options.Accessibility} static partial class {className}");
            w.Line("/// <summary>One grid point: its stable name, compile-time costs and a factory.</summary>");
            // A feature backbone's variants return Features records of their own class: their common type is nn.Module.
            string module = sweep.Variants.Any(v => v.Ir.IsFeatureBackbone) ? "nn.Module" : "nn.Module<Tensor, Tensor>";
            w.Line($"public sealed record Variant(string Name, long ParameterCount, long Macs, global::System.Func<{module}> Create);");
            w.Line();
            w.Line("/// <summary>The variants in grid order (last axis fastest).</summary>");
            w.Open("public static readonly global::System.Collections.Generic.IReadOnlyList<Variant> Variants = new Variant[]");
            for (int i = 0; i < sweep.Variants.Count; i++)
            {
                var v = sweep.Variants[i];
                w.Line($"new Variant({Str(v.Name)}, {v.Costs.Params.ToString(Inv)}L, {v.Costs.Macs.ToString(Inv)}L, () => new {classNames[i]}()),");
            }
            w.Close(";");
            if (sweep.InvalidVariants.Count > 0)
            {
                w.Line();
                w.Line("/// <summary>Variants that failed their checks (see the build's TW diagnostics); they are not built.</summary>");
                w.Line("public static readonly string[] InvalidVariants = { " + string.Join(", ", sweep.InvalidVariants.Select(Str)) + " };");
            }
            w.Close();
            for (int i = 0; i < sweep.Variants.Count; i++)
            {
                w.Line();
                WriteClass(w, sweep.Variants[i], classNames[i], options.Accessibility);
            }
            w.Close();
            return w.ToString();
        }

        /// <summary>C# identifiers for a sweep's variants: the stable name with every other character as '_'.</summary>
        public static IReadOnlyList<string> VariantClassNames(CheckedSweep sweep, string className)
        {
            var names = new List<string>();
            var taken = new HashSet<string>(StringComparer.Ordinal);
            foreach (var v in sweep.Variants)
            {
                var parts = v.Variant!.Settings.Select(s => Identifier(s.Path + "_" + s.Value.ToText()));
                var name = MetadataName(className) + "_" + string.Join("_", parts.Select(MetadataName));
                var unique = name;
                for (int k = 2; !taken.Add(unique); k++) unique = name + "_" + k.ToString(Inv);
                names.Add(Verbatim(unique));
            }
            return names;
        }

        /// <summary>
        /// The C# identifier a declared name becomes: ASCII letters and digits kept, '-' as 'm', every other run
        /// of characters as one '_', a leading '_' before a digit, and '@' before a reserved C# keyword, so
        /// <c>arch class</c> becomes the type <c>@class</c>. Distinct names can map to one identifier
        /// (A_B, A__B); <see cref="GeneratedNames"/> reports that at the declaration.
        /// </summary>
        public static string Identifier(string text)
        {
            var sb = new StringBuilder();
            foreach (var ch in text)
            {
                char c = char.IsLetterOrDigit(ch) && ch < 128 ? ch : ch == '-' ? 'm' : '_';
                if (c == '_' && sb.Length > 0 && sb[sb.Length - 1] == '_') continue;
                sb.Append(c);
            }
            var s = sb.ToString().Trim('_');
            if (s.Length == 0 || char.IsDigit(s[0])) s = "_" + s;
            return Verbatim(s);
        }

        /// <summary>An identifier as written in C# source: '@' before a reserved keyword.</summary>
        public static string Verbatim(string identifier) => ReservedKeywords.Contains(identifier) ? "@" + identifier : identifier;

        /// <summary>The name the type has in metadata (reflection, hint names): the identifier without its '@'.</summary>
        public static string MetadataName(string identifier) => identifier.StartsWith("@", StringComparison.Ordinal) ? identifier.Substring(1) : identifier;

        /// <summary>C#'s reserved keywords: as type names they are escaped (<c>@class</c>), which C# allows everywhere.</summary>
        public static readonly IReadOnlyCollection<string> ReservedKeywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const",
            "continue", "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern",
            "false", "finally", "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface",
            "internal", "is", "lock", "long", "namespace", "new", "null", "object", "operator", "out", "override",
            "params", "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed", "short",
            "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw", "true", "try", "typeof",
            "uint", "ulong", "unchecked", "unsafe", "ushort", "using", "virtual", "void", "volatile", "while",
        };

        /// <summary>
        /// C#'s contextual keywords. A type with such a name changes what code beside it means (a type named
        /// <c>var</c> captures every <c>var x = ...</c> in its namespace; <c>nameof</c>, <c>dynamic</c>, <c>nint</c>
        /// likewise), so a .arch name that becomes one is refused (TW0039) rather than escaped.
        /// Generator.Tests checks both lists against Roslyn's SyntaxFacts.
        /// </summary>
        public static readonly IReadOnlyCollection<string> ContextualKeywords = new HashSet<string>(StringComparer.Ordinal)
        {
            "add", "alias", "allows", "and", "ascending", "args", "assembly", "async", "await", "by", "descending",
            "dynamic", "equals", "extension", "field", "file", "from", "get", "global", "group", "init", "into", "join",
            "let", "managed", "method", "module", "nameof", "nint", "not", "notnull", "nuint", "on", "or", "orderby",
            "param", "partial", "property", "record", "remove", "required", "scoped", "select", "set", "type",
            "typevar", "unmanaged", "value", "var", "when", "where", "with", "yield",
        };

        /// <summary>
        /// The names of the members an architecture's generated class declares (constants, the Features record,
        /// the registered submodules, forward/forward_features and the private parts). A class may not be named
        /// after one of its members (CS0542); <see cref="GeneratedNames"/> reports that at the declaration.
        /// </summary>
        public static IReadOnlyCollection<string> MemberNames(CheckedArchitecture arch)
        {
            var ir = arch.Ir;
            var names = new HashSet<string>(StringComparer.Ordinal)
            {
                "InputChannels", "InputHeight", "InputWidth", "InputSizeDeclared", "ParameterCount", "Macs",
                "MacsWithoutAttention", "Classes", "Features", "Precision", "forward", "CheckInput",
            };
            // A feature backbone's forward returns the Features record: it has FeatureInfo, and neither forward_features nor Head.
            if (ir.IsFeatureBackbone) names.Add("FeatureInfo");
            else { names.Add("forward_features"); names.Add("Head"); names.Add("ForInference"); }
            if (ir.HasStem) names.Add("Stem");
            if (arch.Training.Count > 0) names.Add("TrainingSettings");
            foreach (var st in ir.Stages)
            {
                var n = Pascal(st.Name);
                names.Add(n + "Channels");
                names.Add(n + "Height");
                names.Add(n + "Width");
                names.Add("Stage" + n);
            }
            foreach (var c in Components(arch, withBlocks: false)) names.Add(MetadataName(c.Field));
            return names;
        }

        /// <summary>The members of a sweep's static class.</summary>
        public static readonly IReadOnlyCollection<string> SweepMemberNames = new[] { "Variant", "Variants", "InvalidVariants" };

        /// <summary>
        /// The using aliases every generated file declares inside its namespace, so each Runtime and TorchSharp type is
        /// spelled once, as a hand-written module would import it. Their names are ones a project is unlikely to use
        /// (TorchSharp's own lower-case torch and nn, prefixed names for the rest): a type or namespace of the same name in
        /// the generated namespace would conflict (CS0576), so a declaration that would generate one is refused
        /// (<see cref="GeneratedNames"/>, TW0030).
        /// </summary>
        public static readonly IReadOnlyList<(string Alias, string Target)> Aliases = new[]
        {
            (BlocksAlias, "global::Torchwright.Runtime.Blocks"),
            ("TorchModules", "global::TorchSharp.Modules"),
            ("TorchwrightRuntime", "global::Torchwright.Runtime.CompilerServices"),
            ("TorchwrightInference", "global::Torchwright.Runtime.Inference"),
            ("TorchwrightMixed", "global::Torchwright.Runtime.MixedPrecision"),
            ("TorchwrightPrecision", "global::Torchwright.Runtime.Precision"),
            ("Tensor", "global::TorchSharp.torch.Tensor"),
            ("nn", "global::TorchSharp.torch.nn"),
            ("torch", "global::TorchSharp.torch"),
        };

        /// <summary>The alias of Torchwright.Runtime.Blocks, which the definitions' construction code uses.</summary>
        public const string BlocksAlias = "TorchwrightBlocks";

        private static void OpenNamespace(CodeWriter w, EmitOptions options)
        {
            w.Open($"namespace {options.Namespace}");
            foreach (var (alias, target) in Aliases)
                w.Line($"using {alias} = {target};");
            w.Line();
        }

        private static CodeWriter Header(EmitOptions options)
        {
            var w = new CodeWriter();
            w.Line("// <auto-generated>");
            w.Line("//   Generated by Torchwright" + (options.Source.Length > 0 ? " from " + DisplayText.Escape(options.Source, int.MaxValue) : "") + ". Do not edit: change the declaration.");
            w.Line("// </auto-generated>");
            w.Line("#nullable enable");
            w.Line("#pragma warning disable CS1591, CS8981   // undocumented members; lower-case type names (arch names are the user's)");
            w.Line("using global::Torchwright.Runtime.CompilerServices;   // Freeing, Through: intermediates are freed once consumed");
            w.Line();
            return w;
        }

        private static void WriteClass(CodeWriter w, CheckedArchitecture arch, string className, string accessibility)
        {
            var ir = arch.Ir;
            var c = arch.Costs;
            WriteDocSummary(w, arch);
            // A feature backbone (out_indices) returns its Features record, as forward_features does for a classifier.
            w.Open($"{accessibility} sealed partial class {className} : " + (ir.IsFeatureBackbone
                ? $"nn.Module<Tensor, {className}.Features>" : $"nn.Module<Tensor, Tensor>, {InferenceNamespace}.IHasInferenceForm"));
            WriteConstants(w, arch);
            WriteFeaturesRecord(w, ir);
            var parts = Components(arch);
            foreach (var p in parts)
                w.Line($"private readonly {p.Type} {p.Field};");
            w.Line();
            w.Line($"/// <summary>Builds {Xml(ir.Name)} with reference-style initialisation.</summary>");
            w.Open($"public {className}() : base({Str(ir.Name)})");
            foreach (var p in parts)
            {
                if (p.Items == null)
                {
                    w.Line($"{p.Field} = {Part(ir.Name, p.Name, p.Create)};");
                    continue;
                }
                w.Line($"{p.Field} = {p.Create}(");
                for (int i = 0; i < p.Items.Count; i++)
                    w.Line("    " + p.Items[i] + (i + 1 < p.Items.Count ? "," : ");"));
            }
            foreach (var p in parts)
                w.Line($"register_module({Str(p.Name)}, {p.Field});");
            w.Line($"TorchwrightRuntime.Init.{ir.Family.InitMethod}(this);");
            var frozen = FrozenParts(ir, parts.Select(p => p.Name).ToList());
            if (frozen.Count > 0)
                w.Line($"TorchwrightRuntime.FrozenStages.Freeze(this, {string.Join(", ", frozen.Select(Str))});");
            w.Close();
            w.Line();
            if (frozen.Count > 0)
            {
                w.Line($"/// <summary>Train mode, except that the BatchNorm of the frozen parts ({Xml(string.Join(", ", frozen))}: frozen_stages = {ir.FrozenStages}) stays in eval mode.</summary>");
                w.Open("public override void train(bool train = true)");
                w.Line("base.train(train);");
                w.Line("TorchwrightRuntime.FrozenStages.KeepNormsInEval(this);");
                w.Close();
                w.Line();
            }
            WriteForward(w, ir, className);
            if (!ir.IsFeatureBackbone) WriteForInference(w, ir);
            WriteGuard(w, arch, className);
            w.Close();
        }

        private const string InferenceNamespace = "TorchwrightInference";

        /// <summary>ForInference: InferenceOptimizer.Optimize with the family's layout and the pairs the module holds itself
        /// (the blocks fold their own). A feature backbone has none: the optimiser's module returns a tensor.</summary>
        private static void WriteForInference(CodeWriter w, ArchitectureIR ir)
        {
            bool channelsLast = ir.Family.InferChannelsLast;
            var pairs = ir.HeldConvNormPairs().Select(p => $", ({Str(p.Conv)}, {Str(p.Norm)})");
            w.Line("/// <summary>");
            w.Line("/// This module optimised for inference, in place: every BatchNorm that follows a convolution folded into it,");
            w.Line($"/// {(channelsLast ? "channels-last" : "contiguous")} activations (the layout measured faster for its family). Call it after loading the weights (folding reads");
            w.Line("/// the loaded statistics); afterwards this module is for evaluation only: eval mode, no gradients, its state dict the");
            w.Line("/// folded one. The returned module runs it under no_grad in that layout; Precision still applies.");
            w.Line("/// </summary>");
            w.Line($"public {InferenceNamespace}.InferenceModule ForInference() =>");
            w.Line($"    {InferenceNamespace}.InferenceOptimizer.Optimize(this, {InferenceNamespace}.InferenceLayout.{(channelsLast ? "ChannelsLast" : "Contiguous")}{string.Concat(pairs)});");
            w.Line();
        }

        /// <summary>The top-level parts frozen_stages freezes: every part before stage k + 1 (the stem's and the first k stages'), as train --freeze does.</summary>
        private static List<string> FrozenParts(ArchitectureIR ir, List<string> parts)
        {
            if (ir.FrozenStages < 0) return new List<string>();
            int boundary = ir.FrozenStages < ir.Stages.Count
                ? parts.IndexOf(ir.Family.StageComponents(ir.FrozenStages).First())
                : parts.IndexOf(ir.Family.StageComponents(ir.FrozenStages - 1).Last()) + 1;
            return parts.Take(boundary).ToList();
        }

        private static void WriteDocSummary(CodeWriter w, CheckedArchitecture arch)
        {
            var ir = arch.Ir;
            var c = arch.Costs;
            w.Line("/// <summary>");
            w.Line($"/// <para>{Xml(ir.Name)}: {c.Params.ToString("N0", Inv)} parameters, {Giga(c.Macs)} GMACs at {ir.Input} ({Giga(c.Macs - c.AttentionMacs)} GMACs without attention matmuls; 1 MAC = 2 FLOPs).</para>");
            w.Line("/// <list type=\"table\">");
            w.Line("/// <listheader><term>stage</term><description>output, parameters, MACs</description></listheader>");
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var stage = ir.Stages[s];
                var shape = c.StageOutputs[s];
                long p = 0, m = 0;
                foreach (var l in c.Layers.Where(l => StageOf(ir, l.Path) == s)) { p += l.Params; m += l.Macs; }
                var kinds = string.Join("+", stage.Blocks.Select(b => b.Kind.KindName).Distinct());
                w.Line($"/// <item><term>{stage.Name} ({ir.Family.Stage(s)})</term><description>{stage.Blocks.Count} x {kinds}, {shape}, {p.ToString("N0", Inv)} params, {Giga(m)} GMACs</description></item>");
            }
            w.Line("/// </list>");
            if (ir.IsFeatureBackbone)
                w.Line($"/// <para>Feature backbone (out_indices = [{string.Join(", ", ir.OutIndices)}]): forward returns {Xml(string.Join(", ", ir.OutIndices.Select(i => ir.Stages[i - 1].Name)))} as a <see cref=\"Features\"/> record; the stages after {ir.Stages[ir.Stages.Count - 1].Name}, the pool and the classifier are not built, and the counts above leave them out.</para>");
            w.Line("/// </summary>");
        }

        /// <summary>Which stage a layer path belongs to (-1 for stem and head).</summary>
        private static int StageOf(ArchitectureIR ir, string path)
        {
            for (int s = 0; s < ir.Stages.Count; s++)
                if (path.StartsWith(ir.Family.Stage(s) + ".", StringComparison.Ordinal) || ir.Family.StageComponents(s).Contains(path)) return s;
            return -1;
        }

        private static void WriteConstants(CodeWriter w, CheckedArchitecture arch)
        {
            var ir = arch.Ir;
            var c = arch.Costs;
            w.Line("/// <summary>Input channels, height and width this architecture was checked for.</summary>");
            w.Line($"public const long InputChannels = {ir.Input.C}, InputHeight = {ir.Input.H}, InputWidth = {ir.Input.W};");
            w.Line($"/// <summary>Whether the declaration fixed the input size (then the forward pass requires it).</summary>");
            w.Line($"public const bool InputSizeDeclared = {(ir.InputDeclared ? "true" : "false")};");
            w.Line($"/// <summary>Trainable parameters (exact).</summary>");
            w.Line($"public const long ParameterCount = {c.Params.ToString(Inv)}L;");
            w.Line($"/// <summary>Multiply-accumulates per image at the input size, attention matmuls included.</summary>");
            w.Line($"public const long Macs = {c.Macs.ToString(Inv)}L;");
            w.Line($"/// <summary>MACs of convolutions and linear layers only (what some papers print).</summary>");
            w.Line($"public const long MacsWithoutAttention = {(c.Macs - c.AttentionMacs).ToString(Inv)}L;");
            w.Line($"/// <summary>Output classes of the head (0: no head; forward returns the last feature map pooled).</summary>");
            w.Line($"public const long Classes = {ir.Classes}L;");
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var st = c.StageOutputs[s];
                var n = Pascal(ir.Stages[s].Name);
                w.Line($"/// <summary>Output of stage {ir.Stages[s].Name} ({ir.Family.Stage(s)}): {st}.</summary>");
                w.Line($"public const long {n}Channels = {st.C}, {n}Height = {st.H}, {n}Width = {st.W};");
            }
            if (ir.IsFeatureBackbone)
            {
                w.Line("/// <summary>The returned feature maps in order (timm's feature_info): the stage module, channels and stride (reduction from the input).</summary>");
                var levels = arch.FeatureLevels.Select(l => $"new({Str(l.Module)}, {l.Channels}L, {l.Stride}L)");
                w.Line($"public static readonly global::System.Collections.Generic.IReadOnlyList<{BlocksAlias}.FeatureLevel> FeatureInfo = new {BlocksAlias}.FeatureLevel[] {{ {string.Join(", ", levels)} }};");
            }
            if (arch.Training.Count > 0)
            {
                // Declared only when the declaration has train.NAME settings, so other classes are unchanged.
                w.Line("/// <summary>The declaration's training settings (train.NAME = value) as name and value text, in declaration order;");
                w.Line("/// <c>TrainSettings.Default.With(TrainingSettings)</c> checks and applies them.</summary>");
                var pairs = arch.Training.Select(f => $"new({Str(TrainingFields.SettingName(f.Path))}, {Str(TrainingFields.ValueText(f.Value)!)})");
                w.Line("public static readonly global::System.Collections.Generic.IReadOnlyList<global::System.Collections.Generic.KeyValuePair<string, string>> TrainingSettings =");
                w.Line("    new global::System.Collections.Generic.KeyValuePair<string, string>[] { " + string.Join(", ", pairs) + " };");
            }
            w.Line();
        }

        private static void WriteFeaturesRecord(CodeWriter w, ArchitectureIR ir)
        {
            var returned = ir.IsFeatureBackbone ? ir.OutIndices.Select(i => ir.Stages[i - 1]).ToList() : ir.Stages.ToList();
            w.Line(ir.IsFeatureBackbone
                ? "/// <summary>The feature maps forward returns (out_indices), in order; FeatureInfo gives their channels and strides.</summary>"
                : "/// <summary>The multi-scale feature maps (one per stage), e.g. for a detection neck.</summary>");
            var args = string.Join(", ", returned.Select(s => "Tensor " + Pascal(s.Name)));
            w.Line($"public sealed record Features({args});");
            w.Line();
        }

        /// <summary>A registered submodule; <see cref="Items"/> lists a container's children, one per line.</summary>
        private sealed record Component(string Name, string Field, string Type, string Create, IReadOnlyList<string>? Items = null);

        private const string NN = "nn";

        /// <summary>The top-level submodules in registration order, named as the reference implementations name them.</summary>
        /// <param name="withBlocks">False when only the components' names are wanted (name checks over thousands of
        /// sweep variants): the stages' block lists, the costly part, are then left empty.</param>
        private static List<Component> Components(CheckedArchitecture arch, bool withBlocks = true)
        {
            var ir = arch.Ir;
            var list = new List<Component>();
            void Add(string name, string type, string create, IReadOnlyList<string>? items = null) => list.Add(new Component(name, Field(name), type, create, items));
            foreach (var p in ir.Stem.Kind.Parts(ir.Stem, ir.Input.C))
                Add(p.Name, p.Type, p.Create, p.Items);
            var family = ir.Family;
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                var st = ir.Stages[s];
                var blocks = (withBlocks ? st.Blocks : EquatableArray<BlockIR>.Empty).Select((b, i) => Part(ir.Name, $"{family.Block(s, i)} (stage {st.Name}, block {i})",
                    b.Kind.Create(b, Str(i.ToString(Inv)), arch.Costs.Layers.First(l => l.Path == family.Block(s, i)).Input))).ToList();
                foreach (var p in family.StageParts(st, blocks))
                    Add(p.Name, p.Type, p.Create, p.Items);
            }
            if (ir.FinalConv is FinalConvIR fc)
            {
                long c = ir.Stages[ir.Stages.Count - 1].OutChannels;
                Add("final_conv", "TorchModules.Sequential", $"{NN}.Sequential", new[]
                {
                    $"(\"0\", {NN}.Conv2d({c}, {fc.Channels}, 1, bias: false))",
                    $"(\"1\", {Torchwright.Dsl.Blocks.StemParts.Norm(fc.Norm, fc.Channels).Create})",
                    $"(\"2\", {Torchwright.Dsl.Blocks.StemParts.Activation(fc.Activation).Create})",
                });
            }
            if (ir.IsFeatureBackbone) return list; // no pool or head: forward ends at the last returned stage
            long last = ir.FeatureChannels;
            foreach (var p in family.PoolParts(last))
                Add(p.Name, p.Type, p.Create, p.Items);
            if (ir.Classes > 0)
                Add(family.Head, "TorchModules.Linear", $"{NN}.Linear({last}, {ir.Classes})");
            return list;
        }

        /// <summary>Wraps a part's construction so a failure names the architecture and the part (ModuleBuildException).</summary>
        private static string Part(string arch, string part, string create) =>
            $"TorchwrightRuntime.ModuleBuild.Part({Str(arch)}, {Str(part)}, () => {create})";

        private static void WriteForward(CodeWriter w, ArchitectureIR ir, string className)
        {
            const string T = "Tensor";
            bool hasStem = ir.HasStem;
            var stages = ir.Stages.Select(s => "Stage" + Pascal(s.Name)).ToList();

            // The precision option (Torchwright.Runtime.MixedPrecision holds the policy): forward and forward_features
            // enter it; unset, they run in the caller's (the trainer's --precision).
            const string EnterPrecision = "using global::System.IDisposable? precision = TorchwrightMixed.Enter(Precision);";
            w.Line("/// <summary>Arithmetic of forward (and forward_features): Bf16Mixed runs convolutions, linears and attention matmuls in");
            w.Line("/// bfloat16, BatchNorm and GroupNorm on their bfloat16 input with float32 statistics, other norms and softmax in float32,");
            w.Line("/// with float32 weights and logits; null (the default) runs in the caller's precision (a MixedPrecision.Enter scope, as");
            w.Line("/// the trainer's; otherwise float32).</summary>");
            w.Line("public TorchwrightPrecision? Precision { get; set; }");
            w.Line();

            if (ir.IsFeatureBackbone)
            {
                // Keeps the returned stage outputs and frees every other intermediate once the next stage has consumed it.
                var keep = new HashSet<int>(ir.OutIndices.Select(i => i - 1));
                w.Line("/// <summary>The feature maps of the stages out_indices names, for a detection neck (N, C, H, W) each; see FeatureInfo.</summary>");
                w.Open($"public override Features forward({T} input)");
                w.Line("using global::TorchSharp.DisposeScope scope = torch.NewDisposeScope();");
                w.Line(EnterPrecision);
                w.Line("CheckInput(input);");
                string prev = hasStem ? "x" : "input";
                if (hasStem) w.Line($"{T} x = Stem(input);");
                for (int s = 0; s < stages.Count; s++)
                {
                    string arg = prev;
                    string call = $"{stages[s]}({arg})" + (arg != "input" && !(s > 0 && keep.Contains(s - 1)) ? $".Freeing({arg})" : "");
                    string name = Pascal(ir.Stages[s].Name).ToLowerInvariant();
                    w.Line($"{T} {name} = {call};");
                    prev = name;
                }
                var outs = string.Join(", ", ir.OutIndices.Select(i => Pascal(ir.Stages[i - 1].Name).ToLowerInvariant() + ".MoveToOuterDisposeScope()"));
                w.Line($"return new Features({outs});");
                w.Close();
                w.Line();
                WriteParts(w, ir, stages);
                return;
            }

            // forward frees every intermediate once the next step has consumed it (Intermediates.Freeing), as PyTorch
            // does; the caller's input is never freed.
            w.Line("/// <summary>Classifies a batch (N, C, H, W): returns logits (N, Classes), or pooled features when Classes is 0.</summary>");
            w.Open($"public override {T} forward({T} input)");
            w.Line("using global::TorchSharp.DisposeScope scope = torch.NewDisposeScope();"); // not var: an attributed class may be named var
            w.Line(EnterPrecision);
            w.Line("CheckInput(input);");
            w.Line(hasStem ? $"{T} x = Stem(input);" : $"{T} x = {stages[0]}(input);");
            for (int s = hasStem ? 0 : 1; s < stages.Count; s++)
                w.Line($"x = {stages[s]}(x).Freeing(x);");
            if (ir.FinalConv != null)
                w.Line($"x = {Field("final_conv")}.call(x).Freeing(x);");
            w.Line("return Head(x).Freeing(x).MoveToOuterDisposeScope();");
            w.Close();
            w.Line();

            // forward_features keeps and returns every stage output; only the stem output is freed.
            w.Line("/// <summary>The output of every stage (c2 ... c5 style), for detection necks and feature extraction.</summary>");
            w.Open($"public Features forward_features({T} input)");
            w.Line("using global::TorchSharp.DisposeScope scope = torch.NewDisposeScope();"); // not var: an attributed class may be named var
            w.Line(EnterPrecision);
            w.Line("CheckInput(input);");
            w.Line($"{T}[] outputs = new {T}[{stages.Count}];");
            if (hasStem)
            {
                w.Line($"{T} x = Stem(input);");
                w.Line($"outputs[0] = {stages[0]}(x).Freeing(x);");
            }
            else
            {
                w.Line($"outputs[0] = {stages[0]}(input);");
            }
            for (int s = 1; s < stages.Count; s++)
                w.Line($"outputs[{s}] = {stages[s]}(outputs[{s - 1}]);");
            var args = string.Join(", ", ir.Stages.Select((s, i) => $"outputs[{i}].MoveToOuterDisposeScope()"));
            w.Line($"return new Features({args});");
            w.Close();
            w.Line();

            WriteParts(w, ir, stages);

            w.Line("/// <summary>Pooling and classifier on the last stage's output.</summary>");
            w.Open($"private {T} Head({T} features)");
            ir.Family.WritePool(w);
            // timm's drop_rate: F.dropout on the pooled features before the classifier, only while training.
            if (ir.Dropout > 0)
                w.Line($"x = nn.functional.dropout(x, {CSharpLiteral.Double(ir.Dropout)}, training).Freeing(x);");
            w.Line(ir.Classes > 0 ? $"return TorchwrightMixed.Logits({Field(ir.Family.Head)}, x).Freeing(x);" : "return x;");
            w.Close();
            w.Line();
        }

        /// <summary>The stem's and the stages' forward methods: each frees what it makes and never its argument.</summary>
        private static void WriteParts(CodeWriter w, ArchitectureIR ir, List<string> stages)
        {
            const string T = "Tensor";
            bool hasStem = ir.HasStem;
            if (hasStem) w.Line("/// <summary>The stem. It, the stages and the head free what they make, never their argument.</summary>");
            if (ir.Stem.Kind.Forward(ir.Stem) is string stemForward)
            {
                w.Line($"private {T} Stem({T} input) => {stemForward};");
                w.Line();
            }
            for (int s = 0; s < ir.Stages.Count; s++)
            {
                w.Line($"/// <summary>Stage {ir.Stages[s].Name} ({ir.Family.Stage(s)}).</summary>");
                ir.Family.WriteStageForward(w, ir.Stages[s], stages[s]);
                w.Line();
            }
        }

        /// <summary>The runtime shape guard: names the module, the expected and actual shape, and the fix.</summary>
        private static void WriteGuard(CodeWriter w, CheckedArchitecture arch, string className)
        {
            var ir = arch.Ir;
            bool fixedSize = ir.InputDeclared && ir.Stages.Any(s => s.Blocks.Any(b => b.Kind.FixesMapSize));
            string why = "";
            if (fixedSize)
            {
                // The first block that fixes its map says how (its tables' size, or the token reshapes').
                var (s, b) = ir.Stages.SelectMany(st => st.Blocks.Select((blk, i) => (st.Index, i))).First(p => ir.Stages[p.Index].Blocks[p.i].Kind.FixesMapSize);
                var path = ir.Family.Block(s, b);
                why = ir.Stages[s].Blocks[b].Kind.FixedInputHint(arch.Costs.Layers.First(l => l.Path == path), ir.Input);
            }
            w.Open("private static void CheckInput(Tensor input)");
            w.Line("long[] shape = input.shape;");
            string cond = $"shape.Length != 4 || shape[1] != {ir.Input.C}" + (fixedSize ? $" || shape[2] != {ir.Input.H} || shape[3] != {ir.Input.W}" : "");
            w.Open($"if ({cond})");
            string expected = fixedSize ? $"(N, {ir.Input.C}, {ir.Input.H}, {ir.Input.W})" : $"(N, {ir.Input.C}, H, W)";
            w.Line($"throw new global::System.ArgumentException(\"{Escape(ir.Name)}: expected input {expected} but got (\" + string.Join(\", \", shape) + \"){Escape(why)}.\", \"input\");");
            w.Close();
            w.Close();
        }

        // ---- helpers -------------------------------------------------------------------------------

        private static string Field(string name) => Identifier(name);

        public static string Pascal(string name) => name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name.Substring(1);

        private static string Str(string s) => StringLiteral(s);

        /// <summary>A C# string literal of <paramref name="s"/>.</summary>
        public static string StringLiteral(string s) => "\"" + Escape(s) + "\"";

        /// <summary>The body of a C# string literal: quotes, backslashes and every line-breaking or invisible character escaped.</summary>
        private static string Escape(string s)
        {
            var sb = new StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                char ch = s[i];
                if (ch == '\\' || ch == '"') sb.Append('\\').Append(ch);
                else if (DisplayText.IsUnsafe(s, i)) sb.Append(DisplayText.CodeOf(ch));
                else sb.Append(ch);
            }
            return sb.ToString();
        }

        /// <summary>Text for an XML doc comment: markup escaped, and nothing that could end the comment's line.</summary>
        private static string Xml(string s) => DisplayText.Escape(s, int.MaxValue).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

        private static string Giga(long macs) => (macs / 1e9).ToString("0.000", Inv);
    }
}
