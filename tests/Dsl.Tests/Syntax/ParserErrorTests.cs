using System.Linq;
using Torchwright.Dsl.Syntax;
using Xunit;
using static Torchwright.Dsl.Tests.Syntax.ParseHelpers;

namespace Torchwright.Dsl.Tests.Syntax
{
    /// <summary>Each test pins the exact TW0001 diagnostics: "line,col+length ID message" (zero-based line and column).</summary>
    public class ParserErrorTests
    {
        private static void AssertDiagnostics(string text, params string[] expected)
        {
            var (_, diagnostics) = Parse(text);
            Assert.Equal(string.Join("\n", expected), Render(diagnostics));
            Assert.All(diagnostics, d => Assert.True(d.IsError));
        }

        [Fact]
        public void Several_errors_are_reported_and_good_fields_are_kept()
        {
            const string text =
                "arch A {\n" +
                "  width 64\n" +              // missing '='
                "  depths = [3, 4 6]\n" +     // missing ','
                "  heads = 4\n" +             // fine
                "  stem = = resnet\n" +       // value expected
                "  block = bottleneck, basic\n" + // second value in an arch
                "  classes = 1000\n" +        // fine
                "}\n";
            var (file, diagnostics) = Parse(text);
            Assert.Equal(
                "1,8+2 TW0001 Syntax error: expected '=' but found '64'\n" +
                "2,17+1 TW0001 Syntax error: expected ',' or ']' but found '6'\n" +
                "4,9+1 TW0001 Syntax error: expected a value but found '='\n" +
                "5,20+1 TW0001 Syntax error: expected end of line but found ','",
                Render(diagnostics));
            Assert.Equal(new[] { "heads", "classes" }, file.Archs.Single().Fields.Select(f => f.Path));
        }

        [Fact]
        public void Missing_value_at_end_of_line_and_end_of_file()
        {
            AssertDiagnostics("arch A {\n  width =   # todo\n}",
                "1,18+0 TW0001 Syntax error: expected a value but found end of line");
            AssertDiagnostics("arch A {\n  width =",
                "1,9+0 TW0001 Syntax error: expected a value but found end of file",
                "1,9+0 TW0001 Syntax error: expected '}' but found end of file");
        }

        [Fact]
        public void Missing_brace_before_the_next_declaration_is_reported_there()
        {
            const string text = "arch A {\n  width = 1\narch B : A {\n  width = 2\n}\n";
            var (file, diagnostics) = Parse(text);
            Assert.Equal("2,0+4 TW0001 Syntax error: expected '}' but found 'arch'", Render(diagnostics));
            Assert.Equal(new[] { "A", "B" }, file.Archs.Select(a => a.Name));
            Assert.Equal("arch A {\n  width = 1", Slice(text, file.Archs[0].Location));
        }

        [Fact]
        public void Unclosed_list_is_reported_at_the_line_end_and_the_next_field_still_parses()
        {
            const string text = "arch A {\n  depths = [3, 4, 6, 3\n  widths = [64, 128]\n}";
            var (file, diagnostics) = Parse(text);
            Assert.Equal("1,22+0 TW0001 Syntax error: expected ']' but found end of line", Render(diagnostics));
            Assert.Equal(new[] { "widths" }, file.Archs.Single().Fields.Select(f => f.Path));
        }

        [Fact]
        public void Unclosed_list_at_the_closing_brace()
        {
            AssertDiagnostics("arch A { d = [1, 2 }\narch B { }",
                "0,19+1 TW0001 Syntax error: expected ',' or ']' but found '}'");
        }

        [Fact]
        public void Integers_must_fit_in_64_bits()
        {
            const string text = "arch A {\n  a = 9223372036854775808\n  b = [1, -99999999999999999999, 123456789012345678901234567890]\n  c = 3x99999999999999999999\n  d = 5\n}";
            var (file, diagnostics) = Parse(text);
            Assert.Equal(
                "1,6+19 TW0001 Syntax error: expected an integer that fits in 64 bits but found '9223372036854775808'\n" +
                "2,10+21 TW0001 Syntax error: expected an integer that fits in 64 bits but found '-99999999999999999999'\n" +
                "2,33+30 TW0001 Syntax error: expected an integer that fits in 64 bits but found '123456789012345678901234567890'\n" +
                "3,6+22 TW0001 Syntax error: expected an integer that fits in 64 bits but found '3x99999999999999999999'",
                Render(diagnostics));
            Assert.Equal(new[] { "d" }, file.Archs.Single().Fields.Select(f => f.Path));
        }

        [Fact]
        public void Floats_must_be_finite_and_numbers_well_formed()
        {
            AssertDiagnostics("arch A {\n  a = 1e999\n  b = 64k\n  c = 3x\n  d = 1.5.3\n}",
                "1,6+5 TW0001 Syntax error: expected a number within the range of a 64-bit float but found '1e999'",
                "2,6+3 TW0001 Syntax error: expected a number (an integer, a decimal such as 0.5 or 1e-2, or a shape such as 3x224x224) but found '64k'",
                "3,6+2 TW0001 Syntax error: expected a number (an integer, a decimal such as 0.5 or 1e-2, or a shape such as 3x224x224) but found '3x'",
                "4,6+5 TW0001 Syntax error: expected a number (an integer, a decimal such as 0.5 or 1e-2, or a shape such as 3x224x224) but found '1.5.3'");
        }

        [Fact]
        public void Decimal_points_need_digits_on_both_sides_and_shapes_no_spaces()
        {
            AssertDiagnostics("arch A {\n  a = 1.\n  b = .5\n  c = 3 x 224\n}",
                "1,7+1 TW0001 Syntax error: expected end of line but found '.'",
                "2,6+1 TW0001 Syntax error: expected a value but found '.'",
                "3,8+1 TW0001 Syntax error: expected end of line but found 'x'");
        }

        [Fact]
        public void Nesting_deeper_than_the_limit_is_an_error_and_parsing_resumes()
        {
            int depth = ArchParser.MaxListDepth + 1;
            var text = "arch A {\n  x = " + new string('[', depth) + new string(']', depth) + "\n  y = 1\n}";
            var (file, diagnostics) = Parse(text);
            Assert.Equal($"1,{6 + depth - 1}+1 TW0001 Syntax error: expected lists nested at most 32 deep but found '['", Render(diagnostics));
            Assert.Equal(new[] { "y" }, file.Archs.Single().Fields.Select(f => f.Path));
        }

        [Fact]
        public void Very_deep_nesting_neither_throws_nor_recurses()
        {
            var text = "arch A { x = " + new string('[', 200_000) + "\n}";
            var (_, diagnostics) = Parse(text);
            Assert.Equal("TW0001", Assert.Single(diagnostics).Id);
        }

        [Fact]
        public void Header_errors_drop_the_declaration_but_check_its_body()
        {
            const string text =
                "arch {\n  a = [\n}\n" +          // no name; body error still reported
                "sweep S {\n  w = 1, 2\n}\n" +    // sweep without a base
                "arch C : {\n}\n" +               // base missing
                "arch D E {\n  x = 1\n}\n" +       // junk before '{'
                "arch F { ok = 1 }\n";
            var (file, diagnostics) = Parse(text);
            Assert.Equal(
                "0,5+1 TW0001 Syntax error: expected an architecture name but found '{'\n" +
                "2,0+1 TW0001 Syntax error: expected a value but found '}'\n" +
                "3,8+1 TW0001 Syntax error: expected ':' and the architecture to sweep over but found '{'\n" +
                "6,9+1 TW0001 Syntax error: expected the name of the base architecture but found '{'\n" +
                "8,7+1 TW0001 Syntax error: expected '{' but found 'E'",
                Render(diagnostics));
            Assert.Equal(new[] { "F" }, file.Archs.Select(a => a.Name));
            Assert.Empty(file.Sweeps);
        }

        [Fact]
        public void Keywords_are_reserved()
        {
            AssertDiagnostics("arch true {}\narch A { true = 1; x = arch; import = 2 }",
                "0,5+4 TW0001 Syntax error: expected an architecture name but found 'true'",
                "1,9+4 TW0001 Syntax error: expected a field name but found 'true'",
                "1,23+4 TW0001 Syntax error: expected a value but found 'arch'",
                "1,29+6 TW0001 Syntax error: expected a field name but found 'import'");
        }

        [Fact]
        public void Top_level_junk_is_skipped_to_the_next_declaration()
        {
            const string text = "width = 3\n}\nresnet { a = 1 }\narch A { a = 1 }\n";
            var (file, diagnostics) = Parse(text);
            Assert.Equal("0,0+5 TW0001 Syntax error: expected 'arch', 'sweep' or 'import' but found 'width'", Render(diagnostics));
            Assert.Equal("A", file.Archs.Single().Name);
        }

        [Fact]
        public void Import_errors()
        {
            AssertDiagnostics("import resnet.arch\nimport \"a.arch\" x\nimport \"open\narch A {}",
                "0,7+6 TW0001 Syntax error: expected a quoted path such as \"resnet50.arch\" but found 'resnet'",
                "1,16+1 TW0001 Syntax error: expected end of line but found 'x'",
                "2,12+0 TW0001 Syntax error: expected '\"' but found end of line");
            AssertDiagnostics("import \"open",
                "0,12+0 TW0001 Syntax error: expected '\"' but found end of file");
        }

        [Fact]
        public void Bad_characters_are_named_by_code_point()
        {
            AssertDiagnostics("arch A {\n  a = \0\n  b = @\n  w\u00e9 = 1\n  c = 1 \ud83d\ude00\n}",
                "1,6+1 TW0001 Syntax error: expected a value but found character U+0000",
                "2,6+1 TW0001 Syntax error: expected a value but found '@'",
                "3,3+1 TW0001 Syntax error: expected '=' but found '\u00e9' (U+00E9)",
                "4,8+2 TW0001 Syntax error: expected end of line but found '\ud83d\ude00' (U+1F600)");
        }

        [Fact]
        public void Sweep_axis_errors()
        {
            const string text = "sweep S : A {\n  w = 1, , 2\n  d = 1, 2\n  e = 3 4\n  f = 5,\n}";
            var (file, diagnostics) = Parse(text);
            Assert.Equal(
                "1,9+1 TW0001 Syntax error: expected a value but found ','\n" +
                "3,8+1 TW0001 Syntax error: expected ',' or end of line but found '4'\n" +
                "5,0+1 TW0001 Syntax error: expected a value but found '}'",
                Render(diagnostics));
            Assert.Equal(new[] { "d" }, file.Sweeps.Single().Axes.Select(a => a.Path));
        }

        [Fact]
        public void Trailing_comma_then_next_field_in_a_sweep()
        {
            const string text = "sweep S : A {\n  d = 1, 2,\n  e = 3\n}";
            var (file, diagnostics) = Parse(text);
            Assert.Equal("1,11+0 TW0001 Syntax error: expected a value but found end of line", Render(diagnostics));
            Assert.Equal(new[] { "e" }, file.Sweeps.Single().Axes.Select(a => a.Path));
        }

        [Fact]
        public void Long_tokens_are_shortened_in_messages()
        {
            var word = new string('a', 100);
            var (_, diagnostics) = Parse("arch A { x = 1 " + word + " }");
            var d = Assert.Single(diagnostics);
            Assert.Equal("Syntax error: expected end of line but found '" + new string('a', 37) + "...'", d.Message);
            Assert.Equal(100, d.Location.Length);
        }
    }
}
