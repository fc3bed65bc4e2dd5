using System.Globalization;

namespace Torchwright.Dsl.Emit
{
    /// <summary>C# literals the definitions emit.</summary>
    public static class CSharpLiteral
    {
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
