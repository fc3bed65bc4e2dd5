using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Torchwright.Package.Tests
{
    /// <summary>What the three packages contain: exactly the intended files, no test or sample code, no TorchSharp or libtorch
    /// file, no path of the machine that packed them (also inside the embedded PDBs), and the metadata NuGet shows.</summary>
    public sealed class PackageContentsTests
    {
        private static List<string> Entries(string nupkg)
        {
            using var zip = ZipFile.OpenRead(nupkg);
            return zip.Entries.Select(e => e.FullName).Where(n => !n.StartsWith("package/services/", StringComparison.Ordinal)
                && n != "_rels/.rels" && n != "[Content_Types].xml").OrderBy(n => n, StringComparer.Ordinal).ToList();
        }

        private static string Text(string nupkg, string entry)
        {
            using var zip = ZipFile.OpenRead(nupkg);
            using var r = new StreamReader(zip.GetEntry(entry)!.Open());
            return r.ReadToEnd();
        }

        [Fact]
        public void Torchwright_holds_the_library_the_generator_and_the_build_files_only()
        {
            Assert.Equal(new[]
            {
                "README.md",
                "Torchwright.nuspec",
                "analyzers/dotnet/cs/Torchwright.Generator.dll",
                "buildTransitive/LibTorchSharpPatch.cs",
                "buildTransitive/Torchwright.Generator.targets",
                "buildTransitive/Torchwright.Runtime.targets",
                "buildTransitive/Torchwright.targets",
                "lib/net10.0/Torchwright.Runtime.dll",
                "lib/net10.0/Torchwright.Runtime.xml",
            }, Entries(Repo.Package("Torchwright")));
        }

        [Fact]
        public void Sweeps_holds_its_library_only()
        {
            Assert.Equal(new[]
            {
                "README.md",
                "Torchwright.Sweeps.nuspec",
                "lib/net10.0/Torchwright.Sweeps.dll",
                "lib/net10.0/Torchwright.Sweeps.xml",
            }, Entries(Repo.Package("Torchwright.Sweeps")));
        }

        private static List<string> Dependencies(string nuspec) =>
            Regex.Matches(nuspec, "<dependency id=\"([^\"]+)\" version=\"([^\"]+)\"").Select(m => m.Groups[1].Value + " " + m.Groups[2].Value)
                .OrderBy(d => d, StringComparer.Ordinal).ToList();

        [Fact]
        public void Torchwright_depends_on_TorchSharp_PyBridge_and_SkiaSharp_only_and_Sweeps_brings_the_database_drivers()
        {
            // SkiaSharp decodes image folders (its Linux natives come with it; other platforms add theirs).
            Assert.Equal(new[] { "SkiaSharp 4.156.1", "SkiaSharp.NativeAssets.Linux 4.156.1", "TorchSharp [0.107.0]", "TorchSharp.PyBridge 1.4.4" },
                Dependencies(Text(Repo.Package("Torchwright"), "Torchwright.nuspec")));
            Assert.Equal(new[] { "Microsoft.Data.Sqlite 11.0.0", "Npgsql 10.0.3", "Torchwright " + Repo.PackageVersion("Torchwright") },
                Dependencies(Text(Repo.Package("Torchwright.Sweeps"), "Torchwright.Sweeps.nuspec")));
        }

        [Fact]
        public void Torchwright_depends_on_managed_TorchSharp_only_and_carries_its_metadata()
        {
            var nuspec = Text(Repo.Package("Torchwright"), "Torchwright.nuspec");
            Assert.Contains("<dependency id=\"TorchSharp\" version=\"[0.107.0]\"", nuspec);
            Assert.DoesNotContain("TorchSharp-cpu", nuspec.Split("<dependencies>")[1]);
            Assert.DoesNotContain("TorchSharp-cuda", nuspec.Split("<dependencies>")[1]);
            Assert.DoesNotContain("libtorch", nuspec);
            Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
            Assert.Contains("<readme>README.md</readme>", nuspec);
            Assert.Contains("<repository type=\"git\"", nuspec);
            Assert.Contains("commit=\"", nuspec);
        }

        [Fact]
        public void Tool_holds_the_cli_and_the_engine_project_without_TorchSharp_libtorch_or_tests()
        {
            var nupkg = Repo.Package("Torchwright.Tool");
            var entries = Entries(nupkg);
            Assert.Contains("tools/net10.0/any/torchwright.dll", entries);
            Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", entries);
            Assert.Contains("tools/net10.0/any/Torchwright.Dsl.dll", entries);
            Assert.Contains("tools/net10.0/any/Torchwright.Runtime.dll", entries);
            Assert.Contains("tools/net10.0/any/Torchwright.Sweeps.dll", entries);
            // bench's PyTorch side, and what the tool restores on first use of an engine verb (docs/cli.md, "The engine").
            Assert.Contains("tools/net10.0/any/python/bench_reference.py", entries);
            Assert.Contains("tools/net10.0/any/python/reference_nets.py", entries);
            Assert.Contains("tools/net10.0/any/engine/Torchwright.Runtime.targets", entries);
            Assert.Contains("tools/net10.0/any/engine/LibTorchSharpPatch.cs", entries);
            var packages = Text(nupkg, "tools/net10.0/any/engine/packages.txt");
            Assert.Contains("<PackageReference Include=\"TorchSharp-cpu\" Version=\"[0.107.0]\" />", packages);
            Assert.Contains("<PackageReference Include=\"TorchSharp\" Version=\"[0.107.0]\" />", packages);
            Assert.Contains("<PackageReference Include=\"SkiaSharp.NativeAssets.Linux\" Version=\"4.156.1\" />", packages);
            var forbidden = entries.Where(e =>
            {
                var name = e.ToLowerInvariant();
                if (name.StartsWith("tools/net10.0/any/engine/", StringComparison.Ordinal) || name.StartsWith("tools/net10.0/any/python/", StringComparison.Ordinal)) return false;
                return name.Contains("torchsharp") || name.Contains("libtorch") || name.Contains("torch_cpu") || name.Contains("libc10")
                    || name.Contains("skiasharp") || name.EndsWith(".py", StringComparison.Ordinal) || name.Contains("test") || name.Contains("sample");
            }).ToList();
            Assert.Empty(forbidden);
            Assert.Contains("<packageType name=\"DotnetTool\" />", Text(nupkg, "Torchwright.Tool.nuspec"));
            Assert.Contains("<Command Name=\"torchwright\" EntryPoint=\"torchwright.dll\"", Text(nupkg, "tools/net10.0/any/DotnetToolSettings.xml"));
        }

        [Theory]
        [InlineData("Torchwright")]
        [InlineData("Torchwright.Sweeps")]
        [InlineData("Torchwright.Tool")]
        public void No_file_holds_a_path_of_the_packing_machine(string id)
        {
            var nupkg = Repo.Package(id);
            var machinePaths = new[] { Repo.Root, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + "/" }
                .Select(p => p.TrimEnd('/') + "/").Distinct().ToList();
            using var zip = ZipFile.OpenRead(nupkg);
            int assemblies = 0;
            foreach (var entry in zip.Entries)
            {
                using var ms = new MemoryStream();
                using (var s = entry.Open()) s.CopyTo(ms);
                var bytes = ms.ToArray();
                var text = Encoding.UTF8.GetString(bytes);
                foreach (var p in machinePaths)
                    Assert.False(text.Contains(p, StringComparison.Ordinal), $"{id}: {entry.FullName} contains '{p}'");
                if (!entry.FullName.EndsWith(".dll", StringComparison.Ordinal) || !entry.FullName.Contains("Torchwright", StringComparison.OrdinalIgnoreCase)
                    && !entry.FullName.EndsWith("/torchwright.dll", StringComparison.Ordinal)) continue;
                // Ours: the PDB is embedded (compressed, so the scan above cannot see into it) and names sources as /_/...
                using var pe = new PEReader(new MemoryStream(bytes));
                var embedded = pe.ReadDebugDirectory().Single(d => d.Type == DebugDirectoryEntryType.EmbeddedPortablePdb);
                using var pdb = pe.ReadEmbeddedPortablePdbDebugDirectoryData(embedded);
                var reader = pdb.GetMetadataReader();
                var documents = reader.Documents.Select(h => reader.GetString(reader.GetDocument(h).Name)).ToList();
                Assert.NotEmpty(documents);
                Assert.All(documents, d => Assert.True(d.StartsWith("/_/", StringComparison.Ordinal), $"{entry.FullName}: PDB document {d}"));
                Assert.DoesNotContain(documents, d => d.Contains("/tests/", StringComparison.Ordinal));
                var codeView = pe.ReadDebugDirectory().Where(d => d.Type == DebugDirectoryEntryType.CodeView).Select(d => pe.ReadCodeViewDebugDirectoryData(d).Path).ToList();
                Assert.All(codeView, path => Assert.DoesNotContain("/", path));
                assemblies++;
            }
            Assert.True(assemblies >= (id == "Torchwright" ? 2 : id == "Torchwright.Sweeps" ? 1 : 4), $"{id}: checked {assemblies} of our assemblies");
        }
    }
}
