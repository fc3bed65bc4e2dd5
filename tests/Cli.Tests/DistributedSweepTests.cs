using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using Torchwright.Sweeps;
using Torchwright.Tests.Shared;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Real <c>torchwright sweep</c> processes sharing one PostgreSQL store (a throwaway cluster, docs/sweeps.md): every run
    /// is finished exactly once, a SIGKILLed worker's run is taken over after its lease, a worker with other settings is
    /// refused, and a server that goes away stops the workers with a clear error and loses no finished run.
    /// </summary>
    public sealed class DistributedSweepTests : IClassFixture<DistributedSweepTests.Server>, IDisposable
    {
        public sealed class Server : IDisposable
        {
            public PostgresServer Pg { get; } = new PostgresServer();

            public void Dispose() => Pg.Dispose();
        }

        private readonly PostgresServer _pg;
        private readonly TempDir _dir = new TempDir();

        public DistributedSweepTests(Server server) => _pg = server.Pg;

        public void Dispose() => _dir.Dispose();

        private string[] Args(string db, int steps, params string[] extra) =>
            new[] { "sweep", _dir.Write("grid.arch", SweepTests.TinyArch), "--db", db, "--dataset", "shapes:32:n=256:test=64", "--steps", steps.ToString(),
                "--batch", "8", "--lr", "0.05", "--threads", "1", "--progress", "plain", "--seeds", "2", "--resume" }.Concat(extra).ToArray();

        private sealed class Worker : IDisposable
        {
            private readonly StringBuilder _log = new StringBuilder();

            public Worker(string[] args)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
                psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "torchwright.dll"));
                foreach (var a in args) psi.ArgumentList.Add(a);
                Process = Process.Start(psi)!;
                Process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
                Process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
                Process.BeginOutputReadLine();
                Process.BeginErrorReadLine();
            }

            public Process Process { get; }

            public string Log { get { lock (_log) return _log.ToString(); } }

            public int Wait(TimeSpan timeout)
            {
                if (!Process.WaitForExit((int)timeout.TotalMilliseconds))
                {
                    Process.Kill(true);
                    Assert.Fail("a worker did not finish in time:\n" + Log);
                }
                Process.WaitForExit(); // drain the output
                return Process.ExitCode;
            }

            /// <summary>"variant seed s" of every run this worker recorded done.</summary>
            public IReadOnlyList<string> Done() =>
                Regex.Matches(Log, @"^\[\d+/\d+\] (.+ seed \d+): done in ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

            public void Dispose()
            {
                if (!Process.HasExited) Process.Kill(true);
                Process.Dispose();
            }
        }

        private static IReadOnlyList<VariantRecord> Read(string db)
        {
            using var store = ResultsStore.OpenReadOnly(db);
            return store.ReadAll();
        }

        private static void AssertEveryRunDoneOnce(string db, IEnumerable<Worker> workers, int steps)
        {
            var rows = Read(db);
            Assert.Equal(8, rows.Count);
            Assert.All(rows, r => Assert.Equal((VariantStatus.Done, steps), (r.Status, r.LossCurve.Count)));
            var done = workers.SelectMany(w => w.Done()).ToList();
            Assert.Equal(rows.Select(r => $"{r.Variant} seed {r.Seed}").OrderBy(x => x, StringComparer.Ordinal), done.OrderBy(x => x, StringComparer.Ordinal));
        }

        [Fact]
        public void Three_workers_share_one_sweep_and_finish_every_run_exactly_once()
        {
            var db = _pg.ConnectionString(_pg.NewDatabase());
            var workers = Enumerable.Range(0, 3).Select(_ => new Worker(Args(db, 6))).ToList();
            try
            {
                foreach (var w in workers) Assert.True(w.Wait(TimeSpan.FromMinutes(5)) == 0, w.Log);
                AssertEveryRunDoneOnce(db, workers, 6);

                // A worker started with other training settings is refused with the differences, and writes nothing.
                var other = CliRunner.Run(Args(db, 7));
                Assert.Equal(2, other.ExitCode);
                Assert.Contains("holds runs trained with other settings (database vs now: steps: 6 vs 7)", other.Error);
                Assert.Equal(8, Read(db).Count(r => r.Status == VariantStatus.Done && r.LossCurve.Count == 6));
            }
            finally
            {
                foreach (var w in workers) w.Dispose();
            }
        }

        [Fact]
        public void A_sigkilled_worker_s_run_is_taken_over_after_its_lease_and_nothing_is_duplicated()
        {
            var name = _pg.NewDatabase();
            var db = _pg.Uri(name);
            const int Steps = 40;
            var workers = Enumerable.Range(0, 3).Select(_ => new Worker(Args(db, Steps, "--lease", "2s"))).ToList();
            try
            {
                var victim = workers[0];
                string? held = null;
                var deadline = DateTime.UtcNow.AddMinutes(5);
                while (held == null)
                {
                    Assert.True(DateTime.UtcNow < deadline, "the first worker never held a run:\n" + victim.Log);
                    Assert.False(victim.Process.HasExited, "the first worker exited before it could be killed:\n" + victim.Log);
                    try
                    {
                        held = _pg.Scalar(name, $"SELECT variant || ' seed ' || seed FROM variants WHERE status = 'running' AND worker LIKE '%:{victim.Process.Id}:%' LIMIT 1") as string;
                    }
                    catch (Npgsql.PostgresException) { } // the schema is still being created
                    Thread.Sleep(20);
                }
                victim.Process.Kill(); // SIGKILL: no handler runs, its claim simply stops being renewed
                victim.Process.WaitForExit();

                foreach (var w in workers.Skip(1)) Assert.True(w.Wait(TimeSpan.FromMinutes(5)) == 0, w.Log);
                AssertEveryRunDoneOnce(db, workers, Steps);
                Assert.DoesNotContain(held, victim.Done());
                var survivors = string.Join("\n", workers.Skip(1).Select(w => w.Log));
                Assert.Matches($@"sweep: {Regex.Escape(held)}: taken over from [^:\s]+:{victim.Process.Id}:[0-9a-f]{{8}}, whose claim ran out \(no heartbeat for 2 s\)", survivors);
            }
            finally
            {
                foreach (var w in workers) w.Dispose();
            }
        }

        [Fact]
        public void A_server_that_goes_away_stops_the_worker_with_a_clear_error_and_loses_no_finished_run()
        {
            var name = _pg.NewDatabase();
            var db = _pg.ConnectionString(name);
            const int Steps = 40;
            List<VariantRecord> doneBefore;
            using (var worker = new Worker(Args(db, Steps)))
            {
                var deadline = DateTime.UtcNow.AddMinutes(5);
                while (true)
                {
                    Assert.True(DateTime.UtcNow < deadline, "no run finished:\n" + worker.Log);
                    Assert.False(worker.Process.HasExited, "the worker exited early:\n" + worker.Log);
                    if (worker.Done().Count >= 1) break;
                    Thread.Sleep(20);
                }
                try
                {
                    _pg.Stop();
                    Assert.Equal(1, worker.Wait(TimeSpan.FromMinutes(2)));
                    Assert.Matches(@"sweep: .*: (the results store cannot be reached|cannot reach the PostgreSQL server) \(.*\)\. Every run finished before is recorded", worker.Log);
                    Assert.DoesNotContain("internal error", worker.Log);
                }
                finally { _pg.Start(); }
                doneBefore = Read(db).Where(r => r.Status == VariantStatus.Done).ToList();
                Assert.Equal(worker.Done().OrderBy(x => x, StringComparer.Ordinal), doneBefore.Select(r => $"{r.Variant} seed {r.Seed}").OrderBy(x => x, StringComparer.Ordinal));
            }

            // Back up: the same command finishes the sweep; the runs done before are untouched. The run that was in
            // flight is still claimed by the stopped worker, so it waits out the lease (1 s here).
            var (code, stdout, stderr) = CliRunner.Run(Args(db, Steps, "--lease", "1s"));
            Assert.True(code == 0, stderr + stdout);
            var after = Read(db);
            Assert.All(after, r => Assert.Equal(VariantStatus.Done, r.Status));
            foreach (var r in doneBefore)
                Assert.Equal((r.Finished, r.EvalAccuracy), after.Where(a => a.Variant == r.Variant && a.Seed == r.Seed).Select(a => (a.Finished, a.EvalAccuracy)).Single());
        }
    }
}
