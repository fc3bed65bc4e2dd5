using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Xunit;

namespace Torchwright.Dsl.Tests.Syntax
{
    /// <summary>
    /// docs/fields.md's table is the catalog (FieldCatalog.All) rendered: a field added, dropped or redocumented in
    /// src/Dsl fails here until the doc follows. TORCHWRIGHT_ACCEPT_SNAPSHOTS=1 rewrites the table in place.
    /// Every ```arch example of the page checks with no error or warning.
    /// </summary>
    public class FieldsDocTests
    {
        private const string Header = "| field | type | scope | read by | meaning |";

        internal static string Table()
        {
            var sb = new StringBuilder(Header).Append('\n').Append("|---|---|---|---|---|\n");
            foreach (var f in FieldCatalog.All)
                sb.Append("| `").Append(f.Name).Append("` | ").Append(TypeName(f.Type)).Append(" | ").Append(ScopeName(f.Scope)).Append(" | ")
                  .Append(f.ReadBy.Length == 0 ? "every kind" : Cell(f.ReadBy)).Append(" | ").Append(Cell(f.Doc)).Append(" |\n");
            return sb.ToString();
        }

        private static string Cell(string text) => text.Replace("|", "\\|");

        private static string TypeName(FieldType t) => t switch
        {
            FieldType.Int => "integer",
            FieldType.Float => "number",
            FieldType.Bool => "true/false",
            FieldType.Word => "word",
            FieldType.Dims => "shape CxHxW",
            FieldType.IntList => "integer list",
            _ => throw new ArgumentOutOfRangeException(nameof(t)),
        };

        private static string ScopeName(FieldScope s) => s switch
        {
            FieldScope.Arch => "arch",
            FieldScope.Stage => "stage (cN.)",
            _ => "arch or stage",
        };

        private static string DocPath()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "docs", "fields.md");
                if (File.Exists(path)) return path;
            }
            throw new FileNotFoundException("docs/fields.md not found above " + AppContext.BaseDirectory);
        }

        [Fact]
        public void The_table_in_fields_md_is_the_catalog()
        {
            var path = DocPath();
            var text = File.ReadAllText(path).Replace("\r\n", "\n");
            int start = text.IndexOf("| field | type |", StringComparison.Ordinal);
            Assert.True(start >= 0, "docs/fields.md has no field table");
            int end = text.IndexOf("\n\n", start, StringComparison.Ordinal);
            end = end < 0 ? text.Length : end + 1;
            var expected = Table();
            if (Environment.GetEnvironmentVariable("TORCHWRIGHT_ACCEPT_SNAPSHOTS") == "1")
            {
                File.WriteAllText(path, text.Substring(0, start) + expected + text.Substring(end));
                return;
            }
            Assert.Equal(expected, text.Substring(start, end - start));
        }

        [Fact]
        public void Every_catalog_field_has_an_example_in_fields_md()
        {
            var text = File.ReadAllText(DocPath());
            var examples = string.Join("\n", Regex.Matches(text, @"```arch\r?\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value));
            // The options the block restructure added: each needs an example a reader can copy.
            foreach (var name in new[] { "act", "attention", "se_ratio", "eca_kernel", "attention_at", "mhsa_attention", "qk_head_dim", "dilation", "avd_first", "cardinality", "stem_widths", "drop_path", "dropout", "norm", "norm_groups", "frozen_stages", "out_indices", "stem_pool", "num_features" })
                Assert.Matches(@"(^|\s|\.)" + name + @"\s*=", examples);
        }

        [Fact]
        public void Examples_in_fields_md_check_without_errors_or_warnings()
        {
            var blocks = Regex.Matches(File.ReadAllText(DocPath()), @"```arch\r?\n(.*?)```", RegexOptions.Singleline);
            Assert.True(blocks.Count >= 7, $"only {blocks.Count} arch examples found");
            foreach (Match block in blocks)
            {
                var result = ArchCompiler.Compile(new[] { new SourceFile("fields.arch", block.Groups[1].Value) });
                var problems = result.Diagnostics.Where(d => d.Severity != Severity.Info).ToList();
                Assert.True(problems.Count == 0, block.Groups[1].Value + "\n" + string.Join("\n", problems));
                Assert.NotEmpty(result.Architectures);
            }
        }
    }
}
