using Torchwright.Sample.Models;

namespace Torchwright.Sample
{
    /// <summary>Compile-time facts of the generated modules, usable as constants.</summary>
    public static class Usage
    {
        public const long MyBotParameters = MyBot.ParameterCount;

        public const long SmallBotParameters = SmallBot.ParameterCount;

        public static MyBot CreateMyBot() => new MyBot();
    }
}
