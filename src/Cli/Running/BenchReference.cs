using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

using Torchwright.Runtime.Measurement;

namespace Torchwright.Cli.Running
{
    /// <summary>The PyTorch side could not be started or failed; the message says why (and what to do).</summary>
    internal sealed class BenchReferenceException : Exception
    {
        public BenchReferenceException(string message) : base(message) { }
    }

    /// <summary>Which of PyTorch's paths a reference process runs: eager, or the fastest of its own fast paths.</summary>
    internal enum BenchPath
    {
        Eager,
        Best,
    }

    /// <summary>
    /// One path the "best" process tried: its timed trial iterations and their median (null when none ran), its logits'
    /// relative difference from eager's (null for eager and unbuilt paths), why it could not run this model
    /// (<see cref="Error"/>), why it was never timed (<see cref="Skipped"/>: the selection budget), or why it was timed
    /// fewer times than asked (<see cref="Stopped"/>: the budget, or clearly slower than the leader).
    /// </summary>
    internal sealed record BenchCandidate(string Path, double? Ms, string? Error, int Trials = 0, double? Parity = null, string? Skipped = null, string? Stopped = null);

    /// <summary>What a reference process reports once set up: its resident set, the path it runs, the paths it tried and
    /// how long choosing took (null when it did not choose).</summary>
    internal sealed record BenchSetup(long SetupRssBytes, string Path, IReadOnlyList<BenchCandidate> Candidates, double? SelectionSeconds = null);

    /// <summary>
    /// The PyTorch side of <c>bench</c>: one long-lived <c>python3 -u python/bench_reference.py</c> process driven
    /// over stdin/stdout, one JSON request and one JSON reply per line (the protocol is documented in the script).
    /// Keeping the process alive is what lets the two sides run interleaved, round by round.
    /// </summary>
    internal sealed class BenchReference : IDisposable
    {
        private const int StartTimeoutMs = 120_000;

        private readonly Process process;
        private readonly StringBuilder stderr = new StringBuilder();

        private BenchReference(Process process)
        {
            this.process = process;
            process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
            process.BeginErrorReadLine();
        }

        /// <summary>The reference side's torch: torch.__version__, where it was imported from, whether it is Debian's.</summary>
        public BenchPyTorch Torch { get; private set; } = new BenchPyTorch("", "", false);

        /// <summary>The script next to the CLI (copied to the output folder's <c>python/</c> by Cli.csproj).</summary>
        public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "python", "bench_reference.py");

        /// <summary>Starts the script and waits for its greeting; throws <see cref="BenchReferenceException"/> when python or torch is missing.</summary>
        public static BenchReference Start(string python)
        {
            if (!File.Exists(python))
                throw new BenchReferenceException($"{python} not found; install python3-torch (setup.sh does) or point --python / TORCHWRIGHT_PYTHON at a python with torch");
            if (!File.Exists(ScriptPath))
                throw new BenchReferenceException($"{ScriptPath} is missing; rebuild the CLI (dotnet build src/Cli/Cli.csproj) so its python/ folder is copied");
            var psi = new ProcessStartInfo(python)
            {
                WorkingDirectory = Path.GetDirectoryName(ScriptPath)!,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(ScriptPath);
            var process = Process.Start(psi) ?? throw new BenchReferenceException($"could not start {python}");
            var reference = new BenchReference(process);
            JsonObject hello;
            try { hello = reference.ReadReply(StartTimeoutMs, "start"); }
            catch (BenchReferenceException)
            {
                reference.Dispose();
                throw;
            }
            if (!IsOk(hello))
            {
                reference.Dispose();
                throw new BenchReferenceException($"{python} cannot run the PyTorch reference ({hello["error"]}); it needs torch (apt-get install python3-torch, or --python / TORCHWRIGHT_PYTHON naming a python that has it) and the python/ folder built next to torchwright.dll");
            }
            reference.Torch = new BenchPyTorch(hello["torch"]!.GetValue<string>(), hello["torch_path"]?.GetValue<string>() ?? "",
                hello["debian"]?.GetValue<bool>() ?? false);
            return reference;
        }

        /// <summary>
        /// Builds the reference network, loads the same weights and batch and runs it on <paramref name="path"/>: "eager", a
        /// path name the script lists (checked against eager's logits), or <see cref="SelectPath"/>, which only picks the
        /// fastest of PyTorch's own paths after at most <paramref name="trials"/> rounds within <paramref name="budgetSeconds"/>
        /// (the process then runs nothing).
        /// </summary>
        public BenchSetup Setup(string specPath, string weightsPath, string dataPath, BenchMode mode, int threads, string device, BenchPrecision precision,
            string path, int trials, double budgetSeconds)
        {
            string dtype = precision == BenchPrecision.Bf16 ? "bf16" : "fp32";   // bf16-mixed: the PyTorch side runs fp32
            var r = Request(new JsonObject
            {
                ["cmd"] = "setup",
                ["spec"] = specPath,
                ["weights"] = weightsPath,
                ["data"] = dataPath,
                ["mode"] = mode == BenchMode.Train ? "train" : "infer",
                ["threads"] = threads,
                ["device"] = device,
                ["precision"] = dtype,
                ["path"] = path,
                ["trials"] = trials,
                ["budget_s"] = budgetSeconds,
            });
            int got = r["threads"]!.GetValue<int>();
            if (got != threads)
                throw new BenchReferenceException($"PyTorch runs {got} threads where {threads} were asked for; the comparison would not be fair");
            string gotDtype = r["dtype"]?.GetValue<string>() ?? "?";
            if (gotDtype != dtype)
                throw new BenchReferenceException($"the PyTorch model is {gotDtype} where {dtype} was asked for; the comparison would not be fair");
            var candidates = (r["candidates"]?.AsArray() ?? new JsonArray()).Select(c => new BenchCandidate(c!["path"]!.GetValue<string>(),
                c["ms"]?.GetValue<double>(), c["error"]?.GetValue<string>(), c["trials"]!.GetValue<int>(), c["parity"]?.GetValue<double>(),
                c["skipped"]?.GetValue<string>(), c["stopped"]?.GetValue<string>())).ToList();
            return new BenchSetup(r["setup_rss_bytes"]!.GetValue<long>(), r["path"]?.GetValue<string>() ?? "eager", candidates,
                r["selection_s"]?.GetValue<double>());
        }

        /// <summary>Runs <paramref name="iterations"/> iterations; returns each one's wall time in milliseconds and page faults.</summary>
        public (IReadOnlyList<double> Milliseconds, IReadOnlyList<long> Faults) Run(int iterations)
        {
            var r = Request(new JsonObject { ["cmd"] = "run", ["iterations"] = iterations });
            var ms = r["seconds"]!.AsArray().Select(s => s!.GetValue<double>() * 1000.0).ToList();
            var faults = r["faults"]!.AsArray().Select(f => f!.GetValue<long>()).ToList();
            return (ms, faults);
        }

        /// <summary>The setup path that times every path and names the fastest.</summary>
        public const string SelectPath = "select";

        /// <summary>Starts a measured region; with <paramref name="heap"/> the process also samples malloc's peaks (as
        /// <see cref="Torchwright.Runtime.Measurement.HeapSampler"/> does).</summary>
        public void ResetPeak(bool heap) => Request(new JsonObject { ["cmd"] = "reset_peak", ["heap"] = heap });

        /// <summary>The resident set's peak since <see cref="ResetPeak"/>, and malloc's where it samples them.</summary>
        public (long RssBytes, HeapPeak? Heap) Peaks()
        {
            var r = Request(new JsonObject { ["cmd"] = "peak" });
            var heap = r["heap_in_use_bytes"] is { } inUse && r["heap_held_bytes"] is { } held && r["heap_in_use_at_start_bytes"] is { } start
                ? new HeapPeak(inUse.GetValue<long>(), held.GetValue<long>(), start.GetValue<long>()) : (HeapPeak?)null;
            return (r["peak_bytes"]!.GetValue<long>(), heap);
        }

        private JsonObject Request(JsonObject request)
        {
            string cmd = request["cmd"]!.GetValue<string>();
            try
            {
                process.StandardInput.WriteLine(request.ToJsonString());
                process.StandardInput.Flush();
            }
            catch (IOException e)
            {
                throw new BenchReferenceException($"the PyTorch process stopped before '{cmd}' ({e.Message}){StderrTail()}");
            }
            var reply = ReadReply(System.Threading.Timeout.Infinite, cmd);
            if (!IsOk(reply))
                throw new BenchReferenceException($"PyTorch '{cmd}' failed: {reply["error"]}");
            return reply;
        }

        private JsonObject ReadReply(int timeoutMs, string cmd)
        {
            var read = process.StandardOutput.ReadLineAsync();
            if (!read.Wait(timeoutMs))
                throw new BenchReferenceException($"the PyTorch process did not answer '{cmd}' within {timeoutMs / 1000} s{StderrTail()}");
            var line = read.Result;
            if (line == null)
            {
                process.WaitForExit(5000);
                throw new BenchReferenceException($"the PyTorch process exited during '{cmd}' (exit code {(process.HasExited ? process.ExitCode : -1)}){StderrTail()}");
            }
            try
            {
                return JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException)
            {
                throw new BenchReferenceException($"the PyTorch process answered '{cmd}' with something that is not a JSON reply: {line}");
            }
        }

        private static bool IsOk(JsonObject reply) => reply["ok"] is JsonValue v && v.TryGetValue<bool>(out var ok) && ok;

        private string StderrTail()
        {
            string text;
            lock (stderr) text = stderr.ToString().Trim();
            if (text.Length == 0) return "";
            return "; its stderr ends with:\n" + (text.Length > 2000 ? text.Substring(text.Length - 2000) : text);
        }

        public void Dispose()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.StandardInput.WriteLine("{\"cmd\": \"quit\"}");
                    process.StandardInput.Flush();
                    if (!process.WaitForExit(10_000)) process.Kill();
                }
            }
            catch (IOException) { }
            catch (InvalidOperationException) { }
            process.Dispose();
        }
    }
}
