using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Inference
{
    /// <summary>The memory layout an optimised module runs its activations and convolution weights in.</summary>
    public enum InferenceLayout
    {
        /// <summary>NCHW, PyTorch's default.</summary>
        Contiguous,

        /// <summary>NCHW shape over NHWC storage (PyTorch's channels_last): oneDNN's native layout for convolutions.</summary>
        ChannelsLast,
    }

    /// <summary>What <see cref="InferenceOptimizer.Optimize"/> did: the norms folded, those left and why, the layout.</summary>
    public sealed record InferenceReport(IReadOnlyList<string> Folded, IReadOnlyList<(string Norm, string Why)> Kept, InferenceLayout Layout);

    /// <summary>
    /// A generated classifier: <see cref="ForInference"/> is <see cref="InferenceOptimizer.Optimize"/> with the
    /// architecture's own layout and held conv → norm pairs, emitted by the generator (the one place that knows them).
    /// </summary>
    public interface IHasInferenceForm
    {
        /// <summary>This module optimised for inference, in place (<see cref="InferenceOptimizer.Optimize"/>'s contract:
        /// after loading the weights; evaluation only afterwards).</summary>
        InferenceModule ForInference();
    }

    /// <summary>
    /// Turns a module with loaded weights into its inference form, in place (<c>model.ForInference()</c> of generated
    /// modules, <see cref="IHasInferenceForm"/>, calls it with its family's layout and its stem's pairs):
    /// <list type="bullet">
    /// <item>every module that declares conv → norm pairs (<see cref="IFoldsNorms"/>) folds its BatchNorm and frozen
    /// BatchNorm into the convolution and drops the norm; GroupNorm stays (see <see cref="NormFolder"/>);</item>
    /// <item>the held pairs (state-dict paths of a convolution and the norm after it, such as a generated
    /// stem's <c>conv1</c> and <c>bn1</c>, held in typed fields) are folded with the norm left as an exact identity pass;</item>
    /// <item>with <see cref="InferenceLayout.ChannelsLast"/>, convolution weights are stored channels-last and the returned
    /// module converts its input, so libtorch keeps the activations channels-last throughout.</item>
    /// </list>
    /// Contract: call it after loading the weights; the model is changed in place and is for evaluation only afterwards
    /// (eval mode, no gradients; its state dict is the folded one: convolutions with biases, folded norms gone). To keep
    /// a trainable copy, build a second module and load the same state dict into it first.
    /// </summary>
    public static class InferenceOptimizer
    {
        public static InferenceModule Optimize(nn.Module<Tensor, Tensor> model, InferenceLayout layout, params (string Conv, string Norm)[] heldPairs)
        {
            if (model is null) throw new ArgumentNullException(nameof(model));
            model.eval();
            var folder = new NormFolder();
            var byPath = model.named_modules().ToDictionary(m => m.name, m => m.module);
            foreach (var (conv, norm) in heldPairs)
            {
                if (!byPath.TryGetValue(conv, out var c) || !(c is Conv2d conv2d))
                    throw new ArgumentException($"Inference: '{conv}' is not a Conv2d of {model.GetName()}.", nameof(heldPairs));
                if (!byPath.TryGetValue(norm, out var n) || !(n is nn.Module<Tensor, Tensor> normModule))
                    throw new ArgumentException($"Inference: '{norm}' is not a module of {model.GetName()}.", nameof(heldPairs));
                folder.FoldKeepingPass(conv, conv2d, norm, normModule);
            }
            // Pairs inside a module are folded by the module itself; list them first, since folding unregisters norms.
            var declaring = new List<(string Path, IFoldsNorms Module)>();
            if (model is IFoldsNorms self) declaring.Add(("", self));
            foreach (var (path, module) in byPath)
                if (module is IFoldsNorms f) declaring.Add((path, f));
            foreach (var (path, module) in declaring)
            {
                folder.Enter(path, (nn.Module)module);
                module.FoldNorms(folder);
            }
            // The same re-striding as channels-last training; the next line then takes every gradient off.
            if (layout == InferenceLayout.ChannelsLast) ChannelsLast.Restride(model);
            foreach (var p in model.parameters()) p.requires_grad = false;
            var report = new InferenceReport(folder.Folded.ToArray(), folder.Kept.ToArray(), layout);
            return new InferenceModule(model, report);
        }

    }

    /// <summary>
    /// A model folded for inference (<see cref="InferenceOptimizer.Optimize"/>): forward runs it under no_grad in its
    /// layout and returns a contiguous result. The model is registered as <c>model</c>.
    /// </summary>
    public sealed class InferenceModule : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> model;

        public InferenceReport Report { get; }

        /// <summary>The folded model itself (its own members, such as forward_features, run it in whatever layout their input has).</summary>
        public nn.Module<Tensor, Tensor> Model => model;

        internal InferenceModule(nn.Module<Tensor, Tensor> model, InferenceReport report) : base(model.GetName() + "ForInference")
        {
            this.model = model;
            Report = report;
            register_module("model", model);
            eval();
        }

        public override Tensor forward(Tensor input)
        {
            using var noGrad = torch.no_grad();
            if (Report.Layout == InferenceLayout.Contiguous)
                return model.call(input);
            using var scope = torch.NewDisposeScope();
            var x = ChannelsLast.Of(input);
            var y = model.call(x);
            var result = y.is_contiguous() ? y : y.contiguous();
            return result.MoveToOuterDisposeScope();
        }
    }
}
