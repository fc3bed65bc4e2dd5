using System.Collections.Generic;
using System.Linq;
using TorchSharp.Modules;
using Torchwright.Runtime.Blocks;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>frozen_stages and norm = frozen_batch on generated modules: gradients and running statistics after a training step.</summary>
    public sealed class DetectionTests
    {
        /// <summary>One SGD step (lr 0.1) in train mode on a random batch of 4.</summary>
        private static void TrainStep(nn.Module<Tensor, Tensor> module, long size)
        {
            manual_seed(3);
            using var scope = NewDisposeScope();
            module.train();
            var x = randn(4, 3, size, size);
            var loss = nn.functional.cross_entropy(module.call(x), tensor(new long[] { 1, 2, 3, 4 }));
            loss.backward();
            using var sgd = optim.SGD(module.parameters().Where(p => p.requires_grad), 0.1);
            sgd.step();
        }

        private static Dictionary<string, Tensor> Snapshot(nn.Module module) =>
            module.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

        [Fact]
        public void Frozen_stages_get_no_gradients_and_keep_their_running_statistics()
        {
            manual_seed(1);
            using var module = new DetFrozenStages();
            var frozenParts = new[] { "conv1.", "bn1.", "layer1." };
            bool Frozen(string name) => frozenParts.Any(name.StartsWith);
            foreach (var (name, p) in module.named_parameters())
                Assert.True(p.requires_grad != Frozen(name), $"{name}: requires_grad {p.requires_grad}");

            module.train();
            var norms = module.named_modules().Where(m => m.module is BatchNorm).ToList();
            Assert.Equal(1 + 4 + 4 + 4, norms.Count); // bn1; layer1.0, layer2.0, layer3.0: bn1-bn3 and the shortcut's downsample.1
            foreach (var (name, m) in norms)
                Assert.True(m.training != Frozen(name + "."), $"{name}: training {m.training}");

            var before = Snapshot(module);
            TrainStep(module, 32);
            var after = Snapshot(module);
            foreach (var (name, p) in module.named_parameters())
                if (Frozen(name)) Assert.Null(p.grad);
                else Assert.NotNull(p.grad);
            foreach (var key in before.Keys.Where(k => !k.EndsWith("num_batches_tracked")))
            {
                bool same = before[key].eq(after[key]).all().item<bool>();
                Assert.True(same == Frozen(key), $"{key}: {(same ? "unchanged" : "changed")} after a training step");
            }
            // Back in eval and train again: the frozen norms stay in eval.
            module.eval();
            module.train();
            Assert.False(((nn.Module)module.named_modules().Single(m => m.name == "layer1.0.bn1").module).training);
        }

        [Fact]
        public void Frozen_batch_norms_have_no_parameters_and_keep_their_statistics_in_train_mode()
        {
            manual_seed(2);
            using var module = new DeclFrozenBatchSplat();
            var norms = module.named_modules().Where(m => m.module is FrozenBatchNorm2d).Select(m => m.name).ToList();
            // The stem's bn1; layer1.0 and layer2.0: bn1, conv2.bn0, conv2.bn1, bn3 and the shortcut's downsample.1.
            Assert.Equal(1 + 5 + 5, norms.Count);
            Assert.Empty(module.modules().OfType<BatchNorm>());
            Assert.DoesNotContain(module.named_parameters(), p => norms.Any(n => p.name.StartsWith(n + ".")));
            using (no_grad())
                foreach (var (name, b) in module.named_buffers()) b.uniform_(0.5, 1.5); // statistics a step would move
            var before = Snapshot(module);
            TrainStep(module, 64);
            var after = Snapshot(module);
            foreach (var (name, _) in module.named_buffers())
                Assert.True(before[name].eq(after[name]).all().item<bool>(), $"{name} changed in a training step");
            Assert.All(module.named_parameters(), p => Assert.NotNull(p.parameter.grad));
        }
    }
}
