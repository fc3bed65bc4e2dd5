using System;
using System.IO;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>A feature backbone (out_indices) in the CLI: the summary says what is built; the verbs that need a classifier refuse it in one line.</summary>
    public sealed class FeatureBackboneTests : IDisposable
    {
        private readonly string dir = Directory.CreateTempSubdirectory("tw-features-").FullName;

        public void Dispose() => Directory.Delete(dir, recursive: true);

        private const string Backbone = @"arch Tiny : ResNet50 {
  input       = 3x32x32
  width       = 0.125
  depths      = [1, 1, 1, 1]
  classes     = 0
  out_indices = [1, 2]
}

sweep TinyGrid : Tiny {
  c3.depth = 1, 2
}
";

        private string Write()
        {
            var path = Path.Combine(dir, "tiny.arch");
            File.WriteAllText(path, Backbone);
            return path;
        }

        private static string Refusal(string verb) =>
            $"torchwright {verb}: Tiny is a feature backbone (out_indices = [1, 2]): it returns feature maps, not logits, and {verb} needs a classifier; remove out_indices (or derive an architecture without it) to {verb} it";

        [Fact]
        public void Summary_says_what_is_returned_and_what_is_not_built()
        {
            var r = CliRunner.Run("summary", Write(), "--name", "Tiny");
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Contains("Feature backbone (out_indices = [1, 2]): returns c2 (layer1, 32 channels, stride 4), c3 (layer2, 64 channels, stride 8); "
                + "the stages after c3, the pool and the classifier are not built, and the counts leave them out", r.Out);
            Assert.DoesNotContain("layer3", r.Out);
            Assert.DoesNotContain("fc", r.Out);
        }

        [Fact]
        public void Train_refuses_a_feature_backbone_in_one_line()
        {
            var r = CliRunner.Run("train", Write(), "--name", "Tiny", "--dataset", "shapes:32:n=8:test=4", "--steps", "1", "--batch", "4", "--out", Path.Combine(dir, "run"));
            Assert.Equal(2, r.ExitCode);
            Assert.Equal(Refusal("train"), r.Error.Trim());
        }

        [Fact]
        public void Infer_refuses_a_feature_backbone_in_one_line()
        {
            var none = Path.Combine(dir, "none.safetensors");
            File.WriteAllText(none, ""); // refused before anything is read
            var r = CliRunner.Run("infer", Write(), "--name", "Tiny", "--weights", none, "--input", none, "--output", Path.Combine(dir, "o.safetensors"));
            Assert.Equal(2, r.ExitCode);
            Assert.Equal(Refusal("infer"), r.Error.Trim());
        }

        [Fact]
        public void Sweep_refuses_a_feature_backbone_in_one_line()
        {
            var r = CliRunner.Run("sweep", Write(), "--db", Path.Combine(dir, "r.db"), "--dataset", "shapes:32:n=8:test=4", "--steps", "1", "--batch", "4");
            Assert.Equal(2, r.ExitCode);
            Assert.Contains("torchwright sweep: TinyGrid/c3.depth=1 is a feature backbone (out_indices = [1, 2]): it returns feature maps, not logits, and sweep needs a classifier", r.Error);
        }
    }
}
