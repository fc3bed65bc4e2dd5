using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Package.Tests
{
    /// <summary>
    /// Torchwright.Tool installed from artifacts/packages (plus the registry for its dependencies) into a temp tool path, with
    /// a private NuGet cache (the machine's as a fallback folder, where CI already has TorchSharp-cpu) and an empty engine
    /// cache (TORCHWRIGHT_ENGINE_CACHE), so the first engine verb restores the engine as on a new user's machine.
    /// </summary>
    public sealed class InstalledTool : IDisposable
    {
        public readonly string Temp = Path.Combine(Path.GetTempPath(), "tw-tool-test-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        public readonly Dictionary<string, string> Env;
        public string Work => Path.Combine(Temp, "work");
        public string Tool => Path.Combine(Temp, "tool", "torchwright");
        public string EngineCache => Path.Combine(Temp, "engine-cache");

        public InstalledTool()
        {
            Directory.CreateDirectory(Work);
            var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } c
                ? c : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            Env = new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = Path.Combine(Temp, "nuget-packages"),
                ["NUGET_FALLBACK_PACKAGES"] = cache,
                ["TORCHWRIGHT_ENGINE_CACHE"] = EngineCache,
            };
            Install = Shell.Bash($"dotnet tool install Torchwright.Tool --version {Repo.PackageVersion("Torchwright.Tool")} --add-source '{Repo.PackagesFolder}' --tool-path '{Path.Combine(Temp, "tool")}'",
                Temp, Env, TimeSpan.FromMinutes(5));
            File.WriteAllText(Path.Combine(Work, "tiny.arch"), ToolEngineTests.TinyArch);
        }

        public ProcessResult Install { get; }

        public void Dispose()
        {
            try { Directory.Delete(Temp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public sealed class ToolEngineTests : IClassFixture<InstalledTool>
    {
        internal const string TinyArch = @"arch Tiny : ResNet50 {
  input   = 3x32x32
  width   = 0.125
  depths  = [1, 1, 1, 1]
  classes = 8
}

sweep TinyGrid : Tiny {
  c5.mhsa = [0], [1]
}
";

        private const string Data = "shapes:32:n=64:test=32";
        private readonly InstalledTool tool;
        private readonly ITestOutputHelper log;

        public ToolEngineTests(InstalledTool tool, ITestOutputHelper log)
        {
            this.tool = tool;
            this.log = log;
        }

        [Fact]
        public void Installed_tool_restores_the_engine_once_and_runs_train_and_sweep_at_the_same_time()
        {
            Assert.True(tool.Install.ExitCode == 0, tool.Install.ToString());
            var work = tool.Work;
            // Both start on an empty engine cache: one restores, the other waits for it (the lock), and both then run.
            var both = Shell.Bash(
                $"('{tool.Tool}' train tiny.arch --name Tiny --dataset {Data} --out run --steps 2 --batch 8 --threads 1 --progress plain > train.out 2> train.err; echo $? > train.rc) & "
                + $"('{tool.Tool}' sweep tiny.arch --name TinyGrid --db runs.db --dataset {Data} --steps 2 --batch 8 --threads 1 --progress plain > sweep.out 2> sweep.err; echo $? > sweep.rc) & wait",
                work, tool.Env, TimeSpan.FromMinutes(10));
            Assert.True(both.ExitCode == 0, both.ToString());
            string Read(string f) => File.ReadAllText(Path.Combine(work, f));
            var all = $"train:\n{Read("train.out")}{Read("train.err")}\nsweep:\n{Read("sweep.out")}{Read("sweep.err")}";
            Assert.True(Read("train.rc").Trim() == "0", all);
            Assert.True(Read("sweep.rc").Trim() == "0", all);
            var errors = Read("train.err") + Read("sweep.err");
            Assert.Single(Regex.Matches(errors, "torchwright: first use of the engine: restoring TorchSharp-cpu 0.107.0 and libtorch"));
            var ready = Regex.Matches(errors, @"torchwright: engine ready \(([0-9.]+) s\)");
            Assert.True(ready.Count == 1, all);
            log.WriteLine($"first-use engine restore: {ready[0].Groups[1].Value} s");
            Assert.DoesNotContain("   at ", errors);

            // One engine folder, finished, with TorchSharp and the natives; the restore left the NuGet cache folder as it was.
            var engine = Assert.Single(Directory.GetDirectories(tool.EngineCache));
            Assert.True(File.Exists(Path.Combine(engine, "ready")));
            Assert.True(File.Exists(Path.Combine(engine, "bin", "TorchSharp.dll")));
            Assert.True(File.Exists(Path.Combine(engine, "bin", "runtimes", "linux-x64", "native", "libLibTorchSharp.so")));
            Assert.False(Directory.Exists(Path.Combine(engine, "bin", "cpu")));   // TorchSharp never needed its fallback copy

            // train: the run folder's files and curves.
            var train = Read("train.out");
            Assert.Contains("train Tiny: 130,448 params, 733.184 kMACs;", train);
            Assert.Contains("2 steps of batch 8, sgd lr 0.1, seed 0, cpu", train);
            Assert.Contains("Tiny: 2 steps done (", train);
            foreach (var f in new[] { "best.safetensors", "last.safetensors", "state.safetensors", "log.json", "log.csv" })
                Assert.True(File.Exists(Path.Combine(work, "run", f)), f + "\n" + all);
            using (var json = JsonDocument.Parse(Read(Path.Combine("run", "log.json"))))
            {
                Assert.Equal(new[] { 1, 2 }, json.RootElement.GetProperty("train").EnumerateArray().Select(t => t.GetProperty("step").GetInt32()));
                Assert.Equal(new[] { 2 }, json.RootElement.GetProperty("eval").EnumerateArray().Select(e => e.GetProperty("step").GetInt32()));
                Assert.Equal("Tiny", json.RootElement.GetProperty("identity").GetProperty("architecture").GetString());
            }

            // sweep: both variants trained into runs.db, which report (no engine) reads back.
            Assert.Contains("sweep: 2 trained, 0 already done, 0 failed; results in runs.db", Read("sweep.out"));
            var report = Shell.Bash($"'{tool.Tool}' report runs.db --format csv", work, tool.Env, TimeSpan.FromMinutes(2));
            Assert.True(report.ExitCode == 0, report.ToString());
            var rows = report.Output.TrimEnd('\n').Split('\n');
            var header = rows[0].Split(',').ToList();
            Assert.Equal(new[] { "variant", "sweep", "index", "status" }, header.Take(4));
            var byName = rows.Skip(1).Select(r => r.Split(',')).ToDictionary(r => r[0]);
            Assert.Equal(new[] { "TinyGrid/c5.mhsa=[0]", "TinyGrid/c5.mhsa=[1]" }, byName.Keys.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var (name, parameters, macs) in new[] { ("TinyGrid/c5.mhsa=[0]", "130448", "733184"), ("TinyGrid/c5.mhsa=[1]", "105968", "749056") })
            {
                Assert.Equal("done", byName[name][header.IndexOf("status")]);
                Assert.Equal(parameters, byName[name][header.IndexOf("params")]);
                Assert.Equal(macs, byName[name][header.IndexOf("macs")]);
            }

            // A later run uses the restored engine directly.
            var again = Shell.Bash($"'{tool.Tool}' train tiny.arch --name Tiny --dataset {Data} --out run2 --steps 1 --batch 8 --threads 1 --progress plain",
                work, tool.Env, TimeSpan.FromMinutes(5));
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.DoesNotContain("engine ready", again.Output);
            Assert.DoesNotContain("first use of the engine", again.Output);
        }

        [Fact]
        public void Without_a_feed_that_serves_the_engine_one_line_says_what_is_missing_and_check_still_runs()
        {
            Assert.True(tool.Install.ExitCode == 0, tool.Install.ToString());
            var dir = Path.Combine(tool.Temp, "offline");
            Directory.CreateDirectory(Path.Combine(dir, "empty-feed"));
            File.WriteAllText(Path.Combine(dir, "tiny.arch"), TinyArch);
            // The only source: an empty local folder; an empty NuGet cache without fallback; an empty engine cache.
            File.WriteAllText(Path.Combine(dir, "nuget.config"),
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n    <clear />\n    <add key=\"empty\" value=\"empty-feed\" />\n  </packageSources>\n</configuration>\n");
            var env = new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = Path.Combine(dir, "nuget-packages"),
                ["TORCHWRIGHT_ENGINE_CACHE"] = Path.Combine(dir, "engine-cache"),
            };

            var check = Shell.Bash($"'{tool.Tool}' check tiny.arch", dir, env, TimeSpan.FromMinutes(2));
            Assert.True(check.ExitCode == 0, check.ToString());
            Assert.False(Directory.Exists(Path.Combine(dir, "engine-cache")));   // check needs no engine

            var train = Shell.Bash($"'{tool.Tool}' train tiny.arch --name Tiny --dataset {Data} --out run --steps 2 || echo \"exit $?\"", dir, env, TimeSpan.FromMinutes(5));
            var lines = train.Output.TrimEnd('\n').Split('\n');
            Assert.True(lines.Length == 3, train.ToString());
            Assert.StartsWith("torchwright: first use of the engine: restoring TorchSharp-cpu 0.107.0 and libtorch (about 600 MB, once) from your NuGet feeds into " + Path.Combine(dir, "engine-cache"), lines[0]);
            Assert.Equal("torchwright train: no NuGet source serves TorchSharp, TorchSharp.PyBridge, SkiaSharp, SkiaSharp.NativeAssets.Linux, SkiaSharp.NativeAssets.Win32, "
                + "SkiaSharp.NativeAssets.macOS, Google.Protobuf, SharpZipLib, Razorvine.Pickle, TqdmSharp, TorchSharp-cpu (NU1101; sources: empty); "
                + $"the tool restores TorchSharp-cpu 0.107.0 and libtorch once from your NuGet feeds (the NuGet configuration that applies in {dir}: its nuget.config files and your user's NuGet.Config): "
                + "add a source that serves them (nuget.org does: dotnet nuget add source https://api.nuget.org/v3/index.json --name nuget.org) or a local folder or mirror holding them, then run the command again",
                lines[1]);
            Assert.Equal("exit 2", lines[2]);
            Assert.False(File.Exists(Path.Combine(Directory.GetDirectories(Path.Combine(dir, "engine-cache")).Single(), "ready")));
        }
    }
}
