using System;
using System.IO;
using System.Text;
using Torchwright.Runtime.Training;
using Xunit;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// docs/training.md's settings table is <see cref="TrainSettings.Catalog"/> rendered: a setting added, dropped, renamed
    /// or redocumented fails here until the doc follows. TORCHWRIGHT_ACCEPT_SNAPSHOTS=1 rewrites the table in place.
    /// </summary>
    public class TrainingDocTests
    {
        private const string Header = "| setting (`--NAME`) | values | default | meaning |";

        internal static string Table()
        {
            var sb = new StringBuilder(Header).Append('\n').Append("|---|---|---|---|\n");
            foreach (var s in TrainSettings.Catalog)
                sb.Append("| `").Append(s.Name).Append("` | ").Append(Cell(s.ValueHelp)).Append(" | `").Append(s.DefaultText).Append("` | ")
                  .Append(Cell(s.Description)).Append(" |\n");
            return sb.ToString();
        }

        private static string Cell(string text) => text.Replace("|", "\\|");

        private static string DocPath()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            {
                var path = Path.Combine(dir.FullName, "docs", "training.md");
                if (File.Exists(path)) return path;
            }
            throw new FileNotFoundException("docs/training.md not found above " + AppContext.BaseDirectory);
        }

        [Fact]
        public void The_table_in_training_md_is_the_catalog()
        {
            var path = DocPath();
            var text = File.ReadAllText(path).Replace("\r\n", "\n");
            int start = text.IndexOf(Header, StringComparison.Ordinal);
            Assert.True(start >= 0, "docs/training.md has no settings table");
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
    }
}
