using System;
using System.Collections.Generic;
using Torchwright.Runtime.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Inference
{
    /// <summary>
    /// A module that runs convolution → norm pairs (or a norm before a 1x1 convolution) and can fold them for inference.
    /// Each module declares its own pairs here, in one place: <see cref="FoldNorms"/> hands every pair to the folder and
    /// puts what it returns where the norm was in its forward (an identity once folded; the norm itself when it cannot
    /// be folded). <see cref="InferenceOptimizer"/> calls it once per module, after the weights are loaded.
    /// </summary>
    public interface IFoldsNorms
    {
        void FoldNorms(NormFolder folder);
    }

    /// <summary>
    /// Folds eval-mode BatchNorm2d and <see cref="FrozenBatchNorm2d"/> into the adjacent convolution (in float64, written
    /// back in the convolution's dtype) and records what it could not fold and why (GroupNorm: its statistics are the
    /// input's own, per image and group, so no fixed affine map exists; BatchNorm without running statistics likewise).
    /// A folded norm is unregistered from its owner, so the folded module's state dict has the convolutions' new biases
    /// and no norm.
    /// </summary>
    public sealed class NormFolder
    {
        private readonly List<string> folded = new List<string>();
        private readonly List<(string Norm, string Why)> kept = new List<(string, string)>();
        private nn.Module? owner;
        private string path = "";

        /// <summary>The norms folded, by state-dict path.</summary>
        public IReadOnlyList<string> Folded => folded;

        /// <summary>The norms left in place, by state-dict path, with the reason.</summary>
        public IReadOnlyList<(string Norm, string Why)> Kept => kept;

        internal void Enter(string modulePath, nn.Module module)
        {
            path = modulePath;
            owner = module;
        }

        private string PathOf(string name) => path.Length == 0 ? name : path + "." + name;

        /// <summary>
        /// Folds <paramref name="norm"/> (registered as <paramref name="normName"/> in the current module) into the
        /// output channels <paramref name="firstChannel"/>.. of <paramref name="conv"/>, which it follows. Returns the
        /// module to run in its place: an identity when folded, else the norm itself.
        /// </summary>
        public nn.Module<Tensor, Tensor> Fold(nn.Module<Tensor, Tensor> conv, nn.Module<Tensor, Tensor> norm, string normName, long firstChannel = 0)
        {
            if (!(conv is Conv2d c)) throw new ArgumentException($"{PathOf(normName)}: {conv.GetType().Name} is not a Conv2d.", nameof(conv));
            if (!Affine(norm, out var scale, out var shift, out var why))
            {
                kept.Add((PathOf(normName), why));
                return norm;
            }
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                long n = scale.shape[0];
                var w = c.weight!.to(ScalarType.Float64);
                var b = c.bias is null ? torch.zeros(w.shape[0], ScalarType.Float64, w.device) : c.bias.to(ScalarType.Float64);
                var ws = w.narrow(0, firstChannel, n);
                ws.mul_(scale.to(w.device).reshape(-1, 1, 1, 1));
                var bs = b.narrow(0, firstChannel, n);
                bs.mul_(scale.to(w.device)).add_(shift.to(w.device));
                SetConv(c, w, b);
            }
            Unregister(normName);
            folded.Add(PathOf(normName));
            return nn.Identity();
        }

        /// <summary>
        /// Folds <paramref name="norm"/>, which runs right before the 1x1, ungrouped, unpadded <paramref name="conv"/>
        /// (VAN's norm1 → attn.proj_1), into the convolution's input side: W' = W·diag(s), b' = b + W·t.
        /// </summary>
        public nn.Module<Tensor, Tensor> FoldInto(nn.Module<Tensor, Tensor> norm, string normName, nn.Module<Tensor, Tensor> conv)
        {
            if (!(conv is Conv2d c) || c.weight!.shape[2] != 1 || c.weight.shape[3] != 1 || c.weight.shape[1] != ChannelsOf(norm))
                throw new ArgumentException($"{PathOf(normName)}: a norm folds forward only into an ungrouped 1x1 convolution.", nameof(conv));
            if (!Affine(norm, out var scale, out var shift, out var why))
            {
                kept.Add((PathOf(normName), why));
                return norm;
            }
            using (torch.no_grad())
            using (var scope = torch.NewDisposeScope())
            {
                var w = c.weight.to(ScalarType.Float64);
                var b = c.bias is null ? torch.zeros(w.shape[0], ScalarType.Float64, w.device) : c.bias.to(ScalarType.Float64);
                var w2 = w.reshape(w.shape[0], w.shape[1]);
                b = b + w2.matmul(shift.to(w.device));
                w = (w2 * scale.to(w.device).reshape(1, -1)).reshape(w.shape);
                SetConv(c, w, b);
            }
            Unregister(normName);
            folded.Add(PathOf(normName));
            return nn.Identity();
        }

        /// <summary>A norm that no convolution is next to (after an attention, an aggregation): recorded as left in place.</summary>
        public void Keep(nn.Module<Tensor, Tensor>? norm, string normName, string why)
        {
            if (norm is not null && IsNorm(norm)) kept.Add((PathOf(normName), why));
        }

        /// <summary>
        /// Folds a norm that a typed field of generated code holds (the stems' bn1), so it cannot leave the forward:
        /// the affine goes into the convolution and the norm becomes the exact identity (weight 1, bias 0, mean 0,
        /// variance 1, eps 0: libtorch computes x·1 + 0). Its pass still runs; <see cref="Folded"/> lists it.
        /// </summary>
        public void FoldKeepingPass(string convPath, Conv2d conv, string normPath, nn.Module<Tensor, Tensor> norm)
        {
            var previousPath = path;
            path = "";
            try
            {
                if (!Affine(norm, out var scale, out var shift, out var reason))
                {
                    kept.Add((normPath, reason));
                    return;
                }
                using (torch.no_grad())
                using (var scope = torch.NewDisposeScope())
                {
                    var w = conv.weight!.to(ScalarType.Float64);
                    var b = conv.bias is null ? torch.zeros(w.shape[0], ScalarType.Float64, w.device) : conv.bias.to(ScalarType.Float64);
                    w.mul_(scale.to(w.device).reshape(-1, 1, 1, 1));
                    b.mul_(scale.to(w.device)).add_(shift.to(w.device));
                    SetConv(conv, w, b);
                    if (norm is FrozenBatchNorm2d frozen)
                    {
                        frozen.BecomeIdentity();
                    }
                    else
                    {
                        var bn = (BatchNorm2d)norm;   // Affine accepts only these two
                        bn.weight?.fill_(1);
                        bn.bias?.zero_();
                        bn.running_mean!.zero_();
                        bn.running_var!.fill_(1);
                        bn.eps = 0;
                    }
                }
                folded.Add(normPath + " (kept as an identity pass: " + convPath + " holds its affine)");
            }
            finally
            {
                path = previousPath;
            }
        }

        /// <summary>Puts <paramref name="replacement"/> where <paramref name="norm"/> stands in a module's layer list; returns it.</summary>
        public static nn.Module<Tensor, Tensor> Replace(nn.Module<Tensor, Tensor>[] layers, nn.Module<Tensor, Tensor> norm, nn.Module<Tensor, Tensor> replacement)
        {
            for (int i = 0; i < layers.Length; i++)
                if (ReferenceEquals(layers[i], norm)) layers[i] = replacement;
            return replacement;
        }

        /// <summary>Whether <paramref name="module"/> is one of the norms <see cref="Norms.Create"/> builds.</summary>
        public static bool IsNorm(nn.Module module) => module is BatchNorm2d || module is FrozenBatchNorm2d || module is GroupNorm;

        private static long ChannelsOf(nn.Module norm) => norm switch
        {
            BatchNorm2d bn => bn.num_features,
            FrozenBatchNorm2d f => f.Channels,
            _ => -1,
        };

        /// <summary>The eval-mode norm as y = scale·x + shift (float64), or why it is no fixed affine map.</summary>
        private static bool Affine(nn.Module norm, out Tensor scale, out Tensor shift, out string why)
        {
            scale = shift = null!;
            why = "";
            switch (norm)
            {
                case BatchNorm2d bn when bn.running_mean is null || bn.running_var is null:
                    why = "BatchNorm2d without running statistics normalises by each batch's own";
                    return false;
                case BatchNorm2d bn:
                {
                    var mean = bn.running_mean!.to(ScalarType.Float64);
                    scale = (bn.running_var!.to(ScalarType.Float64) + bn.eps).rsqrt_();
                    if (bn.weight is not null) scale.mul_(bn.weight.to(ScalarType.Float64));
                    shift = -mean * scale;
                    if (bn.bias is not null) shift.add_(bn.bias.to(ScalarType.Float64));
                    return true;
                }
                case FrozenBatchNorm2d f:
                    (scale, shift) = f.Affine(ScalarType.Float64);
                    return true;
                case GroupNorm _:
                    why = "GroupNorm normalises by each image's own group statistics: no fixed affine map to fold";
                    return false;
                default:
                    why = $"{norm.GetType().Name} is not a norm this folder knows";
                    return false;
            }
        }

        private static void SetConv(Conv2d conv, Tensor weight, Tensor bias)
        {
            var dtype = conv.weight!.dtype;
            conv.weight = new Parameter(weight.to(dtype).detach().clone(), requires_grad: false);
            conv.bias = new Parameter(bias.to(dtype).detach().clone(), requires_grad: false);
        }

        private void Unregister(string name)
        {
            // TorchSharp removes a registered child when it is registered again as null.
            owner?.register_module(name, null!);
        }
    }
}
