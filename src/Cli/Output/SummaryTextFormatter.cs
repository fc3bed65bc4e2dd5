using System.IO;
using System.Linq;

namespace Torchwright.Cli.Output
{
    /// <summary>The human-readable summary: a torchinfo-style table per architecture, then each sweep's variants.</summary>
    internal static class SummaryTextFormatter
    {
        public static void Write(TextWriter w, SummaryDocument doc, bool markdown)
        {
            bool first = true;
            foreach (var a in doc.Architectures)
            {
                if (!first) w.WriteLine();
                first = false;
                WriteArchitecture(w, a, markdown);
            }
            foreach (var s in doc.Sweeps)
            {
                if (!first) w.WriteLine();
                first = false;
                WriteSweep(w, s, markdown);
            }
        }

        public static void WriteArchitecture(TextWriter w, ArchSummary a, bool markdown)
        {
            var title = a.Sweep == null ? a.Name : $"{a.Name} (variant of sweep {a.Sweep})";
            if (markdown) { w.WriteLine("### " + title); w.WriteLine(); }
            else w.WriteLine(title);
            w.WriteLine(InputLine(a));
            if (a.FeatureNote != null) w.WriteLine(a.FeatureNote);
            if (markdown) w.WriteLine();

            var t = new TextTable(("Layer (path)", false), ("Kind", false), ("Output shape", false), ("Params", true), ("MACs", true));
            foreach (var l in a.Layers)
                t.Add(markdown ? "`" + l.Path + "`" : l.Path, l.Kind, l.Output.ToString(), Numbers.Grouped(l.Params), Numbers.Grouped(l.Macs));
            var output = a.Layers.Count > 0 ? a.Layers[a.Layers.Count - 1].Output.ToString() : "";
            t.AddTotal("Total", "", output, Numbers.Grouped(a.Params), Numbers.Grouped(a.Macs));
            if (markdown) t.WriteMarkdown(w); else t.WriteText(w);
            if (markdown) w.WriteLine();

            string bullet = markdown ? "- " : "";
            w.WriteLine($"{bullet}Total params: {Numbers.Grouped(a.Params)} ({Numbers.Scaled(a.Params)})");
            w.WriteLine($"{bullet}Parameter memory (fp32): {Numbers.Grouped(a.ParamBytesFp32)} bytes ({Numbers.MiB(a.ParamBytesFp32)})");
            w.WriteLine($"{bullet}MACs: {Numbers.Grouped(a.Macs)} ({Numbers.Scaled(a.Macs)}) = {Numbers.Scaled(2 * a.Macs)}FLOPs");
            w.WriteLine($"{bullet}MACs without attention matmuls (conv + linear only): {Numbers.Grouped(a.MacsWithoutAttention)} ({Numbers.Scaled(a.MacsWithoutAttention)}); attention matmuls: {Numbers.Grouped(a.AttentionMacs)}");
            w.WriteLine($"{bullet}{Conventions.Macs}. {Conventions.NotCounted}.");
        }

        private static string InputLine(ArchSummary a) => a.InputDeclared
            ? $"Input: {a.Input} (C x H x W)"
            : $"Input: not declared; shapes and MACs are at a nominal {a.Input} (add 'input = CxHxW' to fix the size)";

        public static void WriteSweep(TextWriter w, SweepSummary s, bool markdown)
        {
            var title = $"Sweep {s.Name}: {Numbers.Plural(s.Variants.Count + s.InvalidVariants.Count, "variant")} of {s.Base} over {string.Join(", ", s.Axes)}";
            if (markdown) { w.WriteLine("### " + title); w.WriteLine(); }
            else w.WriteLine(title);
            var nominal = s.Variants.Where(v => !v.InputDeclared).Select(v => v.Input.ToString()).Distinct().ToList();
            if (nominal.Count > 0)
            {
                w.WriteLine($"Input: not declared; MACs are at a nominal {string.Join(", ", nominal)}");
                if (markdown) w.WriteLine();
            }

            var t = new TextTable(("Variant", false), ("Params", true), ("MACs", true), ("MACs w/o attention", true), ("Param memory", true));
            foreach (var v in s.Variants)
                t.Add(markdown ? "`" + v.Name + "`" : v.Name, Numbers.Grouped(v.Params), Numbers.Grouped(v.Macs), Numbers.Grouped(v.MacsWithoutAttention), Numbers.MiB(v.ParamBytesFp32));
            foreach (var name in s.InvalidVariants)
                t.Add(markdown ? "`" + name + "`" : name, "invalid", "", "", "");
            if (markdown) t.WriteMarkdown(w); else t.WriteText(w);
            if (markdown) w.WriteLine();
            w.WriteLine((markdown ? "- " : "") + Conventions.Macs + "; parameter memory in fp32.");
            w.WriteLine((markdown ? "- " : "") + $"Per-layer table of one variant: torchwright summary <file> --name '{(s.Variants.Count > 0 ? s.Variants[0].Name : s.Name + "/...")}'");
        }
    }
}
