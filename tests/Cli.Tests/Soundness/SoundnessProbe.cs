using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Cli.Running;
using Torchwright.Dsl;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Cli.Tests.Soundness
{
    /// <summary>How a declaration fared: rejected by the checker (with its error IDs), or built and run — with the first failure.</summary>
    public sealed record ProbeResult(bool Accepted, IReadOnlyList<string> ErrorIds, string? FailureKind, string? Failure, bool TooLarge = false)
    {
        public bool Failed => FailureKind != null;
    }

    /// <summary>
    /// The soundness property for one declaration: if the checker accepts it, the module built through the CLI's path
    /// (emit + Roslyn, <see cref="ModuleCompiler"/>) has exactly the checked parameter count, every stem part, patch
    /// embedding and block produces the shape the checker computed for it, and forward + backward + one SGD step at the
    /// declared input run.
    /// </summary>
    public static class SoundnessProbe
    {
        /// <summary>Accepted declarations above this many MACs per image (MHSA on a 96x96 map: ~9k tokens) are not run:
        /// a training step would take seconds to minutes. The generator keeps them rare.</summary>
        public const long MaxMacs = 400_000_000;

        public static ProbeResult Run(string text)
        {
            var result = ArchCompiler.Compile(new[] { new SourceFile("gen.arch", text) });
            var errors = result.Diagnostics.Where(d => d.IsError).Select(d => d.Id).Distinct().ToList();
            if (errors.Count > 0 || result.Architectures.Count != 1) return new ProbeResult(false, errors, null, null);
            var arch = result.Architectures[0];
            if (arch.Costs.Macs > MaxMacs) return new ProbeResult(true, Array.Empty<string>(), null, null, TooLarge: true);
            try
            {
                return Probe(arch);
            }
            catch (Exception e)
            {
                // Anything thrown outside the steps below is a failure too (a harness bug shows here as well).
                return Fail("unexpected", e.GetType().Name + ": " + FirstLine(e.Message));
            }
        }

        private static ProbeResult Fail(string kind, string message) => new ProbeResult(true, Array.Empty<string>(), kind, message);

        private static ProbeResult Probe(CheckedArchitecture arch)
        {
            nn.Module<Tensor, Tensor> module;
            try { module = ModuleCompiler.Build(arch); }
            catch (Exception e) { return Fail("build", e.GetType().Name + ": " + FirstLine(e.Message)); }
            using (module)
            {
                long runtimeParams = module.parameters().Sum(p => p.numel());
                if (runtimeParams != arch.Costs.Params)
                    return Fail("params", $"the module has {runtimeParams} parameters, the checker counted {arch.Costs.Params}");

                // Record the output shape of every part the checker has a row for (LayerNorms of VAN stages and ResT's
                // head run on channels-last tensors, so they are compared through the neighbouring rows instead).
                var observed = new Dictionary<string, long[]>(StringComparer.Ordinal);
                var modules = module.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
                var handles = new List<nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover>();
                foreach (var layer in arch.Costs.Layers)
                {
                    if (layer.Kind == "LayerNorm" || !modules.TryGetValue(layer.Path, out var part)) continue;
                    if (part is not nn.Module<Tensor, Tensor> typed) continue;
                    var path = layer.Path;
                    handles.Add(typed.register_forward_hook((_, _, output) => { observed[path] = output.shape; return output; }));
                }

                var ir = arch.Ir;
                try
                {
                    using var scope = torch.NewDisposeScope();
                    torch.manual_seed(1);
                    module.train();
                    // Batch 2: BatchNorm in training mode needs more than one value per channel, even on 1x1 maps.
                    var x = torch.randn(2, ir.Input.C, ir.Input.H, ir.Input.W);
                    var y = module.call(x);
                    var loss = ir.Classes > 0
                        ? nn.functional.cross_entropy(y, torch.tensor(new long[] { 0, Math.Min(1, ir.Classes - 1) }))
                        : y.square().mean();
                    var optimizer = torch.optim.SGD(module.parameters(), 0.01);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    if (!double.IsFinite(loss.ToDouble())) return Fail("train", $"the loss after one step is {loss.ToDouble()}");
                    long[] expectedOut = ir.Classes > 0 ? new[] { 2, ir.Classes } : new[] { 2, arch.Costs.StageOutputs[arch.Costs.StageOutputs.Count - 1].C };
                    if (!y.shape.SequenceEqual(expectedOut))
                        return Fail("shape", $"the module returns ({string.Join(", ", y.shape)}), expected ({string.Join(", ", expectedOut)})");
                }
                catch (Exception e)
                {
                    return Fail("train", e.GetType().Name + ": " + FirstLine(e.Message));
                }
                finally
                {
                    foreach (var h in handles) h.remove();
                }

                foreach (var layer in arch.Costs.Layers)
                {
                    if (!observed.TryGetValue(layer.Path, out var shape)) continue;
                    long[] expected = layer.Kind == "Linear" ? new[] { 2, layer.Output.C } : new[] { 2, layer.Output.C, layer.Output.H, layer.Output.W };
                    if (!shape.SequenceEqual(expected))
                        return Fail("shape", $"{layer.Path} ({layer.Kind}) produces ({string.Join(", ", shape)}) but the checker computed ({string.Join(", ", expected)})");
                }
                var missing = arch.Costs.Layers.Where(l => l.Kind != "LayerNorm" && !observed.ContainsKey(l.Path) && modules.ContainsKey(l.Path)).Select(l => l.Path).ToList();
                if (missing.Count > 0) return Fail("shape", "no output was observed for " + string.Join(", ", missing));
                return new ProbeResult(true, Array.Empty<string>(), null, null);
            }
        }

        private static string FirstLine(string message)
        {
            int nl = message.IndexOf('\n');
            return nl < 0 ? message : message.Substring(0, nl);
        }
    }
}
