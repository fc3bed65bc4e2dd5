using System.IO;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>`summary` as a table and as Markdown: per-layer rows, totals, memory and the MAC convention.</summary>
    public class SummaryTableTests
    {
        [Fact]
        public void Table_has_layers_totals_memory_and_the_mac_convention()
        {
            var r = CliRunner.Run("summary", CliRunner.Arch("botnet50.arch"));
            Assert.True(r.ExitCode == 0, r.Error);
            var o = r.Out;
            foreach (var header in new[] { "Layer (path)", "Kind", "Output shape", "Params", "MACs" }) Assert.Contains(header, o);
            Assert.Contains("layer4.2", o);
            Assert.Contains("BotBottleneck", o);
            Assert.Contains("2048x7x7", o);
            Assert.Matches(@"(?m)^Total\s+1000x1x1\s+20,852,008\s+4,0\d\d,\d{3},\d{3}$", o);
            Assert.Contains("Total params: 20,852,008", o);
            Assert.Contains("Parameter memory (fp32): 83,408,032 bytes (79.54 MiB)", o);
            Assert.Contains("MACs: multiply-accumulates of conv, linear and attention matmuls; 1 MAC = 2 FLOPs", o);
            Assert.Contains("MACs without attention matmuls", o);
            Assert.Contains("Input: 3x224x224", o);
            Assert.Contains("BotNet50_011", o);
            Assert.DoesNotContain("ResNet50\n", o);
        }

        [Fact]
        public void Markdown_is_a_pipe_table()
        {
            var r = CliRunner.Run("summary", CliRunner.Arch("resnet50.arch"), "--format", "markdown");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("### ResNet50", r.Out);
            Assert.Contains("| Layer (path) | Kind | Output shape | Params | MACs |", r.Out);
            Assert.Contains("|---|---|---|---:|---:|", r.Out);
            Assert.Contains("| **Total** |", r.Out);
            Assert.Contains("**25,557,032**", r.Out);
        }

        [Fact]
        public void Sweeps_list_their_variants()
        {
            var r = CliRunner.Run("summary", CliRunner.Arch("sweeps/bot-c5-placement.arch"));
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("Sweep BotC5Placement: 4 variants of BotNet50 over c5.mhsa", r.Out);
            Assert.Contains("BotC5Placement/c5.mhsa=[0,0,0]", r.Out);
            Assert.Contains("BotC5Placement/c5.mhsa=[1,1,1]", r.Out);
            Assert.Contains("20,852,008", r.Out);
            Assert.Contains("25,557,032", r.Out);
        }

        [Fact]
        public void An_undeclared_input_is_stated()
        {
            using var dir = new TempDir();
            var file = dir.Write("noinput.arch",
                "arch Tiny {\n  classes = 10\n  stem = resnet\n  block = bottleneck\n  depths = [1, 1, 1, 1]\n" +
                "  widths = [16, 32, 64, 128]\n  outs = [64, 128, 256, 512]\n  strides = [1, 2, 2, 2]\n}\n");
            var r = CliRunner.Run("summary", file);
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Contains("Input: not declared", r.Out);
            Assert.Contains("nominal 3x224x224", r.Out);
        }

        [Fact]
        public void Errors_go_to_stderr_and_exit_1()
        {
            using var dir = new TempDir();
            var file = dir.Write("bad.arch", "arch X : ResNet50 { c3.in = 100 }\n");
            var r = CliRunner.Run("summary", file, "--format", "json");
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("", r.Out);
            Assert.Matches(@"bad\.arch\(1,29\): error TW0004: ", r.Error);
        }

        [Fact]
        public void A_missing_file_exits_2()
        {
            var r = CliRunner.Run("summary", Path.Combine(Path.GetTempPath(), "torchwright-missing.arch"));
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("not found", r.Error);
        }
        [Fact]
        public void A_directory_is_a_usage_error()
        {
            var r = CliRunner.Run("summary", CliRunner.Architectures);
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("directory", r.Error);
        }

        [Fact]
        public void Warnings_go_to_stderr_and_json_stays_parseable()
        {
            using var dir = new TempDir();
            var file = dir.Write("w.arch", "arch W : ResNet50 {\n  input = 3x225x225\n}\n");
            var r = CliRunner.Run("summary", file, "--format", "json");
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("warning TW0103", r.Error);
            using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
            Assert.Equal("W", doc.RootElement[0].GetProperty("name").GetString());
            Assert.Equal(25_557_032, doc.RootElement[0].GetProperty("params").GetInt64());
        }
    }
}
