using System;

namespace Torchwright.Dsl.Diagnostics
{
    /// <summary>A zero-based line/column pair, as Roslyn's LinePosition.</summary>
    public readonly record struct LinePos(int Line, int Column)
    {
        public override string ToString() => $"{Line + 1},{Column + 1}";
    }

    /// <summary>
    /// Where a piece of a declaration came from: a span in a .arch file or in a C# attribute argument.
    /// Offsets are character offsets into the file's text; lines and columns are zero-based.
    /// </summary>
    public sealed record SourceLocation(string Path, int Start, int Length, LinePos StartPos, LinePos EndPos)
    {
        /// <summary>Used when a fact has no source (a built-in default); diagnostics then point at the declaration.</summary>
        public static readonly SourceLocation None = new SourceLocation("", 0, 0, default, default);

        public bool IsNone => Path.Length == 0;

        public int End => Start + Length;

        /// <summary>Builds a location for [start, start+length) in text, computing lines and columns.</summary>
        public static SourceLocation FromSpan(string path, string text, int start, int length)
        {
            start = Math.Max(0, Math.Min(start, text.Length));
            length = Math.Max(0, Math.Min(length, text.Length - start));
            return new SourceLocation(path, start, length, PositionOf(text, start), PositionOf(text, start + length));
        }

        public static LinePos PositionOf(string text, int offset)
        {
            int line = 0, col = 0;
            for (int i = 0; i < offset && i < text.Length; i++)
            {
                if (text[i] == '\n') { line++; col = 0; }
                else if (text[i] != '\r') col++;
            }
            return new LinePos(line, col);
        }

        /// <summary>MSBuild form: path(line,col) with one-based numbers; a path's line breaks and bidi controls as \uXXXX.</summary>
        public override string ToString() => IsNone ? "<built-in>" : $"{DisplayText.Escape(Path, int.MaxValue)}({StartPos.Line + 1},{StartPos.Column + 1})";
    }
}
