using System.Linq;
using Torchwright.Dsl.Blocks;
using Torchwright.Dsl.Diagnostics;
using Xunit;

namespace Torchwright.Dsl.Tests.Checking
{
    /// <summary>cN.self_attn picks the kind of the ResNet bottleneck's self-attention slot; the mask places it.</summary>
    public class SelfAttentionSlotTests
    {
        private static CompilationResult Compile(string text) => ArchCompiler.Compile(new[] { new SourceFile("t.arch", text) });

        private const string Bot = "arch B : ResNet50 {\n  input = 3x224x224\n  c5.mhsa = [0, 1, 1]\n";

        [Fact]
        public void Bot_is_the_default_and_can_be_named_per_stage_or_per_architecture()
        {
            var plain = Compile(Bot + "}\n");
            Assert.False(plain.HasErrors, string.Join("\n", plain.Diagnostics));
            var c5 = plain.Architectures.Single().Ir.Stages[3];
            Assert.Equal(new[] { "Bottleneck", "BotBottleneck", "BotBottleneck" }, c5.Blocks.Select(b => b.Kind.KindName));
            Assert.Same(BotAttentionDefinition.Instance.Block, c5.Blocks[1].Kind);
            foreach (var line in new[] { "  c5.self_attn = bot\n", "  self_attn = bot\n" })
            {
                var named = Compile(Bot + line + "}\n");
                Assert.DoesNotContain(named.Diagnostics, d => d.Severity != Severity.Info);
                var ir = named.Architectures.Single().Ir;
                Assert.Equal(plain.Architectures.Single().Ir with { Location = ir.Location }, ir);
            }
        }

        [Fact]
        public void A_kind_on_a_stage_without_slotted_blocks_has_no_effect()
        {
            var d = DiagnosticTests.Expect(Bot + "  ⟦c4.self_attn⟧ = bot\n}\n", "TW0024", "'c4.self_attn' has no effect", "c4 is built from bottleneck blocks",
                "'self_attn' is read only by stages with cN.mhsa or cN.mhsa_every");
            Assert.True(d.IsError);
        }

        [Fact]
        public void An_unknown_kind_names_the_registered_ones()
        {
            var d = DiagnosticTests.Expect(Bot + "  c5.self_attn = ⟦axial⟧\n}\n", "TW0003", "axial", "bot, halo, lambda");
            Assert.True(d.IsError);
        }
    }
}
