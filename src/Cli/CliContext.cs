using System.IO;

namespace Torchwright.Cli
{
    /// <summary>Where a verb writes: stdout for results, stderr for diagnostics and messages. Tests pass StringWriters.</summary>
    public sealed record CliContext(TextWriter Out, TextWriter Error);

    /// <summary>The process exit codes every verb uses (documented in docs/cli.md).</summary>
    public static class ExitCodes
    {
        /// <summary>Success (warnings allowed).</summary>
        public const int Ok = 0;

        /// <summary>The declarations have errors (diagnostics were printed).</summary>
        public const int DeclarationErrors = 1;

        /// <summary>Usage error: bad arguments or options, a file or directory that does not exist, an unknown --name.</summary>
        public const int Usage = 2;

        /// <summary>An unexpected failure inside torchwright (a bug: please report it).</summary>
        public const int InternalError = 3;
    }
}
