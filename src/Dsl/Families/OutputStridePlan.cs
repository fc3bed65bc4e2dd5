using Torchwright.Dsl.Analysis;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Model;

namespace Torchwright.Dsl.Families
{
    /// <summary>
    /// The ResNet family's <c>output_stride</c> as timm's create_byob_stages applies it (torchvision's
    /// replace_stride_with_dilation gives the same nets): walking the stages with the network's stride so far (the stem's,
    /// then times each stage's), a stage with stride above 1 that starts at or past the output stride runs at stride 1
    /// and multiplies the running dilation by its stride instead. The result is only a derivation of each stage's
    /// stride and dilation (cN.stride / cN.dilation keep their one meaning), so an explicit cN.stride or cN.dilation on a
    /// stage it changes is a conflict (TW0024). Families that do not read output_stride get <see cref="None"/>.
    /// </summary>
    public sealed class OutputStridePlan
    {
        public static readonly long[] Values = { 8, 16, 32 };

        /// <summary>The plan of a family without output_stride: every stage keeps its stride and its own dilation.</summary>
        public static readonly OutputStridePlan None = new OutputStridePlan(null, 0, 1);

        private readonly FieldReader? f;
        private readonly long target;
        private long net, dilation = 1;

        private OutputStridePlan(FieldReader? f, long target, long stemStride)
        {
            this.f = f;
            this.target = target;
            net = stemStride;
        }

        /// <summary>Reads output_stride (8, 16 or 32; <see cref="None"/> when unset) for a network whose stem reduces by <paramref name="stemStride"/>; null after an error.</summary>
        public static OutputStridePlan? Read(FieldReader f, long stemStride)
        {
            var field = ResNetFamily.OutputStride;
            // Unset, the declared strides stand (a network may reduce by more than the default 32: nothing is dilated).
            if (!f.Has(field)) return None;
            long target = f.Get(field);
            if (System.Array.IndexOf(Values, target) < 0)
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(field), f.ArchName, field.Name, target, "use 8, 16 or 32"));
                return null;
            }
            if (stemStride > target)
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(field), f.ArchName, field.Name, target,
                    $"the stem alone reduces by {stemStride}; use a larger output_stride"));
                return null;
            }
            return new OutputStridePlan(f, target, stemStride);
        }

        /// <summary>
        /// The stride a stage runs at and the dilation of its blocks after the first (null: the stage's own cN.dilation),
        /// given its declared <paramref name="stride"/>; null after an error (a stride that jumps past the output stride, or an
        /// explicit cN.stride the rule would change).
        /// </summary>
        public (long Stride, long? Dilation)? Stage(int stage, long stride)
        {
            if (f == null) return (stride, null);
            var field = ResNetFamily.OutputStride;
            string name = FieldCatalog.StageName(stage);
            if (net >= target && stride > 1)
            {
                var stridePath = FieldReader.StagePath(stage, FieldCatalog.Strides.Stage.Name);
                if (f.Has(stridePath))
                {
                    f.Report(DiagnosticCatalog.FieldHasNoEffect.Create(f.PathLocationOf(stridePath), name, stridePath,
                        $"output_stride = {target} runs {name} at stride 1 and dilates it by {stride} instead (the network's stride is already {net})",
                        $"output_stride derives {name}'s stride and dilation (remove output_stride to set them yourself)"));
                    return null;
                }
                dilation *= stride;
                stride = 1;
            }
            else if (net < target && net * stride > target)
            {
                f.Report(DiagnosticCatalog.OutOfRange.Create(f.LocationOf(field), f.ArchName, field.Name, target,
                    $"{name}'s stride {stride} takes the network's stride from {net} to {net * stride}, past {target}; use output_stride {net * stride}, or a stride that reaches {target} exactly"));
                return null;
            }
            net *= stride;
            return (stride, dilation > 1 ? dilation : (long?)null);
        }

        /// <summary>After the last stage: an output_stride set above the network's whole stride changes nothing (TW0024).</summary>
        public void Finish()
        {
            if (f == null || net >= target) return;
            var path = ResNetFamily.OutputStride.Name;
            f.Report(DiagnosticCatalog.FieldHasNoEffect.Create(f.PathLocationOf(path), f.ArchName, path,
                $"the network reduces its input by {net} in all, less than {target}", "output_stride only turns the strides past it into dilation"));
        }
    }
}
