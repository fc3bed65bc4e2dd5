using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// Stochastic depth (<see cref="DropPath"/>) against timm's drop_path on the same draws: the mask is written to
    /// safetensors and python/reference_drop_path.py makes timm's <c>bernoulli_</c> return it (the two libraries' random
    /// streams differ, so the draws are shared, not the seed). Then the draws themselves: one per sample, the keep rate,
    /// the identity in eval; and every block kind with a rate keeps its state dict and its eval output.
    /// </summary>
    public sealed class DropPathTests
    {
        /// <summary>Same shape and every element equal (torch.equal).</summary>
        internal static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

        [Fact]
        public void Training_output_is_timms_on_the_same_mask_bit_for_bit()
        {
            const double rate = 0.3;
            var dir = Path.Combine(Path.GetTempPath(), "torchwright-droppath-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                torch.manual_seed(11);
                using var x = torch.randn(6, 3, 4, 5);
                using var mask = torch.tensor(new float[] { 1, 0, 1, 1, 0, 1 }).reshape(6, 1, 1, 1);
                using var rateTensor = torch.tensor(rate, ScalarType.Float64);
                string input = Path.Combine(dir, "in.safetensors"), output = Path.Combine(dir, "out.safetensors");
                TensorFiles.Save(input, new Dictionary<string, Tensor> { ["x"] = x, ["mask"] = mask, ["rate"] = rateTensor });
                var (code, log) = PythonReference.RunScript($"reference_drop_path.py apply \"{input}\" \"{output}\"");
                Assert.True(code == 0, log);
                var expected = TensorFiles.Load(output);

                using var dropPath = new DropPath("drop_path", rate);
                dropPath.train();
                using var ours = dropPath.Apply(x, mask);
                Assert.True(BitEqual(ours, expected["train"]), "DropPath.Apply differs from timm's drop_path on the same mask");
                // Dropped samples are exactly zero; kept ones are x times the float32 scale 1/keep.
                Assert.Equal(0.0, ours[1].abs().max().item<float>());
                Assert.Equal(0.0, ours[4].abs().max().item<float>());
                float scale = torch.ones(1).div(1 - rate).item<float>();
                Assert.True(BitEqual(ours[0], x[0] * scale));
                // The order of timm's arithmetic matters: x / keep rounds differently from x * (1 / keep) somewhere.
                using var divided = x.div(1 - rate);
                Assert.False(BitEqual(ours[0], divided[0]), "x / keep happens to equal x * (mask / keep): the test would not see the order");

                dropPath.eval();
                Assert.Same(x, dropPath.call(x));
                Assert.True(BitEqual(x, expected["eval"]));
                foreach (var t in expected.Values) t.Dispose();
            }
            finally
            {
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
        }

        [Fact]
        public void Training_draws_one_decision_per_sample_at_the_keep_rate_and_fresh_draws_each_call()
        {
            const double rate = 0.25;
            const int n = 4000;
            torch.manual_seed(5);
            using var x = torch.randn(n, 2, 3);   // token form (B, N, C), as ResT blocks apply it
            using var dropPath = new DropPath("drop_path", rate);
            dropPath.train();
            using var scale = torch.ones(1).div(1 - rate);
            using var kept = x * scale;

            Tensor[] masks = new Tensor[2];
            for (int call = 0; call < 2; call++)
            {
                using var y = dropPath.call(x);
                Assert.Equal(x.shape, y.shape);
                using var zero = y.eq(0).all(2).all(1);                     // the whole sample dropped
                using var whole = y.eq(kept).all(2).all(1);                 // the whole sample kept, scaled by 1/keep
                Assert.True(zero.logical_or(whole).all().item<bool>(), "a sample was partly dropped: the mask must be per sample");
                masks[call] = whole.clone();
                long dropped = zero.sum().item<long>();
                // Binomial(4000, 0.25): mean 1000, sd 27.4; 4.5 sd either side.
                Assert.InRange(dropped, 877, 1123);
            }
            Assert.False(BitEqual(masks[0], masks[1]), "two training calls drew the same mask");
            foreach (var m in masks) m.Dispose();
        }

        [Fact]
        public void Rate_zero_builds_no_module_and_rates_outside_zero_to_one_are_refused()
        {
            Assert.Null(DropPath.For(0));
            Assert.Equal(0.2, DropPath.For(0.2)!.Rate);
            foreach (var bad in new[] { -0.1, 1.0, 1.5, double.NaN })
            {
                var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DropPath("d", bad));
                Assert.Contains("rate must be in [0, 1)", e.Message);
            }
        }

        private static readonly (string Kind, Func<double, nn.Module<Tensor, Tensor>> Create, long[] Input)[] Kinds =
        {
            ("bottleneck", r => new Bottleneck("b", 32, 16, 32, 1, 1, ShortcutKind.Conv, dropPath: r), new long[] { 4, 32, 8, 8 }),
            ("mhsa", r => new SelfAttnBottleneck("b", 32, 16, 32, 1, new MultiHeadSelfAttention2d("mhsa", 16, 2, 8, 8), ShortcutKind.Conv, dropPath: r), new long[] { 4, 32, 8, 8 }),
            ("splat", r => new SplitAttnBottleneck("b", 32, 16, 32, 1, 2, 1, false, ShortcutKind.Conv, dropPath: r), new long[] { 4, 32, 8, 8 }),
            ("cot", r => new CotBottleneck("b", 32, 16, 32, 1, ShortcutKind.Conv, dropPath: r), new long[] { 4, 32, 8, 8 }),
            ("van", r => new VanBlock("b", 16, 2, 7, 2, 0.5, r), new long[] { 4, 16, 8, 8 }),
            ("rest", r => new RestBlock("b", 16, 2, 2, 2, true, r), new long[] { 4, 16, 8, 8 }),
        };

        [Fact]
        public void Every_block_kind_with_a_rate_keeps_its_state_dict_and_its_eval_output_and_drops_in_training()
        {
            foreach (var (kind, create, shape) in Kinds)
            {
                using var plain = create(0);
                using var dropped = create(0.9);
                Assert.DoesNotContain(plain.named_children(), c => c.name == "drop_path");
                var child = Assert.Single(dropped.named_children(), c => c.name == "drop_path");
                Assert.Equal(0.9, Assert.IsType<DropPath>(child.module).Rate);
                Assert.Equal(plain.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal), dropped.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal));
                dropped.load_state_dict(plain.state_dict());

                torch.manual_seed(7);
                using var x = torch.randn(shape);
                plain.eval();
                dropped.eval();
                using (var a = plain.call(x))
                using (var b = dropped.call(x))
                    Assert.True(BitEqual(a, b), $"{kind}: drop_path changed the eval output");

                // Training at rate 0.9 over 64 samples: some sample loses its branch(es), so the output differs from
                // the same block with rate 0 (both in training, BatchNorm on the same batch statistics).
                plain.train();
                dropped.train();
                torch.manual_seed(8);
                using var batch = torch.randn(64, shape[1], shape[2], shape[3]);
                using var p = plain.call(batch);
                using var d = dropped.call(batch);
                Assert.False(BitEqual(p, d), $"{kind}: drop_path had no effect in training");
            }
        }
    }
}
