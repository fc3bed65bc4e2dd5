using System;
using System.Collections.Generic;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    /// <summary>
    /// Squeeze-excitation as timm's SEModule (Runtime SqueezeExcite): mean over H·W, fc1 1x1 conv (bias) to
    /// make_divisible(C·ratio, 8), the block's activation, fc2 1x1 conv (bias) back to C, sigmoid gate.
    /// </summary>
    public sealed class SqueezeExciteDefinition : ChannelAttentionDefinition
    {
        public static readonly SqueezeExciteDefinition Instance = new SqueezeExciteDefinition();

        public static readonly Field<double> RatioField = new Field<double>("se_ratio", FieldScope.Both, 0.0625,
            "Squeeze-excitation reduction: fc1 has make_divisible(C x se_ratio, 8) channels (timm's rounding: to the nearest multiple of 8, at least 8).",
            note: " (1/16)", readBy: "blocks with attention = se or mhsa_attention = se");

        public override string Word => "se";
        public override string RuntimeKind => "SqueezeExcite";
        public override string Summary => "squeeze-excitation, timm SEModule";
        public override IEnumerable<FieldInfo> Fields => new[] { RatioField };

        /// <summary>timm's make_divisible(v, divisor, round_limit=0): the nearest multiple of the divisor, at least the divisor.</summary>
        public static long MakeDivisible(double v, long divisor = 8) => Math.Max(divisor, (long)(v + divisor / 2.0) / divisor * divisor);

        public override ChannelAttentionIR? Read(FieldReader f, int stage, string owner, long channels)
        {
            double ratio = f.Get(RatioField, stage);
            if (!(ratio > 0 && ratio <= 1))
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(RatioField, stage), owner, RatioField.Name, ratio, "a reduction ratio in (0, 1], e.g. 0.0625 (1/16) or 0.25"));
                return null;
            }
            return new ChannelAttentionIR(this, MakeDivisible(channels * ratio), 0);
        }

        public override void Cost(CostSheet a, ChannelAttentionIR at, long channels)
        {
            a.Conv(new Shape(channels, 1, 1), at.Channels, 1, bias: true);  // fc1
            a.Conv(new Shape(at.Channels, 1, 1), channels, 1, bias: true);  // fc2
        }
    }

    /// <summary>
    /// ECA as timm's EcaModule (Runtime EfficientChannelAttention): mean over H·W, a Conv1d (1 -> 1, kernel k, no bias)
    /// across channels, sigmoid gate. k adapts to C as in the paper: t = int(|log2(C) + 1| / 2), k = max(t odd ? t : t + 1, 3).
    /// </summary>
    public sealed class EcaDefinition : ChannelAttentionDefinition
    {
        public static readonly EcaDefinition Instance = new EcaDefinition();

        public static readonly FieldInfo KernelField = new FieldInfo("eca_kernel", FieldType.Int, FieldScope.Both,
            "ECA's Conv1d kernel (odd). Default: adaptive to the channels, t = int(|log2(C) + 1| / 2), k = max(t if odd else t + 1, 3), as timm's EcaModule.",
            ReadBy: "blocks with attention = eca or mhsa_attention = eca");

        public override string Word => "eca";
        public override string RuntimeKind => "Eca";
        public override string Summary => "efficient channel attention, timm EcaModule";
        public override IEnumerable<FieldInfo> Fields => new[] { KernelField };

        public static long AdaptiveKernel(long channels)
        {
            long t = (long)(Math.Abs(Math.Log(channels, 2) + 1) / 2);
            return Math.Max(t % 2 == 1 ? t : t + 1, 3);
        }

        public override ChannelAttentionIR? Read(FieldReader f, int stage, string owner, long channels)
        {
            long k = f.Int(KernelField, stage, AdaptiveKernel(channels));
            if (k < 1 || k > 255 || k % 2 == 0)
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(KernelField, stage), owner, KernelField.Name, k, "an odd kernel between 1 and 255 (padding (k-1)/2 keeps the channel count)"));
                return null;
            }
            return new ChannelAttentionIR(this, 0, k);
        }

        public override void Cost(CostSheet a, ChannelAttentionIR at, long channels)
        {
            a.Add(at.Kernel);
            a.AddMacs(checked(channels * at.Kernel));
        }
    }
}
