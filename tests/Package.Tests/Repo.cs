using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Torchwright.Package.Tests
{
    /// <summary>The repository this test runs from, the packages `bash pack.sh` put into artifacts/packages, and the README.</summary>
    internal static class Repo
    {
        public static readonly string Root = FindRoot();

        public static string PackagesFolder => Path.Combine(Root, "artifacts", "packages");

        private static string FindRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Generator.sln")) && File.Exists(Path.Combine(dir.FullName, "pack.sh")))
                    return dir.FullName;
            throw new InvalidOperationException("Package.Tests must run inside the Torchwright repository (no Generator.sln above " + AppContext.BaseDirectory + ")");
        }

        /// <summary>The one packed .nupkg of <paramref name="id"/> (e.g. Torchwright.0.1.0.nupkg); fails with the fix when pack.sh has not run.</summary>
        public static string Package(string id)
        {
            var pattern = new Regex("^" + Regex.Escape(id) + @"\.(\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)\.nupkg$");
            var found = Directory.Exists(PackagesFolder)
                ? Directory.GetFiles(PackagesFolder, "*.nupkg").Where(f => pattern.IsMatch(Path.GetFileName(f))).ToList()
                : new List<string>();
            if (found.Count != 1)
                throw new InvalidOperationException($"expected exactly one {id}.<version>.nupkg in {PackagesFolder}, found {found.Count}: run 'bash pack.sh' first");
            return found[0];
        }

        public static string PackageVersion(string id) =>
            Regex.Match(Path.GetFileName(Package(id)), "^" + Regex.Escape(id) + @"\.(.+)\.nupkg$").Groups[1].Value;

        /// <summary>
        /// The fenced block after the README's <c>&lt;!-- package-test: tag --&gt;</c> marker, exactly as written (the "Use it
        /// in your project" section); a missing marker fails the test, so the README and this test cannot drift apart.
        /// </summary>
        public static string ReadmeBlock(string tag)
        {
            var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
            var m = Regex.Match(readme, "<!-- package-test: " + Regex.Escape(tag) + @" -->\n```[^\n]*\n(.*?)```", RegexOptions.Singleline);
            if (!m.Success) throw new InvalidOperationException($"README.md has no fenced block after '<!-- package-test: {tag} -->'");
            return m.Groups[1].Value;
        }
    }

    /// <summary>A finished process: exit code and the interleaved stdout and stderr.</summary>
    public sealed record ProcessResult(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}\n{Output}";
    }

    /// <summary>Runs bash scripts the way a user's shell would, with the given environment on top of a clean one.</summary>
    internal static class Shell
    {
        public static ProcessResult Bash(string script, string workingDirectory, IReadOnlyDictionary<string, string> env, TimeSpan timeout)
        {
            var psi = new ProcessStartInfo("bash", new[] { "-euo", "pipefail", "-c", script })
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // The test host runs inside `dotnet test`, whose MSBuild variables would leak into the user's builds.
            foreach (var key in psi.Environment.Keys.ToList())
                if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                    || key.StartsWith("DOTNET_HOST_PATH", StringComparison.OrdinalIgnoreCase) || key.StartsWith("NUGET_", StringComparison.OrdinalIgnoreCase))
                    psi.Environment.Remove(key);
            psi.Environment["DOTNET_NOLOGO"] = "1";
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
            psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";   // no build servers left behind
            psi.Environment["TERM"] = "dumb";
            foreach (var kv in env) psi.Environment[kv.Key] = kv.Value;

            var output = new StringBuilder();
            using var p = new Process { StartInfo = psi };
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.Append(e.Data).Append('\n'); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.Append(e.Data).Append('\n'); };
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit((int)timeout.TotalMilliseconds))
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0} s: {script}\n{output}");
            }
            p.WaitForExit();
            lock (output) return new ProcessResult(p.ExitCode, output.ToString());
        }
    }
}
