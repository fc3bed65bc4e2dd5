using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Torchwright.Dsl.Diagnostics;
using Torchwright.Dsl.Syntax;
using Torchwright.Dsl.Tests.Fuzz;
using Xunit;
using Xunit.Abstractions;

namespace Torchwright.Dsl.Tests.Syntax
{
    /// <summary>
    /// Deterministic mutation fuzzing of the parser (fixed seeds): for every mutated text the parser returns,
    /// every diagnostic and every tree location lies inside the text with line/column matching its offset, and
    /// parsing is deterministic. A failure message names the corpus file, seed and index that reproduce it.
    /// </summary>
    public class ParserFuzzTests
    {
        private const int Seed = 20_240_613;
        private const int MinimumCases = 10_000;
        private readonly ITestOutputHelper output;

        public ParserFuzzTests(ITestOutputHelper output) => this.output = output;

        [Fact]
        public void Mutated_architectures_never_break_the_parser()
        {
            var corpus = ArchCorpus.All();
            int perText = Math.Max(2_000, (MinimumCases + corpus.Count - 1) / corpus.Count);
            int cases = 0, withErrors = 0;
            var watch = Stopwatch.StartNew();
            for (int c = 0; c < corpus.Count; c++)
            {
                var (name, text) = corpus[c];
                int index = 0;
                foreach (var mutated in ArchMutator.Mutations(text, Seed + c, perText))
                {
                    var context = $"{name} seed {Seed + c} mutation #{index}";
                    if (CheckOne(mutated, context)) withErrors++;
                    cases++;
                    index++;
                }
            }
            watch.Stop();
            output.WriteLine($"{cases} mutations of {corpus.Count} files ({withErrors} with syntax errors) in {watch.Elapsed.TotalSeconds:F2} s");
            Assert.True(cases >= MinimumCases);
            Assert.True(withErrors > cases / 4, "the mutator should break most inputs");
        }

        [Fact]
        public void Byte_soup_never_breaks_the_parser()
        {
            var rng = new Random(Seed);
            for (int i = 0; i < 2_000; i++)
                CheckOne(ArchMutator.Soup(rng, 400), $"soup #{i}");
        }

        [Fact]
        public void Every_prefix_of_a_valid_file_parses()
        {
            foreach (var (name, text) in ArchCorpus.All())
                for (int n = 0; n <= text.Length; n++)
                    CheckOne(text.Substring(0, n), $"{name} truncated to {n}");
        }

        [Fact]
        public void Every_single_character_deletion_of_the_sample_parses()
        {
            var text = ArchCorpus.Sample;
            for (int i = 0; i < text.Length; i++)
                CheckOne(text.Remove(i, 1), $"sample without char {i}");
        }

        [Fact]
        public void Zoo_files_parse_cleanly()
        {
            foreach (var (name, text) in ArchCorpus.ZooFiles())
            {
                var diagnostics = new List<Diagnostic>();
                ArchParser.Parse(name, text, diagnostics);
                Assert.True(diagnostics.Count == 0, name + ":\n" + string.Join("\n", diagnostics));
            }
        }

        [Fact]
        public void Mutator_is_deterministic()
        {
            var a = ArchMutator.Mutations(ArchCorpus.Sample, 7, 50).ToList();
            var b = ArchMutator.Mutations(ArchCorpus.Sample, 7, 50).ToList();
            Assert.Equal(a, b);
            Assert.True(a.Distinct().Count() > 40);
        }

        /// <summary>Parses twice; returns whether it reported errors.</summary>
        private static bool CheckOne(string text, string context)
        {
            List<Diagnostic> d1 = new(), d2 = new();
            ArchFile f1, f2;
            try
            {
                f1 = ArchParser.Parse("fuzz.arch", text, d1);
                f2 = ArchParser.Parse("fuzz.arch", text, d2);
            }
            catch (Exception e)
            {
                Assert.Fail($"{context}: parser threw {e.GetType().Name}: {e.Message}\ninput: {Escape(text)}\n{e.StackTrace}");
                throw;
            }
            DiagnosticInvariants.AssertAll(d1, text, context);
            AstInvariants.AssertAll(f1, text, context);
            if (!f1.Equals(f2) || !d1.SequenceEqual(d2)) Assert.Fail($"{context}: parsing is not deterministic");
            if (d1.Any(d => d.Id != DiagnosticCatalog.SyntaxError.Id)) Assert.Fail($"{context}: the parser reports only TW0001");
            return d1.Count > 0;
        }

        private static string Escape(string s) =>
            string.Concat(s.Select(ch => ch < 0x20 || ch > 0x7E ? (ch == '\n' ? "\\n" : $"\\u{(int)ch:X4}") : ch.ToString()));
    }
}
