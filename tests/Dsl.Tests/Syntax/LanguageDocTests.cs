using System.Collections.Generic;
using System.IO;
using System.Text.RegularExpressions;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Syntax;
using Xunit;

namespace Torchwright.Dsl.Tests.Syntax
{
    /// <summary>Every ```arch block in docs/arch-language.md parses without a diagnostic, so the reference cannot drift.</summary>
    public class LanguageDocTests
    {
        [Fact]
        public void Examples_in_the_language_reference_parse()
        {
            var doc = FindDoc();
            Assert.True(doc != null, "docs/arch-language.md not found above " + System.AppContext.BaseDirectory);
            var blocks = Regex.Matches(File.ReadAllText(doc!), @"```arch\r?\n(.*?)```", RegexOptions.Singleline);
            Assert.True(blocks.Count >= 8, $"only {blocks.Count} arch examples found");
            foreach (Match block in blocks)
            {
                var diagnostics = new List<Diagnostic>();
                var file = ArchParser.Parse("doc.arch", block.Groups[1].Value, diagnostics);
                Assert.True(diagnostics.Count == 0, block.Groups[1].Value + "\n" + string.Join("\n", diagnostics));
                Assert.True(file.Archs.Count + file.Sweeps.Count + file.Imports.Count > 0, block.Groups[1].Value);
            }
        }

        private static string? FindDoc()
        {
            for (var dir = new DirectoryInfo(System.AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "docs", "arch-language.md");
                if (File.Exists(path)) return path;
            }
            return null;
        }
    }
}
