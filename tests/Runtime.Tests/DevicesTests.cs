using System;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Runtime.Tests
{
    public sealed class DevicesTests
    {
        [Theory]
        [InlineData("cpu", DeviceType.CPU, -1)]
        [InlineData("CPU", DeviceType.CPU, -1)]
        [InlineData("cuda", DeviceType.CUDA, -1)]
        [InlineData(" cuda:1 ", DeviceType.CUDA, 1)]
        public void ParsesWithoutInitialisingTheDevice(string text, DeviceType type, int index)
        {
            Assert.True(Devices.TryParse(text, out var device, out var error), error);
            Assert.Equal(type, device.type);
            if (type == DeviceType.CUDA) Assert.Equal(index, device.index);
        }

        [Theory]
        [InlineData("")]
        [InlineData("0")]          // Enum.Parse would take it as CPU
        [InlineData("cpu,cuda")]   // ... and this as a flags combination
        [InlineData("cuda:")]
        [InlineData("cuda:-1")]
        [InlineData("cuda:99999999999")]
        [InlineData("meta")]
        [InlineData("mps")]
        public void RejectsWhatIsNotCpuOrCuda(string text)
        {
            Assert.False(Devices.TryParse(text, out _, out var error));
            Assert.Equal("not a device; use cpu, cuda or cuda:<index>", error);
        }

        [Fact]
        public void TorchSharpsDeviceFunctionInitialisesCudaAndThrowsWithoutIt()
        {
            if (torch.cuda.is_available()) return; // the behaviour is about machines without CUDA
            // Why the CLI does not parse --device with torch.device: on TorchSharp 0.107.0 it throws here.
            Assert.Throws<InvalidOperationException>(() => torch.device("cuda"));
            Assert.True(Devices.TryParse("cuda", out var cuda, out _));
            var why = Devices.WhyUnavailable(cuda);
            Assert.NotNull(why);
            Assert.Contains("this build uses the CPU-only TorchSharp-cpu package; for CUDA build with -p:TorchCuda=true, which uses TorchSharp-cuda-linux", why);
        }

        [Fact]
        public void CpuIsAlwaysAvailable() => Assert.Null(Devices.WhyUnavailable(torch.CPU));
    }
}
