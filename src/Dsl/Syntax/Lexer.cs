using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Torchwright.Dsl.Syntax
{
    internal enum TokenKind
    {
        EndOfFile,
        /// <summary>A line break. Zero-width, placed where the line ends (at the '\r' of "\r\n", else at '\n').</summary>
        Newline,
        Identifier,
        Integer,
        Float,
        Dims,
        /// <summary>A number run into letters or dots: <c>64k</c>, <c>3x</c>, <c>1.5.3</c>.</summary>
        MalformedNumber,
        /// <summary>A double-quoted string on one line; Text includes the quotes.</summary>
        String,
        /// <summary>A string with no closing quote before the end of the line; Text includes the opening quote.</summary>
        UnterminatedString,
        LeftBracket,
        RightBracket,
        LeftBrace,
        RightBrace,
        Colon,
        Semicolon,
        Comma,
        Equals,
        Dot,
        /// <summary>A character that starts no token (<c>@</c>, a stray <c>-</c>, a non-ASCII letter, NUL).</summary>
        Bad,
    }

    internal readonly struct Token
    {
        public Token(TokenKind kind, int start, int length, string text)
        {
            Kind = kind;
            Start = start;
            Length = length;
            Text = text;
        }

        public TokenKind Kind { get; }
        public int Start { get; }
        public int Length { get; }
        public int End => Start + Length;
        public string Text { get; }

        public override string ToString() => $"{Kind}@{Start}+{Length} '{Text}'";
    }

    /// <summary>
    /// Splits .arch text into tokens. Total: every character belongs to a token, whitespace or a comment, and the
    /// list always ends with one <see cref="TokenKind.EndOfFile"/> token. Never throws; literal values are not
    /// converted here (the parser reports overflow where it uses them).
    /// </summary>
    internal static class Lexer
    {
        public static List<Token> Tokenize(string text)
        {
            var tokens = new List<Token>();
            int n = text.Length;
            int i = 0;
            while (i < n)
            {
                char c = text[i];
                if (c == '\n')
                {
                    int at = i > 0 && text[i - 1] == '\r' ? i - 1 : i;
                    tokens.Add(new Token(TokenKind.Newline, at, 0, ""));
                    i++;
                    continue;
                }
                if (IsWhitespace(c)) { i++; continue; }
                if (c == '#')
                {
                    while (i < n && text[i] != '\n') i++;
                    // A "\r\n" after a comment: the newline token is placed at the '\r' by the branch above.
                    continue;
                }

                int start = i;
                if (IsIdentStart(c))
                {
                    i++;
                    while (i < n && IsIdentChar(text[i])) i++;
                    tokens.Add(Make(TokenKind.Identifier, text, start, i));
                    continue;
                }
                if (IsDigit(c) || (c == '-' && i + 1 < n && IsDigit(text[i + 1])))
                {
                    var kind = LexNumber(text, ref i);
                    tokens.Add(Make(kind, text, start, i));
                    continue;
                }
                if (c == '"')
                {
                    i++;
                    while (i < n && text[i] != '"' && text[i] != '\n') i++;
                    if (i < n && text[i] == '"')
                    {
                        i++;
                        tokens.Add(Make(TokenKind.String, text, start, i));
                    }
                    else
                    {
                        int end = i;
                        if (end > start + 1 && end < n && text[end] == '\n' && text[end - 1] == '\r') end--;
                        tokens.Add(Make(TokenKind.UnterminatedString, text, start, end));
                    }
                    continue;
                }

                TokenKind punct;
                switch (c)
                {
                    case '[': punct = TokenKind.LeftBracket; break;
                    case ']': punct = TokenKind.RightBracket; break;
                    case '{': punct = TokenKind.LeftBrace; break;
                    case '}': punct = TokenKind.RightBrace; break;
                    case ':': punct = TokenKind.Colon; break;
                    case ';': punct = TokenKind.Semicolon; break;
                    case ',': punct = TokenKind.Comma; break;
                    case '=': punct = TokenKind.Equals; break;
                    case '.': punct = TokenKind.Dot; break;
                    default: punct = TokenKind.Bad; break;
                }
                i++;
                // Keep a surrogate pair together so a bad emoji is one token, not two halves.
                if (punct == TokenKind.Bad && char.IsHighSurrogate(c) && i < n && char.IsLowSurrogate(text[i])) i++;
                tokens.Add(Make(punct, text, start, i));
            }
            tokens.Add(new Token(TokenKind.EndOfFile, n, 0, ""));
            return tokens;
        }

        /// <summary>
        /// INT := '-'? digits; FLOAT := INT '.' digits exponent? | INT exponent; DIMS := INT ('x' INT)+.
        /// A number immediately followed by letters, digits, '_' or a '.'-continuation becomes one malformed token.
        /// </summary>
        private static TokenKind LexNumber(string text, ref int i)
        {
            int n = text.Length;
            if (text[i] == '-') i++;
            while (i < n && IsDigit(text[i])) i++;
            var kind = TokenKind.Integer;

            if (i + 1 < n && text[i] == '.' && IsDigit(text[i + 1]))
            {
                i++;
                while (i < n && IsDigit(text[i])) i++;
                kind = TokenKind.Float;
                LexExponent(text, ref i);
            }
            else if (LexExponent(text, ref i))
            {
                kind = TokenKind.Float;
            }
            else
            {
                while (i < n && text[i] == 'x' && StartsInteger(text, i + 1))
                {
                    i++;
                    if (text[i] == '-') i++;
                    while (i < n && IsDigit(text[i])) i++;
                    kind = TokenKind.Dims;
                }
            }

            if (i < n && (IsIdentChar(text[i]) || (text[i] == '.' && i + 1 < n && IsIdentChar(text[i + 1]))))
            {
                while (i < n && (IsIdentChar(text[i]) || text[i] == '.')) i++;
                kind = TokenKind.MalformedNumber;
            }
            return kind;
        }

        private static bool LexExponent(string text, ref int i)
        {
            int n = text.Length;
            if (i < n && (text[i] == 'e' || text[i] == 'E'))
            {
                int j = i + 1;
                if (j < n && (text[j] == '+' || text[j] == '-')) j++;
                if (j < n && IsDigit(text[j]))
                {
                    while (j < n && IsDigit(text[j])) j++;
                    i = j;
                    return true;
                }
            }
            return false;
        }

        private static bool StartsInteger(string text, int i) =>
            i < text.Length && (IsDigit(text[i]) || (text[i] == '-' && i + 1 < text.Length && IsDigit(text[i + 1])));

        private static Token Make(TokenKind kind, string text, int start, int end) =>
            new Token(kind, start, end - start, text.Substring(start, end - start));

        public static bool IsDigit(char c) => c >= '0' && c <= '9';

        public static bool IsIdentStart(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

        public static bool IsIdentChar(char c) => IsIdentStart(c) || IsDigit(c);

        private static bool IsWhitespace(char c) => c != '\n' && (char.IsWhiteSpace(c) || c == '\uFEFF');

        /// <summary>How a token is named in a message: <c>'='</c>, <c>'c5'</c>, <c>end of line</c>, <c>character U+0000</c>.</summary>
        public static string Describe(Token token)
        {
            switch (token.Kind)
            {
                case TokenKind.EndOfFile: return "end of file";
                case TokenKind.Newline: return "end of line";
                case TokenKind.String:
                case TokenKind.UnterminatedString:
                    return "the string " + Printable(Truncate(token.Text));
                case TokenKind.Bad:
                    {
                        string t = token.Text;
                        if (t.Length == 1 && t[0] >= 0x21 && t[0] < 0x7F) return "'" + t + "'";
                        int cp = t.Length == 2 ? char.ConvertToUtf32(t[0], t[1]) : t[0];
                        string hex = "U+" + cp.ToString("X4", CultureInfo.InvariantCulture);
                        bool printable = t.Length == 2 || (!char.IsControl(t[0]) && !char.IsSurrogate(t[0]) && !char.IsWhiteSpace(t[0])
                                                           && char.GetUnicodeCategory(t[0]) != UnicodeCategory.Format);
                        return printable ? $"'{t}' ({hex})" : "character " + hex;
                    }
                default:
                    return "'" + Printable(Truncate(token.Text)) + "'";
            }
        }

        private static string Truncate(string s) => s.Length <= 40 ? s : s.Substring(0, 37) + "...";

        private static string Printable(string s)
        {
            StringBuilder? sb = null;
            for (int k = 0; k < s.Length; k++)
            {
                char c = s[k];
                bool bad = char.IsControl(c) || (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && k + 1 < s.Length && char.IsLowSurrogate(s[k + 1]))
                                                                     && !(char.IsLowSurrogate(c) && k > 0 && char.IsHighSurrogate(s[k - 1])));
                if (bad)
                {
                    sb ??= new StringBuilder(s, 0, k, s.Length + 8);
                    sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                }
                else sb?.Append(c);
            }
            return sb?.ToString() ?? s;
        }
    }
}
