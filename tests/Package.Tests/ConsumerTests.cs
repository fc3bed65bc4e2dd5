using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Torchwright.Package.Tests
{
    /// <summary>
    /// A new user's project, made by the README's commands in a temp folder: Torchwright restored from artifacts/packages
    /// only (into a private package folder, so an older Torchwright in the machine's NuGet cache can never be the one tested;
    /// TorchSharp-cpu and the rest come from the machine's cache as a fallback folder, else from the registry).
    /// </summary>
    public sealed class ConsumerProject : IDisposable
    {
        public readonly string Temp = Path.Combine(Path.GetTempPath(), "tw-package-test-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        public readonly Dictionary<string, string> Env;
        public string Project => Path.Combine(Temp, "MyNets");

        public ConsumerProject()
        {
            Directory.CreateDirectory(Temp);
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } c
                ? c : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            Env = new Dictionary<string, string>
            {
                ["TORCHWRIGHT_PACKAGES"] = Repo.PackagesFolder,
                ["NUGET_PACKAGES"] = Path.Combine(Temp, "nuget-packages"),
                ["NUGET_FALLBACK_PACKAGES"] = cache,
            };
            Repo.Package("Torchwright");   // fails with "run bash pack.sh" before anything else
            Repo.Package("Torchwright.Sweeps");
            Repo.Package("Torchwright.Tool");
            Create = Shell.Bash(Repo.ReadmeBlock("create"), Temp, Env, TimeSpan.FromMinutes(5));
        }

        public ProcessResult Create { get; }

        public ProcessResult Run(string script) => Shell.Bash(script, Project, Env, TimeSpan.FromMinutes(5));

        /// <summary>Writes the README's Program.cs and BotC45.arch, then applies <paramref name="edit"/> to one of them.</summary>
        public void WriteSources(Func<string, string>? editProgram = null, Func<string, string>? editArch = null)
        {
            var models = Path.Combine(Project, "models");
            if (Directory.Exists(models)) Directory.Delete(models, recursive: true);
            File.WriteAllText(Path.Combine(Project, "Program.cs"), (editProgram ?? (s => s))(Repo.ReadmeBlock("Program.cs")));
            File.WriteAllText(Path.Combine(Project, "BotC45.arch"), (editArch ?? (s => s))(Repo.ReadmeBlock("BotC45.arch")));
        }

        public void Dispose()
        {
            try { Directory.Delete(Temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public sealed partial class ConsumerTests : IClassFixture<ConsumerProject>
    {
        private readonly ConsumerProject project;

        public ConsumerTests(ConsumerProject project) => this.project = project;

        // MSBuild prints each diagnostic inline and again in the summary; these count distinct ones.
        private static List<string> Lines(string output, string kind) =>
            output.Split('\n').Where(l => Regex.IsMatch(l, @": " + kind + @" [A-Z]+[0-9]+:")).Select(l => l.Trim()).Distinct().ToList();

        /// <summary>Warnings the build may print: none.</summary>
        private static List<string> UnexpectedWarnings(string output) => Lines(output, "warning");

        /// <summary>The packages a restored project got (its obj/project.assets.json "libraries": "Id/version").</summary>
        private static List<string> RestoredPackages(string projectDir)
        {
            using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(projectDir, "obj", "project.assets.json")));
            return assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name).ToList();
        }

        private static bool IsDatabaseDriver(string library) =>
            library.StartsWith("Microsoft.Data.Sqlite", StringComparison.OrdinalIgnoreCase) || library.StartsWith("SQLitePCLRaw", StringComparison.OrdinalIgnoreCase)
            || library.StartsWith("Npgsql/", StringComparison.OrdinalIgnoreCase);

        [Fact]
        public void Readme_commands_restore_Torchwright_from_the_local_folder_only()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            var version = Repo.PackageVersion("Torchwright");
            Assert.Contains($"dotnet add package Torchwright --version {version}", Repo.ReadmeBlock("create"));
            // NuGet records where it got each package: the local folder, not a registry.
            var metadata = File.ReadAllText(Path.Combine(project.Env["NUGET_PACKAGES"], "torchwright", version, ".nupkg.metadata"));
            Assert.Contains("\"source\": \"" + Repo.PackagesFolder, metadata);
            var csproj = File.ReadAllText(Path.Combine(project.Project, "MyNets.csproj"));
            Assert.Contains($"<PackageReference Include=\"Torchwright\" Version=\"{version}\" />", csproj);
            Assert.Contains("<PackageReference Include=\"TorchSharp-cpu\" Version=\"0.107.0\" />", csproj);
            Assert.DoesNotContain("AdditionalFiles", csproj);   // .arch files come in without MSBuild edits
        }

        [Fact]
        public void Torchwright_alone_restores_no_database_driver()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            var restored = RestoredPackages(project.Project);
            Assert.Contains("Torchwright/" + Repo.PackageVersion("Torchwright"), restored);
            Assert.Contains("TorchSharp/0.107.0", restored);
            Assert.DoesNotContain(restored, IsDatabaseDriver);
            Assert.DoesNotContain(restored, l => l.StartsWith("Torchwright.Sweeps/", StringComparison.Ordinal));
        }

        [Fact]
        public void Sweeps_package_brings_the_stores_and_opens_a_results_database()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            var dir = Path.Combine(project.Temp, "MySweeps");
            var made = Shell.Bash("dotnet new console -o MySweeps && cp MyNets/nuget.config MySweeps/ && cd MySweeps && dotnet add package TorchSharp-cpu --version 0.107.0",
                project.Temp, project.Env, TimeSpan.FromMinutes(5));
            Assert.True(made.ExitCode == 0, made.ToString());
            var add = Shell.Bash(Repo.ReadmeBlock("sweeps"), dir, project.Env, TimeSpan.FromMinutes(5));
            Assert.True(add.ExitCode == 0, add.ToString());
            Assert.Contains($"dotnet add package Torchwright.Sweeps --version {Repo.PackageVersion("Torchwright.Sweeps")}", Repo.ReadmeBlock("sweeps"));
            var restored = RestoredPackages(dir);
            Assert.Contains("Torchwright/" + Repo.PackageVersion("Torchwright"), restored);   // the library comes with it
            Assert.Contains(restored, l => l.StartsWith("Microsoft.Data.Sqlite/", StringComparison.Ordinal));
            Assert.Contains(restored, l => l.StartsWith("Npgsql/", StringComparison.Ordinal));

            File.WriteAllText(Path.Combine(dir, "Program.cs"),
                "using System;\nusing Torchwright.Sweeps;\n\nusing var db = ResultsDb.Open(\"runs.db\");\nConsole.WriteLine($\"runs recorded: {db.ReadAll().Count}\");\n");
            var run = Shell.Bash("dotnet build --no-restore && dotnet run --no-build", dir, project.Env, TimeSpan.FromMinutes(5));
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Empty(Lines(run.Output, "error"));
            Assert.Empty(UnexpectedWarnings(run.Output));
            Assert.Equal("runs recorded: 0", run.Output.TrimEnd('\n').Split('\n').Last());
            Assert.True(File.Exists(Path.Combine(dir, "runs.db")));
        }

        [Fact]
        public void Readme_project_builds_without_warnings_and_runs_both_architectures()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            project.WriteSources();
            var run = project.Run(Repo.ReadmeBlock("build"));
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Empty(Lines(run.Output, "error"));
            Assert.Empty(UnexpectedWarnings(run.Output));
            // The program's output is the README's, line for line; the counts are the reference values
            // (BotNet50_011 = BoTNet-50 with MHSA in c5 blocks 2 and 3: 22,417,960, the README's zoo table).
            var expected = Repo.ReadmeBlock("output").TrimEnd('\n').Split('\n');
            var actual = run.Output.TrimEnd('\n').Split('\n');
            Assert.Equal(expected, actual.Skip(actual.Length - expected.Length).ToArray());
            Assert.Equal("MyBot:  22,417,960 parameters, 3.941 GMACs", expected[0]);
            Assert.Equal("BotC45: 20,462,248 parameters, 3.970 GMACs", expected[1]);
            Assert.Equal("logits: [2, 1000], parameters at run time: 22,417,960", expected[2]);
        }

        [Fact]
        public void Channel_mismatch_in_an_attribute_is_one_error_at_the_argument()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            const string stage = "    [Stage(\"c5\", Mhsa = new[] { 0, 1, 1 })]\n";
            project.WriteSources(editProgram: p =>
            {
                Assert.Contains(stage, p);
                return p.Replace(stage, stage + "    [Stage(\"c3\", In = 100)]\n");
            });
            var program = File.ReadAllText(Path.Combine(project.Project, "Program.cs")).Split('\n');
            int line = Array.FindIndex(program, l => l.Contains("In = 100")) + 1;
            int column = program[line - 1].IndexOf("100", StringComparison.Ordinal) + 1;

            var build = project.Run("dotnet build --no-restore");
            Assert.NotEqual(0, build.ExitCode);
            var errors = Lines(build.Output, "error");
            // The TW error alone: the placeholder class keeps MyBot.ParameterCount, new MyBot() and forward compiling.
            Assert.True(errors.Count == 1, build.ToString());
            Assert.StartsWith(Path.Combine(project.Project, "Program.cs") + $"({line},{column}): error TW0004: c3: declared 100 input channels but 256 flow in from c2.out; set it to 256 or change c2.out", errors[0]);
            Assert.Empty(UnexpectedWarnings(build.Output));
        }

        [Fact]
        public void Channel_mismatch_in_an_arch_file_is_one_error_at_the_value()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            project.WriteSources(editArch: a =>
            {
                Assert.EndsWith("\n}\n", a);
                return a.Substring(0, a.Length - 2) + "  c3.in = 100\n}\n";
            });
            var arch = File.ReadAllText(Path.Combine(project.Project, "BotC45.arch")).Split('\n');
            int line = Array.FindIndex(arch, l => l.Contains("c3.in = 100")) + 1;

            var build = project.Run("dotnet build --no-restore");
            Assert.NotEqual(0, build.ExitCode);
            var errors = Lines(build.Output, "error");
            Assert.True(errors.Count == 1, build.ToString());
            Assert.StartsWith(Path.Combine(project.Project, "BotC45.arch") + $"({line},11): error TW0004: c3: declared 100 input channels but 256 flow in from c2.out", errors[0]);
            Assert.Empty(UnexpectedWarnings(build.Output));
        }

        [Fact]
        public void Arch_inputs_follow_TorchwrightArchFiles_and_TorchwrightIncludeArchFiles()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            project.WriteSources();
            var off = project.Run("dotnet build --no-restore -p:TorchwrightIncludeArchFiles=false");
            Assert.NotEqual(0, off.ExitCode);
            Assert.Contains("error CS0103: The name 'BotC45' does not exist in the current context", off.Output);

            // Another glob: models/*.arch (a copy of the file there) instead of **/*.arch; the root file is then no input.
            Directory.CreateDirectory(Path.Combine(project.Project, "models"));
            File.WriteAllText(Path.Combine(project.Project, "models", "BotC45.arch"), Repo.ReadmeBlock("BotC45.arch"));
            File.WriteAllText(Path.Combine(project.Project, "BotC45.arch"), "this is not read: not an input under the glob\n");
            var glob = project.Run("dotnet build --no-restore '-p:TorchwrightArchFiles=models/*.arch'");
            Assert.True(glob.ExitCode == 0, glob.ToString());
            Assert.Empty(Lines(glob.Output, "error"));
            project.WriteSources();
        }

        [Fact]
        public void An_app_without_a_native_TorchSharp_package_fails_early_naming_both()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            var dir = Path.Combine(project.Temp, "NoEngine");
            var made = Shell.Bash("dotnet new console -o NoEngine && cp MyNets/nuget.config NoEngine/ && cd NoEngine && dotnet add package Torchwright --version "
                + Repo.PackageVersion("Torchwright"), project.Temp, project.Env, TimeSpan.FromMinutes(5));
            Assert.True(made.ExitCode == 0, made.ToString());
            var build = Shell.Bash("dotnet build --no-restore", dir, project.Env, TimeSpan.FromMinutes(5));
            Assert.NotEqual(0, build.ExitCode);
            var errors = Lines(build.Output, "error");
            Assert.True(errors.Count == 1, build.ToString());
            Assert.Contains("error TWB002: Torchwright needs TorchSharp's native engine, which the app chooses: add TorchSharp-cpu (CPU) or TorchSharp-cuda-linux (CUDA on Linux)", errors[0]);
            Assert.False(File.Exists(Path.Combine(dir, "obj", "Debug", "net10.0", "NoEngine.dll")));   // it stopped before compiling
        }

        [Fact]
        public void Tool_package_installs_into_a_tool_path_and_runs_check_and_summary()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            project.WriteSources();
            var tool = project.Run(Repo.ReadmeBlock("tool"));
            Assert.True(tool.ExitCode == 0, tool.ToString());
            Assert.Contains("check passed: 1 file, 1 architecture; 0 errors, 0 warnings", tool.Output);
            Assert.Contains("Total params: 20,462,248 (20.462 M)", tool.Output);
            Assert.True(File.Exists(Path.Combine(project.Temp, "tw-tool", "torchwright")), tool.ToString());
            // The engine verbs run from the tool too (ToolEngineTests).
        }
    }
}
