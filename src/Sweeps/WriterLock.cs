using System;
using System.IO;

namespace Torchwright.Sweeps
{
    /// <summary>A results database that another writer holds (<see cref="ResultsDb.Open"/>); the message names the holder.</summary>
    public sealed class ResultsDbBusyException : IOException
    {
        public ResultsDbBusyException(string message) : base(message) { }
    }

    /// <summary>
    /// The one-writer lock of a results database: <c>&lt;db&gt;.lock</c> held open without sharing, which .NET turns
    /// into an exclusive <c>flock</c> on Unix and a share-deny open on Windows. The kernel drops it when its handle's
    /// process ends, SIGKILL included, so a lock file left by a dead process refuses nobody. The file stays after use:
    /// deleting it would let a writer that opened it just before lock a file no one else can see. (Who holds it is
    /// recorded in the database itself, meta.writer, because a file locked this way cannot be read by others.)
    /// </summary>
    internal sealed class WriterLock : IDisposable
    {
        // How .NET reports a held lock: ERROR_SHARING_VIOLATION as an HRESULT on Windows, flock's errno (EWOULDBLOCK) on Unix.
        private static bool HeldElsewhere(IOException e) =>
            OperatingSystem.IsWindows() ? e.HResult == unchecked((int)0x80070020)
            : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

        private readonly FileStream _file;

        private WriterLock(FileStream file) => _file = file;

        /// <summary>The lock of <paramref name="dbPath"/>, or null when another handle (any process) holds it.</summary>
        public static WriterLock? TryAcquire(string dbPath)
        {
            var lockPath = dbPath + ".lock";
            try
            {
                return new WriterLock(new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException e) when (HeldElsewhere(e))
            {
                return null;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new IOException($"cannot create the lock file {lockPath} beside the results database ({e.Message}); the folder must be writable", e);
            }
        }

        public void Dispose() => _file.Dispose();
    }
}
