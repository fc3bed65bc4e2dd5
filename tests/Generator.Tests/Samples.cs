using System.Collections.Generic;

namespace Torchwright.Generator.Tests
{
    internal static class Samples
    {
        public const string MyBot = @"using Torchwright;

namespace Sample.Models
{
    [Architecture(Extends = ""BotNet50"")]
    [Stage(""c5"", Mhsa = new[] { 0, 1, 1 })]
    public sealed partial class MyBot { }
}
";

        /// <summary>Bad .arch inputs, keyed by the TW id each is meant to trigger.</summary>
        public static readonly SortedDictionary<string, string> BadArch = new SortedDictionary<string, string>
        {
            ["tw0001"] = "arch Syntax : ResNet50 {\n  depths = [3, 4,\n}\n",
            ["tw0002"] = "arch UnknownField : ResNet50 {\n  dephts = [3, 4, 6, 3]\n}\n",
            ["tw0003"] = "arch UnknownKind : ResNet50 {\n  block = botleneck\n}\n",
            ["tw0004"] = "arch Channels : ResNet50 {\n  c3.in = 100\n}\n",
            ["tw0005"] = "arch Groups : ResNet50 {\n  cardinality = 3\n}\n",
            ["tw0006"] = "arch Heads : BotNet50 {\n  c5.heads = 3\n}\n",
            ["tw0007"] = "arch Mask : BotNet50 {\n  c5.mhsa = [1, 1]\n}\n",
            ["tw0008"] = "arch NoInput {\n  block = bottleneck\n  depths = [1, 1, 1, 1]\n  widths = [64, 128, 256, 512]\n  c5.mhsa = [1]\n}\n",
            ["tw0009"] = "arch Odd : BotNet50 {\n  input = 3x100x100\n}\n",
            ["tw0010"] = "arch Lka : VanB0 {\n  lka_kernel = 20\n  lka_dilation = 30\n}\n",
            ["tw0011"] = "sweep BadSweep : BotNet50 {\n  c5.mhsaa = [0, 0, 1], [0, 1, 1]\n}\n",
            ["tw0012"] = "arch CycleA : CycleB {\n  classes = 10\n}\narch CycleB : CycleA {\n  classes = 20\n}\n",
            ["tw0013"] = "arch Twice : ResNet50 {\n  classes = 10\n}\narch Twice : ResNet50 {\n  classes = 20\n}\n",
            ["tw0014"] = "arch UnknownBase : ResNet51 {\n  classes = 10\n}\n",
            ["tw0015"] = "arch WrongType : ResNet50 {\n  depths = 3\n}\n",
            ["tw0016"] = "arch Range : ResNet50 {\n  classes = -1\n}\n",
            ["tw0017"] = "arch ListLength : ResNet50 {\n  widths = [64, 128]\n}\n",
            ["tw0018"] = "arch Mixed : ResNet50 {\n  c5.block = van\n}\n",
            ["tw0019"] = "arch Missing {\n  block = bottleneck\n}\n",
            ["tw0020"] = "arch SetTwice : ResNet50 {\n  classes = 10\n  classes = 20\n}\n",
            ["tw0100"] = "arch BigMap : ResNet50 {\n  c3.mhsa = [1, 1, 1, 1]\n}\n",
            ["tw0101"] = "arch SplatBase : ResNeSt50 {\n  radix = 4\n}\narch NowBottleneck : SplatBase {\n  block = bottleneck\n}\n",
            ["tw0024"] = "arch Unused : VanB0 {\n  stem_width = 32\n}\n",
            ["tw0103"] = "arch Rounds : ResNet50 {\n  input = 3x225x225\n}\n",
        };

        /// <summary>Bad attribute declarations: located at the attribute arguments.</summary>
        public const string BadAttributes = @"using Torchwright;

namespace Bad
{
    [Architecture(Extends = ""ResNet50"")]
    public sealed class NotPartial { }

    public static partial class Outer
    {
        [Architecture(Extends = ""ResNet50"")]
        public sealed partial class Nested { }
    }

    [Architecture(Extends = ""ResNet50"")]
    public sealed partial class Generic<T> { }

    [Architecture(Extends = ""ResNet50"", Input = ""3by224"")]
    public sealed partial class BadInput { }

    [Architecture(Extends = ""ResNet50"")]
    [Stage(""layer4"", Depth = 2)]
    public sealed partial class BadStage { }

    [Architecture(Extends = ""ResNet50"")]
    [Stage(""c3"", In = 100)]
    public sealed partial class AttrChannels { }

    [Architecture(Extends = ""BotNet50"")]
    [Stage(""c5"", Mhsa = new[] { 0, 1 })]
    public sealed partial class AttrMask { }
}
";

        public static readonly string[] Triggerable =
        {
            "TW0001", "TW0002", "TW0003", "TW0004", "TW0005", "TW0006", "TW0007", "TW0008", "TW0009", "TW0010",
            "TW0011", "TW0012", "TW0013", "TW0014", "TW0015", "TW0016", "TW0017", "TW0018", "TW0019", "TW0020",
            "TW0021", "TW0024", "TW0100", "TW0101", "TW0103", // TW0102 (width rounded) is catalogued but the checker never reports it
        };
    }
}
