// Rendered from DiagnosticCatalog.All by tests/Generator.Tests/DiagnosticReleaseTests.cs: do not edit; after changing the
// catalog, run that test with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1. Constant arguments in field initializers are what
// Microsoft.CodeAnalysis.Analyzers' release tracking reads: an ID missing from AnalyzerReleases.Unshipped.md (RS2000)
// or with another category or severity there (RS2001) fails the build.
using Microsoft.CodeAnalysis;
using RoslynDescriptor = Microsoft.CodeAnalysis.DiagnosticDescriptor;

namespace Torchwright.Generator
{
    internal static partial class DiagnosticDescriptors
    {
        private static readonly RoslynDescriptor TW0001 = Create(id: "TW0001", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0002 = Create(id: "TW0002", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0003 = Create(id: "TW0003", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0004 = Create(id: "TW0004", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0005 = Create(id: "TW0005", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0006 = Create(id: "TW0006", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0007 = Create(id: "TW0007", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0008 = Create(id: "TW0008", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0009 = Create(id: "TW0009", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0010 = Create(id: "TW0010", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0011 = Create(id: "TW0011", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0012 = Create(id: "TW0012", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0013 = Create(id: "TW0013", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0014 = Create(id: "TW0014", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0015 = Create(id: "TW0015", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0016 = Create(id: "TW0016", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0017 = Create(id: "TW0017", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0018 = Create(id: "TW0018", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0019 = Create(id: "TW0019", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0020 = Create(id: "TW0020", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0021 = Create(id: "TW0021", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0022 = Create(id: "TW0022", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0023 = Create(id: "TW0023", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0024 = Create(id: "TW0024", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0030 = Create(id: "TW0030", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0031 = Create(id: "TW0031", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0032 = Create(id: "TW0032", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0033 = Create(id: "TW0033", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0034 = Create(id: "TW0034", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0035 = Create(id: "TW0035", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0036 = Create(id: "TW0036", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0037 = Create(id: "TW0037", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0038 = Create(id: "TW0038", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0039 = Create(id: "TW0039", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0048 = Create(id: "TW0048", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0049 = Create(id: "TW0049", category: Category, defaultSeverity: DiagnosticSeverity.Error, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0100 = Create(id: "TW0100", category: Category, defaultSeverity: DiagnosticSeverity.Warning, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0101 = Create(id: "TW0101", category: Category, defaultSeverity: DiagnosticSeverity.Warning, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0102 = Create(id: "TW0102", category: Category, defaultSeverity: DiagnosticSeverity.Info, isEnabledByDefault: true);
        private static readonly RoslynDescriptor TW0103 = Create(id: "TW0103", category: Category, defaultSeverity: DiagnosticSeverity.Warning, isEnabledByDefault: true);

        /// <summary>Every TW descriptor, in ID order.</summary>
        public static readonly RoslynDescriptor[] All =
        {
            TW0001, TW0002, TW0003, TW0004, TW0005, TW0006, TW0007, TW0008, TW0009, TW0010,
            TW0011, TW0012, TW0013, TW0014, TW0015, TW0016, TW0017, TW0018, TW0019, TW0020,
            TW0021, TW0022, TW0023, TW0024, TW0030, TW0031, TW0032, TW0033, TW0034, TW0035,
            TW0036, TW0037, TW0038, TW0039, TW0048, TW0049, TW0100, TW0101, TW0102, TW0103,
        };
    }
}
