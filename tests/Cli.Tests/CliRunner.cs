using System;
using System.IO;

namespace Torchwright.Cli.Tests
{
    /// <summary>Runs the CLI in-process with captured output; finds the repository root (the folder holding Generator.sln).</summary>
    public static class CliRunner
    {
        public sealed record Result(int ExitCode, string Out, string Error);

        private static readonly object Gate = new object();

        public static Result Run(params string[] args)
        {
            // The CLI names files relative to the current directory; keep runs from racing on it.
            lock (Gate)
            {
                var stdout = new StringWriter();
                var stderr = new StringWriter();
                int code = Program.Run(args, stdout, stderr);
                return new Result(code, stdout.ToString(), stderr.ToString());
            }
        }

        public static string RepoRoot { get; } = FindRepoRoot();

        public static string Architectures => Path.Combine(RepoRoot, "architectures");

        public static string Arch(string relative) => Path.Combine(Architectures, relative);

        private static string FindRepoRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Generator.sln"))) return dir.FullName;
            throw new InvalidOperationException("Generator.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>A temporary directory deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "torchwright-cli-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string Write(string name, string text)
        {
            var p = System.IO.Path.Combine(Path, name);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(p)!);
            File.WriteAllText(p, text);
            return p;
        }

        /// <summary>A CIFAR-10 binary folder of random images in this directory: the five training batches and the test batch,
        /// 8 records each (label byte, then 3072 bytes R, G, B), labels 0..9; returns the folder.</summary>
        public string WriteRandomCifar10()
        {
            var cifar = System.IO.Path.Combine(Path, "cifar-10-batches-bin");
            Directory.CreateDirectory(cifar);
            var rng = new Random(1);
            foreach (var file in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" })
            {
                var bytes = new byte[8 * 3073];
                rng.NextBytes(bytes);
                for (int i = 0; i < 8; i++) bytes[i * 3073] = (byte)(i % 10);
                File.WriteAllBytes(System.IO.Path.Combine(cifar, file), bytes);
            }
            return cifar;
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
