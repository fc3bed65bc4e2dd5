using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using TorchSharp;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Issue 14: what `check` reads from disk. An import of /dev/zero ended in OutOfMemoryException and one of a
    /// FIFO hung; now only regular files of at most 1 MiB are read, and everything else is a located TW
    /// diagnostic at the import (or a one-line error for a file named on the command line).
    /// </summary>
    public class ArchFileTests
    {
        private static void MakeFifo(string path)
        {
            using var p = Process.Start(new ProcessStartInfo("mkfifo", path) { UseShellExecute = false })!;
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }

        /// <summary>Runs `check` with a deadline, so a regression to blocking reads fails instead of hanging the suite.</summary>
        private static CliRunner.Result Check(params string[] args)
        {
            var run = Task.Run(() => CliRunner.Run(new[] { "check" }.Concat(args).ToArray()));
            Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "check did not finish within 60 s");
            return run.Result;
        }

        [Fact]
        public void TW0036_an_import_of_a_fifo_is_reported_at_the_import_without_blocking()
        {
            if (OperatingSystem.IsWindows()) return; // no mkfifo
            using var dir = new TempDir();
            MakeFifo(Path.Combine(dir.Path, "pipe.arch"));
            const string text = "import \"pipe.arch\"\narch A : ResNet50 {}\n";
            var main = dir.Write("main.arch", text);
            var r = Check(main);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("main.arch(1,8): error TW0036: Import 'pipe.arch' names a FIFO (named pipe), not a regular file; import a .arch file", r.Out);
            Assert.DoesNotContain("TW0014", r.Out); // reported once, by the reason
        }

        [Fact]
        public void TW0036_an_import_of_dev_zero_is_a_character_device()
        {
            if (!File.Exists("/dev/zero")) return;
            using var dir = new TempDir();
            var main = dir.Write("main.arch", "import \"/dev/zero\"\narch A : ResNet50 {}\n");
            var r = Check(main);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("main.arch(1,8): error TW0036: Import '/dev/zero' names a character device, not a regular file", r.Out);
        }

        [Fact]
        public void TW0036_an_import_of_a_directory_is_reported()
        {
            using var dir = new TempDir();
            Directory.CreateDirectory(Path.Combine(dir.Path, "models"));
            var main = dir.Write("main.arch", "import \"models\"\narch A : ResNet50 {}\n");
            var r = Check(main);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("main.arch(1,8): error TW0036: Import 'models' names a directory, not a regular file", r.Out);
        }

        [Fact]
        public void TW0037_an_import_over_the_cap_names_its_size_and_the_cap()
        {
            using var dir = new TempDir();
            dir.Write("big.arch", "# " + new string('x', 2_000_000) + "\n");
            var main = dir.Write("main.arch", "arch A : ResNet50 {}\nimport \"big.arch\"\n");
            var r = Check(main);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("main.arch(2,8): error TW0037: Import 'big.arch' is 2,000,003 bytes, over the cap of 1,048,576 bytes for a .arch file", r.Out);
        }

        [Fact]
        public void A_file_at_the_cap_is_read()
        {
            using var dir = new TempDir();
            var body = "arch A : ResNet50 {}\n";
            dir.Write("cap.arch", body + "#" + new string('x', (int)Dsl.Analysis.WorkLimits.MaxFileBytes - body.Length - 2) + "\n");
            Assert.Equal(Dsl.Analysis.WorkLimits.MaxFileBytes, new FileInfo(Path.Combine(dir.Path, "cap.arch")).Length);
            var main = dir.Write("main.arch", "import \"cap.arch\"\narch B : A {}\n");
            var r = Check(main);
            Assert.True(r.ExitCode == 0, r.Out + r.Error);
        }

        [Fact]
        public void A_fifo_on_the_command_line_is_a_one_line_error()
        {
            if (OperatingSystem.IsWindows()) return;
            using var dir = new TempDir();
            var fifo = Path.Combine(dir.Path, "pipe.arch");
            MakeFifo(fifo);
            var r = Check(fifo);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal($"torchwright check: {fifo} is a FIFO (named pipe), not a regular file; give a .arch file", r.Error.Trim());
        }

        [Fact]
        public void TW0035_an_empty_import_is_its_own_diagnostic()
        {
            using var dir = new TempDir();
            var main = dir.Write("main.arch", "import \"\"\narch A : ResNet50 {}\n");
            var r = Check(main);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("main.arch(1,8): error TW0035: Import path is empty", r.Out);
            Assert.DoesNotContain("looked for", r.Out);
        }

        [Fact]
        public void Missing_paths_on_the_command_line_are_printed_escaped()
        {
            var r = Check("no\u202Esuch\r.arch");
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains(@"no\u202Esuch\u000D.arch", r.Error);
            Assert.Equal(-1, r.Error.IndexOf('\u202E'));
        }

        /// <summary>The CLI's run-time emitter names a keyword architecture @class in source and class in metadata.</summary>
        [Fact]
        public void A_keyword_architecture_builds_at_run_time()
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("k.arch", "arch class : ResNet50 { depths = [1, 1, 1, 1]; classes = 10 }\n") });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            using var module = ModuleCompiler.Build(result.Architectures.Single());
            Assert.Equal("class", module.GetType().Name);
            Assert.Equal(result.Architectures[0].Costs.Params, module.parameters().Sum(p => p.numel()));
        }
    }
}
