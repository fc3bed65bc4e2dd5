using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Torchwright.Dsl;
using Xunit;

namespace Torchwright.Cli.Tests.Soundness
{
    /// <summary>Every failure the property test found, kept as a regression test (corpus.arch beside this file).</summary>
    public class SoundnessCorpusTests
    {
        private static readonly Regex Entry = new Regex(@"^# expect: (?<expect>\S+)\r?\n(?<text>arch (?<name>\w+) \{.*?^\}\r?$)", RegexOptions.Multiline | RegexOptions.Singleline);

        private static string CorpusPath => Path.Combine(CliRunner.RepoRoot, "tests", "Cli.Tests", "Soundness", "corpus.arch");

        private static IReadOnlyDictionary<string, (string Expect, string Text)> Corpus()
        {
            var text = File.ReadAllText(CorpusPath).Replace("\r\n", "\n");
            return Entry.Matches(text).ToDictionary(m => m.Groups["name"].Value,
                m => (m.Groups["expect"].Value, m.Groups["text"].Value));
        }

        public static IEnumerable<object[]> Names() => Corpus().Keys.Select(k => new object[] { k });

        [Fact]
        public void The_corpus_holds_both_declarations_of_the_issue_and_every_entry_has_an_expectation()
        {
            var corpus = Corpus();
            Assert.Contains("G9", corpus.Keys);
            Assert.Contains("G85", corpus.Keys);
            // Every arch in the file was matched with its "# expect:" line.
            Assert.Equal(Regex.Matches(File.ReadAllText(CorpusPath), @"^arch ", RegexOptions.Multiline).Count, corpus.Count);
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void Corpus_entry_is_rejected_with_its_error_or_runs(string name)
        {
            var (expect, text) = Corpus()[name];
            if (expect == "runs")
            {
                var result = SoundnessProbe.Run(text);
                Assert.True(result.Accepted, $"{name} was rejected: {string.Join(", ", result.ErrorIds)}");
                Assert.False(result.Failed, $"{name}: {result.FailureKind}: {result.Failure}");
            }
            else
            {
                var compiled = ArchCompiler.Compile(new[] { new SourceFile("corpus.arch", text) });
                var errors = compiled.Diagnostics.Where(d => d.IsError).Select(d => d.Id).ToList();
                Assert.Equal(new[] { expect }, errors);
            }
        }
    }
}
