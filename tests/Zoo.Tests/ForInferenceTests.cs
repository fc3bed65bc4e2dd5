using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using Torchwright.Runtime.Inference;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// The generated <c>ForInference()</c> of zoo classes: with random BatchNorm statistics and affine terms loaded
    /// into it, the optimised module's float32 logits equal the plain module's (same state dict) within 1e-4 of the
    /// largest logit, and the module was folded in place (eval only, no norm of a conv → norm pair left).
    /// </summary>
    public class ForInferenceTests
    {
        [Theory]
        [InlineData("ResNet50")]
        [InlineData("VanB0")]
        public void ForInference_logits_equal_the_plain_modules_within_1e_4_relative(string name)
        {
            Func<nn.Module<Tensor, Tensor>> create = name == "ResNet50" ? () => new ResNet50() : () => new VanB0();
            torch.manual_seed(5);
            using var plain = create();
            RandomiseBatchNorms(plain, seed: 9);
            plain.eval();
            using var folded = create();
            folded.load_state_dict(plain.state_dict());   // the loaded weights, then folding

            torch.manual_seed(6);
            using var x = torch.randn(1, 3, 224, 224);
            using var expected = Forward(plain, x);
            var optimised = ((IHasInferenceForm)folded).ForInference();
            using var actual = optimised.call(x);

            Assert.Equal(expected.shape, actual.shape);
            double scale = expected.abs().max().ToDouble();
            double diff = (expected - actual).abs().max().ToDouble();
            Assert.True(scale > 0, $"{name}: the plain logits are all zero; the comparison would prove nothing");
            Assert.True(diff <= 1e-4 * scale, $"{name}: max |ForInference - plain| = {diff:G4}, {diff / scale:G4} of max |logit| {scale:G4}");
            Assert.Same(folded, optimised.Model);
            Assert.False(folded.training);
            Assert.Empty(folded.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name));
            // ResNet50: 16 bottlenecks x 3 norms, 4 projection norms and the stem's bn1, all folded.
            if (name == "ResNet50") Assert.Equal((53, 0), (optimised.Report.Folded.Count, optimised.Report.Kept.Count));
            else Assert.NotEmpty(optimised.Report.Folded);
            Assert.Equal(InferenceLayout.ChannelsLast, optimised.Report.Layout);
        }

        private static Tensor Forward(nn.Module<Tensor, Tensor> module, Tensor x)
        {
            using var noGrad = torch.no_grad();
            return module.call(x);
        }

        /// <summary>Statistics and affine terms far from the initial identity, so a fold that ignored any of them fails.</summary>
        private static void RandomiseBatchNorms(nn.Module module, long seed)
        {
            var g = new Generator((ulong)seed);
            using var noGrad = torch.no_grad();
            foreach (var bn in module.modules().OfType<BatchNorm2d>())
            {
                bn.weight!.copy_(torch.rand(bn.weight.shape, generator: g) + 0.5);
                bn.bias!.copy_(torch.randn(bn.bias.shape, generator: g) * 0.2);
                bn.running_mean!.copy_(torch.randn(bn.running_mean.shape, generator: g) * 0.2);
                bn.running_var!.copy_(torch.rand(bn.running_var.shape, generator: g) * 1.5 + 0.5);
            }
        }
    }
}
