using System.Linq;
using Torchwright.Dsl.Syntax;
using Torchwright.Dsl.Tests.Fuzz;
using Xunit;
using static Torchwright.Dsl.Tests.Syntax.ParseHelpers;

namespace Torchwright.Dsl.Tests.Syntax
{
    public class ParserTests
    {
        [Fact]
        public void Sample_parses_without_diagnostics()
        {
            var file = ParseClean(ArchCorpus.Sample);
            Assert.Equal(Path, file.Path);
            Assert.Equal(new[] { "ResNet50", "BotNet50" }, file.Archs.Select(a => a.Name));
            Assert.Equal("../resnet50.arch", Assert.Single(file.Imports).Path);
            var sweep = Assert.Single(file.Sweeps);
            Assert.Equal(("BotC5Placement", "BotNet50"), (sweep.Name, sweep.Base));

            var resnet = file.Archs[0];
            Assert.Null(resnet.Base);
            Assert.True(resnet.BaseLocation.IsNone);
            Assert.Equal(new[] { "input", "classes", "stem", "stem_width", "block", "depths", "widths", "outs", "strides", "shortcut" },
                         resnet.Fields.Select(f => f.Path));
            Assert.Equal("[64,128,256,512]", Field(resnet, "widths").Values.Single().ToText());

            var bot = file.Archs[1];
            Assert.Equal("ResNet50", bot.Base);
            Assert.Equal(new[] { "c5.mhsa", "c5.heads" }, bot.Fields.Select(f => f.Path));

            Assert.Equal(new[] { "c5.mhsa", "width", "layer_scale" }, sweep.Axes.Select(a => a.Path));
            Assert.Equal(new[] { "[0,0,0]", "[0,0,1]", "[0,1,1]", "[1,1,1]" }, sweep.Axes[0].Values.Select(v => v.ToText()));
            Assert.Equal(new[] { 0.5, 1.0 }, sweep.Axes[1].Values.Cast<FloatValue>().Select(v => v.Value));
            Assert.Equal(0.01, Assert.IsType<FloatValue>(sweep.Axes[2].Values.Single()).Value);
        }

        [Fact]
        public void Every_value_kind_with_its_exact_location()
        {
            const string text =
                "arch A {\n" +
                "  i = 64\n" +            // line 1
                "  n = -3\n" +            // line 2
                "  f = 0.25\n" +          // line 3
                "  e = -1.5e-3\n" +       // line 4
                "  g = 1e2\n" +           // line 5
                "  t = true\n" +          // line 6
                "  u = false\n" +         // line 7
                "  w = bottleneck\n" +    // line 8
                "  d = 3x224x224\n" +     // line 9
                "  l = [1, [2, 3], []]\n" + // line 10
                "}\n";
            var file = ParseClean(text);
            var a = file.Archs.Single();

            var i = Assert.IsType<IntValue>(Field(a, "i").Values.Single());
            Assert.Equal(64, i.Value);
            AssertAt(i.Location, 1, 6, 2);

            var n = Assert.IsType<IntValue>(Field(a, "n").Values.Single());
            Assert.Equal(-3, n.Value);
            AssertAt(n.Location, 2, 6, 2);

            var f = Assert.IsType<FloatValue>(Field(a, "f").Values.Single());
            Assert.Equal(0.25, f.Value);
            AssertAt(f.Location, 3, 6, 4);

            var e = Assert.IsType<FloatValue>(Field(a, "e").Values.Single());
            Assert.Equal(-1.5e-3, e.Value);
            AssertAt(e.Location, 4, 6, 7);

            var g = Assert.IsType<FloatValue>(Field(a, "g").Values.Single());
            Assert.Equal(100.0, g.Value);
            AssertAt(g.Location, 5, 6, 3);

            var t = Assert.IsType<BoolValue>(Field(a, "t").Values.Single());
            Assert.True(t.Value);
            AssertAt(t.Location, 6, 6, 4);
            var u = Assert.IsType<BoolValue>(Field(a, "u").Values.Single());
            Assert.False(u.Value);
            AssertAt(u.Location, 7, 6, 5);

            var w = Assert.IsType<WordValue>(Field(a, "w").Values.Single());
            Assert.Equal("bottleneck", w.Word);
            AssertAt(w.Location, 8, 6, 10);

            var d = Assert.IsType<DimsValue>(Field(a, "d").Values.Single());
            Assert.Equal(new long[] { 3, 224, 224 }, d.Dims.ToArray());
            AssertAt(d.Location, 9, 6, 9);

            var l = Assert.IsType<ListValue>(Field(a, "l").Values.Single());
            AssertAt(l.Location, 10, 6, 15);
            Assert.Equal("[1, [2, 3], []]", Slice(text, l.Location));
            Assert.Equal(3, l.Items.Count);
            AssertAt(l.Items[0].Location, 10, 7, 1);
            var inner = Assert.IsType<ListValue>(l.Items[1]);
            AssertAt(inner.Location, 10, 10, 6);
            AssertAt(inner.Items[1].Location, 10, 14, 1);
            var empty = Assert.IsType<ListValue>(l.Items[2]);
            Assert.Empty(empty.Items);
            AssertAt(empty.Location, 10, 18, 2);
        }

        [Fact]
        public void Declaration_and_field_locations()
        {
            const string text = "arch BotNet50 : ResNet50 {\n  c5.mhsa  = [1, 1, 1]; c5.heads = 4\n}\n";
            var a = ParseClean(text).Archs.Single();
            AssertAt(a.NameLocation, 0, 5, 8);
            AssertAt(a.BaseLocation, 0, 16, 8);
            AssertAt(a.Location, 0, 0, text.Length - 1);
            Assert.Equal((2, 1), (a.Location.EndPos.Line, a.Location.EndPos.Column));

            var mhsa = Field(a, "c5.mhsa");
            AssertAt(mhsa.PathLocation, 1, 2, 7);
            AssertAt(mhsa.Location, 1, 2, "c5.mhsa  = [1, 1, 1]".Length);
            var heads = Field(a, "c5.heads");
            AssertAt(heads.PathLocation, 1, 24, 8);
            Assert.Equal("c5.heads = 4", Slice(text, heads.Location));
        }

        [Fact]
        public void Large_and_extreme_literals()
        {
            var a = ParseClean("arch A { a = 9223372036854775807; b = -9223372036854775808; c = 007; d = 1x-2; e = 1e-400; f = 2E+3 }").Archs.Single();
            Assert.Equal(long.MaxValue, ((IntValue)Field(a, "a").Values[0]).Value);
            Assert.Equal(long.MinValue, ((IntValue)Field(a, "b").Values[0]).Value);
            Assert.Equal(7, ((IntValue)Field(a, "c").Values[0]).Value);
            Assert.Equal(new long[] { 1, -2 }, ((DimsValue)Field(a, "d").Values[0]).Dims.ToArray());
            Assert.Equal(0.0, ((FloatValue)Field(a, "e").Values[0]).Value);
            Assert.Equal(2000.0, ((FloatValue)Field(a, "f").Values[0]).Value);
        }

        [Fact]
        public void Lists_span_lines_and_allow_a_trailing_comma()
        {
            const string text = "arch A {\n  depths = [\n    3, 4,  # early\n    6, 3,\n  ]\n  x = 1\n}";
            var a = ParseClean(text).Archs.Single();
            var depths = Assert.IsType<ListValue>(Field(a, "depths").Values.Single());
            Assert.Equal("[3,4,6,3]", depths.ToText());
            AssertAt(depths.Location, 1, 11, text.IndexOf(']') - text.IndexOf('[') + 1);
            Assert.Equal(new LinePosTuple(4, 3), new LinePosTuple(depths.Location.EndPos.Line, depths.Location.EndPos.Column));
            Assert.Equal(new[] { "depths", "x" }, a.Fields.Select(f => f.Path));
        }

        private readonly record struct LinePosTuple(int Line, int Column);

        [Fact]
        public void Sweep_axes_continue_after_a_trailing_comma()
        {
            const string text =
                "sweep S : Base {\n" +
                "  c5.mhsa = [0, 0, 0], [0, 0, 1],\n" +
                "            [0, 1, 1],\n" +
                "\n" +
                "            [1, 1, 1]\n" +
                "  width = 0.5, 1.0; depth = 2\n" +
                "}";
            var s = ParseClean(text).Sweeps.Single();
            AssertAt(s.NameLocation, 0, 6, 1);
            AssertAt(s.BaseLocation, 0, 10, 4);
            var mhsa = s.Axes[0];
            Assert.Equal(4, mhsa.Values.Count);
            AssertAt(mhsa.Values[3].Location, 4, 12, 9);
            AssertAt(mhsa.Location, 1, 2, text.IndexOf("[1, 1, 1]") + 9 - text.IndexOf("c5.mhsa"));
            Assert.Equal((4, 21), (mhsa.Location.EndPos.Line, mhsa.Location.EndPos.Column));
            Assert.Equal(new[] { "0.5", "1.0" }, s.Axes[1].Values.Select(v => v.ToText()));
            Assert.Equal("depth = 2", Slice(text, s.Axes[2].Location));
            AssertAt(s.Location, 0, 0, text.Length);
        }

        [Fact]
        public void Imports_record_the_path_and_its_literal()
        {
            const string text = "# zoo\nimport \"../resnet50.arch\"\nimport \"van.arch\"; import \"a b\\\\c.arch\"\n";
            var file = ParseClean(text);
            Assert.Equal(new[] { "../resnet50.arch", "van.arch", "a b\\\\c.arch" }, file.Imports.Select(i => i.Path));
            AssertAt(file.Imports[0].Location, 1, 7, 18);
            Assert.Equal("\"van.arch\"", Slice(text, file.Imports[1].Location));
        }

        [Fact]
        public void Comments_and_blank_lines_are_ignored_everywhere()
        {
            const string text =
                "# header\n\n" +
                "arch A : B # base\n" +
                "{ # brace on its own line\n" +
                "  # a comment line\n" +
                "  w = [1, # inside a list\n" +
                "       2] # after\n" +
                "  s = x\n" +
                "}# trailing\n# eof comment";
            var a = ParseClean(text).Archs.Single();
            Assert.Equal("B", a.Base);
            Assert.Equal("[1,2]", Field(a, "w").Values.Single().ToText());
            Assert.Equal("x", Field(a, "s").Values.Single().ToText());
        }

        [Fact]
        public void Crlf_line_endings_give_the_same_columns()
        {
            const string lf = "arch A {\n  depths = [3,\n    4]\n}\n";
            var a1 = ParseClean(lf).Archs.Single();
            var a2 = ParseClean(lf.Replace("\n", "\r\n")).Archs.Single();
            var l1 = Field(a1, "depths").Values[0].Location;
            var l2 = Field(a2, "depths").Values[0].Location;
            Assert.Equal((l1.StartPos, l1.EndPos), (l2.StartPos, l2.EndPos));
        }

        [Fact]
        public void Empty_and_whitespace_files_are_empty()
        {
            foreach (var text in new[] { "", "\n\n", "# only a comment", "  \t\r\n", "\ufeffarch A {}" })
            {
                var (file, diagnostics) = Parse(text);
                Assert.Empty(diagnostics);
                Assert.Empty(file.Sweeps);
            }
        }

        [Fact]
        public void Nesting_up_to_the_limit_is_accepted()
        {
            int depth = ArchParser.MaxListDepth;
            var text = "arch A { x = " + new string('[', depth) + "1" + new string(']', depth) + " }";
            var v = ParseClean(text).Archs.Single().Fields.Single().Values.Single();
            for (int i = 0; i < depth; i++) v = Assert.Single(Assert.IsType<ListValue>(v).Items);
            Assert.IsType<IntValue>(v);
        }

        [Fact]
        public void Equal_inputs_give_equal_trees()
        {
            var a = ParseClean(ArchCorpus.Sample);
            var b = ParseClean(ArchCorpus.Sample);
            Assert.Equal(a, b);
            Assert.Equal(a.GetHashCode(), b.GetHashCode());
        }

        [Fact]
        public void Null_arguments_do_not_throw()
        {
            var file = ArchParser.Parse(null!, null!, null!);
            Assert.Empty(file.Archs);
        }
    }
}
