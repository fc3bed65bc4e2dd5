using System;
using System.IO;
using Xunit;

namespace SystemTorch.Tests
{
    public sealed class AcceptanceTests
    {
        [Fact]
        public void TorchSharpStyleProgramTrainsLikePyTorch()
        {
            var dir = Path.Combine(Path.GetTempPath(), "systemtorch-acceptance-" + Guid.NewGuid().ToString("N"));
            try {
                SystemTorch.Acceptance.Program.Train(dir);
                var (code, output) = SystemTorch.Acceptance.Program.Verify(dir, PyReference.Python);
                Assert.True(code == 0, output);
                Assert.Contains("ACCEPTANCE PASSED", output);
            } finally {
                try { Directory.Delete(dir, true); } catch (IOException) { }
            }
        }
    }
}
