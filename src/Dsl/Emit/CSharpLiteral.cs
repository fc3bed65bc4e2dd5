using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Torchwright.Dsl.Emit
{
    /// <summary>C# literals and calls the definitions emit.</summary>
    public static class CSharpLiteral
    {
        /// <summary>A constructor call with named arguments, as a hand-written module would build its parts:
        /// <c>new TorchwrightBlocks.Bottleneck(name: "0", inChannels: 64, ...)</c>.</summary>
        public static string New(string type, IEnumerable<(string Name, string Value)> arguments) =>
            $"new {type}(" + string.Join(", ", arguments.Select(a => a.Name + ": " + a.Value)) + ")";

        public static string Bool(bool v) => v ? "true" : "false";

        /// <summary>A double literal; the checker never lets a non-finite value through, but the literal would still compile.</summary>
        public static string Double(double v)
        {
            if (double.IsNaN(v)) return "double.NaN";
            if (double.IsInfinity(v)) return v > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity";
            var r = v.ToString("R", CultureInfo.InvariantCulture);
            return r + (r.IndexOfAny(new[] { '.', 'E', 'e' }) < 0 ? ".0" : "");
        }
    }
}
