using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Torchwright.Runtime
{
    /// <summary>
    /// What is at a path when it is not a regular file: a reader must refuse a FIFO (opening it blocks until a writer
    /// comes) or a device such as /dev/zero (it never ends) before opening it. One check for every file the project
    /// reads by name: .arch files and their imports (TW0036), tensor files (weights, inputs).
    /// </summary>
    internal static class FileKinds
    {
        /// <summary>"a directory", "a FIFO (named pipe)", "a character device", ...; null for a regular file or nothing.</summary>
        public static string? NonRegular(string path)
        {
            if (Directory.Exists(path)) return "a directory";
            if (!File.Exists(path)) return null;
            if (OperatingSystem.IsWindows())
                return (File.GetAttributes(path) & FileAttributes.Device) != 0 ? "a device" : null;
            return UnixKind(path);
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
