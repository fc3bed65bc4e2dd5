using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// One long-lived <c>/usr/bin/python3 parity_server.py</c> process shared by the parity tests: each request is a case
    /// file path, each reply one JSON line.  Starting torch once keeps the whole suite fast.
    /// </summary>
    public sealed class PythonReference : IDisposable
    {
        public static string Python => Environment.GetEnvironmentVariable("TORCHWRIGHT_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

        public static string ScriptDir => Path.Combine(AppContext.BaseDirectory, "python");

        private readonly object _gate = new();
        private Process? _process;
        private readonly StringBuilder _stderr = new();

        public JsonElement Request(string casePath)
        {
            lock (_gate)
            {
                var p = EnsureStarted();
                p.StandardInput.WriteLine(casePath);
                p.StandardInput.Flush();
                var line = p.StandardOutput.ReadLine();
                if (line is null)
                {
                    p.WaitForExit(5000);
                    string err;
                    lock (_stderr) err = _stderr.ToString();
                    _process = null;
                    throw new InvalidOperationException($"The Python reference server exited (code {(p.HasExited ? p.ExitCode : -1)}). stderr:\n{err}");
                }
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement.Clone();
                if (!root.GetProperty("ok").GetBoolean())
                    throw new InvalidOperationException("The Python reference failed: " + root.GetProperty("error").GetString());
                return root;
            }
        }

        /// <summary>Runs a Python script from the python folder to completion; returns (exit code, stdout+stderr).</summary>
        public static (int ExitCode, string Output) RunScript(string script, int timeoutMs = 120_000)
        {
            var psi = new ProcessStartInfo(Python, $"-u {script}")
            {
                WorkingDirectory = ScriptDir,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {Python}.");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs))
            {
                p.Kill();
                throw new TimeoutException($"{script} did not finish in {timeoutMs} ms.");
            }
            return (p.ExitCode, stdout.Result + stderr.Result);
        }

        private Process EnsureStarted()
        {
            if (_process is { HasExited: false })
                return _process;
            if (!File.Exists(Python))
                throw new InvalidOperationException($"Reference tests need {Python} with torch 1.13 and torchvision (apt-get install python3-torch python3-torchvision), or TORCHWRIGHT_PYTHON.");
            var psi = new ProcessStartInfo(Python, "-u parity_server.py")
            {
                WorkingDirectory = ScriptDir,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.Environment["OMP_NUM_THREADS"] = "1";
            var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {Python}.");
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
            p.BeginErrorReadLine();
            _process = p;
            return p;
        }

        public void Dispose()
        {
            var p = _process;
            _process = null;
            if (p is null) return;
            try
            {
                if (!p.HasExited)
                {
                    p.StandardInput.WriteLine("quit");
                    p.StandardInput.Flush();
                    if (!p.WaitForExit(5000)) p.Kill();
                }
            }
            catch (InvalidOperationException) { }
            catch (IOException) { }
            p.Dispose();
        }
    }

    [CollectionDefinition(Name)]
    public sealed class PythonCollection : ICollectionFixture<PythonReference>
    {
        public const string Name = "python reference";
    }
}
