using System;
using System.Collections.Generic;
using System.Text;

namespace Torchwright.Dsl.Tests.Fuzz
{
    /// <summary>
    /// Deterministic mutations of .arch text for fuzzing: span deletion, duplication, swapping, truncation and
    /// insertion of tokens the grammar cares about (brackets, '=', 'x', quotes, huge numbers, NUL, unicode, ...).
    /// The same (text, seed, count) always yields the same strings, so any stage (parser, checker, emitter) can
    /// be pushed through an identical corpus and a failure names the seed and index that reproduce it.
    /// </summary>
    internal static class ArchMutator
    {
        private static readonly string[] Fragments =
        {
            "[", "]", "=", ",", "x", ":", "{", "}", "#", "\"", ".", ";", "-", "\n", "\r\n", "\r", "\t", " ",
            "0", "1", "-1", "64", "3x224x224", "0.5", "1e-2", "1e999", "-1e-999", "1.", ".5", "1..2", "2x", "3xx4",
            "9223372036854775807", "9223372036854775808", "-9223372036854775809", "99999999999999999999999999999",
            "1x99999999999999999999", "123456789012345678901234567890.5e+308",
            "arch", "sweep", "import", "true", "false", "arch A {", "sweep S : A {", "import \"a.arch\"", "import \"",
            "c5.mhsa", "width", "= [", "[[[[", "]]]]", ", ,", "a = 1, 2", "\0", "\u00e9", "\u00a0", "\u2028", "\ufeff",
            "\ud83d\ude00", "\ud800", "\udc00", "\uffff", "@", "$", "\\", "'", "/", "*", "+", "e", "E",
        };

        public static IEnumerable<string> Mutations(string text, int seed, int count)
        {
            var rng = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                var s = new StringBuilder(text);
                int edits = 1 + rng.Next(rng.Next(4) == 0 ? 8 : 3);
                for (int e = 0; e < edits; e++) MutateOnce(s, rng);
                yield return s.ToString();
            }
        }

        private static void MutateOnce(StringBuilder s, Random rng)
        {
            int n = s.Length;
            switch (rng.Next(10))
            {
                case 0: // delete a span
                    if (n > 0) { int a = rng.Next(n); s.Remove(a, Math.Min(n - a, 1 + rng.Next(12))); }
                    break;
                case 1: // duplicate a span
                    if (n > 0)
                    {
                        int a = rng.Next(n), len = Math.Min(n - a, 1 + rng.Next(40));
                        s.Insert(rng.Next(n + 1), s.ToString(a, len));
                    }
                    break;
                case 2: // swap two spans
                    if (n > 4)
                    {
                        int len = 1 + rng.Next(Math.Min(20, n / 2));
                        int a = rng.Next(n - len + 1), b = rng.Next(n - len + 1);
                        if (a > b) (a, b) = (b, a);
                        if (b >= a + len)
                        {
                            string x = s.ToString(a, len), y = s.ToString(b, len);
                            s.Remove(b, len).Insert(b, x);
                            s.Remove(a, len).Insert(a, y);
                        }
                    }
                    break;
                case 3: // truncate
                    if (n > 0) s.Length = rng.Next(n);
                    break;
                case 4: // replace one character with a random one (any UTF-16 unit, including NUL and lone surrogates)
                    if (n > 0) s[rng.Next(n)] = (char)rng.Next(rng.Next(3) == 0 ? 0x10000 : 0x80);
                    break;
                case 5: // a deep bracket run
                    s.Insert(rng.Next(n + 1), new string(rng.Next(2) == 0 ? '[' : ']', 1 + rng.Next(80)));
                    break;
                case 6: // a long run of digits
                    s.Insert(rng.Next(n + 1), new string('9', 1 + rng.Next(400)));
                    break;
                default: // insert a fragment
                    s.Insert(rng.Next(n + 1), Fragments[rng.Next(Fragments.Length)]);
                    break;
            }
        }

        /// <summary>Random printable and unprintable soup (not derived from a valid file).</summary>
        public static string Soup(Random rng, int maxLength)
        {
            int len = rng.Next(maxLength + 1);
            var sb = new StringBuilder(len);
            const string alphabet = "[]{}=,.:;#\"x0123456789-eE_ab \n\r\t\0";
            for (int i = 0; i < len; i++)
                sb.Append(rng.Next(4) == 0 ? (char)rng.Next(0x10000) : alphabet[rng.Next(alphabet.Length)]);
            return sb.ToString();
        }
    }
}
