using System.IO;
using System.Text.RegularExpressions;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>`torchwright check`: MSBuild-form diagnostics, a tally, and the exit codes.</summary>
    public class CheckTests
    {
        [Fact]
        public void The_zoo_checks_clean()
        {
            var r = CliRunner.Run("check", CliRunner.Architectures);
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            Assert.Contains("0 errors, 0 warnings", r.Out);
            Assert.Contains("sweep", r.Out);
            Assert.DoesNotContain(": error ", r.Out);
        }

        [Fact]
        public void Channel_mismatch_is_reported_at_the_value_in_msbuild_form()
        {
            using var dir = new TempDir();
            const string text = "arch X : ResNet50 { c3.in = 100 }\n";
            var file = dir.Write("mismatch.arch", text);
            int column = text.IndexOf("100") + 1;

            var r = CliRunner.Run("check", file);

            Assert.Equal(1, r.ExitCode);
            var line = Assert.Single(r.Out.Split('\n'), l => l.Contains("TW0004"));
            Assert.Matches(new Regex(@"^.*mismatch\.arch\(1," + column + @"\): error TW0004: .*100.*256"), line);
            Assert.Contains("1 error, 0 warnings", r.Out);
        }

        [Fact]
        public void Training_settings_are_checked_against_the_catalog_at_their_location()
        {
            using var dir = new TempDir();
            const string text = "arch T : ResNet50 {\n  train.lr = 0.05\n  train.lrr = 1\n  train.momentum = 1.5\n  train.opt = adam\n}\n"
                + "sweep S : T {\n  train.weight_decay = 0.01, -1\n}\n";
            var file = dir.Write("train.arch", text);

            var r = CliRunner.Run("check", file);

            Assert.Equal(1, r.ExitCode);
            Assert.Matches(new Regex(@"train\.arch\(3,3\): error TW0048: Unknown training setting 'train\.lrr' in T; did you mean 'train\.lr'\?"), r.Out);
            Assert.Matches(new Regex(@"train\.arch\(4,20\): error TW0049: train\.momentum: momentum must be in \[0, 1\), not 1\.5"), r.Out);
            Assert.Matches(new Regex(@"train\.arch\(5,15\): error TW0049: train\.opt: opt takes sgd or adamw, not 'adam'"), r.Out);
            Assert.Matches(new Regex(@"train\.arch\(8,30\): error TW0049: train\.weight_decay: weight_decay must be in \[0, 10\], not -1"), r.Out);
            // T's three problems are reported once, not again for each of the sweep's two variants.
            Assert.Single(Regex.Matches(r.Out, "TW0048"));
            Assert.Contains("4 errors, 0 warnings", r.Out);
        }

        [Fact]
        public void Warnings_are_printed_and_do_not_fail()
        {
            using var dir = new TempDir();
            var file = dir.Write("w.arch", "arch W : ResNet50 {\n  input = 3x225x225\n}\n");
            var r = CliRunner.Run("check", file);
            Assert.Equal(0, r.ExitCode);
            Assert.Matches(new Regex(@"w\.arch\(2,\d+\): warning TW0103: "), r.Out);
            Assert.Contains("0 errors, 1 warning", r.Out);
        }

        [Fact]
        public void Directories_are_searched_recursively()
        {
            using var dir = new TempDir();
            dir.Write("ok.arch", "arch Fine : ResNet50 { classes = 10 }\n");
            dir.Write(Path.Combine("deep", "er", "bad.arch"), "arch Bad : ResNet50 {\n  c4.in = 7\n}\n");
            var r = CliRunner.Run("check", dir.Path);
            Assert.Equal(1, r.ExitCode);
            Assert.Matches(new Regex(@"bad\.arch\(2,\d+\): error TW0004: "), r.Out);
            Assert.Contains("2 files", r.Out);
        }

        [Fact]
        public void Imports_are_loaded_from_disk_relative_to_the_importing_file()
        {
            using var dir = new TempDir();
            dir.Write(Path.Combine("lib", "base.arch"), "arch Small : ResNet50 { depths = [1, 1, 1, 1] }\n");
            var file = dir.Write(Path.Combine("exp", "child.arch"), "import \"../lib/base.arch\"\narch Child : Small { classes = 10 }\n");
            var r = CliRunner.Run("check", file);
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
            Assert.Contains("1 file (+1 imported), 1 architecture", r.Out);

            var json = CliRunner.Run("summary", file, "--format", "json");
            Assert.Equal(0, json.ExitCode);
            Assert.Contains("\"Child\"", json.Out);
            Assert.DoesNotContain("\"Small\"", json.Out);
        }

        [Fact]
        public void A_missing_import_is_a_located_error()
        {
            using var dir = new TempDir();
            var file = dir.Write("a.arch", "import \"nowhere/base.arch\"\narch A : ResNet50 { classes = 10 }\n");
            var r = CliRunner.Run("check", file);
            Assert.Equal(1, r.ExitCode);
            Assert.Matches(new Regex(@"a\.arch\(1,\d+\): error TW0014: "), r.Out);
        }

        [Fact]
        public void Syntax_errors_fail_the_check()
        {
            using var dir = new TempDir();
            var file = dir.Write("s.arch", "arch S : ResNet50 { depths = [1, 2 }\n");
            var r = CliRunner.Run("check", file);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("error TW0001", r.Out);
        }

        [Fact]
        public void A_missing_file_exits_2_with_a_message()
        {
            var missing = Path.Combine(Path.GetTempPath(), "no-such-dir-torchwright", "missing.arch");
            var r = CliRunner.Run("check", missing);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("not found", r.Error);
            Assert.Contains("missing.arch", r.Error);
        }

        [Fact]
        public void Usage_errors_exit_2()
        {
            Assert.Equal(2, CliRunner.Run("check").ExitCode);
            Assert.Equal(2, CliRunner.Run().ExitCode);
            Assert.Equal(2, CliRunner.Run("frobnicate").ExitCode);
            var r = CliRunner.Run("summary", CliRunner.Arch("resnet50.arch"), "--format", "xml");
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("xml", r.Error);
        }

        [Fact]
        public void Help_lists_the_verbs()
        {
            var r = CliRunner.Run("--help");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("check", r.Out);
            Assert.Contains("summary", r.Out);
        }
    }
}
