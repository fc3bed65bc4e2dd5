using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>The repository stands alone, and the product does not depend on its tests.</summary>
    public sealed class RepositoryTests
    {
        // Documents that are not in the repository; spelled in pieces so this file does not match itself.
        private static readonly string[] Outside = { "design" + ".md", "reference" + ".md", "../" + "shared" };

        private static readonly HashSet<string> Skipped = new(StringComparer.Ordinal) { ".git", "bin", "obj", "artifacts", "BenchmarkDotNet.Artifacts", "native-build" };

        private static IEnumerable<string> SourceFiles(string dir)
        {
            foreach (var file in Directory.EnumerateFiles(dir))
                if (Path.GetExtension(file) is ".cs" or ".md" or ".py" or ".arch" or ".csproj" or ".props" or ".targets" or ".sh" or ".sln" or ".json" or ".txt" or ".yml" or ".yaml")
                    yield return file;
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (!Skipped.Contains(Path.GetFileName(sub)))
                    foreach (var file in SourceFiles(sub))
                        yield return file;
        }

        [Fact]
        public void No_file_refers_to_a_document_outside_the_repository()
        {
            var offenders = SourceFiles(CliRunner.RepoRoot)
                .SelectMany(f => Outside.Where(o => File.ReadAllText(f).Contains(o, StringComparison.Ordinal))
                    .Select(o => Path.GetRelativePath(CliRunner.RepoRoot, f) + ": " + o))
                .ToList();
            Assert.True(offenders.Count == 0, string.Join("\n", offenders));
        }

        [Fact]
        public void Cli_project_takes_no_file_from_the_tests()
        {
            var cliDir = Path.Combine(CliRunner.RepoRoot, "src", "Cli");
            var items = XDocument.Load(Path.Combine(cliDir, "Cli.csproj")).Descendants()
                .SelectMany(e => new[] { e.Attribute("Include")?.Value, e.Attribute("Update")?.Value, e.Attribute("Link")?.Value })
                .Where(v => v != null).SelectMany(v => v!.Split(';')).ToList();
            Assert.NotEmpty(items);
            var tests = Path.GetFullPath(Path.Combine(CliRunner.RepoRoot, "tests")) + Path.DirectorySeparatorChar;
            Assert.All(items, path => Assert.False(Path.GetFullPath(Path.Combine(cliDir, path.Replace('\\', '/'))).StartsWith(tests, StringComparison.Ordinal),
                $"src/Cli/Cli.csproj takes {path} from tests/"));
            // bench's PyTorch side is all in src/Cli/python: its imports resolve there.
            var python = Path.Combine(cliDir, "python");
            foreach (var script in Directory.GetFiles(python, "*.py"))
                foreach (var line in File.ReadLines(script).Where(l => l.StartsWith("import ", StringComparison.Ordinal) || l.StartsWith("from ", StringComparison.Ordinal)))
                {
                    var module = line.Split(' ')[1].Split('.')[0];
                    if (module.StartsWith("reference_", StringComparison.Ordinal) || module.StartsWith("st_", StringComparison.Ordinal) || module.StartsWith("bench_", StringComparison.Ordinal))
                        Assert.True(File.Exists(Path.Combine(python, module + ".py")), $"{Path.GetFileName(script)} imports {module}, which is not in src/Cli/python");
                }
        }
    }
}
