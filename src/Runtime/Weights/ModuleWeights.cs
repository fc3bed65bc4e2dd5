using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Weights
{
    /// <summary>What a checkpoint load matched and what it did not, by state-dict key.</summary>
    public sealed class LoadReport
    {
        public LoadReport(IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatched, IReadOnlyList<string> loaded)
        {
            Missing = missing;
            Unexpected = unexpected;
            ShapeMismatched = shapeMismatched;
            Loaded = loaded;
        }

        /// <summary>Module keys the file does not have (left unchanged).</summary>
        public IReadOnlyList<string> Missing { get; }

        /// <summary>File keys the module does not have (ignored).</summary>
        public IReadOnlyList<string> Unexpected { get; }

        /// <summary>Keys present in both with different shapes, as "key: module [..] vs file [..]" (left unchanged).</summary>
        public IReadOnlyList<string> ShapeMismatched { get; }

        /// <summary>Keys copied into the module.</summary>
        public IReadOnlyList<string> Loaded { get; }

        /// <summary>True when every module key was loaded and the file had nothing else.</summary>
        public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatched.Count == 0;

        public override string ToString()
        {
            var sb = new StringBuilder();
            sb.Append($"loaded {Loaded.Count} tensors");
            Append(sb, "missing from the file", Missing);
            Append(sb, "unexpected in the file", Unexpected);
            Append(sb, "shape mismatches", ShapeMismatched);
            return sb.ToString();
        }

        private static void Append(StringBuilder sb, string what, IReadOnlyList<string> keys)
        {
            if (keys.Count == 0) return;
            sb.Append($"; {keys.Count} {what}: ");
            sb.Append(string.Join(", ", keys.Take(20)));
            if (keys.Count > 20) sb.Append($", ... ({keys.Count - 20} more)");
        }
    }

    /// <summary>safetensors import/export of a module's state dict (parameters and persistent buffers).</summary>
    public static class ModuleWeights
    {
        /// <summary>
        /// Loads the tensors of a safetensors file into the module's state dict by name (values are converted to each
        /// parameter's dtype and device).  With <paramref name="strict"/> any missing, unexpected or shape-mismatched key
        /// throws <see cref="InvalidDataException"/> listing them all, and nothing is loaded; otherwise the matching keys
        /// load and the report tells what did not.
        /// </summary>
        public static LoadReport LoadSafetensors(this nn.Module module, string path, bool strict = true)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            var file = SafeTensors.Load(path);
            try
            {
                var sd = module.state_dict();
                var missing = sd.Keys.Where(k => !file.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                var unexpected = file.Keys.Where(k => !sd.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
                var mismatched = new List<string>();
                var loadable = new List<string>();
                foreach (var k in sd.Keys.Where(file.ContainsKey).OrderBy(k => k, StringComparer.Ordinal))
                {
                    if (sd[k].shape.SequenceEqual(file[k].shape))
                        loadable.Add(k);
                    else
                        mismatched.Add($"{k}: module [{string.Join(", ", sd[k].shape)}] vs file [{string.Join(", ", file[k].shape)}]");
                }
                var report = new LoadReport(missing, unexpected, mismatched, loadable);
                if (strict && !report.IsExact)
                    throw new InvalidDataException(
                        $"Checkpoint '{path}' does not match module '{module.GetName()}' ({report}). " +
                        "Fix the architecture or the checkpoint, or load with strict: false to take the matching keys only.");
                using (torch.no_grad())
                {
                    foreach (var k in loadable)
                        sd[k].copy_(file[k]);
                }
                return report;
            }
            finally
            {
                foreach (var t in file.Values) t.Dispose();
            }
        }

        /// <summary>Writes the module's state dict (parameters and persistent buffers) to a safetensors file.</summary>
        public static void SaveSafetensors(this nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            SafeTensors.Save(path, module.state_dict(), metadata);
        }
    }
}
