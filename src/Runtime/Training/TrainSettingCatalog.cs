using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Torchwright.Runtime.Data;

namespace Torchwright.Runtime.Training
{
    /// <summary>The entries of <see cref="TrainSettings.Catalog"/>: name, help, parse (with its range check) and read-back.</summary>
    internal static class TrainSettingCatalog
    {
        public static readonly IReadOnlyList<TrainSetting> All = Build();

        private static IReadOnlyList<TrainSetting> Build()
        {
            var list = new List<TrainSetting>
            {
                OptionalInt("steps", "optimizer steps (default 300 unless epochs is set)", 1, (s, v) => s with { Steps = v }, s => s.Steps),
                OptionalInt("epochs", "passes over the training split, instead of steps", 1, (s, v) => s with { Epochs = v }, s => s.Epochs),
                Int("batch", "images per optimizer step", 1, (s, v) => s with { Batch = v }, s => s.Batch),
                OptionalInt("eval_batch", "images per evaluation forward pass (default: batch)", 1, (s, v) => s with { EvalBatch = v }, s => s.EvalBatch),
                Number("lr", "peak learning rate (linear warm-up, then cosine decay towards 0)", 0, false, 1e6, (s, v) => s with { LearningRate = v }, s => s.LearningRate),
                Word("opt", "optimizer", new[] { "sgd", "adamw" },
                    (s, w) => s with { Optimizer = w == "adamw" ? OptimizerKind.AdamW : OptimizerKind.Sgd },
                    s => s.Optimizer == OptimizerKind.AdamW ? "adamw" : "sgd"),
                Number("momentum", "SGD momentum", 0, true, 1, (s, v) => s with { Momentum = v }, s => s.Momentum, maxInclusive: false),
                Bool("nesterov", "SGD with Nesterov momentum", (s, v) => s with { Nesterov = v }, s => s.Nesterov),
                Pair("betas", "AdamW's beta1,beta2, each in [0, 1)", 0, 1, (s, a, b) => s with { Betas = (a, b) }, s => s.Betas),
                Number("eps", "AdamW's epsilon", 0, false, 1, (s, v) => s with { Eps = v }, s => s.Eps),
                Number("weight_decay", "weight decay of parameters of rank >= 2 (norms, biases and position tables are not decayed)", 0, true, 10, (s, v) => s with { WeightDecay = v }, s => s.WeightDecay),
                Number("warmup", "fraction of the steps of linear learning-rate warm-up", 0, true, 1, (s, v) => s with { Warmup = v }, s => s.Warmup, maxInclusive: false),
                Number("label_smoothing", "label smoothing of the cross-entropy", 0, true, 1, (s, v) => s with { LabelSmoothing = v }, s => s.LabelSmoothing, maxInclusive: false),
                Number("clip_grad", "clip the gradients' global L2 norm to this (0: no clipping)", 0, true, 1e6, (s, v) => s with { ClipGrad = v }, s => s.ClipGrad),
                Number("ema", "decay of the weights' exponential moving average, evaluated beside the model (0: no EMA)", 0, true, 1, (s, v) => s with { Ema = v }, s => s.Ema, maxInclusive: false),
                Number("mixup", "Mixup's Beta(alpha, alpha) (0: off)", 0, true, 100, (s, v) => s with { Mixup = v }, s => s.Mixup),
                Number("cutmix", "CutMix's Beta(alpha, alpha) (0: off)", 0, true, 100, (s, v) => s with { Cutmix = v }, s => s.Cutmix),
                Number("mixup_prob", "probability that a batch is mixed when mixup or cutmix is on", 0, true, 1, (s, v) => s with { MixupProb = v }, s => s.MixupProb),
                Number("mixup_switch_prob", "probability of CutMix rather than Mixup when both are on", 0, true, 1, (s, v) => s with { MixupSwitchProb = v }, s => s.MixupSwitchProb),
                Long("seed", "seed of the initial weights, data order, augmentation and drop-path draws", (s, v) => s with { Seed = v }, s => s.Seed),
                new TrainSetting("precision", "arithmetic: fp32, or bf16-mixed (convolutions, linears and attention matmuls in bfloat16, BatchNorm and GroupNorm on bfloat16 with fp32 statistics, other norms, softmax and loss in fp32, fp32 weights); fp16-mixed (loss scaling) is for CUDA",
                    string.Join(" | ", Precisions.Words) + " (bf16_mixed, fp16_mixed in .arch files)",
                    (s, t) => s with { Precision = Precisions.Parse(t) }, s => Precisions.Word(s.Precision)),
                Bool("zero_init_residual", "zero the last BatchNorm of every residual bottleneck before training (timm's zero_init_last)", (s, v) => s with { ZeroInitResidual = v }, s => s.ZeroInitResidual),
            };
            list.AddRange(AugmentSettings.Settings);
            var duplicate = list.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
            if (duplicate != null) throw new InvalidOperationException($"training setting '{duplicate.Key}' is defined twice");
            return list;
        }

        // ---- entry builders: each parses invariant text, checks its range, and says what it expected ----------------

        internal static string Text(double v) => v.ToString("R", CultureInfo.InvariantCulture);

        internal static double ParseNumber(string name, string text, double min, bool minInclusive, double max, bool maxInclusive)
        {
            if (!double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                throw new FormatException($"{name} takes a number, not '{text}'");
            var lowOk = minInclusive ? v >= min : v > min;
            var highOk = maxInclusive ? v <= max : v < max;
            if (!lowOk || !highOk)
                throw new FormatException($"{name} must be in {(minInclusive ? "[" : "(")}{Text(min)}, {Text(max)}{(maxInclusive ? "]" : ")")}, not {text.Trim()}");
            return v;
        }

        internal static TrainSetting Number(string name, string description, double min, bool minInclusive, double max,
            Func<TrainSettings, double, TrainSettings> set, Func<TrainSettings, double> get, bool maxInclusive = true) =>
            new TrainSetting(name, description,
                $"a number in {(minInclusive ? "[" : "(")}{Text(min)}, {Text(max)}{(maxInclusive ? "]" : ")")}",
                (s, t) => set(s, ParseNumber(name, t, min, minInclusive, max, maxInclusive)), s => Text(get(s)));

        internal static TrainSetting Int(string name, string description, int min,
            Func<TrainSettings, int, TrainSettings> set, Func<TrainSettings, int> get) =>
            new TrainSetting(name, description, $"a whole number >= {min}",
                (s, t) => set(s, ParseInt(name, t, min)), s => get(s).ToString(CultureInfo.InvariantCulture));

        internal static TrainSetting OptionalInt(string name, string description, int min,
            Func<TrainSettings, int?, TrainSettings> set, Func<TrainSettings, int?> get) =>
            new TrainSetting(name, description, $"a whole number >= {min}, or 'auto'",
                (s, t) => set(s, t.Trim() == "auto" ? null : ParseInt(name, t, min)),
                s => get(s)?.ToString(CultureInfo.InvariantCulture) ?? "auto");

        internal static TrainSetting Long(string name, string description,
            Func<TrainSettings, long, TrainSettings> set, Func<TrainSettings, long> get) =>
            new TrainSetting(name, description, "a whole number",
                (s, t) => long.TryParse(t.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
                    ? set(s, v) : throw new FormatException($"{name} takes a whole number, not '{t}'"),
                s => get(s).ToString(CultureInfo.InvariantCulture));

        internal static int ParseInt(string name, string text, int min)
        {
            if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                throw new FormatException($"{name} takes a whole number, not '{text}'");
            if (v < min) throw new FormatException($"{name} must be at least {min}, not {v}");
            return v;
        }

        internal static TrainSetting Bool(string name, string description,
            Func<TrainSettings, bool, TrainSettings> set, Func<TrainSettings, bool> get) =>
            new TrainSetting(name, description, "true | false",
                (s, t) => t.Trim() switch
                {
                    "true" => set(s, true),
                    "false" => set(s, false),
                    _ => throw new FormatException($"{name} takes true or false, not '{t}'"),
                },
                s => get(s) ? "true" : "false");

        internal static TrainSetting Word(string name, string description, string[] words,
            Func<TrainSettings, string, TrainSettings> set, Func<TrainSettings, string> get) =>
            new TrainSetting(name, description, string.Join(" | ", words),
                (s, t) => Array.IndexOf(words, t.Trim()) >= 0 ? set(s, t.Trim())
                    : throw new FormatException($"{name} takes {string.Join(", ", words.Take(words.Length - 1))} or {words[^1]}, not '{t}'"),
                get);

        internal static TrainSetting Pair(string name, string description, double min, double max,
            Func<TrainSettings, double, double, TrainSettings> set, Func<TrainSettings, (double, double)> get) =>
            new TrainSetting(name, description, $"two numbers a,b in [{Text(min)}, {Text(max)})",
                (s, t) =>
                {
                    var parts = t.Trim().Trim('[', ']').Split(',');
                    if (parts.Length != 2) throw new FormatException($"{name} takes two numbers a,b, not '{t}'");
                    return set(s, ParseNumber(name, parts[0], min, true, max, false), ParseNumber(name, parts[1], min, true, max, false));
                },
                s => { var (a, b) = get(s); return Text(a) + "," + Text(b); });
    }
}
