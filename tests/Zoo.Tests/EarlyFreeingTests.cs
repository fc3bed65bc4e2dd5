using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using Torchwright.Zoo;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>
    /// The generated forward frees each stage's output once the next stage has consumed it (as PyTorch does);
    /// forward_features keeps and returns them; neither frees the caller's input.
    /// </summary>
    public class EarlyFreeingTests
    {
        public static TheoryData<string> Models => new() { "ResNet50", "VanB0", "ResTLite" };

        /// <summary>The modules whose inputs are the stem's and the stages' outputs (all but the last stage's), and the head.</summary>
        private static (nn.Module<Tensor, Tensor> Module, string[] Entries, string Head, long Size) Get(string name) => name switch
        {
            "ResNet50" => (new ResNet50(), new[] { "layer1", "layer2", "layer3", "layer4" }, "fc", 64),
            "VanB0" => (new VanB0(), new[] { "patch_embed2", "patch_embed3", "patch_embed4" }, "head", 64),
            _ => (new ResTLite(), new[] { "stage1.0", "patch_embed_2", "patch_embed_3", "patch_embed_4" }, "head", 224),
        };

        [Theory]
        [MemberData(nameof(Models))]
        public void Forward_frees_stage_outputs_and_forward_features_returns_them(string name)
        {
            var (module, entries, headName, size) = Get(name);
            using var owner = module;
            module.eval();
            var modules = module.named_modules().ToDictionary(m => m.name, m => m.module);
            var consumed = new List<Tensor>();
            bool? freedWhenHeadRan = null;
            foreach (var entry in entries)
                ((nn.Module<Tensor, Tensor>)modules[entry]).register_forward_hook((_, input, output) => { consumed.Add(input); return output; });
            ((nn.Module<Tensor, Tensor>)modules[headName]).register_forward_hook((_, _, output) =>
            {
                freedWhenHeadRan = consumed.All(t => t.IsInvalid);
                return output;
            });

            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var x = torch.randn(1, 3, size, size);
            var logits = module.call(x);
            Assert.Equal(entries.Length, consumed.Count);
            Assert.True(freedWhenHeadRan, $"{name}: stage outputs still alive when the head ran");
            Assert.False(x.IsInvalid);
            Assert.False(logits.IsInvalid);

            consumed.Clear();
            var f = ((dynamic)module).forward_features(x);
            var maps = new Tensor[] { f.C2, f.C3, f.C4, f.C5 };
            Assert.False(x.IsInvalid);
            Assert.All(maps, m => Assert.False(m.IsInvalid));
            // The stage outputs the next stages consumed are the very tensors returned (the stem's output is freed).
            var stageInputs = consumed.Skip(entries.Length - 3).ToList();
            for (int i = 0; i < 3; i++)
                Assert.Same(maps[i], stageInputs[i]);
            if (entries.Length == 4) Assert.True(consumed[0].IsInvalid, $"{name}: the stem's output was not freed");
        }
    }
}
