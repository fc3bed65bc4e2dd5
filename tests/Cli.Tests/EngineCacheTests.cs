using Torchwright.Cli.Running;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// The one-line reasons the installed tool gives when its engine cannot be restored, from the output of the engine build
    /// (the messages NuGet and the dotnet muxer print, as captured from real runs). The restore itself, with and without a
    /// feed, is tested on the installed tool (tests/Package.Tests, ToolEngineTests).
    /// </summary>
    public class EngineCacheTests
    {
        private const string Feeds = "FEEDS";

        private static string Explain(string log) => EngineCache.Explain(log, 1, "/usr/bin/dotnet", Feeds, "/c/engine/build.log");

        [Fact]
        public void Packages_no_source_serves_are_named_once_each_with_the_sources_searched()
        {
            var log = "/c/engine/engine.csproj : error NU1101: Unable to find package TorchSharp. No packages exist with this id in source(s): mirror, local [/c/engine/engine.csproj]\n"
                + "/c/engine/engine.csproj : error NU1101: Unable to find package TorchSharp.PyBridge. No packages exist with this id in source(s): mirror, local [/c/engine/engine.csproj]\n"
                + "/c/engine/engine.csproj : error NU1101: Unable to find package TorchSharp. No packages exist with this id in source(s): mirror, local [/c/engine/engine.csproj]\n";
            Assert.Equal("no NuGet source serves TorchSharp, TorchSharp.PyBridge (NU1101; sources: mirror, local); FEEDS: add a source that serves them "
                + "(nuget.org does: dotnet nuget add source https://api.nuget.org/v3/index.json --name nuget.org) or a local folder or mirror holding them, then run the command again",
                Explain(log));
        }

        [Fact]
        public void A_feed_without_the_pinned_version_is_named_by_package()
        {
            var log = "/c/engine/engine.csproj : error NU1102: Unable to find package TorchSharp-cpu with version (= 0.107.0) [/c/engine/engine.csproj]\n"
                + "  - Found 4 version(s) in mirror [ Nearest version: 0.106.0 ] [/c/engine/engine.csproj]\n";
            Assert.StartsWith("no NuGet source serves TorchSharp-cpu (NU1102); FEEDS: add a source", Explain(log));
        }

        [Fact]
        public void An_unreachable_source_is_quoted()
        {
            var log = "/c/engine/engine.csproj : error NU1301: Unable to load the service index for source https://mirror.example/v3/index.json. [/c/engine/engine.csproj]\n";
            Assert.Equal("a NuGet source could not be read (NU1301: Unable to load the service index for source https://mirror.example/v3/index.json.); FEEDS: fix or remove that source, then run the command again",
                Explain(log));
        }

        [Fact]
        public void A_dotnet_without_an_SDK_says_to_install_one()
        {
            var log = "The command could not be loaded, possibly because:\n  * You intended to execute a .NET application:\n      The application 'build' does not exist.\n"
                + "  * You intended to execute a .NET SDK command:\n      No .NET SDKs were found.\n";
            Assert.Equal($"the engine is restored with the .NET SDK, and '/usr/bin/dotnet' has no .NET {System.Environment.Version.Major} SDK; install it, then run the command again", Explain(log));
        }

        [Fact]
        public void Any_other_failure_quotes_its_first_error_and_the_log()
        {
            Assert.Equal("restoring the engine failed (error MSB4019: The imported project \"/c/engine/Torchwright.Runtime.targets\" was not found.); FEEDS; the full log is /c/engine/build.log",
                Explain("/c/engine/engine.csproj(27,3): error MSB4019: The imported project \"/c/engine/Torchwright.Runtime.targets\" was not found. [/c/engine/engine.csproj]\n"));
            Assert.Equal("restoring the engine failed (dotnet build exited 1); FEEDS; the full log is /c/engine/build.log", Explain("Killed\n"));
        }
    }
}
