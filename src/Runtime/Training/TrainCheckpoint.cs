using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using Torchwright.Runtime.Weights;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Training
{
    /// <summary>
    /// The files of a training run's folder (<see cref="TrainRun.Directory"/>). Every file is written to a temporary
    /// name, flushed to disk and renamed over the old one, so a kill at any moment leaves each file either whole and
    /// old or whole and new:
    /// <list type="bullet">
    /// <item><c>last.safetensors</c>: the model's state dict at the last save, under the reference names
    /// (<c>infer --weights</c>, PyTorch's <c>load_state_dict(strict=True)</c>);</item>
    /// <item><c>best.safetensors</c>: the same at the evaluation with the best accuracy so far
    /// (<c>best_ema.safetensors</c> for the EMA, <c>ema.safetensors</c> its last weights, when the run keeps one);</item>
    /// <item><c>state.safetensors</c>: what <see cref="TrainRun.Resume"/> continues from: the model (<c>model/NAME</c>),
    /// the EMA (<c>ema/NAME</c>), each optimizer's state (<c>optimizer/K</c>, TorchSharp's serialised state dict), and
    /// in the metadata the step, the settings, the curves so far and the best accuracy;</item>
    /// <item><c>log.json</c> and <c>log.csv</c>: the curves (train loss per window with its learning rate; every
    /// evaluation's loss and accuracy, the EMA's too).</item>
    /// </list>
    /// State is the last file written at each save: a kill between files resumes from the previous state, and the
    /// steps after it are recomputed bit for bit.
    /// </summary>
    public static class TrainCheckpoint
    {
        public const string Last = "last.safetensors";
        public const string Best = "best.safetensors";
        public const string BestEma = "best_ema.safetensors";
        public const string Ema = "ema.safetensors";
        public const string State = "state.safetensors";
        public const string LogJson = "log.json";
        public const string LogCsv = "log.csv";

        private const string StateKey = "torchwright.train_state";
        private const int FormatVersion = 1;

        /// <summary>The step and step count saved in <paramref name="directory"/>'s state, or null when it holds none.</summary>
        public static (int Step, int Steps)? Peek(string directory)
        {
            var path = Path.Combine(directory, State);
            if (!File.Exists(path)) return null;
            var s = ReadState(path);
            return (s.Step, s.Steps);
        }

        /// <summary>Writes <paramref name="write"/>'s bytes to <paramref name="path"/> atomically (temp file, fsync, rename).</summary>
        public static void WriteAtomically(string path, Action<Stream> write)
        {
            var full = Path.GetFullPath(path);
            var dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            var tmp = full + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }

        // ---- the state ----------------------------------------------------------------------------------------------

        internal sealed class StateInfo
        {
            [JsonPropertyName("format")] public int Format { get; set; } = FormatVersion;
            [JsonPropertyName("step")] public int Step { get; set; }
            [JsonPropertyName("steps")] public int Steps { get; set; }
            [JsonPropertyName("settings")] public Dictionary<string, string> Settings { get; set; } = new();
            [JsonPropertyName("identity")] public Dictionary<string, string> Identity { get; set; } = new();
            [JsonPropertyName("best_accuracy")] public double BestAccuracy { get; set; } = -1;
            [JsonPropertyName("best_step")] public int BestStep { get; set; }
            [JsonPropertyName("best_ema_accuracy")] public double BestEmaAccuracy { get; set; } = -1;
            [JsonPropertyName("window_sum")] public double WindowSum { get; set; }
            [JsonPropertyName("window_steps")] public int WindowSteps { get; set; }
            [JsonPropertyName("train")] public List<TrainRow> Train { get; set; } = new();
            [JsonPropertyName("eval")] public List<EvalRow> Eval { get; set; } = new();
            [JsonPropertyName("optimizers")] public int Optimizers { get; set; }
        }

        internal sealed class TrainRow
        {
            [JsonPropertyName("step")] public int Step { get; set; }
            [JsonPropertyName("loss")] public double Loss { get; set; }
            [JsonPropertyName("lr")] public double LearningRate { get; set; }
        }

        internal sealed class EvalRow
        {
            [JsonPropertyName("step")] public int Step { get; set; }
            [JsonPropertyName("epoch")] public double Epoch { get; set; }
            [JsonPropertyName("loss")] public double Loss { get; set; }
            [JsonPropertyName("accuracy")] public double Accuracy { get; set; }
            [JsonPropertyName("ema_loss")] public double? EmaLoss { get; set; }
            [JsonPropertyName("ema_accuracy")] public double? EmaAccuracy { get; set; }
            [JsonPropertyName("lr")] public double LearningRate { get; set; }
        }

        private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

        /// <summary>Saves the state (and before it the weights files and the logs). <paramref name="best"/>: this save
        /// follows an evaluation whose model accuracy is the best so far; <paramref name="bestEma"/> likewise for the EMA.</summary>
        internal static void Save(string directory, nn.Module model, WeightEma? ema, IReadOnlyList<TorchSharp.Modules.OptimizerHelper> optimizers,
            StateInfo info, bool best, bool bestEma, string architecture)
        {
            Directory.CreateDirectory(directory);
            var weightsMeta = new Dictionary<string, string>
            {
                ["architecture"] = architecture,
                ["step"] = info.Step.ToString(CultureInfo.InvariantCulture),
                ["steps"] = info.Steps.ToString(CultureInfo.InvariantCulture),
            };
            var modelState = model.state_dict();
            if (best) TensorFiles.Save(Path.Combine(directory, Best), modelState, weightsMeta);
            if (ema != null)
            {
                if (bestEma) TensorFiles.Save(Path.Combine(directory, BestEma), ema.Tensors, weightsMeta);
                TensorFiles.Save(Path.Combine(directory, Ema), ema.Tensors, weightsMeta);
            }
            TensorFiles.Save(Path.Combine(directory, Last), modelState, weightsMeta);

            using (var scope = torch.NewDisposeScope())
            {
                var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var (k, v) in modelState) tensors["model/" + k] = v;
                if (ema != null) foreach (var (k, v) in ema.Tensors) tensors["ema/" + k] = v;
                for (var i = 0; i < optimizers.Count; i++)
                {
                    using var buffer = new MemoryStream();
                    using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
                        SaveOptimizerState(optimizers[i], writer);
                    tensors["optimizer/" + i.ToString(CultureInfo.InvariantCulture)] = torch.tensor(buffer.ToArray(), dtype: ScalarType.Byte);
                }
                info.Optimizers = optimizers.Count;
                TensorFiles.Save(Path.Combine(directory, State), tensors,
                    new Dictionary<string, string> { [StateKey] = JsonSerializer.Serialize(info, Json) });
            }
            WriteLogs(directory, info, architecture);
        }

        /// <summary>
        /// The optimizer's state through TorchSharp's writer, which copies each tensor's bytes and so refuses a strided one.
        /// Channels-last training (ChannelsLast.Restride) leaves the momentum and Adam buffers in their parameters' layout:
        /// they are written from contiguous copies (same values) while the live buffers stay as they are. Loading reads
        /// them into fresh contiguous buffers; the updates are elementwise, so the layout does not change a result.
        /// </summary>
        private static void SaveOptimizerState(TorchSharp.Modules.OptimizerHelper optimizer, BinaryWriter writer)
        {
            var restore = new List<Action>();
            Tensor? Contiguous(Tensor? t, Action<Tensor?> set)
            {
                if (t is null || t.is_contiguous()) return t;
                var copy = t.contiguous();
                restore.Add(() => { copy.Dispose(); set(t); });
                return copy;
            }
            try
            {
                foreach (var state in optimizer.state_dict().State)
                    switch (state)
                    {
                        case TorchSharp.Modules.SGD.State sgd:
                            sgd.momentum_buffer = Contiguous(sgd.momentum_buffer, t => sgd.momentum_buffer = t!)!;
                            break;
                        case TorchSharp.Modules.AdamW.State adamw:
                            adamw.exp_avg = Contiguous(adamw.exp_avg, t => adamw.exp_avg = t!)!;
                            adamw.exp_avg_sq = Contiguous(adamw.exp_avg_sq, t => adamw.exp_avg_sq = t!)!;
                            adamw.max_exp_avg_sq = Contiguous(adamw.max_exp_avg_sq, t => adamw.max_exp_avg_sq = t!)!;
                            break;
                    }
                optimizer.save_state_dict(writer);
            }
            finally
            {
                foreach (var undo in restore) undo();
            }
        }

        internal static StateInfo ReadState(string path)
        {
            Dictionary<string, string> meta;
            try { meta = TensorFiles.ReadMetadata(path); }
            catch (InvalidDataException e) { throw new TrainStateException($"{path} is not a training state ({e.Message})"); }
            if (!meta.TryGetValue(StateKey, out var json))
                throw new TrainStateException($"{path} is not a training state (its metadata has no '{StateKey}')");
            StateInfo? info;
            try { info = JsonSerializer.Deserialize<StateInfo>(json, Json); }
            catch (JsonException e) { throw new TrainStateException($"{path}: the training state is damaged ({e.Message})"); }
            if (info == null || info.Format != FormatVersion)
                throw new TrainStateException($"{path}: training state format {info?.Format} is not the supported {FormatVersion}");
            return info;
        }

        /// <summary>Loads the saved model, EMA and optimizers into the live ones.</summary>
        internal static void Restore(string path, nn.Module model, WeightEma? ema, IReadOnlyList<TorchSharp.Modules.OptimizerHelper> optimizers, StateInfo info)
        {
            using var file = TensorFiles.Read(path);
            var byPrefix = (string prefix) => file.Tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key.Substring(prefix.Length), kv => kv.Value, StringComparer.Ordinal);
            var modelTensors = byPrefix("model/");
            var sd = model.state_dict();
            var missing = sd.Keys.Where(k => !modelTensors.ContainsKey(k)).Concat(modelTensors.Keys.Where(k => !sd.ContainsKey(k))).ToList();
            if (missing.Count > 0 || sd.Any(kv => !kv.Value.shape.SequenceEqual(modelTensors[kv.Key].shape)))
                throw new TrainStateException($"{path} holds a different architecture's weights ({(missing.Count > 0 ? "e.g. '" + missing[0] + "'" : "other shapes")}); resume with the architecture it was trained with, or train into another folder");
            using (torch.no_grad())
                foreach (var (k, v) in sd) v.copy_(modelTensors[k]);
            if (ema != null)
            {
                var emaTensors = byPrefix("ema/");
                if (emaTensors.Count == 0) throw new TrainStateException($"{path} holds no EMA weights, but the run keeps an EMA");
                ema.Load(emaTensors);
            }
            if (info.Optimizers != optimizers.Count)
                throw new TrainStateException($"{path} holds {info.Optimizers} optimizer states, the run has {optimizers.Count}");
            for (var i = 0; i < optimizers.Count; i++)
            {
                var blob = file.Tensors["optimizer/" + i.ToString(CultureInfo.InvariantCulture)];
                var bytes = blob.data<byte>().ToArray();
                using var reader = new BinaryReader(new MemoryStream(bytes));
                optimizers[i].load_state_dict(reader);
            }
        }

        // ---- the logs -----------------------------------------------------------------------------------------------

        private static void WriteLogs(string directory, StateInfo info, string architecture)
        {
            WriteAtomically(Path.Combine(directory, LogJson), s =>
            {
                using var w = new Utf8JsonWriter(s, new JsonWriterOptions { Indented = true });
                w.WriteStartObject();
                w.WriteString("architecture", architecture);
                w.WriteNumber("step", info.Step);
                w.WriteNumber("steps", info.Steps);
                w.WriteStartObject("settings");
                foreach (var (k, v) in info.Settings) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteStartObject("identity");
                foreach (var (k, v) in info.Identity) w.WriteString(k, v);
                w.WriteEndObject();
                if (info.BestStep > 0)
                {
                    w.WriteStartObject("best");
                    w.WriteNumber("step", info.BestStep);
                    w.WriteNumber("accuracy", info.BestAccuracy);
                    w.WriteEndObject();
                }
                w.WriteStartArray("train");
                foreach (var r in info.Train)
                {
                    w.WriteStartObject();
                    w.WriteNumber("step", r.Step);
                    w.WriteNumber("loss", r.Loss);
                    w.WriteNumber("lr", r.LearningRate);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("eval");
                foreach (var r in info.Eval)
                {
                    w.WriteStartObject();
                    w.WriteNumber("step", r.Step);
                    w.WriteNumber("epoch", r.Epoch);
                    w.WriteNumber("loss", r.Loss);
                    w.WriteNumber("accuracy", r.Accuracy);
                    if (r.EmaLoss is double el) w.WriteNumber("ema_loss", el);
                    if (r.EmaAccuracy is double ea) w.WriteNumber("ema_accuracy", ea);
                    w.WriteNumber("lr", r.LearningRate);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            WriteAtomically(Path.Combine(directory, LogCsv), s =>
            {
                using var w = new StreamWriter(s, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
                w.WriteLine("kind,step,epoch,loss,accuracy,ema_loss,ema_accuracy,lr");
                // One table, rows in step order (a train window and an evaluation at the same step: train first).
                var rows = info.Train.Select(r => (r.Step, 0, $"train,{r.Step},,{N(r.Loss)},,,,{N(r.LearningRate)}"))
                    .Concat(info.Eval.Select(r => (r.Step, 1, $"eval,{r.Step},{N(r.Epoch)},{N(r.Loss)},{N(r.Accuracy)},{(r.EmaLoss is double el ? N(el) : "")},{(r.EmaAccuracy is double ea ? N(ea) : "")},{N(r.LearningRate)}")))
                    .OrderBy(r => r.Item1).ThenBy(r => r.Item2);
                foreach (var r in rows) w.WriteLine(r.Item3);
            });
        }
    }

    /// <summary>A run folder's state cannot be used as asked (another run's state, other settings, a damaged file);
    /// the message is one line and says what to do.</summary>
    public sealed class TrainStateException : Exception
    {
        public TrainStateException(string message) : base(message)
        {
        }
    }
}
