using System;
using System.Linq;
using System.Text;
using System.Text.Json;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Model;
using Xunit;

namespace Torchwright.Dsl.Tests
{
    /// <summary>The architecture spec that the PyTorch reference builder (and `torchwright bench`) reads.</summary>
    public class ArchSpecJsonTests
    {
        private static ArchitectureIR Compile(string text, string name)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("spec.arch", text) });
            Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
            return result.Architectures.Single(a => a.Name == name).Ir;
        }

        [Fact]
        public void A_small_BoT_network_is_written_exactly()
        {
            const string arch = @"
arch Tiny {
  input      = 3x64x64
  classes    = 10
  stem       = resnet
  stem_width = 16
  block      = bottleneck
  depths     = [1, 2]
  widths     = [8, 16]
  outs       = [32, 64]
  strides    = [1, 2]
  c3.mhsa    = [1, 1]
  c3.heads   = 2
}";
            // The strided BoT block attends over its 16x16 input map, the second over 8x8: the builder sizes the
            // relative-position tables from "input".
            const string expected = @"{
  ""spec_version"": 2,
  ""name"": ""Tiny"",
  ""family"": ""resnet"",
  ""input"": [3, 64, 64],
  ""input_declared"": true,
  ""stem"": ""resnet"",
  ""stem_width"": 16,
  ""stem_widths"": [16],
  ""stem_activation"": ""relu"",
  ""classes"": 10,
  ""params"": 13082,
  ""macs"": 6003328,
  ""macs_without_attention"": 3490432,
  ""stages"": [
    {
      ""index"": 0,
      ""name"": ""c2"",
      ""in_channels"": 16,
      ""out_channels"": 32,
      ""stride"": 1,
      ""patch_kernel"": 0,
      ""output"": [32, 16, 16],
      ""blocks"": [
        {""kind"": ""Bottleneck"", ""in_channels"": 16, ""width"": 8, ""out_channels"": 32, ""stride"": 1, ""cardinality"": 1, ""activation"": ""relu"", ""attention"": ""none"", ""attention_channels"": 0, ""attention_kernel"": 0, ""attention_at"": ""out"", ""dilation"": 1, ""shortcut"": ""conv"", ""input"": [16, 16, 16], ""output"": [32, 16, 16]}
      ]
    },
    {
      ""index"": 1,
      ""name"": ""c3"",
      ""in_channels"": 32,
      ""out_channels"": 64,
      ""stride"": 2,
      ""patch_kernel"": 0,
      ""output"": [64, 8, 8],
      ""blocks"": [
        {""kind"": ""BotBottleneck"", ""in_channels"": 32, ""width"": 16, ""out_channels"": 64, ""stride"": 2, ""heads"": 2, ""qk_head_dim"": 8, ""activation"": ""relu"", ""attention"": ""none"", ""attention_channels"": 0, ""attention_kernel"": 0, ""attention_at"": ""out"", ""dilation"": 1, ""shortcut"": ""conv"", ""input"": [32, 16, 16], ""output"": [64, 8, 8]},
        {""kind"": ""BotBottleneck"", ""in_channels"": 64, ""width"": 16, ""out_channels"": 64, ""stride"": 1, ""heads"": 2, ""qk_head_dim"": 8, ""activation"": ""relu"", ""attention"": ""none"", ""attention_channels"": 0, ""attention_kernel"": 0, ""attention_at"": ""out"", ""dilation"": 1, ""shortcut"": ""conv"", ""input"": [64, 8, 8], ""output"": [64, 8, 8]}
      ]
    }
  ]
}
";
            Assert.Equal(expected.Replace("\r\n", "\n"), ArchSpecJson.Write(Compile(arch, "Tiny")));
        }

        [Fact]
        public void Van_stages_carry_patch_kernels_and_layer_scale_round_trips()
        {
            var ir = Compile("arch V : VanB0 {\n  input = 3x32x32\n  classes = 0\n  depths = [1, 1]\n  widths = [8, 16]\n  strides = [4, 2]\n  mlp_ratios = [2, 2]\n  layer_scale = 0.001\n}", "V");
            using var doc = JsonDocument.Parse(ArchSpecJson.Write(ir));
            var root = doc.RootElement;
            Assert.Equal("van", root.GetProperty("family").GetString());
            Assert.Equal("none", root.GetProperty("stem").GetString());
            Assert.Equal(0, root.GetProperty("classes").GetInt64());
            var stages = root.GetProperty("stages").EnumerateArray().ToList();
            Assert.Equal(new long[] { 7, 3 }, stages.Select(s => s.GetProperty("patch_kernel").GetInt64()));
            Assert.Equal(new long[] { 4, 2 }, stages.Select(s => s.GetProperty("stride").GetInt64()));
            var block = stages[1].GetProperty("blocks")[0];
            Assert.Equal(0.001, block.GetProperty("layer_scale").GetDouble());
            Assert.Equal(new long[] { 16, 4, 4 }, block.GetProperty("input").EnumerateArray().Select(e => e.GetInt64()));
        }

        /// <summary>
        /// Every zoo architecture: the JSON parses, each block carries its channels and stride and every setting its
        /// definition writes (Spec) with the IR's value, the definition's settings record has no property the spec leaves
        /// out (found by reflection, so a new setting without a key fails here), and shapes and totals equal the cost model's.
        /// </summary>
        [Fact]
        public void Every_zoo_block_carries_every_IR_field_with_its_value()
        {
            var zoo = ArchCompiler.Compile(Zoo.Sources);
            Assert.False(zoo.HasErrors, string.Join("\n", zoo.Diagnostics));
            Assert.Equal(34, zoo.Architectures.Count);
            foreach (var arch in zoo.Architectures)
            {
                var ir = arch.Ir;
                using var doc = JsonDocument.Parse(ArchSpecJson.Write(ir));
                var root = doc.RootElement;
                Assert.Equal(ir.Name, root.GetProperty("name").GetString());
                Assert.Equal(arch.Costs.Params, root.GetProperty("params").GetInt64());
                Assert.Equal(ir.Input, ShapeOf(root.GetProperty("input")));
                var stages = root.GetProperty("stages");
                Assert.Equal(ir.Stages.Count, stages.GetArrayLength());
                for (int s = 0; s < ir.Stages.Count; s++)
                {
                    var blocks = stages[s].GetProperty("blocks");
                    Assert.Equal(ir.Stages[s].Blocks.Count, blocks.GetArrayLength());
                    Assert.Equal(arch.Costs.StageOutputs[s], ShapeOf(stages[s].GetProperty("output")));
                    for (int b = 0; b < ir.Stages[s].Blocks.Count; b++)
                    {
                        var block = ir.Stages[s].Blocks[b];
                        var json = blocks[b];
                        var where = $"{ir.Name} {ir.Family.Block(s, b)}";
                        Assert.Equal(block.Kind.KindName, json.GetProperty("kind").GetString());
                        Assert.Equal(block.InChannels, json.GetProperty("in_channels").GetInt64());
                        Assert.Equal(block.Width, json.GetProperty("width").GetInt64());
                        Assert.Equal(block.OutChannels, json.GetProperty("out_channels").GetInt64());
                        Assert.Equal(block.Stride, json.GetProperty("stride").GetInt64());
                        var spec = block.Kind.Spec(block).ToList();
                        foreach (var kv in spec)
                        {
                            Assert.True(json.TryGetProperty(kv.Key, out var value), $"{where}: no \"{kv.Key}\"");
                            object actual = kv.Value switch
                            {
                                long _ => value.GetInt64(),
                                bool _ => value.GetBoolean(),
                                double _ => value.GetDouble(),
                                string _ => value.GetString()!,
                                _ => throw new InvalidOperationException($"{where}: setting {kv.Key} has type {kv.Value.GetType()}; teach this test (and ArchSpecJson) about it"),
                            };
                            Assert.True(kv.Value.Equals(actual), $"{where}: \"{kv.Key}\" is {actual}, the IR has {kv.Value}");
                        }
                        // Every property of the kind's settings record is written under its snake_case name.
                        foreach (var p in block.Settings.GetType().GetProperties().Where(p => p.Name != "EqualityContract"))
                            Assert.True(spec.Any(kv => kv.Key == Snake(p.Name)), $"{where}: {block.Settings.GetType().Name}.{p.Name} has no \"{Snake(p.Name)}\" key");
                        var row = arch.Costs.Layers.Single(l => l.Path == ir.Family.Block(s, b));
                        Assert.Equal(row.Input, ShapeOf(json.GetProperty("input")));
                        Assert.Equal(row.Output, ShapeOf(json.GetProperty("output")));
                    }
                }
            }
        }

        private static Shape ShapeOf(JsonElement e) => new Shape(e[0].GetInt64(), e[1].GetInt64(), e[2].GetInt64());

        private static string Snake(string pascal)
        {
            var sb = new StringBuilder();
            foreach (char c in pascal)
            {
                if (char.IsUpper(c) && sb.Length > 0) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            return sb.ToString();
        }
    }
}
