using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Cli.Tests.Soundness
{
    /// <summary>
    /// What the checker accepts must run: random small declarations over every field and block kind, each accepted one
    /// built through the CLI's emit + Roslyn path, its parameters counted, its shapes compared block by block with the
    /// checker's and one training step taken. Failures are shrunk to the smallest declaration that still fails them.
    /// </summary>
    [Collection(nameof(SoundnessTests))]
    public class SoundnessTests
    {
        /// <summary>Seeds per CI run (0..999): 1 to 2.5 minutes on 2 busy cores. TORCHWRIGHT_SOUNDNESS_SEEDS=N runs more (locally).</summary>
        private const int DefaultSeeds = 1000;

        private readonly ITestOutputHelper output;

        public SoundnessTests(ITestOutputHelper output) => this.output = output;

        [Fact]
        public void Every_generated_architecture_the_checker_accepts_builds_with_its_checked_shapes_and_trains_a_step()
        {
            int seeds = int.TryParse(Environment.GetEnvironmentVariable("TORCHWRIGHT_SOUNDNESS_SEEDS"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : DefaultSeeds;
            int first = int.TryParse(Environment.GetEnvironmentVariable("TORCHWRIGHT_SOUNDNESS_FIRST"), NumberStyles.None, CultureInfo.InvariantCulture, out var f) ? f : 0;
            // One libtorch thread: the networks are tiny, and CI shares its cores.
            int threads = TorchSharp.torch.get_num_threads();
            TorchSharp.torch.set_num_threads(1);
            var clock = Stopwatch.StartNew();
            int accepted = 0, tooLarge = 0;
            var log = Environment.GetEnvironmentVariable("TORCHWRIGHT_SOUNDNESS_LOG");
            var rejectedBy = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var failures = new List<string>();
            var covered = new SortedDictionary<string, int>(StringComparer.Ordinal);
            for (int seed = first; seed < first + seeds; seed++)
            {
                var decl = ArchGenerator.Generate(seed);
                // A native crash ends the process without a report: the declaration being run is left in <log>.current.
                if (log != null) File.WriteAllText(log + ".current", $"# seed {seed}\n" + decl.ToText());
                var seedClock = Stopwatch.StartNew();
                var result = SoundnessProbe.Run(decl.ToText());
                if (log != null) File.AppendAllText(log, $"seed {seed}: {(result.Accepted ? result.TooLarge ? "too large" : result.FailureKind ?? "ok" : "rejected " + string.Join(",", result.ErrorIds))} {seedClock.Elapsed.TotalSeconds:0.00} s\n");
                if (result.TooLarge) { tooLarge++; continue; }
                if (!result.Accepted)
                {
                    foreach (var id in result.ErrorIds) rejectedBy[id] = rejectedBy.TryGetValue(id, out var k) ? k + 1 : 1;
                    continue;
                }
                accepted++;
                foreach (var field in Covered(decl)) covered[field] = covered.TryGetValue(field, out var c) ? c + 1 : 1;
                if (!result.Failed) continue;
                var smallest = Shrinker.Shrink(decl, c => SoundnessProbe.Run(c.ToText()).FailureKind == result.FailureKind, maxTries: 60);
                var again = SoundnessProbe.Run(smallest.ToText());
                failures.Add($"seed {seed}: {result.FailureKind}: {result.Failure}\n  smallest that still fails ({again.Failure}):\n{smallest.ToText()}");
            }
            TorchSharp.torch.set_num_threads(threads);
            output.WriteLine($"{seeds} generated, {accepted} accepted and built, trained and compared ({tooLarge} more accepted but over {SoundnessProbe.MaxMacs / 1e6:0} M MACs, not run); {failures.Count} failed; "
                + $"rejections by error: {string.Join(", ", rejectedBy.Select(kv => kv.Key + " x" + kv.Value))}; {clock.Elapsed.TotalSeconds:0.0} s");
            output.WriteLine("accepted declarations per field: " + string.Join(", ", covered.Select(kv => kv.Key + " " + kv.Value)));
            foreach (var failure in failures) output.WriteLine(failure);
            Assert.True(failures.Count == 0, string.Join("\n", failures));
            // The generator must keep producing runnable architectures, or the property says nothing.
            Assert.True(accepted >= seeds / 3, $"only {accepted} of {seeds} generated declarations were accepted");
            // The options of the restructured blocks must reach accepted (so built and run) declarations, or the property skips them.
            if (seeds >= DefaultSeeds)
                foreach (var field in new[] { "act", "attention=se", "attention=eca", "se_ratio", "eca_kernel", "attention_at", "mhsa_attention", "qk_head_dim", "dilation", "avd_first", "stem_widths", "cot cardinality" })
                    Assert.True(covered.TryGetValue(field, out var k) && k >= 3, $"only {(covered.TryGetValue(field, out var m) ? m : 0)} accepted declarations set {field}");
        }

        /// <summary>The fields a declaration sets (stage fields without their cN.), plus the option words and CoXt (a cot stage with cardinality above 1).</summary>
        private static IEnumerable<string> Covered(GenArch decl)
        {
            var fields = new HashSet<string>(StringComparer.Ordinal);
            foreach (var kv in decl.Scalars) fields.Add(kv.Key);
            foreach (var kv in decl.Lists) fields.Add(kv.Key);
            foreach (var kv in decl.StageFields) fields.Add(kv.Key.Field);
            if (decl.Masks.Count > 0) fields.Add("mhsa");
            foreach (var word in new[] { "se", "eca" })
                if (decl.Scalar("attention") == word || decl.StageFields.Any(kv => kv.Key.Field == "attention" && kv.Value == word)) fields.Add("attention=" + word);
            for (int s = 0; s < decl.Stages; s++)
            {
                string kind = decl.StageFields.TryGetValue((s, "block"), out var b) ? b : decl.Scalar("block") ?? "";
                string card = decl.StageFields.TryGetValue((s, "cardinality"), out var c) ? c : decl.Scalar("cardinality") ?? "1";
                if (kind == "cot" && card != "1") fields.Add("cot cardinality");
            }
            return fields;
        }
    }

    /// <summary>Runs alone, after the parallel tests: it sets libtorch's process-wide thread count, which sweeps read.</summary>
    [CollectionDefinition(nameof(SoundnessTests), DisableParallelization = true)]
    public sealed class SoundnessCollection { }
}
