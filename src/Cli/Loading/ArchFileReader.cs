using System;
using System.IO;
using System.Runtime.InteropServices;
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

        /// <summary>What is at <paramref name="path"/>: "a directory", "a FIFO", ...; null for a regular file or nothing.</summary>
        public static string? NonRegularKind(string path)
        {
            if (Directory.Exists(path)) return "a directory";
            if (!File.Exists(path)) return null;
            if (OperatingSystem.IsWindows())
                return (File.GetAttributes(path) & FileAttributes.Device) != 0 ? "a device" : null;
            return UnixKind(path);
        }

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

        // The file type comes from stat(2) through the runtime's own portable shim (libSystem.Native, which
        // System.IO uses on every Unix): its FileStatus starts { int Flags; int Mode; ... } on every platform,
        // with PAL file-type bits. .NET has no public API that tells a FIFO or a device from a file.
        [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true)]
        private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [Out] byte[] status);

        private const int TypeMask = 0xF000, Fifo = 0x1000, CharDevice = 0x2000, Dir = 0x4000, BlockDevice = 0x6000, Regular = 0x8000, Socket = 0xC000;

        private static string? UnixKind(string path)
        {
            var status = new byte[512]; // far larger than any version's FileStatus
            try
            {
                if (Stat(path, status) != 0) return null; // vanished meanwhile: reported as not found
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                return null; // no shim: fall back to reading, as before
            }
            int mode = BitConverter.ToInt32(status, 4);
            return (mode & TypeMask) switch
            {
                Regular => null,
                Fifo => "a FIFO (named pipe)",
                CharDevice => "a character device",
                BlockDevice => "a block device",
                Dir => "a directory",
                Socket => "a socket",
                _ => "a special file",
            };
        }
    }
}
