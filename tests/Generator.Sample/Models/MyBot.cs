using Torchwright;

namespace Torchwright.Sample.Models
{
    /// <summary>BoTNet-50 with the paper's preferred c5 placement: the strided first block keeps its 3x3 conv.</summary>
    [Architecture(Extends = "BotNet50")]
    [Stage("c5", Mhsa = new[] { 0, 1, 1 })]
    public sealed partial class MyBot { }
}
