using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using TorchSharp;
using Torchwright.Runtime.Blocks;
using Torchwright.Runtime.Weights;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    /// <summary>
    /// A Bottleneck's state dict (random weights and BatchNorm statistics) handed to python/torch_save_cases.py, which
    /// writes it back with Debian's PyTorch 1.13 <c>torch.save</c> in the forms checkpoints come in (one Python run).
    /// </summary>
    public sealed class TorchSaveCases : IDisposable
    {
        public TorchSaveCases()
        {
            Dir = Path.Combine(Path.GetTempPath(), "torchwright-weights-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Dir);
            torch.manual_seed(11);
            using (var source = NewBlock("source"))
            {
                ParityHarness.Randomize(source);
                using (torch.no_grad())
                    foreach (var (name, buffer) in source.named_buffers())
                        if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
                            buffer.fill_(1000 + name.Length);
                Source = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone(), StringComparer.Ordinal);
            }
            var src = Path.Combine(Dir, "src.safetensors");
            TensorFiles.Save(src, Source);
            var (code, output) = PythonReference.RunScript($"torch_save_cases.py \"{src}\" \"{Dir}\"");
            Assert.True(code == 0, output);
            PyTorchSays = JsonDocument.Parse(output.Trim().Split('\n').Last()).RootElement.Clone();
        }

        /// <summary>The block every case is a state dict of (a projection shortcut: downsample.0 conv, downsample.1 BN).</summary>
        public static Bottleneck NewBlock(string name) => new Bottleneck(name, 16, 8, 32, 2, 1, ShortcutKind.Conv);

        public string Dir { get; }

        public string this[string file] => Path.Combine(Dir, file);

        /// <summary>The state dict the cases were written from (num_batches_tracked = 1000 + length of its name).</summary>
        public Dictionary<string, Tensor> Source { get; }

        /// <summary>The script's report: PyTorch's own strict load of a BatchNorm state dict without num_batches_tracked.</summary>
        public JsonElement PyTorchSays { get; }

        public static void AssertSame(Tensor expected, Tensor actual, string name)
        {
            Assert.True(expected.dtype == actual.dtype, $"{name}: dtype {actual.dtype}, expected {expected.dtype}");
            Assert.True(expected.shape.SequenceEqual(actual.shape), $"{name}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}]");
            Assert.True(expected.eq(actual).all().item<bool>(), $"{name}: values differ");
        }

        public void Dispose()
        {
            foreach (var t in Source.Values) t.Dispose();
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
    }
}
