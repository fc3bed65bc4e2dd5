using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Torchwright.Build;
using Xunit;

namespace Torchwright.Runtime.Tests;

/// <summary>
/// The build step that marks libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak (src/Runtime/build/, docs/native-libraries.md).
/// The ELF logic (LibTorchSharpPatch.cs, compiled here with TORCHWRIGHT_ELF_ONLY) is run on copies of the real file from the
/// NuGet cache; the MSBuild wiring is run by one fresh consumer build. Linux x64 only (elsewhere the step is a no-op).
/// </summary>
public sealed class NativeLibraryPatchTests : IDisposable
{
    static readonly bool LinuxX64 = OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64;
    readonly string _dir = Path.Combine(Path.GetTempPath(), "torchwright-elf-" + Guid.NewGuid().ToString("N"));

    public NativeLibraryPatchTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    static string NuGetPackages => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
        ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    static string PackageLib => Path.Combine(NuGetPackages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", LibTorchSharpPatcher.FileName);
    static string LibtorchNatives => Path.Combine(NuGetPackages, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native");

    static byte[] Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return SHA256.HashData(stream);
    }

    static readonly HostLibraries Host = HostLibraries.FromEnvironment();

    /// <summary>Whether this host's libstdc++ lacks GLIBCXX_3.4.32, i.e. whether the step has anything to do here.</summary>
    static bool HostNeedsPatch
    {
        get
        {
            var libstdcxx = Host.Resolve("libstdc++.so.6");
            return libstdcxx != null && !Host.DefinedVersions(libstdcxx).Contains(LibTorchSharpPatcher.WeakenableVersion);
        }
    }

    string CopyOfPackageLib(string name = LibTorchSharpPatcher.FileName)
    {
        var path = Path.Combine(_dir, name);
        File.Copy(PackageLib, path);
        return path;
    }

    static VersionNeed TheNeed(string path)
    {
        using var image = ElfImage.Open(path);
        return image.ReadVersionNeeds().Single(n => n.Version == LibTorchSharpPatcher.WeakenableVersion);
    }

    static ElfSection Section(string path, uint type)
    {
        using var image = ElfImage.Open(path);
        return image.SectionOfType(type)!;
    }

    static void Poke(string path, long offset, params byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write);
        stream.Seek(offset, SeekOrigin.Begin);
        stream.Write(bytes);
    }

    static byte[] U16(int v) => BitConverter.GetBytes((ushort)v);
    static byte[] U32(uint v) => BitConverter.GetBytes(v);
    static byte[] U64(ulong v) => BitConverter.GetBytes(v);

    [Fact]
    public void Parses_the_real_libLibTorchSharp_version_needs_and_the_one_symbol_bound_to_GLIBCXX_3_4_32()
    {
        if (!LinuxX64) return;
        using var image = ElfImage.Open(PackageLib);
        var needs = image.ReadVersionNeeds();
        // readelf -V: 5 Verneed entries (ld-linux 1, libm 1, libgcc_s 1, libc 5, libstdc++ 20).
        Assert.Equal(28, needs.Count);
        Assert.Equal(20, needs.Count(n => n.File == "libstdc++.so.6"));
        Assert.Equal(new[] { "GLIBC_2.14", "GLIBC_2.34", "GLIBC_2.32", "GLIBC_2.4", "GLIBC_2.2.5" },
            needs.Where(n => n.File == "libc.so.6").Select(n => n.Version));
        var need = needs.Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(18, need.Index);
        Assert.Equal(0, need.Flags);
        var verneed = image.SectionOfType(ElfImage.ShtGnuVerneed)!;
        Assert.Equal(".gnu.version_r", verneed.Name);
        Assert.Equal((long)verneed.Offset + 0x140 + 4, need.FlagsOffset); // readelf: "0x0140: Name: GLIBCXX_3.4.32"

        var bound = image.SymbolsBoundToVersion(18);
        var symbol = Assert.Single(bound);
        Assert.Equal("_ZSt21ios_base_library_initv", symbol.Name);
        Assert.True(symbol.IsUndefined);
        Assert.Equal(0, image.CountRelocationsAgainst(new[] { symbol.Index }));
        Assert.Contains("libtorch_cpu.so", image.ReadNeededLibraries());
        image.VerifyVersionNeedsMatchDynamicSegment();
    }

    [Fact]
    public void Host_detection_finds_the_loaders_libstdcxx_and_its_highest_GLIBCXX()
    {
        if (!LinuxX64) return;
        var cache = HostLibraries.ReadLdSoCache("/etc/ld.so.cache");
        Assert.Contains("libc.so.6", cache.Keys);
        var libstdcxx = Host.Resolve("libstdc++.so.6");
        Assert.NotNull(libstdcxx);
        var defined = Host.DefinedVersions(libstdcxx!);
        Assert.Contains("GLIBCXX_3.4", defined);
        Assert.Contains("CXXABI_1.3", defined);
        var highest = LibTorchSharpPatcher.HighestGlibcxx(defined);
        var osRelease = File.Exists("/etc/os-release") ? File.ReadAllText("/etc/os-release") : "";
        if (osRelease.Contains("ID=debian") && osRelease.Contains("VERSION_ID=\"12\""))
        {
            Assert.Equal("GLIBCXX_3.4.30", highest); // GCC 12's libstdc++
            Assert.True(HostNeedsPatch);
        }
        Assert.Equal("GLIBCXX_3.4.9", LibTorchSharpPatcher.HighestGlibcxx(new[] { "GLIBCXX_3.4", "GLIBCXX_3.4.9", "GLIBCXX_3.4.10x", "CXXABI_1.3.15" }));
        Assert.Equal("GLIBCXX_3.4.30", LibTorchSharpPatcher.HighestGlibcxx(new[] { "GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "GLIBCXX_3.4.4" }));
    }

    [Fact]
    public void Patching_a_copy_changes_only_the_vna_flags_of_that_entry_leaves_the_source_alone_and_is_idempotent()
    {
        if (!LinuxX64 || !HostNeedsPatch) return;
        var sourceHash = Hash(PackageLib);
        var path = CopyOfPackageLib();
        var original = File.ReadAllBytes(path);
        var mtime = File.GetLastWriteTimeUtc(path);

        var plan = LibTorchSharpPatcher.Analyze(path, Host);
        Assert.Empty(plan.Errors);
        var need = Assert.Single(plan.ToWeaken);
        Assert.Equal(1, LibTorchSharpPatcher.Apply(plan, Host));

        var patched = File.ReadAllBytes(path);
        Assert.Equal(original.Length, patched.Length);
        var differing = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToList();
        Assert.All(differing, i => Assert.InRange(i, need.FlagsOffset, need.FlagsOffset + 1)); // nothing outside the 2-byte field
        Assert.Equal(ElfImage.VerFlagWeak, BitConverter.ToUInt16(patched, (int)need.FlagsOffset));
        Assert.Equal(mtime, File.GetLastWriteTimeUtc(path)); // so MSBuild's copy keeps seeing it as up to date
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", new EnumerationOptions { AttributesToSkip = 0 }));
        Assert.Equal(sourceHash, Hash(PackageLib));

        var again = LibTorchSharpPatcher.Analyze(path, Host);
        Assert.Empty(again.Errors);
        Assert.Empty(again.ToWeaken);
        Assert.True(again.AlreadyWeak);
        Assert.Equal(0, LibTorchSharpPatcher.Apply(again, Host));
        Assert.Equal(patched, File.ReadAllBytes(path));
        Assert.True(TheNeed(path).IsWeak);
    }

    [DllImport("libc", SetLastError = true)]
    static extern int link(string oldpath, string newpath);

    [Fact]
    public void A_hard_link_or_symlink_into_the_package_cache_is_replaced_never_written_through()
    {
        if (!LinuxX64 || !HostNeedsPatch) return;
        var sourceHash = Hash(PackageLib);
        var symlink = Path.Combine(_dir, "sym", LibTorchSharpPatcher.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(symlink)!);
        File.CreateSymbolicLink(symlink, PackageLib);
        var links = new List<string> { symlink };
        var hardLink = Path.Combine(_dir, "hard", LibTorchSharpPatcher.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(hardLink)!);
        if (link(PackageLib, hardLink) == 0) // needs the cache on the same file system
            links.Add(hardLink);

        foreach (var path in links)
        {
            var plan = LibTorchSharpPatcher.Analyze(path, Host);
            Assert.Single(plan.ToWeaken);
            LibTorchSharpPatcher.Apply(plan, Host);
            Assert.Null(new FileInfo(path).LinkTarget);
            Assert.True(TheNeed(path).IsWeak);
            Assert.Equal(sourceHash, Hash(PackageLib));
            Assert.False(TheNeed(PackageLib).IsWeak);
        }
    }

    [Fact]
    public void Checks_the_libtorch_libraries_libLibTorchSharp_loads_from_its_folder()
    {
        if (!LinuxX64 || !Directory.Exists(LibtorchNatives)) return;
        foreach (var file in Directory.GetFiles(LibtorchNatives))
            File.CreateSymbolicLink(Path.Combine(_dir, Path.GetFileName(file)), file);
        var path = CopyOfPackageLib();
        var plan = LibTorchSharpPatcher.Analyze(path, Host);
        Assert.Empty(plan.Errors);
        var checkedNames = plan.Checked.Select(Path.GetFileName).ToList();
        Assert.Equal(LibTorchSharpPatcher.FileName, checkedNames[0]);
        foreach (var name in new[] { "libtorch.so", "libc10.so", "libtorch_cpu.so", "libgomp-98b21ff3.so.1" })
            Assert.Contains(name, checkedNames);
        Assert.DoesNotContain("libtorch_python.so", checkedNames); // not loaded, not checked
        Assert.Equal(HostNeedsPatch ? 1 : 0, plan.ToWeaken.Count);
    }

    public static IEnumerable<object[]> Corruptions() => new[]
    {
        new object[] { "bad magic", ElfProblem.BadMagic },
        new object[] { "32-bit class", ElfProblem.NotElf64 },
        new object[] { "big-endian", ElfProblem.NotLittleEndian },
        new object[] { "not x86-64", ElfProblem.NotX8664 },
        new object[] { "truncated header", ElfProblem.Truncated },
        new object[] { "truncated before the section table", ElfProblem.SectionTableOutOfBounds },
        new object[] { "section table out of bounds", ElfProblem.SectionTableOutOfBounds },
        new object[] { "section out of bounds", ElfProblem.SectionOutOfBounds },
        new object[] { "version_r linked to a non-STRTAB", ElfProblem.LinkNotStringTable },
        new object[] { "vn_next loop", ElfProblem.ChainLoop },
        new object[] { "vn_aux out of bounds", ElfProblem.ChainOutOfBounds },
        new object[] { "vna_name out of range", ElfProblem.StringOutOfRange },
        new object[] { "DT_VERNEED disagrees with the section", ElfProblem.DynamicMismatch },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void A_corrupted_file_is_rejected_with_the_specific_problem_and_left_byte_identical(string corruption, ElfProblem expected)
    {
        if (!LinuxX64) return;
        var path = CopyOfPackageLib();
        var verneed = Section(path, ElfImage.ShtGnuVerneed);
        var need = TheNeed(path);
        long shoffField = 0x28, shentsize = 64;
        long shoff = (long)BitConverter.ToUInt64(File.ReadAllBytes(path), (int)shoffField);
        switch (corruption)
        {
            case "bad magic": Poke(path, 1, (byte)'X'); break;
            case "32-bit class": Poke(path, 4, 1); break;
            case "big-endian": Poke(path, 5, 2); break;
            case "not x86-64": Poke(path, 0x12, U16(183)); break; // EM_AARCH64
            case "truncated header":
                using (var s = new FileStream(path, FileMode.Open)) s.SetLength(40);
                break;
            case "truncated before the section table":
                using (var s = new FileStream(path, FileMode.Open)) s.SetLength(shoff + 10);
                break;
            case "section table out of bounds": Poke(path, shoffField, U64((ulong)new FileInfo(path).Length - 100)); break;
            case "section out of bounds": Poke(path, shoff + verneed.Index * shentsize + 32, U64(1UL << 40)); break; // sh_size
            case "version_r linked to a non-STRTAB": Poke(path, shoff + verneed.Index * shentsize + 40, U32(0)); break; // sh_link -> NULL section
            case "vn_next loop": Poke(path, (long)verneed.Offset + 12, U32(0)); break; // first Verneed points at itself
            case "vn_aux out of bounds": Poke(path, (long)verneed.Offset + 8, U32(0x7fff0000)); break;
            case "vna_name out of range": Poke(path, need.FlagsOffset + 4, U32(0x7fffffff)); break;
            case "DT_VERNEED disagrees with the section": Poke(path, shoff + verneed.Index * shentsize + 16, U64(verneed.Addr + 16)); break; // sh_addr
            default: throw new ArgumentException(corruption);
        }
        var before = File.ReadAllBytes(path);

        var e = Assert.Throws<ElfFormatException>(() =>
        {
            var plan = LibTorchSharpPatcher.Analyze(path, Host);
            LibTorchSharpPatcher.Apply(plan, Host);
        });
        Assert.Equal(expected, e.Problem);
        Assert.Equal(path, e.Path);
        Assert.False(string.IsNullOrWhiteSpace(e.Detail));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir, "*", new EnumerationOptions { AttributesToSkip = 0 }));
    }

    [Fact]
    public void Another_missing_version_is_an_error_naming_library_version_and_host_path_and_nothing_is_written()
    {
        if (!LinuxX64) return;
        var path = CopyOfPackageLib();
        // Rename the requirement CXXABI_1.3.13 to CXXABI_1.3.99 (same length) in the copy's .dynstr.
        ElfSection dynstr;
        using (var image = ElfImage.Open(path))
            dynstr = image.Sections[(int)image.SectionOfType(ElfImage.ShtGnuVerneed)!.Link];
        var at = IndexOf(File.ReadAllBytes(path), Encoding.ASCII.GetBytes("CXXABI_1.3.13\0"), (int)dynstr.Offset, (int)dynstr.Size);
        Assert.True(at >= 0);
        Poke(path, at + "CXXABI_1.3.".Length, (byte)'9', (byte)'9');
        var before = File.ReadAllBytes(path);
        var plan = LibTorchSharpPatcher.Analyze(path, Host);
        var error = Assert.Single(plan.Errors);
        Assert.Equal(LibTorchSharpPatcher.MissingVersion, error.Code);
        Assert.Contains("CXXABI_1.3.99", error.Message);
        Assert.Contains("libstdc++.so.6", error.Message);
        Assert.Contains(Host.Resolve("libstdc++.so.6")!, error.Message);
        Assert.Contains(LibTorchSharpPatcher.FileName, error.Message);
        Assert.Contains("GCC >= 13", error.Message);
        Assert.Throws<InvalidOperationException>(() => LibTorchSharpPatcher.Apply(plan, Host));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void GLIBCXX_3_4_32_is_not_weakened_when_another_symbol_is_bound_to_it()
    {
        if (!LinuxX64 || !HostNeedsPatch) return;
        var path = CopyOfPackageLib();
        var versym = Section(path, ElfImage.ShtGnuVersym);
        int other;
        using (var image = ElfImage.Open(path))
        {
            var glibcxx30 = image.ReadVersionNeeds().Single(n => n.Version == "GLIBCXX_3.4.30").Index;
            other = image.SymbolsBoundToVersion(glibcxx30).First().Index;
        }
        Poke(path, (long)versym.Offset + other * 2, U16(TheNeed(path).Index)); // bind a GLIBCXX_3.4.30 symbol to GLIBCXX_3.4.32
        var before = File.ReadAllBytes(path);
        var plan = LibTorchSharpPatcher.Analyze(path, Host);
        var error = Assert.Single(plan.Errors);
        Assert.Equal(LibTorchSharpPatcher.NotWeakenable, error.Code);
        Assert.Contains("symbols other than", error.Message);
        Assert.Empty(plan.ToWeaken);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_library_the_loader_cannot_find_is_an_error()
    {
        if (!LinuxX64) return;
        var path = CopyOfPackageLib();
        var host = new HostLibraries(Array.Empty<string>(), ldSoCache: null, defaultDirectories: new[] { _dir }); // a host with nothing
        var plan = LibTorchSharpPatcher.Analyze(path, host);
        Assert.NotEmpty(plan.Errors);
        Assert.All(plan.Errors, e => Assert.Equal(LibTorchSharpPatcher.LibraryNotFound, e.Code));
        Assert.Contains(plan.Errors, e => e.Message.Contains("libstdc++.so.6"));
    }

    [Fact]
    public void Stale_TorchSharp_consolidation_folders_are_deleted_and_nothing_else()
    {
        if (!LinuxX64) return;
        foreach (var dir in new[] { "cpu", "cuda-12.8", "cpu-notes", "cuda-empty" })
            Directory.CreateDirectory(Path.Combine(_dir, dir));
        File.WriteAllText(Path.Combine(_dir, "cpu", LibTorchSharpPatcher.FileName), "");
        File.WriteAllText(Path.Combine(_dir, "cuda-12.8", LibTorchSharpPatcher.FileName), "");
        File.WriteAllText(Path.Combine(_dir, "cpu-notes", LibTorchSharpPatcher.FileName), "");
        var deleted = LibTorchSharpPatcher.DeleteStaleConsolidatedNatives(_dir).Select(Path.GetFileName).OrderBy(n => n).ToList();
        Assert.Equal(new[] { "cpu", "cuda-12.8" }, deleted);
        Assert.True(Directory.Exists(Path.Combine(_dir, "cpu-notes")));
        Assert.True(Directory.Exists(Path.Combine(_dir, "cuda-empty")));
    }

    [Fact]
    public void This_test_process_loaded_TorchSharp_from_its_patched_output()
    {
        Assert.Equal(2f, TorchSharp.torch.ones(2).sum().item<float>());
        if (!LinuxX64) return;
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", LibTorchSharpPatcher.FileName);
        Assert.True(File.Exists(output), output);
        Assert.Equal(HostNeedsPatch, TheNeed(output).IsWeak);
        Assert.False(TheNeed(PackageLib).IsWeak); // the package cache copy is never patched
        Assert.False(Directory.Exists(Path.Combine(AppContext.BaseDirectory, "cpu")) && HostNeedsPatch);
    }

    static int IndexOf(byte[] haystack, byte[] needle, int start, int length)
    {
        for (int i = start; i + needle.Length <= start + length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
                return i;
        return -1;
    }

    /// <summary>
    /// A fresh console project outside the repository that imports src/Runtime/build/Torchwright.Runtime.targets the way the
    /// package's buildTransitive will, references TorchSharp-cpu and copies natives as hard links into the NuGet cache: the build
    /// patches its output (and runs), a second build rewrites nothing, and the cache file stays byte-identical.
    /// </summary>
    [Fact]
    public void A_fresh_consumer_build_patches_its_output_once_and_never_the_package_cache()
    {
        if (!LinuxX64 || !HostNeedsPatch) return;
        var targets = Path.Combine(RepositoryRoot(), "src", "Runtime", "build", "Torchwright.Runtime.targets");
        var project = Path.Combine(_dir, "consumer");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>disable</ImplicitUsings>
                <CreateHardLinksForCopyLocalIfPossible>true</CreateHardLinksForCopyLocalIfPossible>
              </PropertyGroup>
              <ItemGroup><PackageReference Include="TorchSharp-cpu" Version="[0.107.0]" /></ItemGroup>
              <Import Project="{targets}" />
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Program.cs"), "System.Console.WriteLine(\"sum=\" + TorchSharp.torch.ones(2).sum().item<float>());\n");
        var sourceHash = Hash(PackageLib);
        var output = Path.Combine(project, "bin", "Debug", "net10.0", "runtimes", "linux-x64", "native", LibTorchSharpPatcher.FileName);

        var first = Dotnet(project, "build");
        Assert.Contains("Torchwright: marked GLIBCXX_3.4.32 of libLibTorchSharp.so weak (host libstdc++ has up to ", first);
        Assert.True(TheNeed(output).IsWeak);
        Assert.Equal(sourceHash, Hash(PackageLib));
        var inode = Inode(output);
        Assert.NotEqual(Inode(PackageLib), inode);

        Assert.Contains("sum=2", Run("dotnet", Path.Combine("bin", "Debug", "net10.0", "consumer.dll"), project)); // it loads

        var second = Dotnet(project, "build");
        Assert.DoesNotContain("Torchwright: marked", second);
        Assert.Equal(inode, Inode(output)); // not rewritten (a patch renames a new file over it)
        Assert.True(TheNeed(output).IsWeak);
        Assert.Equal(sourceHash, Hash(PackageLib));
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Generator.sln")))
                return dir.FullName;
        throw new InvalidOperationException("repository root (Generator.sln) not found above " + AppContext.BaseDirectory);
    }

    static string Inode(string path) => Run("stat", $"-L -c %i \"{path}\"", Path.GetDirectoryName(path)!).Trim();

    static string Dotnet(string project, string arguments) =>
        Run("dotnet", arguments + " -nologo -v:n --disable-build-servers -nodeReuse:false -p:ImportDirectoryBuildProps=false -p:ImportDirectoryBuildTargets=false", project);

    static string Run(string file, string arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var inherited in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(inherited);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(180_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish in 180 s");
        }
        var text = stdout + stderr.Result;
        Assert.True(process.ExitCode == 0, $"{file} {arguments} exited with {process.ExitCode}:\n{text}");
        return text;
    }
}
