using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Xunit;

namespace Torchwright.Package.Tests
{
    /// <summary>
    /// The public surface of each library package, as packed, against its approved list (tests/Package.Tests/api/*.txt):
    /// a change to what users can call is a deliberate, reviewed edit of that file. After an intended change, run with
    /// TORCHWRIGHT_ACCEPT_API=1 to rewrite the list, and review its diff.
    /// </summary>
    public sealed class PublicSurfaceTests
    {
        private static string ApprovedFile(string assembly) => Path.Combine(Repo.Root, "tests", "Package.Tests", "api", assembly + ".txt");

        private static List<string> Surface(string package, string assembly)
        {
            using var zip = ZipFile.OpenRead(Repo.Package(package));
            var entry = zip.GetEntry($"lib/net10.0/{assembly}.dll") ?? throw new InvalidOperationException($"{package} has no lib/net10.0/{assembly}.dll");
            using var ms = new MemoryStream();
            using (var s = entry.Open()) s.CopyTo(ms);
            return PublicSurface.Of(ms.ToArray());
        }

        [Theory]
        [InlineData("Torchwright", "Torchwright.Runtime")]
        [InlineData("Torchwright.Sweeps", "Torchwright.Sweeps")]
        public void Public_surface_is_the_approved_one(string package, string assembly)
        {
            var actual = Surface(package, assembly);
            var file = ApprovedFile(assembly);
            if (Environment.GetEnvironmentVariable("TORCHWRIGHT_ACCEPT_API") == "1")
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                File.WriteAllText(file, string.Join("\n", actual) + "\n");
                return;
            }
            Assert.True(File.Exists(file), $"no approved surface {file}: run with TORCHWRIGHT_ACCEPT_API=1 and review it");
            var approved = File.ReadAllText(file).TrimEnd('\n').Split('\n').ToList();
            var removed = approved.Except(actual).ToList();
            var added = actual.Except(approved).ToList();
            Assert.True(removed.Count == 0 && added.Count == 0,
                $"{assembly}'s public surface differs from {file} (accept an intended change with TORCHWRIGHT_ACCEPT_API=1):\n"
                + string.Concat(removed.Select(l => "- " + l + "\n")) + string.Concat(added.Select(l => "+ " + l + "\n")));
        }

        [Fact]
        public void Torchwright_exposes_no_sweep_type_or_process_helper_and_hides_what_only_generated_code_calls()
        {
            var surface = Surface("Torchwright", "Torchwright.Runtime");
            var types = surface.Where(PublicSurface.IsType).ToList();
            var typeNames = types.Select(l => l.Split(' ').First(w => w.StartsWith("Torchwright.", StringComparison.Ordinal))).ToList();
            // The sweep engine and its stores are Torchwright.Sweeps's; no signature mentions a database driver.
            Assert.DoesNotContain(typeNames, n => n.StartsWith("Torchwright.Sweeps.", StringComparison.Ordinal) || n.EndsWith("ResultsDb", StringComparison.Ordinal));
            Assert.DoesNotContain(surface, l => l.Contains("Microsoft.Data.Sqlite", StringComparison.Ordinal) || l.Contains("Npgsql", StringComparison.Ordinal));
            // Process-level helpers of training and bench are internal.
            Assert.DoesNotContain("Torchwright.Runtime.FinalizerPause", typeNames);
            Assert.DoesNotContain("Torchwright.Runtime.Measurement.PeakMemory", typeNames);
            // What only generated code calls sits in one namespace, every type of it hidden from IntelliSense.
            var compilerServices = types.Where(l => l.Contains(" Torchwright.Runtime.CompilerServices.", StringComparison.Ordinal)).ToList();
            Assert.Equal(new[]
            {
                "static class Torchwright.Runtime.CompilerServices.FrozenStages  [hidden]",
                "static class Torchwright.Runtime.CompilerServices.Init  [hidden]",
                "static class Torchwright.Runtime.CompilerServices.Intermediates  [hidden]",
                "static class Torchwright.Runtime.CompilerServices.ModuleBuild  [hidden]",
            }, compilerServices);
            Assert.DoesNotContain(types, l => !compilerServices.Contains(l) && l.EndsWith("  [hidden]", StringComparison.Ordinal));
        }
    }
}
