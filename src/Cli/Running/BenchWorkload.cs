using System;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>What one benchmark iteration does (both sides do exactly the same).</summary>
    internal enum BenchMode
    {
        /// <summary>Eval mode, forward under no_grad.</summary>
        Infer,

        /// <summary>Train mode: forward, cross-entropy, backward, SGD step (lr 0.01, momentum 0.9).</summary>
        Train,
    }

    /// <summary>
    /// The Torchwright side of <c>bench</c>: a compiled module with its input batch and labels (and optimizer when
    /// training) on the device; <see cref="Step"/> runs one iteration. The PyTorch side (python/bench_reference.py)
    /// mirrors it line for line.
    /// </summary>
    internal sealed class BenchWorkload : IDisposable
    {
        public const double LearningRate = 0.01;
        public const double Momentum = 0.9;

        private readonly nn.Module<Tensor, Tensor> module;
        private readonly Tensor input;
        private readonly Tensor target;
        private readonly Device device;
        private readonly optim.Optimizer? optimizer;

        public BenchWorkload(nn.Module<Tensor, Tensor> module, Tensor input, Tensor target, BenchMode mode, Device device)
        {
            this.module = module;
            this.device = device;
            module.to(device);
            this.input = input.to(device);
            this.target = target.to(device);
            if (mode == BenchMode.Train)
            {
                module.train();
                optimizer = optim.SGD(module.parameters(), LearningRate, Momentum);
            }
            else
            {
                module.eval();
            }
        }

        public void Step()
        {
            // Every intermediate (activations, loss, gradients' temporaries) is freed when the iteration ends.
            using (var scope = torch.NewDisposeScope())
            {
                if (optimizer is null)
                {
                    using (torch.no_grad()) module.call(input);
                }
                else
                {
                    optimizer.zero_grad();
                    nn.functional.cross_entropy(module.call(input), target).backward();
                    optimizer.step();
                }
            }
            if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
        }

        public void Dispose()
        {
            optimizer?.Dispose();
            input.Dispose();
            target.Dispose();
        }
    }
}
