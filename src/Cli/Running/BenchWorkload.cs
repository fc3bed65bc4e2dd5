using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Torchwright.Runtime;
using Torchwright.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Running
{
    /// <summary>What one benchmark iteration does (both sides do exactly the same).</summary>
    internal enum BenchMode
    {
        /// <summary>Eval mode, forward under no_grad.</summary>
        Infer,

        /// <summary>Train mode: gradients set to none, forward, cross-entropy, backward, SGD step (lr 0.01, momentum 0.9).</summary>
        Train,
    }

    /// <summary>
    /// The number format of weights and activations. There is no autocast: TorchSharp 0.107.0 has no autocast API
    /// (no <c>torch.autocast</c>, no autocast entry point in libLibTorchSharp), so bf16 casts the model and the input to
    /// bfloat16 on both sides (PyTorch's <c>model.to(torch.bfloat16)</c>), which is not mixed precision.
    /// </summary>
    internal enum BenchPrecision
    {
        Fp32,

        /// <summary>Weights, buffers and activations cast to bfloat16 (labels stay int64).</summary>
        Bf16,

        /// <summary>The Torchwright module runs twice, in fp32 and in bf16-mixed (<see cref="MixedPrecision"/>: fp32
        /// weights, bf16 convolutions, linears and attention matmuls); the PyTorch side runs fp32.</summary>
        Bf16Mixed,
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
        private readonly List<TorchSharp.Modules.Parameter>? parameters;
        private readonly Precision arithmetic;

        /// <param name="arithmetic">The forward's <see cref="MixedPrecision"/> (fp32 weights either way); with
        /// <see cref="BenchPrecision.Bf16"/> the module itself is cast instead.</param>
        public BenchWorkload(nn.Module<Tensor, Tensor> module, Tensor input, Tensor target, BenchMode mode, Device device, BenchPrecision precision,
            Precision arithmetic = Precision.Fp32, bool channelsLast = false)
        {
            this.module = module;
            this.device = device;
            this.arithmetic = arithmetic;
            module.to(device);
            if (precision == BenchPrecision.Bf16) module.to(ScalarType.BFloat16);
            var onDevice = precision == BenchPrecision.Bf16 ? input.to(ScalarType.BFloat16, device) : input.to(device);
            this.input = channelsLast ? ChannelsLast.Of(onDevice) : onDevice;
            if (channelsLast) ChannelsLast.Restride(module);
            this.target = target.to(device);
            if (mode == BenchMode.Train)
            {
                module.train();
                parameters = module.parameters().ToList();
                optimizer = optim.SGD(parameters, LearningRate, Momentum);
            }
            else
            {
                module.eval();
            }
        }

        /// <summary>
        /// One iteration under a <see cref="FinalizerPause"/> (TorchSharp's implicit Scalars, see there): its wall time in
        /// milliseconds and the page faults it took, both measured inside the pause, so the pause's own gen-0 collection
        /// is not counted.
        /// </summary>
        public (double Ms, long Faults) Step()
        {
            using var pause = FinalizerPause.Begin();
            long faults = PageFaults.Current();
            var clock = Stopwatch.StartNew();
            // Every intermediate (activations, loss, gradients' temporaries) is freed when the iteration ends.
            using (var scope = torch.NewDisposeScope())
            {
                using var precision = MixedPrecision.Enter(arithmetic);
                if (optimizer is null)
                {
                    using (torch.no_grad()) module.call(input);
                }
                else
                {
                    Gradients.Clear(parameters!);   // set to none, as the PyTorch side's zero_grad(set_to_none=True)
                    nn.functional.cross_entropy(MixedPrecision.Float(module.call(input)), target).backward();
                    optimizer.step();
                }
            }
            if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
            return (clock.Elapsed.TotalMilliseconds, PageFaults.Current() - faults);
        }

        public void Dispose()
        {
            optimizer?.Dispose();
            input.Dispose();
            target.Dispose();
        }
    }
}
