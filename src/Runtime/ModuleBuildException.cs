using System;

namespace Torchwright.Runtime
{
    /// <summary>
    /// A generated module could not be built: its emitted code did not compile, or a part of it (stem, block,
    /// patch embedding, head) refused its arguments. Names the architecture, the part (state-dict path such as
    /// <c>layer3.0</c>, null when the failure is not tied to one part) and the cause. Belongs to one architecture
    /// or sweep variant: a sweep records it as that variant's failure and goes on.
    /// </summary>
    public sealed class ModuleBuildException : Exception
    {
        public ModuleBuildException(string architecture, string? part, string cause, Exception? inner = null)
            : base(Describe(architecture, part, cause), inner)
        {
            Architecture = architecture;
            Part = part;
            Cause = cause;
        }

        /// <summary>The architecture (or sweep variant) whose module failed.</summary>
        public string Architecture { get; }

        /// <summary>The failing part: its state-dict path and stage/block (<c>layer2.0 (stage c3, block 0)</c>), or null.</summary>
        public string? Part { get; }

        /// <summary>Why, in one sentence.</summary>
        public string Cause { get; }

        private static string Describe(string architecture, string? part, string cause) =>
            part == null
                ? $"{architecture}: its module could not be built: {cause}"
                : $"{architecture}: its module could not be built at {part}: {cause}";
    }
}
