using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;
using Torchwright.Dsl.Resolution;
using Torchwright.Dsl.Syntax;

namespace Torchwright.Dsl.Analysis
{
    /// <summary>
    /// Caps the checking work one compilation may ask for, so a small file cannot make `check` or a build run
    /// for minutes (8 stages x 256 blocks under a 64 x 64 sweep is 8.4 million blocks in 1.1 KB). The unit is a
    /// block: building, shape inference and costing are linear in blocks. Documented in docs/arch-language.md.
    /// </summary>
    public static class WorkLimits
    {
        /// <summary>
        /// Blocks checked per compilation, over every architecture and sweep variant: 4,096 variants of a 31-block
        /// network (ResNet-50 has 16 blocks) fit, and `check` of such a file takes about 1.5 s and 100 MB.
        /// </summary>
        public const long MaxBlocks = 1L << 17;

        /// <summary>
        /// The largest .arch file the CLI reads (a root file or an import): 1 MiB. The zoo's largest file is under
        /// 4 KB; anything near the cap is a wrong path (a log, a device, a dataset), not a declaration.
        /// </summary>
        public const long MaxFileBytes = 1L << 20;


        /// <summary>
        /// The blocks building <paramref name="arch"/> would check: one per block of each stage, with depths read
        /// as the builder reads them (cN.depth, else depths[N], else 1) and clamped to the builder's limits (a deeper
        /// stage or a longer list fails its own range check at once, without building blocks).
        /// </summary>
        public static long Blocks(ResolvedArch arch)
        {
            var fields = arch.ToMap();
            if (!fields.TryGetValue(FieldCatalog.Depths.List.Name, out var d) || !(d.Value is ListValue list)) return 1;
            int n = Math.Min(list.Items.Count, ArchBuilder.MaxStages);
            long total = 0;
            for (int s = 0; s < n; s++)
            {
                long depth = list.Items[s] is IntValue iv ? iv.Value : 1;
                if (fields.TryGetValue(FieldCatalog.StageName(s) + ".depth", out var o) && o.Value is IntValue ov) depth = ov.Value;
                total += Math.Max(1, Math.Min(depth, ArchBuilder.MaxDepth));
            }
            return Math.Max(1, total);
        }

        /// <summary>
        /// The architectures to build, in order, without each declaration (an architecture, or a sweep with all
        /// its variants) that would take the total past <see cref="MaxBlocks"/>: that one is reported at its name
        /// and not built; later, smaller declarations still are.
        /// </summary>
        public static IReadOnlyList<ResolvedArch> Admit(IReadOnlyList<ResolvedArch> archs, List<Diagnostic> diagnostics)
        {
            long total = 0;
            var admitted = new List<ResolvedArch>(archs.Count);
            int i = 0;
            while (i < archs.Count)
            {
                // A declaration: one architecture, or the consecutive variants of one sweep.
                int end = i + 1;
                var sweep = archs[i].Variant?.Sweep;
                if (sweep != null)
                    while (end < archs.Count && archs[end].Variant?.Sweep == sweep) end++;
                long blocks = 0;
                for (int k = i; k < end; k++) blocks += Blocks(archs[k]);
                if (total + blocks > MaxBlocks)
                {
                    var what = sweep != null
                        ? $"its {end - i:N0} variants have {blocks:N0} blocks"
                        : $"it has {blocks:N0} blocks";
                    diagnostics.Add(DiagnosticCatalog.TooMuchWork.Create(archs[i].Location, sweep != null ? "Sweep" : "Architecture",
                        sweep ?? archs[i].Name, total + blocks, what, MaxBlocks));
                    i = end;
                    continue;
                }
                total += blocks;
                for (int k = i; k < end; k++) admitted.Add(archs[k]);
                i = end;
            }
            return admitted;
        }
    }
}
