using TorchSharp;
using Torchwright.Runtime.Inference;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Blocks
{
    /// <summary>
    /// The residual skeleton the ResNet-family bottlenecks share (<see cref="Bottleneck"/>, <see cref="SplitAttnBottleneck"/>,
    /// <see cref="CotBottleneck"/>, <see cref="SelfAttnBottleneck"/>, <see cref="BasicBlock"/>): out = act(drop_path(branch(x)) + shortcut(x)), with
    /// the projection shortcut (<c>downsample</c>) built only when the block changes shape, stochastic depth
    /// (<c>drop_path</c>, <see cref="DropPath"/>) only when its rate is above 0, and the block's activation last.
    /// A derived block builds and registers its branch, then calls <see cref="RegisterShortcut"/> so <c>downsample</c>
    /// and <c>drop_path</c> follow the branch in the state dict (torchvision's and timm's order).
    /// </summary>
    public abstract class ResidualBottleneck : nn.Module<Tensor, Tensor>, IResidualBottleneck, IFoldsNorms
    {
        private nn.Module<Tensor, Tensor>? downsample;
        private DropPath? drop_path;
        private nn.Module<Tensor, Tensor>? finalActivation;
        private Activation activation;

        protected ResidualBottleneck(string name) : base(name)
        {
        }

        /// <summary>The norm that ends the residual branch (bn3), which <see cref="CompilerServices.Init.ZeroResidualBranches"/> zeroes.</summary>
        public abstract nn.Module<Tensor, Tensor> LastNorm { get; }

        /// <summary>Folds the branch's conv → norm pairs (the shortcut's <see cref="Chain"/> folds its own).</summary>
        public abstract void FoldNorms(NormFolder folder);

        /// <summary>The residual branch; it frees what it makes and never its input.</summary>
        protected abstract Tensor Branch(Tensor input);

        /// <summary>
        /// Builds and registers the shortcut and drop_path (call after registering the branch). The activation after the
        /// addition is <paramref name="activationModule"/> when the block registers one (Bottleneck's <c>relu</c>), else
        /// the options' activation applied functionally.
        /// </summary>
        protected void RegisterShortcut(long inChannels, long outChannels, long stride, ShortcutKind shortcut, BlockOptions options, double dropPath,
            nn.Module<Tensor, Tensor>? activationModule = null)
        {
            activation = options.Activation;
            finalActivation = activationModule;
            downsample = BlockArgs.Shortcut(inChannels, outChannels, stride, shortcut, options);
            drop_path = DropPath.For(dropPath);
            if (downsample is not null)
                register_module("downsample", downsample);
            if (drop_path is not null)
                register_module("drop_path", drop_path);
        }

        public override Tensor forward(Tensor input)
        {
            using var scope = torch.NewDisposeScope();
            var identity = downsample?.call(input);   // null: the identity is the input, which the caller owns
            var x = Branch(input).DroppedBy(drop_path);
            if (!torch.is_grad_enabled() && activation == Activation.ReLU)
            {
                // No autograd: the sum and its ReLU can overwrite the branch's output, which only this block holds.
                x.add_(identity ?? input).relu_();
                identity?.Dispose();
                return x.MoveToOuterDisposeScope();
            }
            x = (x + (identity ?? input)).Freeing(x, identity);
            x = finalActivation is not null ? finalActivation.call(x).Freeing(x) : Activations.Apply(activation, x).Freeing(x);
            return x.MoveToOuterDisposeScope();
        }
    }
}
