using System.Collections.Generic;
using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Emit;
using Torchwright.Dsl.Families;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Blocks
{
    public sealed record VanSettings(long MlpRatio, long LkaKernel, long LkaDilation, double LayerScale) : BlockSettings;

    /// <summary>VAN's block (Runtime VanBlock): BN, large-kernel attention, layer scale; BN, MLP with depthwise conv, layer scale.</summary>
    public sealed class VanDefinition : BlockDefinition
    {
        public static readonly VanDefinition Instance = new VanDefinition();

        public static readonly Field<long> LkaKernelField = new Field<long>("lka_kernel", FieldScope.Both, 21,
            "VAN large-kernel attention: the kernel K approximated (odd).");

        public static readonly Field<long> LkaDilationField = new Field<long>("lka_dilation", FieldScope.Both, 3,
            "VAN large-kernel attention dilation d: (2d-1)x(2d-1) depthwise, ceil(K/d) dilated depthwise, 1x1.");

        public static readonly Field<double> LayerScaleField = new Field<double>("layer_scale", FieldScope.Arch, 0.01,
            "Initial value of VAN's layer-scale parameters.");

        public override string KindName => "VanBlock";
        public override string Word => "van";
        public override FamilyDefinition Family => VanFamilyDefinition.Instance;
        public override string Summary => "VAN large-kernel attention";
        public override IEnumerable<FieldInfo> Fields => new FieldInfo[] { SharedFields.MlpRatio.List, SharedFields.MlpRatio.Stage, LkaKernelField, LkaDilationField, LayerScaleField };

        /// <summary>The large-kernel decomposition: (2d-1) depthwise, ceil(K/d) depthwise dilated by d.</summary>
        public static (long Local, long Dilated) LkaKernels(long kernel, long dilation) =>
            (2 * dilation - 1, (kernel + dilation - 1) / dilation);

        public override List<BlockIR>? BuildStage(StageContext stage)
        {
            var f = stage.Fields;
            int s = stage.Index;
            long mlp = f.Get(SharedFields.MlpRatio, s);
            if (!f.InRange(mlp, 1, 64, f.LocationOf(SharedFields.MlpRatio, s), SharedFields.MlpRatio.Stage.Name, stage.Name)) return null;
            long lkaK = f.Get(LkaKernelField, s), lkaD = f.Get(LkaDilationField, s);
            string? why = null;
            bool kernelAtFault = true;
            if (lkaK < 3 || lkaK > 255) why = "the kernel must be between 3 and 255";
            else if (lkaK % 2 == 0) why = "the kernel must be odd so the map keeps its size";
            else
            {
                kernelAtFault = false;
                if (lkaD < 1) why = "the dilation must be at least 1";
                else if (2 * lkaD - 1 > lkaK) why = $"the local depthwise kernel 2d-1 = {2 * lkaD - 1} exceeds the kernel; use a dilation of at most {(lkaK + 1) / 2}";
                else if (LkaKernels(lkaK, lkaD).Dilated % 2 == 0)
                    why = $"the dilated kernel ceil(K/d) = {LkaKernels(lkaK, lkaD).Dilated} is even, so padding cannot keep the map size; pick K and d with ceil(K/d) odd (e.g. 21 and 3)";
            }
            if (why != null)
            {
                f.Report(DiagnosticCatalog.InvalidLka.Create(f.LocationOf(kernelAtFault ? (FieldInfo)LkaKernelField : LkaDilationField, s), stage.Name, lkaK, lkaD, why));
                return null;
            }
            var settings = new VanSettings(mlp, lkaK, lkaD, f.Get(LayerScaleField));
            var blocks = new List<BlockIR>(stage.Depth);
            for (int b = 0; b < stage.Depth; b++)
                blocks.Add(new BlockIR(this, stage.Width, stage.Width, stage.Width, 1, settings, BlockOptionsIR.Default));
            return blocks;
        }

        public override Shape Cost(CostSheet a, BlockIR b, Shape x)
        {
            var s = (VanSettings)b.Settings;
            long c = b.Width, hidden = c * s.MlpRatio;
            var (k0, k1) = LkaKernels(s.LkaKernel, s.LkaDilation);
            a.Norm(c);
            a.Conv(x, c, 1, bias: true);                                              // proj_1
            a.Conv(x, c, k0, groups: c, bias: true);                                  // conv0
            a.Conv(x, c, k1, dilation: s.LkaDilation, groups: c, bias: true);         // conv_spatial
            a.Conv(x, c, 1, bias: true);                                              // conv1
            a.Conv(x, c, 1, bias: true);                                              // proj_2
            a.Add(c);                                                                 // layer_scale_1
            a.Norm(c);
            var m = a.Conv(x, hidden, 1, bias: true);                                 // fc1
            a.Conv(m, hidden, 3, groups: hidden, bias: true);                         // dwconv
            a.Conv(m, c, 1, bias: true);                                              // fc2
            a.Add(c);                                                                 // layer_scale_2
            return x;
        }

        public override string Create(BlockIR b, string name, Shape input)
        {
            var s = (VanSettings)b.Settings;
            var args = new List<(string, string)>
            {
                ("name", name), ("dim", I(b.Width)), ("mlpRatio", I(s.MlpRatio)), ("lkaKernel", I(s.LkaKernel)), ("lkaDilation", I(s.LkaDilation)),
                ("layerScale", CSharpLiteral.Double(s.LayerScale)),
            };
            if (b.DropPath != 0) args.Add(("dropPath", CSharpLiteral.Double(b.DropPath)));
            return CSharpLiteral.New($"{ResNetFamily.RuntimeBlocks}.VanBlock", args);
        }

        private static string I(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);

        public override IEnumerable<KeyValuePair<string, object>> Spec(BlockIR b)
        {
            var s = (VanSettings)b.Settings;
            yield return new KeyValuePair<string, object>("mlp_ratio", s.MlpRatio);
            yield return new KeyValuePair<string, object>("lka_kernel", s.LkaKernel);
            yield return new KeyValuePair<string, object>("lka_dilation", s.LkaDilation);
            yield return new KeyValuePair<string, object>("layer_scale", s.LayerScale);
        }
    }
}
