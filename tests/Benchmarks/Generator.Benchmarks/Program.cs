using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Torchwright.Generator;

namespace Torchwright.Generator.Benchmarks
{
    /// <summary>
    /// Times the generator end to end (parse, resolve, check, cost, emit) through CSharpGeneratorDriver:
    /// the zoo, 1,000 synthetic architectures, and the incremental re-run after editing one file.
    /// Warm process; each figure is the median of several runs. Usage: [runs] (default 7).
    /// </summary>
    public static class Program
    {
        private sealed class Text : AdditionalText
        {
            private readonly SourceText text;
            public Text(string path, string text) { Path = path; this.text = SourceText.From(text, Encoding.UTF8); }
            public override string Path { get; }
            public override SourceText GetText(CancellationToken cancellationToken = default) => text;
        }

        private static readonly CSharpParseOptions Parse = new CSharpParseOptions(LanguageVersion.Latest);

        public static int Main(string[] args)
        {
            int runs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
            var root = FindRoot();
            var zoo = Directory.GetFiles(Path.Combine(root, "architectures"), "*.arch", SearchOption.AllDirectories)
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => (AdditionalText)new Text(Path.GetRelativePath(root, p), File.ReadAllText(p))).ToList();
            var synthetic = Synthetic(1000, filesOf: 10);

            Console.WriteLine($"Torchwright generator benchmark: {Environment.ProcessorCount} cores, .NET {Environment.Version}, median of {runs} warm runs");
            Console.WriteLine();
            Report("zoo (" + zoo.Count + " files)", zoo, runs);
            Report("synthetic (" + synthetic.Count + " files)", synthetic, runs);
            return 0;
        }

        private static void Report(string label, List<AdditionalText> texts, int runs)
        {
            var compilation = CSharpCompilation.Create("Bench", Array.Empty<SyntaxTree>(),
                new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) },
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));

            // Cold-ish full runs: a fresh driver each time (no cached steps), in a warm process.
            int archs = 0;
            long chars = 0;
            var full = new List<double>();
            for (int i = 0; i < runs + 2; i++)
            {
                var driver = NewDriver(texts);
                var sw = Stopwatch.StartNew();
                driver = driver.RunGenerators(compilation);
                var result = driver.GetRunResult();
                sw.Stop();
                var errors = result.Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error);
                if (errors > 0) throw new InvalidOperationException(label + ": " + errors + " errors, first: " + result.Diagnostics.First(d => d.Severity == DiagnosticSeverity.Error));
                archs = CountClasses(result);
                chars = result.GeneratedTrees.Sum(t => (long)t.Length);
                if (i >= 2) full.Add(sw.Elapsed.TotalMilliseconds);
            }
            double fullMs = Median(full);

            // Incremental: one driver kept across runs; each run replaces one file with an edited version.
            var inc = new List<double>();
            var kept = NewDriver(texts).RunGenerators(compilation);
            var target = texts[texts.Count / 2];
            var original = target.GetText()!.ToString();
            AdditionalText current = target;
            for (int i = 0; i < runs + 2; i++)
            {
                var edited = new Text(target.Path, original + "\n# edit " + i.ToString(CultureInfo.InvariantCulture) + "\n");
                var sw = Stopwatch.StartNew();
                kept = kept.ReplaceAdditionalText(current, edited).RunGenerators(compilation);
                _ = kept.GetRunResult();
                sw.Stop();
                current = edited;
                if (i >= 2) inc.Add(sw.Elapsed.TotalMilliseconds);
            }
            // A second incremental figure: an edit that changes one architecture (its output is re-emitted).
            var incChange = new List<double>();
            for (int i = 0; i < runs + 2; i++)
            {
                var text = new System.Text.RegularExpressions.Regex(@"classes\s*=\s*1000").Replace(original, "classes = " + (1001 + i).ToString(CultureInfo.InvariantCulture), 1);
                if (text == original) throw new InvalidOperationException("no classes = 1000 in " + target.Path);
                var edited = new Text(target.Path, text);
                var sw = Stopwatch.StartNew();
                kept = kept.ReplaceAdditionalText(current, edited).RunGenerators(compilation);
                _ = kept.GetRunResult();
                sw.Stop();
                current = edited;
                if (i >= 2) incChange.Add(sw.Elapsed.TotalMilliseconds);
            }

            Console.WriteLine($"{label}: {archs} generated architecture classes, {chars / 1024} KiB of C#");
            Console.WriteLine($"  full run:                         {fullMs,9:F1} ms total, {fullMs / archs,7:F3} ms per architecture");
            Console.WriteLine($"  incremental, comment-only edit:   {Median(inc),9:F1} ms");
            Console.WriteLine($"  incremental, edit one arch ({System.IO.Path.GetFileName(target.Path)}): {Median(incChange),9:F1} ms ({Median(incChange) / fullMs * 100,5:F1}% of a full run)");
            Console.WriteLine();
        }

        private static int CountClasses(GeneratorDriverRunResult result) =>
            result.GeneratedTrees.Sum(t => t.GetText().Lines.Count(l => l.ToString().Contains(" : nn.Module<")));

        private static GeneratorDriver NewDriver(IEnumerable<AdditionalText> texts) =>
            CSharpGeneratorDriver.Create(new[] { new ArchitectureGenerator().AsSourceGenerator() }, texts, Parse);

        private static double Median(List<double> xs)
        {
            var s = xs.OrderBy(x => x).ToList();
            return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
        }

        private static string FindRoot()
        {
            var dir = AppContext.BaseDirectory;
            while (dir != null && !File.Exists(Path.Combine(dir, "Generator.sln"))) dir = Path.GetDirectoryName(dir);
            return dir ?? throw new InvalidOperationException("Generator.sln not found");
        }

        /// <summary>
        /// Variants of the zoo: ResNet/BoT/ResNeSt/CoT with other depths, width multipliers and c5 masks; VAN and
        /// ResT with other depths. Deterministic (seeded), all valid.
        /// </summary>
        internal static List<AdditionalText> Synthetic(int count, int filesOf)
        {
            var rng = new Random(1234);
            var files = new List<AdditionalText>();
            var sb = new StringBuilder();
            double[] widths = { 0.5, 0.75, 1.0, 1.25 };
            for (int i = 0; i < count; i++)
            {
                var d = new[] { rng.Next(1, 4), rng.Next(1, 6), rng.Next(1, 9), rng.Next(1, 4) };
                var depths = "[" + string.Join(", ", d) + "]";
                var name = "Syn" + i.ToString("D4", CultureInfo.InvariantCulture);
                sb.Append("arch ").Append(name).Append(" : ");
                switch (i % 6)
                {
                    case 0:
                        sb.Append("ResNet50 {\n  depths = ").Append(depths).Append("\n  width = ").Append(widths[rng.Next(widths.Length)].ToString(CultureInfo.InvariantCulture)).Append('\n');
                        break;
                    case 1:
                        sb.Append("BotNet50 {\n  depths = ").Append(depths).Append("\n  c5.mhsa = [")
                          .Append(string.Join(", ", Enumerable.Range(0, d[3]).Select(_ => rng.Next(2)))).Append("]\n");
                        break;
                    case 2:
                        sb.Append("ResNeSt50 {\n  depths = ").Append(depths).Append("\n  radix = ").Append(new[] { 1, 2, 4 }[rng.Next(3)]).Append('\n');
                        break;
                    case 3:
                        sb.Append("CotNet50 {\n  depths = ").Append(depths).Append('\n');
                        break;
                    case 4:
                        sb.Append("VanB0 {\n  depths = ").Append(depths).Append('\n');
                        break;
                    default:
                        sb.Append("ResTLite {\n  depths = ").Append(depths).Append('\n');
                        break;
                }
                sb.Append("  classes = 1000\n}\n\n");
                if ((i + 1) % filesOf == 0 || i == count - 1)
                {
                    files.Add(new Text("synthetic/file" + (i / filesOf).ToString("D3", CultureInfo.InvariantCulture) + ".arch", sb.ToString()));
                    sb.Clear();
                }
            }
            return files;
        }
    }
}
