using System.Globalization;

namespace Torchwright.Cli.Output
{
    /// <summary>Number formatting shared by the text formats (invariant culture, so output never depends on the locale).</summary>
    internal static class Numbers
    {
        public const long BytesPerFp32 = 4;

        public static string Grouped(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

        /// <summary>4025123456 -> "4.025 G"; small counts get M or k.</summary>
        public static string Scaled(long n)
        {
            double v = n;
            if (n >= 1_000_000_000L) return (v / 1e9).ToString("0.000", CultureInfo.InvariantCulture) + " G";
            if (n >= 1_000_000L) return (v / 1e6).ToString("0.000", CultureInfo.InvariantCulture) + " M";
            if (n >= 1_000L) return (v / 1e3).ToString("0.000", CultureInfo.InvariantCulture) + " k";
            return n.ToString(CultureInfo.InvariantCulture);
        }

        public static string MiB(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.00", CultureInfo.InvariantCulture) + " MiB";

        public static string Plural(long n, string singular, string? plural = null) =>
            n.ToString(CultureInfo.InvariantCulture) + " " + (n == 1 ? singular : plural ?? singular + "s");
    }
}
