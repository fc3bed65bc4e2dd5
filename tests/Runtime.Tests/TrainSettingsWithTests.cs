using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Runtime.Training;
using Xunit;

namespace Torchwright.Runtime.Tests
{
    /// <summary>TrainSettings.With: name → text pairs (CLI flags, train.NAME in .arch files, a generated class's
    /// TrainingSettings) applied through the catalog, in order, with messages that say what was wrong.</summary>
    public class TrainSettingsWithTests
    {
        private static KeyValuePair<string, string> P(string name, string value) => new(name, value);

        [Fact]
        public void Pairs_apply_in_order_and_later_ones_win()
        {
            var s = TrainSettings.Default.With(new[] { P("opt", "adamw"), P("lr", "0.002"), P("betas", "0.9,0.98"), P("lr", "5e-4"), P("nesterov", "true") });
            Assert.Equal(OptimizerKind.AdamW, s.Optimizer);
            Assert.Equal(5e-4, s.LearningRate);
            Assert.Equal((0.9, 0.98), s.Betas);
            Assert.True(s.Nesterov);
            // Everything else keeps its default.
            Assert.Equal(TrainSettings.Default with { Optimizer = OptimizerKind.AdamW, LearningRate = 5e-4, Betas = (0.9, 0.98), Nesterov = true }, s);
        }

        [Fact]
        public void Every_setting_reads_back_what_it_was_given()
        {
            var pairs = TrainSettings.Default.ToPairs();
            Assert.Equal(TrainSettings.Catalog.Select(c => c.Name), pairs.Select(p => p.Key));
            Assert.Equal(TrainSettings.Default, TrainSettings.Default.With(pairs));
            var changed = TrainSettings.Default with { LearningRate = 0.1 + 1e-17 * 3, WeightDecay = 1.0 / 3, Seed = -7, Steps = 12 };
            Assert.Equal(changed, TrainSettings.Default.With(changed.ToPairs()));
        }

        [Theory]
        [InlineData("lrr", "0.1", "unknown training setting 'lrr'; did you mean 'lr'?")]
        [InlineData("zzzzzzzz", "1", "unknown training setting 'zzzzzzzz'; the settings are steps, epochs, batch")]
        [InlineData("momentum", "1", "momentum must be in [0, 1), not 1")]
        [InlineData("lr", "fast", "lr takes a number, not 'fast'")]
        [InlineData("lr", "1e308", "lr must be in (0, 1000000], not 1e308")]
        [InlineData("opt", "adam", "opt takes sgd or adamw, not 'adam'")]
        [InlineData("batch", "0", "batch must be at least 1, not 0")]
        [InlineData("betas", "0.9", "betas takes two numbers a,b, not '0.9'")]
        public void A_bad_pair_names_the_setting_and_what_it_takes(string name, string value, string message)
        {
            var e = Assert.Throws<ArgumentException>(() => TrainSettings.Default.With(new[] { P(name, value) }));
            Assert.StartsWith(message, e.Message);
        }
    }
}
