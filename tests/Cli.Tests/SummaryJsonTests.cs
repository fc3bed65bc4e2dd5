using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>`summary --format json`: the zoo's reference numbers and the JSON contract other tools read.</summary>
    public class SummaryJsonTests
    {
        public static readonly string[] ZooFiles =
        {
            "resnet50.arch", "botnet50.arch", "resnest50.arch", "van.arch", "cotnet50.arch", "rest.arch",
        };

        private static JsonElement[] SummaryJson(params string[] args)
        {
            var r = CliRunner.Run(new[] { "summary" }.Concat(args).Concat(new[] { "--format", "json" }).ToArray());
            Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.Error}");
            using var doc = JsonDocument.Parse(r.Out);
            Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
            return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToArray();
        }

        private static readonly Lazy<Dictionary<string, JsonElement>> Zoo = new Lazy<Dictionary<string, JsonElement>>(() =>
            ZooFiles.SelectMany(f => SummaryJson(CliRunner.Arch(f))).ToDictionary(e => e.GetProperty("name").GetString()!, e => e));

        [Theory]
        [InlineData("ResNet50", 25_557_032)]
        [InlineData("BotNet50", 20_852_008)]
        [InlineData("ResNeSt50", 27_483_240)]
        [InlineData("VanB0", 4_105_800)]
        [InlineData("VanB1", 13_861_800)]
        [InlineData("CotNet50", 22_222_416)]
        [InlineData("ResTLite", 10_508_300)]
        [InlineData("ResTSmall", 13_679_708)]
        [InlineData("ResTLitePaperStem", 10_489_196)]
        [InlineData("ResTSmallPaperStem", 13_660_604)]
        public void Parameter_counts_match_the_references_exactly(string name, long expected)
        {
            Assert.True(Zoo.Value.ContainsKey(name), $"{name} missing; got {string.Join(", ", Zoo.Value.Keys)}");
            Assert.Equal(expected, Zoo.Value[name].GetProperty("params").GetInt64());
        }

        [Theory]
        [InlineData("ResNet50", 4.089e9)]
        [InlineData("BotNet50", 4.025e9)]
        [InlineData("ResNeSt50", 5.37e9)]
        [InlineData("VanB0", 0.864e9)]
        [InlineData("VanB1", 2.495e9)]
        [InlineData("CotNet50", 3.24e9)]
        [InlineData("ResTLitePaperStem", 1.47e9)]
        [InlineData("ResTSmallPaperStem", 2.03e9)]
        public void Macs_are_within_one_percent_of_the_references(string name, double expected)
        {
            long macs = Zoo.Value[name].GetProperty("macs").GetInt64();
            Assert.InRange(macs, expected * 0.99, expected * 1.01);
        }

        /// <summary>
        /// ResT's paper prints conv+linear GFLOPs with one decimal (1.4 / 1.9). Lite lands within 1.5 %
        /// (1.392 G). Small is 1.932 G: +1.7 % from 1.9 but the same figure at the paper's precision; its
        /// attention share (95.0 M = q·kᵀ + A·v + head mixing, recomputed by hand) and its total (2.027 G vs
        /// the 2.03 G recount) both agree, so the residue is the paper's rounding, not a miscount.
        /// </summary>
        [Theory]
        [InlineData("ResTLitePaperStem", 1.4e9, 0.015)]
        [InlineData("ResTSmallPaperStem", 1.9e9, 0.02)]
        public void Macs_without_attention_match_the_papers_conv_and_linear_figure(string name, double expected, double tolerance)
        {
            long macs = Zoo.Value[name].GetProperty("macs_without_attention").GetInt64();
            Assert.InRange(macs, expected * (1 - tolerance), expected * (1 + tolerance));
            Assert.Equal(expected / 1e9, Math.Round(macs / 1e9, 1));
        }

        [Fact]
        public void Every_object_follows_the_contract()
        {
            var all = Zoo.Value.Values.Concat(SummaryJson(CliRunner.Arch("sweeps/bot-c5-placement.arch"))).ToList();
            Assert.NotEmpty(all);
            foreach (var a in all)
            {
                Assert.Equal(JsonValueKind.Object, a.ValueKind);
                Assert.Equal(new[] { "input", "layers", "macs", "macs_without_attention", "name", "params" },
                    a.EnumerateObject().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
                Assert.Equal(JsonValueKind.String, a.GetProperty("name").ValueKind);
                AssertShape(a.GetProperty("input"));
                long parameters = Integer(a.GetProperty("params"));
                long macs = Integer(a.GetProperty("macs"));
                long withoutAttention = Integer(a.GetProperty("macs_without_attention"));
                Assert.InRange(withoutAttention, 0, macs);

                var layers = a.GetProperty("layers");
                Assert.Equal(JsonValueKind.Array, layers.ValueKind);
                Assert.True(layers.GetArrayLength() > 0);
                long sumParams = 0, sumMacs = 0;
                foreach (var l in layers.EnumerateArray())
                {
                    Assert.Equal(new[] { "kind", "macs", "output", "params", "path" },
                        l.EnumerateObject().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
                    Assert.False(string.IsNullOrEmpty(l.GetProperty("path").GetString()));
                    Assert.False(string.IsNullOrEmpty(l.GetProperty("kind").GetString()));
                    AssertShape(l.GetProperty("output"));
                    sumParams += Integer(l.GetProperty("params"));
                    sumMacs += Integer(l.GetProperty("macs"));
                }
                Assert.Equal(parameters, sumParams);
                Assert.Equal(macs, sumMacs);
            }
        }

        [Fact]
        public void Input_and_output_shapes_are_reported()
        {
            var r50 = Zoo.Value["ResNet50"];
            Assert.Equal(new long[] { 3, 224, 224 }, r50.GetProperty("input").EnumerateArray().Select(e => e.GetInt64()));
            var layers = r50.GetProperty("layers").EnumerateArray().ToList();
            Assert.Equal("conv1", layers[0].GetProperty("path").GetString());
            Assert.Equal(new long[] { 64, 112, 112 }, layers[0].GetProperty("output").EnumerateArray().Select(e => e.GetInt64()));
            Assert.Equal("fc", layers[^1].GetProperty("path").GetString());
            Assert.Equal(new long[] { 1000, 1, 1 }, layers[^1].GetProperty("output").EnumerateArray().Select(e => e.GetInt64()));
        }

        [Fact]
        public void Only_architectures_declared_in_the_named_file_are_reported()
        {
            // botnet50.arch imports resnet50.arch; ResNet50 is not part of its summary.
            var names = SummaryJson(CliRunner.Arch("botnet50.arch")).Select(e => e.GetProperty("name").GetString()).ToList();
            Assert.Equal(new[] { "BotNet50", "BotNet50_011" }, names);
        }

        [Fact]
        public void Sweep_variants_are_listed_by_their_stable_names()
        {
            var variants = SummaryJson(CliRunner.Arch("sweeps/bot-c5-placement.arch"));
            Assert.Equal(new[]
            {
                "BotC5Placement/c5.mhsa=[0,0,0]", "BotC5Placement/c5.mhsa=[0,0,1]",
                "BotC5Placement/c5.mhsa=[0,1,1]", "BotC5Placement/c5.mhsa=[1,1,1]",
            }, variants.Select(v => v.GetProperty("name").GetString()));
            Assert.Equal(25_557_032, variants[0].GetProperty("params").GetInt64());
            Assert.Equal(20_852_008, variants[3].GetProperty("params").GetInt64());
            Assert.Equal(0, variants[0].GetProperty("macs").GetInt64() - variants[0].GetProperty("macs_without_attention").GetInt64());
        }

        [Fact]
        public void Name_selects_one_architecture_or_variant()
        {
            var one = SummaryJson(CliRunner.Arch("botnet50.arch"), "--name", "BotNet50_011");
            Assert.Equal("BotNet50_011", Assert.Single(one).GetProperty("name").GetString());

            var variant = SummaryJson(CliRunner.Arch("sweeps/bot-c5-placement.arch"), "--name", "BotC5Placement/c5.mhsa=[0,1,1]");
            Assert.Equal(22_417_960, Assert.Single(variant).GetProperty("params").GetInt64());
        }

        [Fact]
        public void Unknown_name_is_a_usage_error_listing_what_exists()
        {
            var r = CliRunner.Run("summary", CliRunner.Arch("botnet50.arch"), "--name", "BotNet51", "--format", "json");
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("BotNet51", r.Error);
            Assert.Contains("BotNet50_011", r.Error);
            Assert.Equal("", r.Out);
        }

        private static long Integer(JsonElement e)
        {
            Assert.Equal(JsonValueKind.Number, e.ValueKind);
            Assert.True(e.TryGetInt64(out var v), $"{e.GetRawText()} is not an integer");
            Assert.DoesNotContain(".", e.GetRawText());
            Assert.DoesNotContain("e", e.GetRawText().ToLowerInvariant());
            return v;
        }

        private static void AssertShape(JsonElement e)
        {
            Assert.Equal(JsonValueKind.Array, e.ValueKind);
            Assert.Equal(3, e.GetArrayLength());
            foreach (var d in e.EnumerateArray()) Assert.True(Integer(d) >= 0);
        }
    }
}
