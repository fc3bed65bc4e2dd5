using System;
using System.ComponentModel;

namespace Torchwright.Runtime.CompilerServices
{
    /// <summary>Used by generated constructors: builds one part and, when it throws, says which part of which architecture.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static class ModuleBuild
    {
        /// <summary>Runs <paramref name="create"/>; an exception from it becomes a <see cref="ModuleBuildException"/> naming the part.</summary>
        /// <param name="architecture">The architecture's name, as declared.</param>
        /// <param name="part">The state-dict path and where it sits, e.g. <c>layer2.0 (stage c3, block 0)</c>.</param>
        /// <param name="create">Constructs the part.</param>
        public static T Part<T>(string architecture, string part, Func<T> create)
        {
            try { return create(); }
            catch (Exception e) when (e is not ModuleBuildException && e is not OutOfMemoryException)
            {
                throw new ModuleBuildException(architecture, part, FirstLine(e.Message), e);
            }
        }

        /// <summary>libtorch messages carry a C++ stack after their first line.</summary>
        public static string FirstLine(string message)
        {
            int nl = message.IndexOf('\n');
            return (nl < 0 ? message : message.Substring(0, nl)).TrimEnd();
        }
    }
}
