using System;
using System.Collections.Generic;
using System.Linq;
using Torchwright.Dsl.Emit;
using Xunit;

namespace Torchwright.Dsl.Tests.Fuzz
{
    /// <summary>
    /// Mutated zoo files pushed through the whole pipeline — parse, resolve, check, cost, emit — must never throw:
    /// every bad input becomes a located diagnostic.
    /// </summary>
    public class PipelineFuzzTests
    {
        [Fact]
        public void Ten_thousand_mutations_never_throw_and_stay_located()
        {
            var corpus = ArchCorpus.All();
            int perText = (int)Math.Ceiling(10_000.0 / corpus.Count);
            int cases = 0, withErrors = 0, emitted = 0;
            foreach (var (name, text) in corpus)
            {
                foreach (var mutated in ArchMutator.Mutations(text, seed: name.GetHashCode() & 0x7fff ^ 0x5eed, count: perText))
                {
                    cases++;
                    CompilationResult result;
                    try
                    {
                        result = ArchCompiler.Compile(new[] { new SourceFile("test.arch", mutated) });
                        foreach (var arch in result.Architectures)
                        {
                            CSharpEmitter.EmitArchitecture(arch, CSharpEmitter.Identifier(arch.Name), new EmitOptions("Fuzz"));
                            emitted++;
                        }
                        foreach (var sweep in result.Sweeps)
                            CSharpEmitter.EmitSweep(sweep, CSharpEmitter.Identifier(sweep.Info.Name), new EmitOptions("Fuzz"));
                    }
                    catch (Exception e)
                    {
                        throw new Xunit.Sdk.XunitException($"pipeline threw on mutation {cases} of {name}: {e}\n--- input ---\n{mutated}");
                    }
                    if (result.HasErrors) withErrors++;
                    // Diagnostics from this file are inside it; those from the zoo (a base's field) point into the zoo.
                    DiagnosticInvariants.AssertAll(result.Diagnostics.Where(d => d.Location.Path == "test.arch"), mutated, $"mutation {cases} of {name}");
                    Assert.All(result.Diagnostics, d => Assert.False(d.Location.IsNone && d.IsError, $"unlocated error: {d}"));
                }
            }
            Assert.True(cases >= 10_000, $"only {cases} cases");
            Assert.True(withErrors > cases / 4, $"mutations too gentle: {withErrors} of {cases} had errors");
            Assert.True(emitted > 1000, $"too few mutations survived to the emitter: {emitted}");
        }
    }
}
