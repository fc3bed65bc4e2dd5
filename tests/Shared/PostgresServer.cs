using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Npgsql;

namespace Torchwright.Tests.Shared
{
    /// <summary>
    /// A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, a server listening only on a Unix
    /// socket in that folder (no TCP port, nothing shared with a system server), trust authentication, fsync off;
    /// stopped and deleted on dispose. As root it runs as the unprivileged 'postgres' user (the server refuses root).
    /// Needs Debian's postgresql package (setup.sh --tests installs it; CI does).
    /// </summary>
    public sealed class PostgresServer : IDisposable
    {
        private const string User = "tw";

        private readonly string _bin;
        private readonly bool _asPostgres;

        public PostgresServer()
        {
            _bin = Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderByDescending(d => d).FirstOrDefault() ?? ""
                : "";
            if (_bin.Length == 0)
                throw new InvalidOperationException("The PostgreSQL store tests need a PostgreSQL server (Debian package 'postgresql', /usr/lib/postgresql/*/bin/initdb): run `bash setup.sh --tests` (CI does) or `sudo apt-get install postgresql`.");
            _asPostgres = Environment.UserName == "root";
            Folder = Path.Combine(Path.GetTempPath(), "tw-pg-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(Folder);
            if (_asPostgres) Run("/bin/chown", "postgres", Folder);
            Tool("initdb", "-D", DataDir, "-U", User, "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions");
            Start();
        }

        public string Folder { get; }

        private string DataDir => Path.Combine(Folder, "data");

        /// <summary>A key=value connection string to database <paramref name="database"/> over the socket.</summary>
        public string ConnectionString(string database = "postgres") =>
            $"Host={Folder};Port=5432;Username={User};Database={database};Pooling=true";

        /// <summary>The same as a postgres:// URI (the socket folder as the host parameter).</summary>
        public string Uri(string database) => $"postgres://{User}@/{database}?host={System.Uri.EscapeDataString(Folder)}&port=5432";

        /// <summary>Creates an empty database for one test and returns its name.</summary>
        public string NewDatabase()
        {
            var name = "tw_" + Guid.NewGuid().ToString("N").Substring(0, 12);
            using var connection = new NpgsqlConnection(ConnectionString());
            connection.Open();
            using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
            return name;
        }

        public object? Scalar(string database, string sql)
        {
            using var connection = new NpgsqlConnection(ConnectionString(database));
            connection.Open();
            using var command = new NpgsqlCommand(sql, connection);
            var value = command.ExecuteScalar();
            return value is DBNull ? null : value;
        }

        public void Start() =>
            Tool("pg_ctl", "-D", DataDir, "-l", Path.Combine(Folder, "server.log"), "-w", "-t", "60",
                "-o", $"-k {Folder} -c listen_addresses='' -p 5432 -c fsync=off -c max_connections=200", "start");

        /// <summary>Stops the server at once (connections are cut, as when a machine is lost).</summary>
        public void Stop() => Tool("pg_ctl", "-D", DataDir, "-m", "immediate", "-w", "stop");

        private void Tool(string name, params string[] args)
        {
            var path = Path.Combine(_bin, name);
            if (_asPostgres) Run("/usr/sbin/runuser", new[] { "-u", "postgres", "--", path }.Concat(args).ToArray());
            else Run(path, args);
        }

        private static void Run(string file, params string[] args)
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            if (!p.WaitForExit(120_000)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(" ", args)} did not finish in 120 s"); }
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{file} {string.Join(" ", args)} exited {p.ExitCode}: {stderr}{stdout.Result}");
        }

        public void Dispose()
        {
            try { Stop(); } catch (Exception e) when (e is InvalidOperationException || e is TimeoutException) { }
            try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
