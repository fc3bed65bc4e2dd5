using System.Globalization;
using System.Text;

namespace Torchwright.Dsl.Diagnostics
{
    /// <summary>
    /// Makes user-supplied text (import paths, names) safe to echo into a one-line message or into emitted C#
    /// comments and strings: characters that would break a line, reorder the text (bidi controls) or are not
    /// characters at all (lone surrogates) are written as \uXXXX, and long text is cut with an ellipsis.
    /// </summary>
    public static class DisplayText
    {
        /// <summary>How many characters of a user-supplied path or name a message shows (docs/arch-language.md).</summary>
        public const int MaxShown = 200;

        /// <summary>Whether <paramref name="c"/> at <paramref name="i"/> must be escaped: Cc, Cf, Zl, Zp, lone surrogates.</summary>
        public static bool IsUnsafe(string s, int i)
        {
            char c = s[i];
            if (char.IsHighSurrogate(c)) return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
            if (char.IsLowSurrogate(c)) return i == 0 || !char.IsHighSurrogate(s[i - 1]);
            switch (CharUnicodeInfo.GetUnicodeCategory(c))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.LineSeparator:
                case UnicodeCategory.ParagraphSeparator:
                    return true;
                default:
                    return c == '\u0085';
            }
        }

        /// <summary>The first unsafe character's index, or -1.</summary>
        public static int FirstUnsafe(string s)
        {
            for (int i = 0; i < s.Length; i++)
                if (IsUnsafe(s, i)) return i;
            return -1;
        }

        /// <summary>"\u2028" for one UTF-16 code unit.</summary>
        public static string CodeOf(char c) => "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);

        /// <summary>The text with unsafe characters escaped and, past <paramref name="max"/> characters, cut with "…".</summary>
        public static string Escape(string s, int max = MaxShown)
        {
            var sb = new StringBuilder(System.Math.Min(s.Length, max) + 8);
            for (int i = 0; i < s.Length; i++)
            {
                if (sb.Length >= max)
                {
                    sb.Append('\u2026');
                    break;
                }
                if (IsUnsafe(s, i)) sb.Append(CodeOf(s[i]));
                else if (char.IsHighSurrogate(s[i])) sb.Append(s[i]).Append(s[++i]); // a valid pair stays whole
                else sb.Append(s[i]);
            }
            return sb.ToString();
        }
    }
}
