using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Weights
{
    /// <summary>What a checkpoint load matched and what it did not, by state-dict key (module names).</summary>
    public sealed class LoadReport
    {
        internal LoadReport(string path, string? wrapper, string? strippedPrefix, IReadOnlyList<string> loaded, IReadOnlyList<string> kept,
            IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatched, IReadOnlyList<string> dtypeMismatched,
            KeyMap? keyMap = null, IReadOnlyDictionary<string, string>? sourceKeys = null)
        {
            KeyMap = keyMap;
            SourceKeys = sourceKeys ?? new Dictionary<string, string>(StringComparer.Ordinal);
            Path = path;
            Wrapper = wrapper;
            StrippedPrefix = strippedPrefix;
            Loaded = loaded;
            Kept = kept;
            Missing = missing;
            Unexpected = unexpected;
            ShapeMismatched = shapeMismatched;
            DTypeMismatched = dtypeMismatched;
        }

        /// <summary>The checkpoint file.</summary>
        public string Path { get; }

        /// <summary>The entry of the torch.save'd dict the state dict was taken from ("state_dict", "model"), or null.</summary>
        public string? Wrapper { get; }

        /// <summary>"module." when every key of the file carried DataParallel's prefix (removed before matching), else null.</summary>
        public string? StrippedPrefix { get; }

        /// <summary>The key map the file's keys went through before matching; null for none.</summary>
        public KeyMap? KeyMap { get; }

        /// <summary>Renamed keys: Torchwright name (as in the lists of this report) -> the key in the file.</summary>
        public IReadOnlyDictionary<string, string> SourceKeys { get; }

        /// <summary>Keys copied into the module.</summary>
        public IReadOnlyList<string> Loaded { get; }

        /// <summary><c>num_batches_tracked</c> buffers the file does not have: they keep their value, as PyTorch's strict load allows.</summary>
        public IReadOnlyList<string> Kept { get; }

        /// <summary>Module keys the file does not have (left unchanged).</summary>
        public IReadOnlyList<string> Missing { get; }

        /// <summary>File keys the module does not have (ignored).</summary>
        public IReadOnlyList<string> Unexpected { get; }

        /// <summary>Keys present in both with different shapes, as "key: module [..] vs file [..]" (left unchanged).</summary>
        public IReadOnlyList<string> ShapeMismatched { get; }

        /// <summary>
        /// Keys whose file dtype is of another kind than the module's (floating point vs integer/bool vs complex), as
        /// "key: module Float32 vs file Int64" (left unchanged). Conversions within a kind (float16/bfloat16/float64 to
        /// float32, int32 to int64) load, as PyTorch's <c>copy_</c> does.
        /// </summary>
        public IReadOnlyList<string> DTypeMismatched { get; }

        /// <summary>
        /// When the load was not exact and went through no key map: a known key map (<see cref="KeyMaps"/>) that renames
        /// the file's unexpected keys onto the module's missing ones (at least half of them), the checkpoint's likely
        /// origin; else null.
        /// </summary>
        public KeyMap? SuggestedKeyMap { get; internal set; }

        /// <summary>True when every module key was loaded or kept and the file had nothing else.</summary>
        public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatched.Count == 0 && DTypeMismatched.Count == 0;

        /// <summary>One line: what loaded, from where, and what was kept.</summary>
        public string Summary
        {
            get
            {
                var sb = new StringBuilder($"{Loaded.Count} tensors loaded");
                if (Wrapper != null) sb.Append($" from its '{Wrapper}' entry");
                if (StrippedPrefix != null) sb.Append($" ('{StrippedPrefix}' prefix removed)");
                if (KeyMap is { IsIdentity: false }) sb.Append($"; {SourceKeys.Count} keys renamed by key map '{KeyMap.Name}'");
                if (Kept.Count > 0) sb.Append($"; {Kept.Count} num_batches_tracked buffers not in the file, kept");
                return sb.ToString();
            }
        }

        /// <summary>Every problem, one group per line ("missing from the file (2): a, b"); empty when exact.</summary>
        public string Problems
        {
            get
            {
                var sb = new StringBuilder();
                Group(sb, "missing from the file", Missing);
                Group(sb, "unexpected in the file", Unexpected.Select(DescribeFileKey).ToList());
                Group(sb, "shape mismatches", ShapeMismatched);
                Group(sb, "dtype mismatches", DTypeMismatched);
                return sb.ToString().TrimEnd('\n');
            }
        }

        public override string ToString() => IsExact ? Summary : Summary + "\n" + Problems;

        /// <summary>A file key as the messages show it: with its name in the file when the key map renamed it, or a note
        /// that no rule matched it.</summary>
        internal string DescribeFileKey(string key) => DescribeFileKey(key, KeyMap, SourceKeys);

        internal static string DescribeFileKey(string key, KeyMap? map, IReadOnlyDictionary<string, string> sourceKeys)
        {
            if (sourceKeys.TryGetValue(key, out var original))
                return $"{key} (file key '{original}', renamed by '{map?.Name}')";
            return map is { IsIdentity: false } ? $"{key} (no '{map.Name}' rule matched)" : key;
        }

        private static void Group(StringBuilder sb, string what, IReadOnlyList<string> keys)
        {
            if (keys.Count == 0) return;
            sb.Append($"  {what} ({keys.Count}): ").Append(string.Join(", ", keys)).Append('\n');
        }
    }

    /// <summary>A strict load that did not match: every offending key, grouped, in <see cref="Report"/> and in the message.</summary>
    public sealed class CheckpointMismatchException : Exception
    {
        public CheckpointMismatchException(string message, LoadReport report) : this(message, message, report)
        {
        }

        internal CheckpointMismatchException(string mismatch, string message, LoadReport report) : base(message)
        {
            Mismatch = mismatch;
            Report = report;
        }

        public LoadReport Report { get; }

        /// <summary>The message without its closing advice: what did not match, key by key (a caller with other
        /// means than this API's, such as the CLI, adds its own).</summary>
        public string Mismatch { get; }
    }

    /// <summary>Loads a module's state dict (parameters and persistent buffers) from a checkpoint, and saves it.</summary>
    public static class ModuleWeights
    {
        private const string DataParallelPrefix = "module.";

        /// <summary>
        /// Loads a checkpoint — safetensors, or a PyTorch <c>torch.save</c> zip file (.pth/.pt), told apart by content,
        /// see <see cref="TensorFiles.Read(string)"/> — into the module's state dict by name; values are converted to each
        /// parameter's dtype and device. Like PyTorch's <c>load_state_dict(strict=True)</c>, missing
        /// <c>num_batches_tracked</c> buffers are allowed (they keep their value). A DataParallel <c>module.</c> prefix on
        /// every key is removed. With <paramref name="strict"/>, any missing, unexpected, shape- or dtype-mismatched key throws
        /// <see cref="CheckpointMismatchException"/> listing every one of them, and nothing is loaded; otherwise the
        /// matching keys load and the report tells what did not.
        /// </summary>
        public static LoadReport LoadWeights(this nn.Module module, string path, bool strict = true) =>
            module.LoadWeights(path, strict, keyMap: null);

        /// <summary>
        /// As <see cref="LoadWeights(nn.Module, string, bool)"/>, with the file's keys first renamed by
        /// <paramref name="keyMap"/> (<see cref="KeyMaps.Get"/>: "timm", "torchvision", ...); null or the identity map renames
        /// nothing.  Messages and the report name a renamed key by both its Torchwright name and its name in the file.
        /// </summary>
        public static LoadReport LoadWeights(this nn.Module module, string path, bool strict, KeyMap? keyMap)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            using var file = TensorFiles.Read(path);
            return module.LoadWeights(file, strict, keyMap);
        }

        /// <summary>As <see cref="LoadWeights(nn.Module, string, bool)"/>, from tensors already read.</summary>
        public static LoadReport LoadWeights(this nn.Module module, TensorFile file, bool strict = true) =>
            module.LoadWeights(file, strict, keyMap: null);

        /// <summary>As <see cref="LoadWeights(nn.Module, string, bool, KeyMap?)"/>, from tensors already read.</summary>
        public static LoadReport LoadWeights(this nn.Module module, TensorFile file, bool strict, KeyMap? keyMap)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            if (file is null) throw new ArgumentNullException(nameof(file));
            var sd = module.state_dict();
            var tensors = file.Tensors;

            string? prefix = null;
            if (tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(DataParallelPrefix, StringComparison.Ordinal))
                && !sd.Keys.Any(k => k.StartsWith(DataParallelPrefix, StringComparison.Ordinal)))
            {
                prefix = DataParallelPrefix;
                tensors = tensors.ToDictionary(kv => kv.Key.Substring(prefix.Length), kv => kv.Value, StringComparer.Ordinal);
            }

            var sourceKeys = new Dictionary<string, string>(StringComparer.Ordinal);
            if (keyMap is { IsIdentity: false })
                tensors = Rename(tensors, keyMap, sourceKeys);
            string Describe(string k) => LoadReport.DescribeFileKey(k, keyMap, sourceKeys);

            var ordinal = StringComparer.Ordinal;
            var absent = sd.Keys.Where(k => !tensors.ContainsKey(k)).OrderBy(k => k, ordinal).ToList();
            var kept = absent.Where(IsBatchCounter).ToList();
            var missing = absent.Where(k => !IsBatchCounter(k)).ToList();
            var unexpected = tensors.Keys.Where(k => !sd.ContainsKey(k)).OrderBy(k => k, ordinal).ToList();
            var shapes = new List<string>();
            var dtypes = new List<string>();
            var loadable = new List<string>();
            foreach (var k in sd.Keys.Where(tensors.ContainsKey).OrderBy(k => k, ordinal))
            {
                Tensor want = sd[k], got = tensors[k];
                if (!want.shape.SequenceEqual(got.shape))
                    shapes.Add($"{Describe(k)}: module {Shape(want)} vs file {Shape(got)}");
                else if (KindOf(want.dtype) != KindOf(got.dtype))
                    dtypes.Add($"{Describe(k)}: module {want.dtype} vs file {got.dtype}");
                else
                    loadable.Add(k);
            }

            var report = new LoadReport(file.Path, file.Wrapper, prefix, loadable, kept, missing, unexpected, shapes, dtypes, keyMap, sourceKeys);
            if (keyMap is null or { IsIdentity: true } && unexpected.Count > 0)
                report.SuggestedKeyMap = KeyMaps.Suggest(tensors.Keys.ToList(), unexpected, new HashSet<string>(missing, ordinal));
            if (strict && !report.IsExact)
            {
                var counts = new[] { (missing.Count, "missing"), (unexpected.Count, "unexpected"), (shapes.Count, "shape mismatched"), (dtypes.Count, "dtype mismatched") }
                    .Where(c => c.Item1 > 0).Select(c => $"{c.Item1} {c.Item2}");
                var mismatch = $"Checkpoint '{file.Path}'{(file.Wrapper != null ? $" (its '{file.Wrapper}' entry)" : "")}" +
                    $"{(keyMap is { IsIdentity: false } ? $" read through key map '{keyMap.Name}'" : "")} does not match module '{module.GetName()}' " +
                    $"({string.Join(", ", counts)}; nothing was loaded):\n{report.Problems}";
                var advice = report.SuggestedKeyMap is { } suggested
                    ? $"The unexpected keys are renamed onto missing ones by key map '{suggested.Name}': load through it (KeyMaps.Get(\"{KeyMaps.ShortName(suggested)}\"))."
                    : "Fix the architecture or the checkpoint, or load with strict: false to take the matching keys only.";
                throw new CheckpointMismatchException(mismatch, mismatch + "\n" + advice, report);
            }
            using (torch.no_grad())
            {
                foreach (var k in loadable)
                    sd[k].copy_(tensors[k]);
            }
            return report;
        }

        /// <summary>Writes the module's state dict (parameters and persistent buffers) to a safetensors file.</summary>
        public static void SaveSafetensors(this nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null)
        {
            if (module is null) throw new ArgumentNullException(nameof(module));
            TensorFiles.Save(path, module.state_dict(), metadata);
        }

        /// <summary>The file's tensors under their mapped names; fills <paramref name="sourceKeys"/> (new -> old) for the
        /// renamed ones. Two file keys mapped onto one name are a broken map or checkpoint: that throws, naming both.</summary>
        private static Dictionary<string, Tensor> Rename(IReadOnlyDictionary<string, Tensor> tensors, KeyMap map, Dictionary<string, string> sourceKeys)
        {
            var renamed = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var origin = new Dictionary<string, string>(StringComparer.Ordinal);
            var renaming = map.For(tensors.Keys.ToList());
            foreach (var (key, value) in tensors)
            {
                var mapped = renaming.Map(key);
                if (origin.TryGetValue(mapped, out var other))
                    throw new InvalidDataException(
                        $"Key map '{map.Name}' maps both '{other}' and '{key}' of the checkpoint onto '{mapped}'; the checkpoint is not of the layout the map is for.");
                origin[mapped] = key;
                renamed[mapped] = value;
                if (!string.Equals(mapped, key, StringComparison.Ordinal))
                    sourceKeys[mapped] = key;
            }
            return renamed;
        }

        /// <summary>BatchNorm's step counter, which PyTorch's strict load lets a checkpoint omit.</summary>
        private static bool IsBatchCounter(string key) =>
            key == "num_batches_tracked" || key.EndsWith(".num_batches_tracked", StringComparison.Ordinal);

        private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

        private enum Kind { Floating, Integral, Complex }

        private static Kind KindOf(ScalarType t) => t switch
        {
            ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64 => Kind.Floating,
            ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64 => Kind.Complex,
            _ => Kind.Integral,
        };
    }
}
