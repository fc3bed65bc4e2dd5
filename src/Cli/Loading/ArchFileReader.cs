using System;
using System.IO;
using System.Text;
using Torchwright.Dsl.Analysis;

namespace Torchwright.Cli.Loading
{
    /// <summary>
    /// Reads a .arch file from disk for the CLI: only a regular file (a FIFO would block `check` forever, a
    /// device such as /dev/zero never ends), and at most <see cref="WorkLimits.MaxFileBytes"/> bytes, counted
    /// while reading so a file that grows or lies about its size is still stopped at the cap.
    /// </summary>
    internal static class ArchFileReader
    {
        public enum Outcome { Read, Missing, NotRegular, TooLarge }

        /// <summary>What is at <paramref name="path"/>: "a directory", "a FIFO", ...; null for a regular file or nothing
        /// (the runtime's check, which tensor files go through too).</summary>
        public static string? NonRegularKind(string path) => Torchwright.Runtime.FileKinds.NonRegular(path);

        public static Outcome TryRead(string path, out string text, out string? kind, out long size)
        {
            text = "";
            size = 0;
            kind = NonRegularKind(path);
            if (kind != null) return Outcome.NotRegular;
            if (!File.Exists(path)) return Outcome.Missing;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var buffer = new byte[Math.Min(WorkLimits.MaxFileBytes + 1, Math.Max(4096, stream.Length + 1))];
            int filled = 0, n;
            while (filled < buffer.Length && (n = stream.Read(buffer, filled, buffer.Length - filled)) > 0) filled += n;
            if (filled > WorkLimits.MaxFileBytes || stream.Length > WorkLimits.MaxFileBytes)
            {
                size = Math.Max(filled, stream.Length);
                return Outcome.TooLarge;
            }
            size = filled;
            // As File.ReadAllText: UTF-8 unless a byte-order mark says otherwise.
            using var reader = new StreamReader(new MemoryStream(buffer, 0, filled), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
            text = reader.ReadToEnd();
            return Outcome.Read;
        }
    }
}
