using System;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Torchwright.Runtime
{
    /// <summary>
    /// Device names as the command line takes them (<c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>), and the one message for a
    /// CUDA device this process cannot use. Parsing never touches libtorch: TorchSharp's <c>torch.device("cuda")</c>
    /// initialises the CUDA backend and throws <see cref="InvalidOperationException"/> on a machine without it, and its
    /// <see cref="Device(string)"/> constructor accepts anything <see cref="Enum.Parse(Type, string)"/> does ("0", "cpu,cuda").
    /// </summary>
    public static class Devices
    {
        /// <summary>The TorchSharp package that brings CUDA on Linux, named in every CUDA message.</summary>
        public const string CudaPackage = "TorchSharp-cuda-linux";

        /// <summary>Parses <c>cpu</c> or <c>cuda[:index]</c> (case-insensitive); on failure <paramref name="error"/> says what is accepted.</summary>
        public static bool TryParse(string? text, out Device device, out string error)
        {
            device = torch.CPU;
            error = "";
            var s = (text ?? "").Trim().ToLowerInvariant();
            if (s == "cpu") return true;
            if (s == "cuda") { device = new Device(DeviceType.CUDA); return true; }
            if (s.StartsWith("cuda:", StringComparison.Ordinal)
                && s.Length > 5 && s.Length <= 8
                && int.TryParse(s.Substring(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                device = new Device(DeviceType.CUDA, index);
                return true;
            }
            error = "not a device; use cpu, cuda or cuda:<index>";
            return false;
        }

        /// <summary>
        /// Null when tensors can be placed on <paramref name="device"/>; otherwise why not and what to do (which package
        /// gives CUDA, or that no device is visible, or how many there are).
        /// </summary>
        public static string? WhyUnavailable(Device device)
        {
            if (device is null) throw new ArgumentNullException(nameof(device));
            if (device.type == DeviceType.CPU) return null;
            if (device.type != DeviceType.CUDA) return $"device {device} is not supported; use cpu or cuda[:index]";
            if (!torch.cuda.is_available())
            {
                return HasCudaLibTorch()
                    ? $"device {device} was asked for, but no CUDA device is visible to this process (libtorch has CUDA; check the NVIDIA driver and CUDA_VISIBLE_DEVICES); use --device cpu"
                    : $"device {device} was asked for, but this build uses the CPU-only TorchSharp-cpu package; for CUDA build with -p:TorchCuda=true, which uses {CudaPackage} (from a NuGet feed that serves it), or use --device cpu";
            }
            int count = torch.cuda.device_count();
            if (device.index >= count)
                return $"device {device} was asked for, but this machine has {count} CUDA device{(count == 1 ? "" : "s")} (cuda:0..cuda:{count - 1})";
            return null;
        }

        /// <summary>Whether the native libtorch loaded beside TorchSharp is a CUDA build (its libtorch_cuda loads).</summary>
        private static bool HasCudaLibTorch()
        {
            if (!NativeLibrary.TryLoad("torch_cuda", typeof(torch).Assembly, null, out var handle)) return false;
            NativeLibrary.Free(handle);
            return true;
        }
    }
}
