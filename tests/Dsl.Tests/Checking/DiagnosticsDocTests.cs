using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Torchwright.Dsl.Diagnostics;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>
    /// docs/diagnostics.md's ID table and its "## TWnnnn" sections (heading and bold title line) are the catalog
    /// (DiagnosticCatalog.All) rendered in ID order; the explanation under each heading is the doc's own text, kept by ID.
    /// An ID added, retitled or re-graded in src/Dsl fails here until the doc follows; TORCHWRIGHT_ACCEPT_SNAPSHOTS=1
    /// rewrites the table and the sections in place, and an ID without an explanation still fails until one is written.
    /// </summary>
    public class DiagnosticsDocTests
    {
        private const string Header = "| ID | Severity | Title |";

        private static string SeverityWord(Severity s) => s switch
        {
            Severity.Error => "error",
            Severity.Warning => "warning",
            Severity.Info => "info",
            _ => throw new ArgumentOutOfRangeException(nameof(s)),
        };

        private static IEnumerable<DiagnosticDescriptor> InIdOrder => DiagnosticCatalog.All.OrderBy(d => d.Id, StringComparer.Ordinal);

        /// <summary>The generated first words of a section; the explanation follows on the same line.</summary>
        private static string TitleLine(DiagnosticDescriptor d) => $"**{d.Title}** ({SeverityWord(d.Severity)}).";

        // An old title line: "**Title.**" or "**Title** (severity)." (what TitleLine wrote before a retitle).
        private static readonly Regex OldTitleLine = new Regex(@"^\*\*[^\n]*?\*\*(?: \((?:error|warning|info)\))?\.?[ ]?");

        internal static string Render(IReadOnlyDictionary<string, string> explanations)
        {
            var sb = new StringBuilder(Header).Append('\n').Append("|----|----------|-------|\n");
            foreach (var d in InIdOrder)
                sb.Append("| ").Append(d.Id).Append(" | ").Append(SeverityWord(d.Severity)).Append(" | ").Append(d.Title.Replace("|", "\\|")).Append(" |\n");
            foreach (var d in InIdOrder)
            {
                explanations.TryGetValue(d.Id, out var text);
                sb.Append("\n## ").Append(d.Id).Append('\n').Append(TitleLine(d));
                if (!string.IsNullOrEmpty(text)) sb.Append(text!.StartsWith("```", StringComparison.Ordinal) ? "\n" : " ").Append(text);
                sb.Append('\n');
            }
            return sb.Append('\n').ToString();
        }

        /// <summary>The generated region: from the table's header to the first "## " heading that is not a TW id (or the end).</summary>
        private static (int Start, int End) Region(string text)
        {
            int start = text.IndexOf(Header, StringComparison.Ordinal);
            Assert.True(start >= 0, "docs/diagnostics.md has no ID table ('" + Header + "')");
            var next = new Regex(@"^## (?!TW\d{4}[ \t]*$)", RegexOptions.Multiline).Match(text, start);
            return (start, next.Success ? next.Index : text.Length);
        }

        /// <summary>Each section's explanation by ID: the text under "## TWnnnn" without its title line.</summary>
        internal static Dictionary<string, string> Explanations(string region)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            var sections = new Regex(@"^## (TW\d{4})[ \t]*\n(.*?)(?=^## |\z)", RegexOptions.Multiline | RegexOptions.Singleline);
            foreach (Match m in sections.Matches(region))
                result[m.Groups[1].Value] = OldTitleLine.Replace(m.Groups[2].Value, "", 1).Trim();
            return result;
        }

        private static string DocPath() => Path.Combine(DiagnosticTests.RepoRoot(), "docs", "diagnostics.md");

        [Fact]
        public void The_id_list_of_diagnostics_md_is_the_catalog()
        {
            var path = DocPath();
            var text = File.ReadAllText(path).Replace("\r\n", "\n");
            var (start, end) = Region(text);
            var region = text.Substring(start, end - start);
            var expected = Render(Explanations(region));
            if (Environment.GetEnvironmentVariable("TORCHWRIGHT_ACCEPT_SNAPSHOTS") == "1")
            {
                File.WriteAllText(path, text.Substring(0, start) + expected + text.Substring(end));
                return;
            }
            if (expected == region) return;
            var want = expected.Split('\n');
            var have = region.Split('\n');
            int line = 0;
            while (line < want.Length && line < have.Length && want[line] == have[line]) line++;
            Assert.Fail($"docs/diagnostics.md's ID list is not DiagnosticCatalog.All rendered (run DiagnosticsDocTests with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1); "
                + $"line {line + 1} of the list is '{(line < have.Length ? have[line] : "(end)")}', expected '{(line < want.Length ? want[line] : "(end)")}'");
        }

        [Fact]
        public void Every_catalog_id_is_explained_in_diagnostics_md()
        {
            var text = File.ReadAllText(DocPath()).Replace("\r\n", "\n");
            var (start, end) = Region(text);
            var explanations = Explanations(text.Substring(start, end - start));
            foreach (var d in DiagnosticCatalog.All)
                Assert.True(explanations.TryGetValue(d.Id, out var prose) && prose.Length >= 40,
                    $"docs/diagnostics.md: '## {d.Id}' has no explanation after '{TitleLine(d)}'; say when it is reported and how to fix it");
        }

        [Fact]
        public void Help_links_are_absolute_urls_of_the_sections_in_the_declared_repository()
        {
            // The Dsl assembly (the CLI's) carries the RepositoryUrl of Directory.Build.props, as the generator does.
            var props = File.ReadAllText(Path.Combine(DiagnosticTests.RepoRoot(), "Directory.Build.props"));
            var repo = Regex.Match(props, @"<RepositoryUrl[^>]*>(https://[^<]+)</RepositoryUrl>").Groups[1].Value;
            Assert.Equal("https://github.com/torchwright/torchwright", repo);
            Assert.Equal(repo + "/blob/main/docs/diagnostics.md#tw0001", DiagnosticCatalog.SyntaxError.HelpLink);
            var headings = new HashSet<string>(Regex.Matches(File.ReadAllText(DocPath()), @"^## (TW\d{4})[ \t]*$", RegexOptions.Multiline)
                .Cast<Match>().Select(m => m.Groups[1].Value.ToLowerInvariant()));
            foreach (var d in DiagnosticCatalog.All)
                Assert.True(headings.Contains(new Uri(d.HelpLink).Fragment.TrimStart('#')), $"{d.HelpLink} names no '## {d.Id}' of docs/diagnostics.md");
        }

        [Fact]
        public void Rendering_keeps_explanations_and_follows_the_catalog()
        {
            // A stale section (old title, old severity, an ID the catalog no longer has) is rewritten; its prose is kept.
            var stale = "| ID | Severity | Title |\n|--|--|--|\n| TW0001 | warning | Old |\n\n## TW0002\n**Unknown field.** Prose two.\n\n## TW0001\n**Old title** (warning). Prose one\nsecond line.\n```\ncode\n```\n\n## TW9999\n**Gone.** x\n\n";
            var explanations = Explanations(stale);
            Assert.Equal("Prose one\nsecond line.\n```\ncode\n```", explanations["TW0001"]);
            Assert.Equal("Prose two.", explanations["TW0002"]);
            var rendered = Render(explanations);
            Assert.StartsWith("| ID | Severity | Title |\n|----|----------|-------|\n| TW0001 | error | Syntax error |\n| TW0002 | error | Unknown field |\n", rendered);
            Assert.Contains("\n## TW0001\n**Syntax error** (error). Prose one\nsecond line.\n```\ncode\n```\n\n## TW0002\n**Unknown field** (error). Prose two.\n\n## TW0003\n**Unknown kind** (error).\n", rendered);
            Assert.DoesNotContain("TW9999", rendered);
            Assert.Equal(DiagnosticCatalog.All.Length, Regex.Matches(rendered, @"^## TW\d{4}$", RegexOptions.Multiline).Count);
        }
    }
}
