using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// torchvision ResNet "v1.5" bottleneck: conv1 1x1 (in -> width), bn1, ReLU, conv2 3x3 with the stride and
    /// groups, bn2, ReLU, conv3 1x1 (width -> out), bn3, + shortcut, ReLU.  State-dict names follow torchvision.
    /// </summary>
    public sealed class Bottleneck : nn.Module<Tensor, Tensor>, IResidualBottleneck
    {
        private readonly nn.Module<Tensor, Tensor> conv1, bn1, conv2, bn2, conv3, relu;
        private readonly BatchNorm2d bn3;
        private readonly nn.Module<Tensor, Tensor>? downsample;

        /// <summary>bn3: the BatchNorm that ends the residual branch.</summary>
        public BatchNorm2d LastNorm => bn3;

        public Bottleneck(string name, long inChannels, long width, long outChannels, long stride, long groups, ShortcutKind shortcut)
            : base(name)
        {
            const string B = nameof(Bottleneck);
            BlockArgs.Positive(B, nameof(inChannels), inChannels);
            BlockArgs.Positive(B, nameof(width), width);
            BlockArgs.Positive(B, nameof(outChannels), outChannels);
            BlockArgs.Positive(B, nameof(stride), stride);
            BlockArgs.Positive(B, nameof(groups), groups);
            BlockArgs.Divisible(B, nameof(width), width, nameof(groups), groups);

            conv1 = nn.Conv2d(inChannels, width, 1, bias: false);
            bn1 = nn.BatchNorm2d(width);
            conv2 = nn.Conv2d(width, width, 3, stride: stride, padding: 1, groups: groups, bias: false);
            bn2 = nn.BatchNorm2d(width);
            conv3 = nn.Conv2d(width, outChannels, 1, bias: false);
            bn3 = nn.BatchNorm2d(outChannels);
            relu = nn.ReLU();
            downsample = BlockArgs.Shortcut(inChannels, outChannels, stride, shortcut);

            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module("conv2", conv2);
            register_module("bn2", bn2);
            register_module("conv3", conv3);
            register_module("bn3", bn3);
            register_module("relu", relu);
            if (downsample is not null)
                register_module("downsample", downsample);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var identity = downsample?.call(input);   // null: the identity is the input, which the caller owns
            var x = input.Through(conv1, bn1, relu, conv2, bn2, relu, conv3, bn3);
            x = (x + (identity ?? input)).Freeing(x, identity);
            return relu.call(x).Freeing(x).MoveToOuterDisposeScope();
        }
    }
}
