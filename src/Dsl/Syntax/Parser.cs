using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Torchwright.Dsl.Diagnostics;

namespace Torchwright.Dsl.Syntax
{
    /// <summary>
    /// Parses .arch text (docs/arch-language.md) into an <see cref="ArchFile"/>. Total: it never throws and always
    /// terminates; syntax errors become TW0001 diagnostics and parsing resumes at the next line, ';' or '}', so one
    /// pass reports every independent error. Declarations whose header is broken and assignments that contain an
    /// error are left out of the tree (their errors are reported); everything else is kept.
    /// </summary>
    public static class ArchParser
    {
        /// <summary>Lists may nest at most this deep; deeper nesting is TW0001 (and keeps the parser's stack bounded).</summary>
        public const int MaxListDepth = 32;

        public static ArchFile Parse(string path, string text, List<Diagnostic> diagnostics)
        {
            return new Parser(path ?? "", text ?? "", diagnostics ?? new List<Diagnostic>()).ParseFile();
        }

        /// <summary>
        /// Parses one sweep axis, <c>path = v1, v2, ...</c>, written outside any declaration (the CLI's
        /// <c>--set c5.mhsa=[0,0,1],[0,1,1]</c>). Returns null after reporting when it is malformed.
        /// </summary>
        public static FieldAssignment? ParseAxis(string path, string text, List<Diagnostic> diagnostics)
        {
            return new Parser(path ?? "", text ?? "", diagnostics ?? new List<Diagnostic>()).ParseStandaloneAxis();
        }
    }

    internal sealed class Parser
    {
        private readonly string path;
        private readonly string text;
        private readonly List<Diagnostic> diagnostics;
        private readonly List<Token> tokens;
        private readonly LineMap lines;
        private int pos;
        /// <summary>End offset of the last token consumed that was not a newline.</summary>
        private int prevEnd;
        /// <summary>'[' consumed and not yet closed in the assignment being parsed (used to resynchronise).</summary>
        private int nesting;
        /// <summary>A literal in the current assignment was malformed; the assignment is dropped once parsed.</summary>
        private bool literalError;

        public Parser(string path, string text, List<Diagnostic> diagnostics)
        {
            this.path = path;
            this.text = text;
            this.diagnostics = diagnostics;
            tokens = Lexer.Tokenize(text);
            lines = new LineMap(text);
        }

        private Token Current => tokens[pos];

        private Token PeekAt(int index) => tokens[Math.Min(index, tokens.Count - 1)];

        private void Advance()
        {
            var t = tokens[pos];
            if (t.Kind == TokenKind.EndOfFile) return;
            if (t.Kind != TokenKind.Newline) prevEnd = t.End;
            pos++;
        }

        private bool Is(TokenKind kind) => Current.Kind == kind;

        private void SkipNewlines()
        {
            while (Current.Kind == TokenKind.Newline) Advance();
        }

        // --- file -----------------------------------------------------------------------------------------------

        public ArchFile ParseFile()
        {
            var imports = new List<ImportDecl>();
            var archs = new List<ArchDecl>();
            var sweeps = new List<SweepDecl>();
            while (true)
            {
                SkipNewlines();
                var t = Current;
                if (t.Kind == TokenKind.EndOfFile) break;
                if (IsKeyword(t, "import"))
                {
                    var import = ParseImport();
                    if (import != null) imports.Add(import);
                }
                else if (IsKeyword(t, "arch") || IsKeyword(t, "sweep"))
                {
                    ParseDeclaration(archs, sweeps);
                }
                else
                {
                    Error("'arch', 'sweep' or 'import'", t);
                    RecoverTopLevel();
                }
            }
            return new ArchFile(path, EquatableArray.From(imports), EquatableArray.From(archs), EquatableArray.From(sweeps));
        }

        public FieldAssignment? ParseStandaloneAxis()
        {
            SkipNewlines();
            var axis = ParseAssignment(isSweep: true);
            SkipNewlines();
            if (axis != null && !Is(TokenKind.EndOfFile))
            {
                Error("end of the setting", Current);
                return null;
            }
            return axis;
        }

        /// <summary>Skips at least one token, then up to the next 'arch', 'sweep' or 'import' that starts a line.</summary>
        private void RecoverTopLevel()
        {
            do Advance();
            while (!Is(TokenKind.EndOfFile) && !(IsDeclarationKeyword(Current) && AtLineStart(pos)));
        }

        private ImportDecl? ParseImport()
        {
            Advance(); // 'import'
            var t = Current;
            ImportDecl? result = null;
            if (t.Kind == TokenKind.String)
            {
                Advance();
                result = new ImportDecl(t.Text.Substring(1, t.Text.Length - 2), Loc(t.Start, t.End));
            }
            else if (t.Kind == TokenKind.UnterminatedString)
            {
                Advance();
                bool eof = t.End >= text.Length;
                Report("'\"'", eof ? "end of file" : "end of line", Loc(t.End, t.End));
            }
            else
            {
                Error("a quoted path such as \"resnet50.arch\"", t);
                RecoverTopLevel();
                return null;
            }

            if (Is(TokenKind.Semicolon)) Advance(); // 'import "a.arch"; import "b.arch"' on one line
            else if (!Is(TokenKind.Newline) && !Is(TokenKind.EndOfFile))
            {
                Error("end of line", Current);
                RecoverTopLevel();
            }
            return result;
        }

        // --- arch / sweep ---------------------------------------------------------------------------------------

        private void ParseDeclaration(List<ArchDecl> archs, List<SweepDecl> sweeps)
        {
            var keyword = Current;
            bool isSweep = keyword.Text == "sweep";
            Advance();

            bool ok = true;
            string name = "";
            SourceLocation nameLoc = SourceLocation.None;
            string? baseName = null;
            SourceLocation baseLoc = SourceLocation.None;

            if (IsPlainIdentifier(Current))
            {
                name = Current.Text;
                nameLoc = Loc(Current.Start, Current.End);
                Advance();
            }
            else
            {
                Error(isSweep ? "a sweep name" : "an architecture name", Current);
                ok = false;
            }

            if (ok && Is(TokenKind.Colon))
            {
                Advance();
                if (IsPlainIdentifier(Current))
                {
                    baseName = Current.Text;
                    baseLoc = Loc(Current.Start, Current.End);
                    Advance();
                }
                else
                {
                    Error("the name of the base architecture", Current);
                    ok = false;
                }
            }
            else if (ok && isSweep)
            {
                Error("':' and the architecture to sweep over", Current);
                ok = false;
            }

            if (ok)
            {
                SkipNewlines();
                if (!Is(TokenKind.LeftBrace))
                {
                    Error("'{'", Current);
                    ok = false;
                }
            }

            if (!ok)
            {
                // Resynchronise: find this declaration's '{' (its body is still checked for errors, then dropped),
                // or its '}', or the next declaration.
                while (!Is(TokenKind.EndOfFile) && !Is(TokenKind.LeftBrace) && !Is(TokenKind.RightBrace)
                       && !(IsDeclarationKeyword(Current) && AtLineStart(pos)))
                    Advance();
                if (Is(TokenKind.RightBrace)) Advance();
                else if (Is(TokenKind.LeftBrace)) ParseBody(isSweep);
                return;
            }

            var fields = ParseBody(isSweep);
            var location = Loc(keyword.Start, prevEnd);
            var items = EquatableArray.From(fields);
            if (isSweep) sweeps.Add(new SweepDecl(name, nameLoc, baseName!, baseLoc, items, location));
            else archs.Add(new ArchDecl(name, nameLoc, baseName, baseLoc, items, location));
        }

        /// <summary>Parses '{' item* '}' starting at the '{'. A missing '}' is reported at end of file or at the next declaration.</summary>
        private List<FieldAssignment> ParseBody(bool isSweep)
        {
            Advance(); // '{'
            var fields = new List<FieldAssignment>();
            while (true)
            {
                while (Is(TokenKind.Newline) || Is(TokenKind.Semicolon)) Advance();
                var t = Current;
                if (t.Kind == TokenKind.RightBrace) { Advance(); break; }
                if (t.Kind == TokenKind.EndOfFile || LooksLikeDeclarationStart(pos))
                {
                    Error("'}'", t);
                    break;
                }
                var item = ParseAssignment(isSweep);
                if (item != null) fields.Add(item);
            }
            return fields;
        }

        // --- assignments ----------------------------------------------------------------------------------------

        private FieldAssignment? ParseAssignment(bool isSweep)
        {
            nesting = 0;
            literalError = false;
            var first = Current;

            if (!IsPlainIdentifier(Current)) return FailAssignment("a field name", Current);
            var pathText = new StringBuilder(Current.Text);
            Advance();
            while (Is(TokenKind.Dot))
            {
                Advance();
                if (!IsPlainIdentifier(Current)) return FailAssignment("a field name after '.'", Current);
                pathText.Append('.').Append(Current.Text);
                Advance();
            }
            var pathLoc = Loc(first.Start, prevEnd);

            if (!Is(TokenKind.Equals)) return FailAssignment("'='", Current);
            Advance();

            var values = new List<ArchValue>();
            var value = ParseValue();
            if (value == null) return FailAssignment(null, Current);
            values.Add(value);

            if (isSweep)
            {
                while (Is(TokenKind.Comma))
                {
                    Advance();
                    if (Is(TokenKind.Newline) && LooksLikeAssignmentAhead(pos))
                        return FailAssignment("a value", Current); // "width = 1, 2," then the next field
                    SkipNewlines();
                    value = ParseValue();
                    if (value == null) return FailAssignment(null, Current);
                    values.Add(value);
                }
            }

            if (!Is(TokenKind.Newline) && !Is(TokenKind.Semicolon) && !Is(TokenKind.RightBrace) && !Is(TokenKind.EndOfFile))
                return FailAssignment(isSweep ? "',' or end of line" : "end of line", Current);

            if (literalError) return null;
            return new FieldAssignment(pathText.ToString(), pathLoc, EquatableArray.From(values), Loc(first.Start, prevEnd));
        }

        /// <summary>Reports (unless already reported), then skips to the end of the assignment: a newline or ';' outside brackets, or '}'.</summary>
        private FieldAssignment? FailAssignment(string? expected, Token found)
        {
            if (expected != null) Error(expected, found);
            int depth = nesting;
            nesting = 0;
            while (true)
            {
                var t = Current;
                if (t.Kind == TokenKind.EndOfFile || t.Kind == TokenKind.RightBrace) break;
                if (depth == 0 && (t.Kind == TokenKind.Newline || t.Kind == TokenKind.Semicolon)) break;
                if (LooksLikeDeclarationStart(pos) && AtLineStart(pos)) break;
                if (t.Kind == TokenKind.LeftBracket) depth++;
                else if (t.Kind == TokenKind.RightBracket && depth > 0) depth--;
                Advance();
            }
            return null;
        }

        // --- values ---------------------------------------------------------------------------------------------

        /// <summary>Parses one value, or reports and returns null without consuming when none starts here.</summary>
        private ArchValue? ParseValue()
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Integer:
                    {
                        Advance();
                        if (!TryParseLong(t.Text, out long v))
                        {
                            LiteralError("an integer that fits in 64 bits", t);
                            v = 0;
                        }
                        return new IntValue(v, Loc(t.Start, t.End));
                    }
                case TokenKind.Float:
                    {
                        Advance();
                        if (!double.TryParse(t.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                            || double.IsInfinity(v) || double.IsNaN(v))
                        {
                            LiteralError("a number within the range of a 64-bit float", t);
                            v = 0;
                        }
                        return new FloatValue(v, Loc(t.Start, t.End));
                    }
                case TokenKind.Dims:
                    {
                        Advance();
                        var parts = t.Text.Split('x');
                        var dims = new long[parts.Length];
                        for (int k = 0; k < parts.Length; k++)
                        {
                            if (!TryParseLong(parts[k], out dims[k]))
                            {
                                LiteralError("an integer that fits in 64 bits", t);
                                break;
                            }
                        }
                        return new DimsValue(new EquatableArray<long>(dims), Loc(t.Start, t.End));
                    }
                case TokenKind.MalformedNumber:
                    Advance();
                    LiteralError("a number (an integer, a decimal such as 0.5 or 1e-2, or a shape such as 3x224x224)", t);
                    return new WordValue(t.Text, Loc(t.Start, t.End));
                case TokenKind.Identifier:
                    if (t.Text == "true" || t.Text == "false")
                    {
                        Advance();
                        return new BoolValue(t.Text == "true", Loc(t.Start, t.End));
                    }
                    if (IsReserved(t.Text)) break;
                    Advance();
                    return new WordValue(t.Text, Loc(t.Start, t.End));
                case TokenKind.LeftBracket:
                    return ParseList();
            }
            Error("a value", t);
            return null;
        }

        private ArchValue? ParseList()
        {
            var open = Current;
            if (nesting >= ArchParser.MaxListDepth)
            {
                Error($"lists nested at most {ArchParser.MaxListDepth} deep", open);
                return null;
            }
            Advance();
            nesting++;
            var items = new List<ArchValue>();
            while (true)
            {
                if (!SkipNewlinesInList()) return null;
                if (Is(TokenKind.RightBracket)) break;
                var item = ParseValue();
                if (item == null) return null;
                items.Add(item);
                if (!SkipNewlinesInList()) return null;
                if (Is(TokenKind.Comma)) { Advance(); continue; }
                if (Is(TokenKind.RightBracket)) break;
                Error("',' or ']'", Current);
                return null;
            }
            Advance(); // ']'
            nesting--;
            return new ListValue(EquatableArray.From(items), Loc(open.Start, prevEnd));
        }

        /// <summary>
        /// Newlines are insignificant inside brackets, except that a line that reads like the next assignment
        /// (<c>name =</c>) means the list was never closed: report the missing ']' there and resume at that line.
        /// </summary>
        private bool SkipNewlinesInList()
        {
            if (Is(TokenKind.Newline) && LooksLikeAssignmentAhead(pos))
            {
                Error("']'", Current);
                nesting = 0;
                return false;
            }
            SkipNewlines();
            return true;
        }

        // --- lookahead helpers ----------------------------------------------------------------------------------

        /// <summary>Newlines, then IDENT ('.' IDENT)* '='.</summary>
        private bool LooksLikeAssignmentAhead(int i)
        {
            while (PeekAt(i).Kind == TokenKind.Newline) i++;
            if (!IsPlainIdentifier(PeekAt(i))) return false;
            i++;
            while (PeekAt(i).Kind == TokenKind.Dot && IsPlainIdentifier(PeekAt(i + 1))) i += 2;
            return PeekAt(i).Kind == TokenKind.Equals;
        }

        /// <summary>'arch' NAME, 'sweep' NAME or 'import' STRING: a keyword that cannot be a field name here.</summary>
        private bool LooksLikeDeclarationStart(int i)
        {
            var t = PeekAt(i);
            var next = PeekAt(i + 1);
            if (IsKeyword(t, "arch") || IsKeyword(t, "sweep")) return next.Kind == TokenKind.Identifier;
            if (IsKeyword(t, "import")) return next.Kind == TokenKind.String || next.Kind == TokenKind.UnterminatedString;
            return false;
        }

        private bool AtLineStart(int i) => i == 0 || tokens[i - 1].Kind == TokenKind.Newline;

        private static bool IsKeyword(Token t, string keyword) => t.Kind == TokenKind.Identifier && t.Text == keyword;

        private static bool IsDeclarationKeyword(Token t) => IsKeyword(t, "arch") || IsKeyword(t, "sweep") || IsKeyword(t, "import");

        private static bool IsReserved(string word) => word == "arch" || word == "sweep" || word == "import" || word == "true" || word == "false";

        private static bool IsPlainIdentifier(Token t) => t.Kind == TokenKind.Identifier && !IsReserved(t.Text);

        private static bool TryParseLong(string s, out long value) =>
            long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

        // --- diagnostics ----------------------------------------------------------------------------------------

        private void Error(string expected, Token found) =>
            Report(expected, Lexer.Describe(found), Loc(found.Start, found.End));

        private void LiteralError(string expected, Token found)
        {
            literalError = true;
            Error(expected, found);
        }

        private void Report(string expected, string found, SourceLocation location) =>
            diagnostics.Add(DiagnosticCatalog.SyntaxError.Create(location, expected, found));

        private SourceLocation Loc(int start, int end) => lines.Location(path, start, end);
    }

    /// <summary>Offset to line/column, with the same convention as <see cref="SourceLocation.PositionOf"/> but O(log n).</summary>
    internal sealed class LineMap
    {
        private readonly string text;
        private readonly List<int> lineStarts = new List<int> { 0 };
        /// <summary>crBefore[i] = number of '\r' in text[0..i): columns do not count them (as PositionOf).</summary>
        private readonly int[] crBefore;

        public LineMap(string text)
        {
            this.text = text;
            crBefore = new int[text.Length + 1];
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '\n') lineStarts.Add(i + 1);
                crBefore[i + 1] = crBefore[i] + (text[i] == '\r' ? 1 : 0);
            }
        }

        public SourceLocation Location(string path, int start, int end)
        {
            start = Math.Max(0, Math.Min(start, text.Length));
            end = Math.Max(start, Math.Min(end, text.Length));
            return new SourceLocation(path, start, end - start, Position(start), Position(end));
        }

        public LinePos Position(int offset)
        {
            int line = lineStarts.BinarySearch(offset);
            if (line < 0) line = ~line - 1;
            int lineStart = lineStarts[line];
            return new LinePos(line, offset - lineStart - (crBefore[offset] - crBefore[lineStart]));
        }
    }
}
