using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using DslDescriptor = Torchwright.Dsl.Diagnostics.DiagnosticDescriptor;
using Torchwright.Dsl.Diagnostics;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// The generator's Roslyn descriptors follow the Dsl's catalog (DiagnosticCatalog.All):
    /// src/Generator/DiagnosticDescriptors.Tracked.cs is the catalog rendered as constant field initializers
    /// (TORCHWRIGHT_ACCEPT_SNAPSHOTS=1 rewrites it), which Microsoft.CodeAnalysis.Analyzers checks against
    /// AnalyzerReleases.Shipped.md/Unshipped.md at build (RS2000-RS2008); the release files list the catalog's IDs with
    /// its category and severity; every help link is an absolute URL to a section of docs/diagnostics.md.
    /// </summary>
    public sealed class DiagnosticReleaseTests
    {
        private static string GeneratorDir => Path.Combine(Harness.RepoRoot, "src", "Generator");
        private static string TrackedPath => Path.Combine(GeneratorDir, "DiagnosticDescriptors.Tracked.cs");

        private static IEnumerable<DslDescriptor> CatalogInIdOrder =>
            DiagnosticCatalog.All.OrderBy(d => d.Id, StringComparer.Ordinal);

        private static string SeverityName(Severity s) => s switch
        {
            Severity.Error => "Error",
            Severity.Warning => "Warning",
            Severity.Info => "Info",
            _ => throw new ArgumentOutOfRangeException(nameof(s)),
        };

        internal static string TrackedSource()
        {
            var sb = new StringBuilder();
            sb.Append("// Rendered from DiagnosticCatalog.All by tests/Generator.Tests/DiagnosticReleaseTests.cs: do not edit; after changing the\n")
              .Append("// catalog, run that test with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1. Constant arguments in field initializers are what\n")
              .Append("// Microsoft.CodeAnalysis.Analyzers' release tracking reads: an ID missing from AnalyzerReleases.Unshipped.md (RS2000)\n")
              .Append("// or with another category or severity there (RS2001) fails the build.\n")
              .Append("using Microsoft.CodeAnalysis;\n")
              .Append("using RoslynDescriptor = Microsoft.CodeAnalysis.DiagnosticDescriptor;\n\n")
              .Append("namespace Torchwright.Generator\n{\n")
              .Append("    internal static partial class DiagnosticDescriptors\n    {\n");
            foreach (var d in CatalogInIdOrder)
                sb.Append("        private static readonly RoslynDescriptor ").Append(d.Id).Append(" = Create(id: \"").Append(d.Id)
                  .Append("\", category: Category, defaultSeverity: DiagnosticSeverity.").Append(SeverityName(d.Severity))
                  .Append(", isEnabledByDefault: true);\n");
            sb.Append("\n        /// <summary>Every TW descriptor, in ID order.</summary>\n")
              .Append("        public static readonly RoslynDescriptor[] All =\n        {\n");
            foreach (var chunk in CatalogInIdOrder.Select((d, i) => (d, i)).GroupBy(x => x.i / 10))
                sb.Append("            ").Append(string.Join(" ", chunk.Select(x => x.d.Id + ","))).Append('\n');
            sb.Append("        };\n    }\n}\n");
            return sb.ToString();
        }

        [Fact]
        public void Tracked_descriptors_are_the_catalog()
        {
            var expected = TrackedSource();
            if (Environment.GetEnvironmentVariable("TORCHWRIGHT_ACCEPT_SNAPSHOTS") == "1")
            {
                File.WriteAllText(TrackedPath, expected);
                return;
            }
            var actual = File.Exists(TrackedPath) ? File.ReadAllText(TrackedPath).Replace("\r\n", "\n") : "";
            Assert.True(expected == actual,
                "src/Generator/DiagnosticDescriptors.Tracked.cs differs from DiagnosticCatalog.All; run this test with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1 to rewrite it");
        }

        [Fact]
        public void The_generator_reports_each_catalog_id_with_its_severity_category_and_title()
        {
            Assert.Equal(CatalogInIdOrder.Select(d => d.Id), DiagnosticDescriptors.All.Select(d => d.Id));
            foreach (var d in DiagnosticCatalog.All)
            {
                var r = DiagnosticDescriptors.ById[d.Id];
                Assert.Equal(DiagnosticDescriptors.ToRoslyn(d.Severity), r.DefaultSeverity);
                Assert.Equal("Torchwright", r.Category);
                Assert.Equal(d.Title, r.Title.ToString());
                Assert.True(r.IsEnabledByDefault);
            }
        }

        /// <summary>One rule's state after applying the release files: Shipped's releases in order, then Unshipped.</summary>
        internal static Dictionary<string, (string Category, string Severity)> ReleasedRules(
            IEnumerable<(string File, string Text)> files, out List<string> problems)
        {
            var rules = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            problems = new List<string>();
            foreach (var (file, text) in files)
            {
                string? section = null;
                int lineNo = 0;
                foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
                {
                    lineNo++;
                    var line = raw.Trim();
                    if (line.Length == 0 || line.StartsWith(";", StringComparison.Ordinal) || line.StartsWith("## Release ", StringComparison.Ordinal)) continue;
                    if (line.StartsWith("### ", StringComparison.Ordinal)) { section = line.Substring(4); continue; }
                    if (line.StartsWith("Rule ID", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal)) continue;
                    var cells = line.Split('|').Select(c => c.Trim()).ToArray();
                    switch (section)
                    {
                        case "New Rules" when cells.Length >= 3:
                            if (rules.ContainsKey(cells[0])) problems.Add($"{file}({lineNo}): {cells[0]} is already a rule");
                            rules[cells[0]] = (cells[1], cells[2]);
                            break;
                        case "Changed Rules" when cells.Length >= 5:
                            if (!rules.ContainsKey(cells[0])) problems.Add($"{file}({lineNo}): {cells[0]} changed before it was added");
                            rules[cells[0]] = (cells[1], cells[2]);
                            break;
                        case "Removed Rules" when cells.Length >= 3:
                            if (!rules.Remove(cells[0])) problems.Add($"{file}({lineNo}): {cells[0]} removed before it was added");
                            break;
                        default:
                            problems.Add($"{file}({lineNo}): not a rule row of a New/Changed/Removed Rules table: {raw}");
                            break;
                    }
                }
            }
            return rules;
        }

        [Fact]
        public void Release_files_list_the_catalog_ids_with_their_category_and_severity()
        {
            var rules = ReleasedRules(new[] { "AnalyzerReleases.Shipped.md", "AnalyzerReleases.Unshipped.md" }
                .Select(f => (f, File.ReadAllText(Path.Combine(GeneratorDir, f)))), out var problems);
            Assert.Empty(problems);
            foreach (var d in DiagnosticCatalog.All)
            {
                Assert.True(rules.TryGetValue(d.Id, out var rule),
                    $"{d.Id} is not in src/Generator/AnalyzerReleases.Unshipped.md (or Shipped): add the row '{d.Id} | Torchwright | {SeverityName(d.Severity)} | {d.Title}' under '### New Rules'");
                Assert.Equal(("Torchwright", SeverityName(d.Severity)), rule);
            }
            var catalog = new HashSet<string>(DiagnosticCatalog.All.Select(d => d.Id));
            var extra = rules.Keys.Where(id => !catalog.Contains(id)).ToList();
            Assert.True(extra.Count == 0, "the release files list IDs the catalog does not have: " + string.Join(", ", extra));
        }

        [Fact]
        public void Release_file_reader_applies_changed_and_removed_rules()
        {
            // A reader that skipped Changed/Removed rows would let a changed severity or a removed ID pass unseen.
            const string shipped = "; Shipped analyzer releases\n\n## Release 1.0\n\n### New Rules\n\nRule ID | Category | Severity | Notes\n--------|----------|----------|-------\nTW9001 | Torchwright | Error | a\nTW9002 | Torchwright | Warning | b\n";
            const string unshipped = "### Changed Rules\n\nRule ID | New Category | New Severity | Old Category | Old Severity | Notes\n--------|--------------|--------------|--------------|--------------|-------\nTW9001 | Torchwright | Warning | Torchwright | Error | a\n\n### Removed Rules\n\nRule ID | Category | Severity | Notes\n--------|----------|----------|-------\nTW9002 | Torchwright | Warning | b\nTW9003 | Torchwright | Warning | c\n";
            var rules = ReleasedRules(new[] { ("S.md", shipped), ("U.md", unshipped) }, out var problems);
            Assert.Equal(new[] { "TW9001" }, rules.Keys.ToArray());
            Assert.Equal(("Torchwright", "Warning"), rules["TW9001"]);
            Assert.Equal(new[] { "U.md(12): TW9003 removed before it was added" }, problems);
        }

        private static string Slug(string heading) =>
            Regex.Replace(heading.Trim().ToLowerInvariant(), @"[^\p{L}\p{Nd}\- _]", "").Replace(' ', '-');

        [Fact]
        public void Help_links_are_absolute_urls_to_sections_of_diagnostics_md()
        {
            var props = File.ReadAllText(Path.Combine(Harness.RepoRoot, "Directory.Build.props"));
            var repo = Regex.Match(props, @"<RepositoryUrl[^>]*>([^<]+)</RepositoryUrl>").Groups[1].Value;
            Assert.StartsWith("https://", repo);
            var docs = File.ReadAllText(Path.Combine(Harness.RepoRoot, "docs", "diagnostics.md"));
            var anchors = new HashSet<string>(Regex.Matches(docs, @"^#{1,6} (.+?)\s*$", RegexOptions.Multiline).Cast<Match>().Select(m => Slug(m.Groups[1].Value)));
            foreach (var d in DiagnosticDescriptors.All)
            {
                Assert.True(Uri.TryCreate(d.HelpLinkUri, UriKind.Absolute, out var uri), d.Id + ": " + d.HelpLinkUri);
                Assert.Equal(repo + "/blob/main/docs/diagnostics.md#" + d.Id.ToLowerInvariant(), d.HelpLinkUri);
                Assert.True(anchors.Contains(uri!.Fragment.TrimStart('#')),
                    $"{d.HelpLinkUri} names no section of docs/diagnostics.md; regenerate it (DiagnosticsDocTests with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1)");
            }
        }
    }
}
