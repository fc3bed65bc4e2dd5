using System;
using System.IO;
using Xunit;

namespace Torchwright.Generator.Tests
{
    /// <summary>
    /// Verify's layout without Verify: <c>Snapshots/&lt;Test&gt;#&lt;hint&gt;.verified.cs</c> and <c>&lt;Test&gt;.verified.txt</c>;
    /// a mismatch writes <c>.received.*</c> beside it; <c>TORCHWRIGHT_ACCEPT_SNAPSHOTS=1</c> overwrites the verified file.
    /// </summary>
    internal static class Snapshot
    {
        public static string Directory => Path.Combine(Harness.RepoRoot, "tests", "Generator.Tests", "Snapshots");

        public static bool Accepting => Environment.GetEnvironmentVariable("TORCHWRIGHT_ACCEPT_SNAPSHOTS") == "1";

        /// <summary>Verify's file name for a generated source: the hint name's ".cs" moves behind ".verified".</summary>
        public static string SourceName(string test, string hintName) =>
            test + "#" + (hintName.EndsWith(".cs", StringComparison.Ordinal) ? hintName.Substring(0, hintName.Length - 3) : hintName);

        /// <summary>Returns null when it matches (or was accepted), else a failure message.</summary>
        public static string? Check(string name, string extension, string actual)
        {
            actual = actual.Replace("\r\n", "\n");
            var verified = Path.Combine(Directory, name + ".verified." + extension);
            var received = Path.Combine(Directory, name + ".received." + extension);
            var expected = File.Exists(verified) ? File.ReadAllText(verified).Replace("\r\n", "\n") : null;
            if (expected == actual)
            {
                if (File.Exists(received)) File.Delete(received);
                return null;
            }
            if (Accepting)
            {
                System.IO.Directory.CreateDirectory(Directory);
                File.WriteAllText(verified, actual);
                if (File.Exists(received)) File.Delete(received);
                return null;
            }
            File.WriteAllText(received, actual);
            return expected == null
                ? $"No snapshot {verified}; wrote {received}. Review it and rename, or run with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1."
                : $"Snapshot differs: diff {verified} {received} (accept with TORCHWRIGHT_ACCEPT_SNAPSHOTS=1). First difference at character {FirstDifference(expected, actual)}.";
        }

        public static void Verify(string name, string extension, string actual)
        {
            var failure = Check(name, extension, actual);
            Assert.True(failure == null, failure);
        }

        private static int FirstDifference(string a, string b)
        {
            int n = Math.Min(a.Length, b.Length);
            for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
            return n;
        }
    }
}
