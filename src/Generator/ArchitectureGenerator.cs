using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using Torchwright.Dsl;
using Torchwright.Dsl.Attributes;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Syntax;
using DslDiagnostic = Torchwright.Dsl.Diagnostics.Diagnostic;
using SourceLocation = Torchwright.Dsl.Diagnostics.SourceLocation;

namespace Torchwright.Generator
{
    /// <summary>
    /// [Architecture]/[Stage] classes and .arch AdditionalFiles -> the Dsl compiler -> one generated file per
    /// architecture or sweep, and TW diagnostics at the attribute argument or the .arch span. Thin: every rule
    /// lives in the Dsl.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class ArchitectureGenerator : IIncrementalGenerator
    {
        /// <summary>Names of the tracked pipeline steps (tests assert their Cached/Unchanged reasons).</summary>
        public static class Steps
        {
            public const string Namespace = "Namespace";
            public const string AttributeClasses = "AttributeClasses";
            public const string ArchFiles = "ArchFiles";
            public const string Compilation = "DslCompilation";
            public const string EmitModels = "EmitModels";
            public const string Diagnostics = "Diagnostics";
            public const string ExternalDiagnostics = "ExternalDiagnostics";
            public const string SourceDiagnostics = "SourceDiagnostics";
            public const string OrphanStages = "OrphanStages";
        }

        public const string DefaultNamespace = "Torchwright.Architectures";

        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            context.RegisterPostInitializationOutput(ctx =>
                ctx.AddSource("Torchwright.Attributes.g.cs", SourceText.From(AttributeModel.AttributeSource, System.Text.Encoding.UTF8)));

            var ns = context.AnalyzerConfigOptionsProvider
                .Select((o, _) => ChooseNamespace(
                    o.GlobalOptions.TryGetValue("build_property.TorchwrightNamespace", out var tw) ? tw : null,
                    o.GlobalOptions.TryGetValue("build_property.RootNamespace", out var root) ? root : null))
                .WithTrackingName(Steps.Namespace);

            var classes = context.SyntaxProvider
                .ForAttributeWithMetadataName(AttributeModel.ArchitectureMetadataName,
                    static (node, _) => node is ClassDeclarationSyntax || node is RecordDeclarationSyntax,
                    static (ctx, ct) => ExtractClass(ctx, ct))
                .Where(static m => m is not null)
                .Select(static (m, _) => m!)
                .WithTrackingName(Steps.AttributeClasses);

            var archFiles = context.AdditionalTextsProvider
                .Where(static t => t.Path.EndsWith(".arch", StringComparison.OrdinalIgnoreCase))
                .Select(static (t, ct) => Parse(t.Path, t.GetText(ct)?.ToString() ?? ""))
                .WithTrackingName(Steps.ArchFiles);

            var result = archFiles.Collect()
                .Combine(classes.Collect())
                .Combine(ns)
                .Select(static (input, ct) => Generate(input.Left.Left, input.Left.Right, input.Right, ct))
                .WithTrackingName(Steps.Compilation);

            var outputs = result
                .SelectMany(static (r, _) => r.Outputs)
                .WithTrackingName(Steps.EmitModels);
            context.RegisterSourceOutput(outputs, static (spc, model) => spc.AddSource(model.HintName, SourceText.From(Emit(model), System.Text.Encoding.UTF8)));

            var diagnostics = result.Select(static (r, _) => r.Diagnostics).WithTrackingName(Steps.Diagnostics);

            // Diagnostics in .arch files (and the zoo) are located by path, span and line span: fully cacheable.
            var external = diagnostics
                .Select(static (d, _) => EquatableArray.From(d.Where(x => !IsCSharp(x.Location))))
                .WithTrackingName(Steps.ExternalDiagnostics);
            context.RegisterSourceOutput(external, static (spc, list) =>
            {
                foreach (var d in list) spc.ReportDiagnostic(DiagnosticDescriptors.ToRoslyn(d, DiagnosticDescriptors.ExternalLocation(d.Location)));
            });

            // [Stage] on a class without [Architecture] would otherwise apply to nothing, silently.
            var orphanStages = context.SyntaxProvider
                .ForAttributeWithMetadataName(AttributeModel.StageMetadataName,
                    static (node, _) => node is ClassDeclarationSyntax || node is RecordDeclarationSyntax,
                    static (ctx, ct) => OrphanStage(ctx, ct))
                .Where(static d => d is not null)
                .Select(static (d, _) => d!)
                .Collect()
                .Select(static (a, _) => EquatableArray.From(a))
                .WithTrackingName(Steps.OrphanStages);

            // Diagnostics at attribute arguments are re-anchored in their syntax tree, so the IDE squiggles the
            // argument and #pragma can suppress them. Only this cheap reporting step sees the Compilation.
            var inSource = diagnostics
                .Combine(orphanStages)
                .Select(static (d, _) => EquatableArray.From(d.Left.Where(x => IsCSharp(x.Location)).Concat(d.Right)))
                .WithTrackingName(Steps.SourceDiagnostics);
            context.RegisterSourceOutput(inSource.Combine(context.CompilationProvider), static (spc, input) =>
            {
                if (input.Left.Count == 0) return;
                var trees = new Dictionary<string, SyntaxTree>(StringComparer.Ordinal);
                foreach (var t in input.Right.SyntaxTrees) trees[t.FilePath] = t;
                foreach (var d in input.Left)
                {
                    var loc = trees.TryGetValue(d.Location.Path, out var tree) && d.Location.End <= tree.Length
                        ? Location.Create(tree, new TextSpan(d.Location.Start, d.Location.Length))
                        : DiagnosticDescriptors.ExternalLocation(d.Location);
                    spc.ReportDiagnostic(DiagnosticDescriptors.ToRoslyn(d, loc));
                }
            });
        }

        internal static string ChooseNamespace(string? torchwrightNamespace, string? rootNamespace)
        {
            if (IsNamespace(torchwrightNamespace)) return Verbatim(torchwrightNamespace!);
            if (IsNamespace(rootNamespace)) return Verbatim(rootNamespace!);
            return DefaultNamespace;
        }

        /// <summary>A namespace as written in source: a part that is a reserved keyword (RootNamespace My.event) gets '@'.</summary>
        private static string Verbatim(string ns) => string.Join(".", ns.Trim().Split('.').Select(CSharpEmitter.Verbatim));

        private static bool IsNamespace(string? s)
        {
            if (string.IsNullOrWhiteSpace(s)) return false;
            foreach (var part in s!.Trim().Split('.'))
                if (!SyntaxFacts.IsValidIdentifier(part)) return false;
            return true;
        }

        internal static bool IsCSharp(SourceLocation loc) => loc.Path.EndsWith(".cs", StringComparison.OrdinalIgnoreCase);

        internal static ParsedArch Parse(string path, string text)
        {
            var diagnostics = new List<DslDiagnostic>();
            var file = ArchParser.Parse(path, text, diagnostics);
            return new ParsedArch(file, EquatableArray.From(diagnostics));
        }

        // ---------------------------------------------------------------------------------------------------
        // Attribute extraction: symbols and syntax in, plain data out.

        internal static ClassModel? ExtractClass(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
        {
            if (ctx.TargetSymbol is not INamedTypeSymbol symbol || ctx.TargetNode is not TypeDeclarationSyntax syntax) return null;
            var path = syntax.SyntaxTree.FilePath;
            var nameLoc = ToSource(syntax.Identifier.GetLocation(), path);
            var ns = symbol.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";

            var problems = new List<string>();
            if (syntax is RecordDeclarationSyntax) problems.Add("a record");
            if (symbol.ContainingType != null) problems.Add("nested in '" + symbol.ContainingType.Name + "'");
            if (symbol.TypeParameters.Length > 0) problems.Add("generic");
            if (!syntax.Modifiers.Any(SyntaxKind.PartialKeyword)) problems.Add("not partial");
            if (symbol.IsStatic || symbol.IsAbstract) problems.Add(symbol.IsStatic ? "static" : "abstract");
            if (ns.Length == 0) problems.Add("in the global namespace");
            var diagnostics = new List<DslDiagnostic>();
            if (problems.Count > 0)
                diagnostics.Add(DiagnosticCatalog.AttributedClassShape.Create(nameLoc, symbol.Name, string.Join(", ", problems)));

            var args = new List<AttributeArgument>();
            foreach (var attr in ctx.Attributes)
                AddArguments(args, attr, AttributeModel.ArchitectureAttribute, null, path, ct);
            foreach (var attr in symbol.GetAttributes())
            {
                if (attr.AttributeClass?.ToDisplayString() != AttributeModel.StageMetadataName) continue;
                if (attr.ConstructorArguments.Length != 1 || attr.ConstructorArguments[0].Kind == TypedConstantKind.Error) continue; // C# reports it
                var stage = attr.ConstructorArguments[0].Value as string; // null for [Stage(null)]: reported as no stage name
                var attrSyntax = attr.ApplicationSyntaxReference?.GetSyntax(ct) as AttributeSyntax;
                var stageArg = attrSyntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals == null && a.NameColon == null)
                               ?? attrSyntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals == null);
                var stageLoc = stageArg != null ? ToSource(stageArg.Expression.GetLocation(), path) : nameLoc;
                args.Add(new AttributeArgument(AttributeModel.StageAttribute, stage, AttributeModel.StageNameProperty, stage, stageLoc));
                if (stage == null) continue;
                AddArguments(args, attr, AttributeModel.StageAttribute, stage, path, ct);
            }

            var accessibility = symbol.DeclaredAccessibility == Accessibility.Public ? "public" : "internal";
            var cls = new AttributedClass(symbol.Name, ns, nameLoc, EquatableArray.From(args));
            return new ClassModel(cls, accessibility, System.IO.Path.GetFileName(path), EquatableArray.From(diagnostics));
        }

        /// <summary>TW0034 for a class that carries [Stage] but not [Architecture]; null otherwise.</summary>
        internal static DslDiagnostic? OrphanStage(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
        {
            if (ctx.TargetSymbol is not INamedTypeSymbol symbol) return null;
            if (symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == AttributeModel.ArchitectureMetadataName)) return null;
            var path = ctx.TargetNode.SyntaxTree.FilePath;
            var at = ctx.Attributes.Select(a => a.ApplicationSyntaxReference?.GetSyntax(ct)).FirstOrDefault(n => n != null);
            var loc = ToSource(at != null ? at.GetLocation() : ((TypeDeclarationSyntax)ctx.TargetNode).Identifier.GetLocation(), path);
            return DiagnosticCatalog.StageWithoutArchitecture.Create(loc, symbol.Name);
        }

        private static void AddArguments(List<AttributeArgument> args, AttributeData attr, string attribute, string? stage, string path, CancellationToken ct)
        {
            var attrSyntax = attr.ApplicationSyntaxReference?.GetSyntax(ct) as AttributeSyntax;
            foreach (var named in attr.NamedArguments)
            {
                var constant = named.Value;
                if (constant.Kind == TypedConstantKind.Error) continue;
                var argSyntax = attrSyntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == named.Key);
                var loc = argSyntax != null
                    ? ToSource(argSyntax.Expression.GetLocation(), path)
                    : attrSyntax != null ? ToSource(attrSyntax.GetLocation(), path) : SourceLocation.None;
                object? value;
                var items = EquatableArray<SourceLocation>.Empty;
                if (constant.Kind == TypedConstantKind.Array)
                {
                    if (constant.IsNull) continue;
                    value = constant.Values.Select(v => v.Value is int i ? i : Convert.ToInt32(v.Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                    if (argSyntax != null) items = EquatableArray.From(ElementExpressions(argSyntax.Expression).Select(e => ToSource(e.GetLocation(), path)));
                }
                else
                {
                    // An enum member in an object-typed property (LambdaR) is not its number: its C# text makes the
                    // resolver's wrong-type error, not a silent integer.
                    value = constant.Kind == TypedConstantKind.Enum ? constant.ToCSharpString() : constant.Value;
                    if (value == null) continue;
                }
                args.Add(new AttributeArgument(attribute, stage, named.Key, value, loc) { ItemLocations = items });
            }
        }

        private static IEnumerable<ExpressionSyntax> ElementExpressions(ExpressionSyntax e) => e switch
        {
            ArrayCreationExpressionSyntax a when a.Initializer != null => a.Initializer.Expressions,
            ImplicitArrayCreationExpressionSyntax i => i.Initializer.Expressions,
            CollectionExpressionSyntax c => c.Elements.OfType<ExpressionElementSyntax>().Select(x => x.Expression),
            _ => Enumerable.Empty<ExpressionSyntax>(),
        };

        internal static SourceLocation ToSource(Location location, string path)
        {
            var span = location.SourceSpan;
            var lines = location.GetLineSpan();
            return new SourceLocation(path, span.Start, span.Length,
                new LinePos(lines.StartLinePosition.Line, lines.StartLinePosition.Character),
                new LinePos(lines.EndLinePosition.Line, lines.EndLinePosition.Character));
        }

        // ---------------------------------------------------------------------------------------------------
        // One compilation of every declaration, split into per-output models.

        internal static GenerationResult Generate(ImmutableArray<ParsedArch> archFiles, ImmutableArray<ClassModel> classes, string ns, CancellationToken ct)
        {
            var diagnostics = new List<DslDiagnostic>();
            var files = new List<ArchFile>();
            foreach (var f in archFiles.OrderBy(f => f.File.Path, StringComparer.Ordinal))
            {
                files.Add(f.File);
                diagnostics.AddRange(f.Diagnostics);
            }
            var byArchName = new Dictionary<string, ClassModel>(StringComparer.Ordinal);
            foreach (var c in classes.OrderBy(c => c.Class.NameLocation.Path, StringComparer.Ordinal).ThenBy(c => c.Class.NameLocation.Start))
            {
                diagnostics.AddRange(c.Diagnostics);
                var file = AttributeModel.ToArchFile(c.Class, diagnostics);
                files.Add(file);
                if (c.CanEmit && file.Archs.Count == 1 && !byArchName.ContainsKey(file.Archs[0].Name))
                    byArchName[file.Archs[0].Name] = c;
            }
            ct.ThrowIfCancellationRequested();

            var result = ArchCompiler.Compile(files, diagnostics);
            int diagnosticsBeforeEmit = diagnostics.Count;
            var outputs = new List<EmitModel>();
            var hints = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var arch in result.Architectures)
            {
                EmitModel model;
                if (IsCSharp(arch.Ir.Location) && byArchName.TryGetValue(arch.Name, out var cls))
                {
                    // The user's class name is the type; a generated member of the same name would not compile.
                    if (CSharpEmitter.MemberNames(arch).Contains(cls.Class.ClassName))
                    {
                        diagnostics.Add(DiagnosticCatalog.TypeNameIsMemberName.Create(cls.Class.NameLocation, "Class", cls.Class.ClassName, cls.Class.ClassName));
                        continue;
                    }
                    if (GeneratedNames.AliasClash(cls.Class.NameLocation, "Class", cls.Class.ClassName, cls.Class.ClassName) is Dsl.Diagnostics.Diagnostic aliasClash)
                    {
                        diagnostics.Add(aliasClash);
                        continue;
                    }
                    model = new EmitModel(Hint(arch.Name, hints), CSharpEmitter.Verbatim(cls.Class.ClassName),
                        new EmitOptions(Verbatim(cls.Class.Namespace), cls.Accessibility, cls.SourceName), arch, null);
                }
                else if (!IsCSharp(arch.Ir.Location))
                {
                    model = new EmitModel(Hint(arch.Name, hints), CSharpEmitter.Identifier(arch.Name),
                        new EmitOptions(ns, "public", FileName(arch.Ir.Location.Path)), arch, null);
                }
                else continue; // an attributed class that cannot be completed (TW0021 reported)
                outputs.Add(model);
            }
            AddPlaceholders(result, byArchName, ns, outputs, hints);
            foreach (var sweep in result.Sweeps)
                outputs.Add(new EmitModel(Hint(sweep.Info.Name, hints), CSharpEmitter.Identifier(sweep.Info.Name),
                    new EmitOptions(ns, "public", FileName(sweep.Info.Location.Path)), null, sweep));
            return new GenerationResult(EquatableArray.From(outputs), EquatableArray.From(result.Diagnostics.Concat(diagnostics.Skip(diagnosticsBeforeEmit))));
        }

        /// <summary>
        /// A declaration with errors still gets its class, as a placeholder (PlaceholderEmitter says why), unless another
        /// output declares that type (a duplicate name) or the class cannot take a generated part (TW0021).
        /// </summary>
        private static void AddPlaceholders(CompilationResult result, Dictionary<string, ClassModel> byArchName, string ns, List<EmitModel> outputs, HashSet<string> hints)
        {
            var declared = new HashSet<string>(outputs.Select(o => o.Options.Namespace + "." + o.ClassName), StringComparer.Ordinal);
            foreach (var sweep in result.Sweeps) declared.Add(ns + "." + CSharpEmitter.Identifier(sweep.Info.Name));
            foreach (var failed in result.Failed)
            {
                EmitOptions options;
                string className;
                if (IsCSharp(failed.Location))
                {
                    if (!byArchName.TryGetValue(failed.Name, out var cls)) continue;
                    className = cls.Class.ClassName;
                    options = new EmitOptions(cls.Class.Namespace, cls.Accessibility, cls.SourceName);
                }
                else
                {
                    className = CSharpEmitter.Identifier(failed.Name);
                    options = new EmitOptions(ns, "public", FileName(failed.Location.Path));
                }
                // A placeholder must compile itself: none under a name C# cannot take as written (a keyword), that is one of
                // its own member names, or that metadata cannot hold (the declaration's TW errors are reported all the same).
                if (!IsPlainIdentifier(className) || !options.Namespace.Split('.').All(IsPlainIdentifier)
                    || PlaceholderEmitter.MemberNames(failed).Contains(className)
                    || (options.Namespace + "." + className).Length > Torchwright.Dsl.Emit.GeneratedNames.MaxTypeNameLength) continue;
                if (declared.Add(options.Namespace + "." + className))
                    outputs.Add(new EmitModel(Hint(failed.Name, hints), className, options, null, null, failed));
            }
        }

        /// <summary>Usable as written as a type or namespace name without a warning: no keyword, contextual ones (record, file) included.</summary>
        private static bool IsPlainIdentifier(string name) =>
            SyntaxFacts.IsValidIdentifier(name) && SyntaxFacts.GetKeywordKind(name) == SyntaxKind.None && SyntaxFacts.GetContextualKeywordKind(name) == SyntaxKind.None;

        private static string FileName(string path)
        {
            var p = path.Replace('\\', '/');
            return p.Substring(p.LastIndexOf('/') + 1);
        }

        private static string Hint(string name, HashSet<string> taken)
        {
            var baseName = CSharpEmitter.MetadataName(CSharpEmitter.Identifier(name)); // hint names take no '@'
            var hint = baseName;
            for (int k = 2; !taken.Add(hint); k++) hint = baseName + "_" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return hint + ".g.cs";
        }

        internal static string Emit(EmitModel model) =>
            model.Failed != null ? PlaceholderEmitter.Emit(model.Failed, model.ClassName, model.Options)
            : model.Sweep != null ? CSharpEmitter.EmitSweep(model.Sweep, model.ClassName, model.Options)
            : CSharpEmitter.EmitArchitecture(model.Architecture!, model.ClassName, model.Options);
    }
}
