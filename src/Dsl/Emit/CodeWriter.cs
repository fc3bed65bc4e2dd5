using System.Text;

namespace Torchwright.Dsl.Emit
{
    /// <summary>An indenting text writer for generated C# (indented as it is written, so no NormalizeWhitespace pass over a syntax tree).</summary>
    internal sealed class CodeWriter
    {
        private readonly StringBuilder sb = new StringBuilder();
        private int indent;

        public CodeWriter Line(string text = "")
        {
            if (text.Length > 0) sb.Append(' ', indent * 4).Append(text);
            sb.Append('\n');
            return this;
        }

        public CodeWriter Open(string header)
        {
            Line(header);
            Line("{");
            indent++;
            return this;
        }

        public CodeWriter Close(string suffix = "")
        {
            indent--;
            Line("}" + suffix);
            return this;
        }

        public override string ToString() => sb.ToString();
    }
}
