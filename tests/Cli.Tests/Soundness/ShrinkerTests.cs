using System.Linq;
using Xunit;

namespace Torchwright.Cli.Tests.Soundness
{
    public class ShrinkerTests
    {
        [Fact]
        public void Shrinking_keeps_only_what_the_failure_needs()
        {
            // A synthetic failure: "some stage has stride 4 and an MHSA mask". The smallest declaration showing it has one
            // stage of depth 1 with exactly those two settings and nothing optional.
            var a = new GenArch("Big");
            a.Set("input", "3x64x64");
            a.Set("classes", "10");
            a.Set("width", "0.25");
            a.Set("block", "splat");
            a.Set("radix", "4");
            a.Lists["depths"] = new long[] { 2, 2, 2 };
            a.Lists["widths"] = new long[] { 64, 128, 32 };
            a.Lists["strides"] = new long[] { 1, 4, 2 };
            a.Lists["outs"] = new long[] { 64, 64, 64 };
            a.StageFields[(0, "block")] = "bottleneck";
            a.Masks[1] = new long[] { 1, 0 };
            bool Fails(GenArch g) => g.Lists.TryGetValue("strides", out var st)
                && Enumerable.Range(0, g.Stages).Any(s => st[s] == 4 && g.Masks.ContainsKey(s));

            var smallest = Shrinker.Shrink(a, Fails);

            Assert.True(Fails(smallest));
            Assert.Equal("arch Big {\n  input = 3x8x8\n  block = splat\n  depths = [1]\n  strides = [4]\n  widths = [8]\n  c2.mhsa = [1]\n}\n", smallest.ToText());
        }
    }
}
