using System;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;

namespace Torchwright.Cli.Running
{
    /// <summary>
    /// The engine of an installed torchwright tool: TorchSharp, libtorch and what only they need, restored once per user from
    /// the user's NuGet feeds (docs/cli.md, "The engine"). The tool carries the engine project's package list
    /// (engine/packages.txt, written by Cli.csproj from its Engine="true" references and the native package) and the Runtime's native-library step
    /// (engine/Torchwright.Runtime.targets); on first use this generates a project from them in the cache folder and runs
    /// <c>dotnet build -t:TorchwrightEngine</c> on it with the SDK. The restore fills the NuGet cache as any project's would, with the NuGet
    /// configuration that applies in the current directory (its nuget.config files, the user's, the machine's); its one target
    /// (no compile) copies the assemblies and natives into the project's bin/ (hard links where the file system allows) and marks
    /// libLibTorchSharp.so's GLIBCXX_3.4.32 weak there on older libstdc++ hosts (docs/native-libraries.md).
    /// One folder per engine (a hash of those inputs), finished by a <c>ready</c> file written last; builds hold an exclusive
    /// lock file, so concurrent first uses wait for one restore and then share it.
    /// </summary>
    internal static class EngineCache
    {
        /// <summary>A restored engine: its folder, the managed assemblies' folder and the native libraries' folder.</summary>
        public sealed record Engine(string Folder, string Managed, string Native);

        /// <summary>Environment variable that moves the cache (default: $XDG_CACHE_HOME or ~/.cache, then torchwright/engine).</summary>
        public const string CacheVariable = "TORCHWRIGHT_ENGINE_CACHE";

        private static readonly TimeSpan LockWait = TimeSpan.FromMinutes(30);
        private static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(30);

        public static string CacheRoot()
        {
            if (Environment.GetEnvironmentVariable(CacheVariable) is { Length: > 0 } set) return Path.GetFullPath(set);
            if (OperatingSystem.IsWindows())
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "torchwright", "engine");
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var caches = xdg is { Length: > 0 } && Path.IsPathRooted(xdg)
                ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(caches, "torchwright", "engine");
        }

        /// <summary>The restored engine, restoring it first when needed (progress on <paramref name="log"/>); null with a one-line reason when it cannot.</summary>
        public static Engine? Ensure(TextWriter log, out string problem)
        {
            problem = "";
            var templates = Path.Combine(AppContext.BaseDirectory, "engine");
            var inputs = new[] { "packages.txt", "Torchwright.Runtime.targets", "LibTorchSharpPatch.cs" }.Select(f => Path.Combine(templates, f)).ToArray();
            if (inputs.FirstOrDefault(f => !File.Exists(f)) is { } absent)
            {
                problem = $"this torchwright has neither TorchSharp nor its engine project ({absent} is missing); reinstall the tool (dotnet tool update Torchwright.Tool) or run from a build of the repository's CLI (run.sh)";
                return null;
            }
            var packages = File.ReadAllText(inputs[0]);
            var rid = NativeRid();
            var framework = Framework();
            // One folder per engine: what is built (the project, the native step) and for which platform.
            var key = Hash(Project(packages, framework) + "\n" + File.ReadAllText(inputs[1]) + "\n" + File.ReadAllText(inputs[2]) + "\n" + rid);
            var root = CacheRoot();
            var folder = Path.Combine(root, key);
            var managed = Path.Combine(folder, "bin");
            var engine = new Engine(folder, managed, Path.Combine(managed, "runtimes", rid, "native"));
            var ready = Path.Combine(folder, "ready");
            if (File.Exists(ready)) return engine;

            var native = Regex.Match(packages, "Include=\"(TorchSharp-[^\"]+)\" Version=\"\\[?([^\"\\]]+)");
            var what = native.Success ? $"{native.Groups[1].Value} {native.Groups[2].Value}" : "TorchSharp";
            try
            {
                Directory.CreateDirectory(root);
                using var held = Lock(Path.Combine(root, key + ".lock"), log, folder);
                if (File.Exists(ready)) return engine;   // another torchwright restored it while this one waited
                Directory.CreateDirectory(folder);
                File.Copy(inputs[1], Path.Combine(folder, "Torchwright.Runtime.targets"), overwrite: true);
                File.Copy(inputs[2], Path.Combine(folder, "LibTorchSharpPatch.cs"), overwrite: true);
                var project = Path.Combine(folder, "engine.csproj");
                File.WriteAllText(project, Project(packages, framework));

                log.WriteLine($"torchwright: first use of the engine: restoring {what} and libtorch (about 600 MB, once) from your NuGet feeds into {folder}");
                var watch = Stopwatch.StartNew();
                problem = Build(project, folder, what);
                if (problem.Length > 0) return null;
                var torchSharp = Path.Combine(engine.Managed, "TorchSharp.dll");
                if (!File.Exists(torchSharp) || !Directory.Exists(engine.Native))
                {
                    problem = $"the engine build in {folder} produced no {(File.Exists(torchSharp) ? engine.Native : torchSharp)} (is {rid} a platform {what} serves?); see {Path.Combine(folder, "build.log")}";
                    return null;
                }
                var temp = ready + "." + Environment.ProcessId;
                File.WriteAllText(temp, $"{what}\n{rid}\n{framework}\n");
                File.Move(temp, ready, overwrite: true);
                log.WriteLine($"torchwright: engine ready ({watch.Elapsed.TotalSeconds:0.0} s); later runs use it directly (delete {root} to restore it again)");
                return engine;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                problem = $"cannot write the engine cache {root}: {e.Message}; set {CacheVariable} to a writable folder";
                return null;
            }
        }

        /// <summary>An exclusive lock on <paramref name="path"/> (on Unix .NET takes flock(LOCK_EX) for FileShare.None), waiting while another process holds it.</summary>
        private static FileStream Lock(string path, TextWriter log, string folder)
        {
            var until = DateTime.UtcNow + LockWait;
            var told = false;
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException) when (File.Exists(path))
                {
                    if (DateTime.UtcNow >= until)
                        throw new IOException($"another torchwright has held {path} for {LockWait.TotalMinutes:0} minutes (if none is running, delete that file)");
                    if (!told) log.WriteLine($"torchwright: waiting for another torchwright that is restoring the engine into {folder}");
                    told = true;
                    Thread.Sleep(250);
                }
            }
        }

        private static string Project(string packages, string framework) =>
$@"<Project>
  <!-- Written by torchwright: the engine the tool loads (docs/cli.md, ""The engine""). Deleting this folder makes the next
       train, sweep, infer or bench restore it again. Nothing from the folders above is imported. -->
  <PropertyGroup>
    <ImportDirectoryBuildProps>false</ImportDirectoryBuildProps>
    <ImportDirectoryBuildTargets>false</ImportDirectoryBuildTargets>
    <ImportDirectoryPackagesProps>false</ImportDirectoryPackagesProps>
  </PropertyGroup>
  <Import Project=""Sdk.props"" Sdk=""Microsoft.NET.Sdk"" />
  <PropertyGroup>
    <TargetFramework>{framework}</TargetFramework>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
    <EnableDefaultItems>false</EnableDefaultItems>
    <CopyLocalLockFileAssemblies>true</CopyLocalLockFileAssemblies>
    <CreateHardLinksForCopyLocalIfPossible>true</CreateHardLinksForCopyLocalIfPossible>
    <OutputPath>bin/</OutputPath>
    <AppendTargetFrameworkToOutputPath>false</AppendTargetFrameworkToOutputPath>
    <NuGetAudit>false</NuGetAudit>
  </PropertyGroup>
  <ItemGroup>
{packages.TrimEnd()}
  </ItemGroup>
  <Import Project=""Sdk.targets"" Sdk=""Microsoft.NET.Sdk"" />
  <Import Project=""Torchwright.Runtime.targets"" />
  <!-- Restore, copy the packages' runtime files into bin/ and patch there; nothing to compile. -->
  <Target Name=""TorchwrightEngine"" DependsOnTargets=""ResolveReferences;_CopyFilesMarkedCopyLocal;TorchwrightPatchLibTorchSharp"" />
</Project>
";

        /// <summary>Runs <c>dotnet build -t:TorchwrightEngine</c> (restore, copy, patch) on the engine project; "" on success, else the one-line reason.</summary>
        private static string Build(string project, string folder, string what)
        {
            var feeds = $"the tool restores {what} and libtorch once from your NuGet feeds (the NuGet configuration that applies in {Environment.CurrentDirectory}: its nuget.config files and your user's NuGet.Config)";
            var psi = new ProcessStartInfo(Dotnet())
            {
                WorkingDirectory = folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "build", project, "-t:TorchwrightEngine", "-c", "Release", "--nologo", "-v:q", "-nodeReuse:false", "-p:UseSharedCompilation=false",
                         "-p:RestoreRootConfigDirectory=" + Environment.CurrentDirectory })
                psi.ArgumentList.Add(a);
            // An MSBuild that started this torchwright (dotnet run, a test host) leaves its own paths and SDK behind in the environment.
            foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
                psi.Environment.Remove(key);
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            psi.Environment["DOTNET_NOLOGO"] = "1";
            var output = new StringBuilder();
            Process process;
            try
            {
                process = Process.Start(psi) ?? throw new Win32Exception("no process");
            }
            catch (Win32Exception)
            {
                return $"the engine is restored with the .NET SDK, and no 'dotnet' command was found ({psi.FileName}); install the .NET {Environment.Version.Major} SDK or put its dotnet on PATH, then run the command again";
            }
            using (process)
            {
                process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
                process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                if (!process.WaitForExit(BuildLimit))
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    File.WriteAllText(Path.Combine(folder, "build.log"), output.ToString());
                    return $"restoring the engine took over {BuildLimit.TotalMinutes:0} minutes and was stopped; see {Path.Combine(folder, "build.log")}";
                }
                process.WaitForExit();   // drains the redirected streams
                var log = output.ToString();
                File.WriteAllText(Path.Combine(folder, "build.log"), log);
                if (process.ExitCode == 0) return "";
                return Explain(log, process.ExitCode, psi.FileName, feeds, Path.Combine(folder, "build.log"));
            }
        }

        /// <summary>The one-line reason a failed engine build gives, from its output (NuGet's NU codes, the muxer's SDK messages).</summary>
        internal static string Explain(string log, int exitCode, string dotnet, string feeds, string buildLog)
        {
            if (log.Contains("No .NET SDKs were found", StringComparison.Ordinal) || log.Contains("A compatible .NET SDK was not found", StringComparison.Ordinal))
                return $"the engine is restored with the .NET SDK, and '{dotnet}' has no .NET {Environment.Version.Major} SDK; install it, then run the command again";
            var missing = Regex.Matches(log, @"error (NU110[123]): Unable to find package ([^ .,]+(?:\.[A-Za-z][^ .,]*)*)[^\r\n]*?(?:in source\(s\): ([^\r\n\[]+?))?(?:\s*\[|\r?$)", RegexOptions.Multiline);
            if (missing.Count > 0)
            {
                var ids = missing.Select(m => m.Groups[2].Value).Distinct().ToList();
                var sources = missing.Select(m => m.Groups[3].Value.Trim().TrimEnd('.')).FirstOrDefault(v => v.Length > 0);
                return $"no NuGet source serves {string.Join(", ", ids)} ({missing[0].Groups[1].Value}{(sources != null ? "; sources: " + sources : "")}); {feeds}: add a source that serves them "
                    + "(nuget.org does: dotnet nuget add source https://api.nuget.org/v3/index.json --name nuget.org) or a local folder or mirror holding them, then run the command again";
            }
            var unreachable = Regex.Match(log, @"error (NU1301): ([^\r\n\[]+)");
            if (unreachable.Success)
                return $"a NuGet source could not be read ({unreachable.Groups[1].Value}: {unreachable.Groups[2].Value.Trim()}); {feeds}: fix or remove that source, then run the command again";
            var error = Regex.Match(log, @"error [A-Z]+[0-9]+: ([^\r\n\[]+)");
            return $"restoring the engine failed ({(error.Success ? error.Groups[0].Value.Trim() : "dotnet build exited " + exitCode)}); {feeds}; the full log is {buildLog}";
        }

        /// <summary>The SDK's dotnet: the one on PATH, else the one whose runtime runs this tool.</summary>
        private static string Dotnet()
        {
            var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, exe);
                if (File.Exists(candidate)) return candidate;
            }
            // <root>/shared/Microsoft.NETCore.App/<version>/
            var own = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", exe));
            return File.Exists(own) ? own : exe;
        }

        /// <summary>The tool's own target framework (net10.0), which the engine project targets too.</summary>
        private static string Framework()
        {
            var attribute = typeof(EngineCache).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName ?? "";
            var version = Regex.Match(attribute, @"Version=v(\d+\.\d+)");
            return version.Success ? "net" + version.Groups[1].Value : $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        }

        /// <summary>The runtimes/&lt;rid&gt;/native folder NuGet packages put this machine's natives in.</summary>
        private static string NativeRid()
        {
            var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            var arch = RuntimeInformation.OSArchitecture switch
            {
                Architecture.X64 => "x64",
                Architecture.Arm64 => "arm64",
                Architecture.X86 => "x86",
                var other => other.ToString().ToLowerInvariant(),
            };
            return os + "-" + arch;
        }

        private static string Hash(string text) =>
            Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).Substring(0, 16).ToLowerInvariant();
    }
}
