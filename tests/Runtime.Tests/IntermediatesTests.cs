using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.CompilerServices;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// Intermediates are freed as soon as they are consumed (<see cref="Intermediates"/>): the helpers free exactly what
    /// they are given, never a block's input or result; and every block, in eval and in training, holds only a few
    /// intermediates at any moment instead of all of them until it returns. Numbers are unchanged: BlockParityTests.
    /// </summary>
    public class IntermediatesTests
    {
        private readonly ITestOutputHelper output;

        public IntermediatesTests(ITestOutputHelper output) => this.output = output;

        [Fact]
        public void Freeing_frees_the_consumed_tensors_but_not_the_result_or_nulls()
        {
            using var scope = torch.NewDisposeScope();
            var a = torch.ones(2, 3);
            var b = torch.ones(2, 3);
            var sum = (a + b).Freeing(a, null, b);
            Assert.True(a.IsInvalid);
            Assert.True(b.IsInvalid);
            Assert.False(sum.IsInvalid);
            Assert.Equal(2f, sum[0, 0].item<float>());

            // An in-place op returns its receiver: that tensor is the result and stays alive.
            var c = torch.ones(2);
            var same = c.relu_().Freeing(c);
            Assert.Same(c, same);
            Assert.False(c.IsInvalid);

            // A freed tensor leaves its dispose scope, so the scope does not dispose it again.
            var d = torch.ones(1);
            int before = scope.DisposablesCount;
            torch.zeros(1).Freeing(d).Dispose();
            Assert.Equal(before - 1, scope.DisposablesCount);
        }

        [Fact]
        public void Through_frees_each_intermediate_and_never_its_input()
        {
            using var scope = torch.NewDisposeScope();
            var seen = new List<Tensor>();
            var probe = new Probe(seen);
            var x = torch.ones(1, 4);
            var y = x.Through(probe, probe, probe);
            Assert.False(x.IsInvalid);
            Assert.False(y.IsInvalid);
            Assert.Equal(new[] { true, true, false }, seen.Select(t => t.IsInvalid).ToArray());
            Assert.Equal(8f, y[0, 0].item<float>());
            Assert.Same(x, x.Through());
        }

        public static TheoryData<string> Blocks => BlockCases.Names("Bottleneck", "BotBottleneck", "SplitAttnBottleneck", "CotBottleneck",
            "VanBlock", "RestBlock", "TorchvisionLayer");

        /// <summary>
        /// Hooks every leaf module of the block and records its output; at each call counts the recorded outputs not yet
        /// freed. Before early freeing every one stayed alive until the block returned (the live count grew to the number
        /// of leaf calls); now only those still needed are alive (the input of the running branch, a residual identity,
        /// the attention operands).
        /// </summary>
        [Theory]
        [MemberData(nameof(Blocks))]
        public void A_block_keeps_only_the_intermediates_it_still_needs(string name)
        {
            foreach (bool train in new[] { false, true })
            {
                var c = BlockCases.Get(name);
                using var block = c.Build();
                c.Init(block);
                if (train) block.train(); else block.eval();
                var outputs = new List<Tensor>();
                int maxLive = 0;
                var hooks = new List<Action>();
                foreach (var (_, m) in block.named_modules())
                {
                    if (m.children().Any() || m is not nn.Module<Tensor, Tensor> leaf) continue;
                    var hook = leaf.register_forward_hook((_, _, result) =>
                    {
                        maxLive = Math.Max(maxLive, outputs.Count(t => !t.IsInvalid));
                        outputs.Add(result);
                        return result;
                    });
                    hooks.Add(hook.remove);
                }

                using var scope = torch.NewDisposeScope();
                torch.manual_seed(0);
                var x = torch.randn(c.InputShape).requires_grad_(train);
                Tensor y;
                using (train ? null : torch.no_grad()) y = block.call(x);
                foreach (var remove in hooks) remove();
                output.WriteLine($"{name} ({(train ? "train" : "eval")}): at most {maxLive} of {outputs.Count} leaf outputs alive at once");

                Assert.False(x.IsInvalid);
                Assert.False(y.IsInvalid);
                // The cases make 7 to 38 leaf calls; with early freeing at most 4 earlier outputs are alive when one runs
                // (CoT: x's key, the value, the unfolded columns); kept until the block returned, all of them would be.
                Assert.InRange(maxLive, 1, 4);
                Assert.True(outputs.Count > maxLive + 2, $"{name}: {outputs.Count} leaf calls, {maxLive} alive at once");
                if (train)
                {
                    // Autograd keeps what backward needs whatever the managed handles do.
                    y.sum().backward();
                    Assert.NotNull(x.grad);
                    Assert.True(x.grad!.isfinite().all().item<bool>());
                }
            }
        }

        /// <summary>Doubles its input; records each output.</summary>
        private sealed class Probe : nn.Module<Tensor, Tensor>
        {
            private readonly List<Tensor> seen;

            public Probe(List<Tensor> seen) : base("probe") => this.seen = seen;

            public override Tensor forward(Tensor input)
            {
                var y = input * 2;
                seen.Add(y);
                return y;
            }
        }
    }
}
