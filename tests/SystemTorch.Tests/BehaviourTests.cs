using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace SystemTorch.Tests
{
    /// <summary>A module written the way generated code writes them (explicit registration, scopes).</summary>
    public sealed class Block : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;
        private readonly Sequential downsample;

        public Block(long cin, long cout, long stride) : base(nameof(Block))
        {
            conv1 = nn.Conv2d(cin, cout, kernel_size: 3, stride: stride, padding: 1, bias: false);
            bn1 = nn.BatchNorm2d(cout);
            conv2 = nn.Conv2d(cout, cout, kernel_size: 3, stride: 1, padding: 1, bias: false);
            bn2 = nn.BatchNorm2d(cout, eps: 1e-5, momentum: 0.1, affine: true, track_running_stats: true);
            downsample = nn.Sequential(nn.Conv2d(cin, cout, kernel_size: 1, stride: stride, bias: false), nn.BatchNorm2d(cout));
            register_module("conv1", conv1);
            register_module("bn1", bn1);
            register_module("conv2", conv2);
            register_module("bn2", bn2);
            register_module("downsample", downsample);
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var y = F.relu(bn1.forward(conv1.forward(x)));
            y = bn2.forward(conv2.forward(y));
            y = F.relu(y + downsample.forward(x));
            return y.MoveToOuterDisposeScope();
        }
    }

    /// <summary>A module that relies on RegisterComponents() reflection, TorchSharp style.</summary>
    public sealed class ReflectNet : nn.Module<Tensor, Tensor>
    {
        private readonly Linear fc1 = nn.Linear(4, 8);
        private readonly ModuleList<Linear> heads = nn.ModuleList(nn.Linear(8, 2), nn.Linear(8, 3));
        private readonly Parameter scale = nn.Parameter(torch.ones(1));
        private readonly Tensor mask = torch.zeros(3);

        public ReflectNet() : base(nameof(ReflectNet)) => RegisterComponents();

        public override Tensor forward(Tensor x) => fc1.forward(x) * scale;
    }

    public sealed class ApiTests
    {
        [Fact]
        public void GeneratedStyleBlockHasTorchvisionKeysAndShapes()
        {
            using var b = new Block(8, 16, 2);
            var keys = b.state_dict().Keys.ToList();
            Assert.Equal(new[] {
                "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
                "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
                "downsample.0.weight", "downsample.1.weight", "downsample.1.bias", "downsample.1.running_mean", "downsample.1.running_var", "downsample.1.num_batches_tracked",
            }, keys);
            Assert.Equal(9, b.parameters().Count());
            Assert.Equal(9, b.buffers().Count());
            Assert.Equal(new[] { "conv1", "bn1", "conv2", "bn2", "downsample" }, b.named_children().Select(c => c.name));
            Assert.Contains("downsample.1", b.named_modules().Select(m => m.name));
            using var x = torch.randn(2, 8, 10, 10);
            using var y = b.call(x);
            Assert.Equal(new long[] { 2, 16, 5, 5 }, y.shape);
        }

        [Fact]
        public void RegisterComponentsByReflection()
        {
            using var n = new ReflectNet();
            // PyTorch order: the module's own parameters, its own buffers, then children.
            Assert.Equal(new[] { "scale", "mask", "fc1.weight", "fc1.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias" }, n.state_dict().Keys);
            Assert.Equal(7, n.parameters().Count());
        }

        [Fact]
        public void TrainEvalPropagatesAndLoadStateDictStrict()
        {
            using var a = new Block(4, 4, 1);
            using var b = new Block(4, 4, 1);
            a.eval();
            Assert.False(a.training);
            Assert.All(a.modules(), m => Assert.False(m.training));
            a.train();
            Assert.All(a.modules(), m => Assert.True(m.training));
            var (missing, unexpected) = b.load_state_dict(a.state_dict());
            Assert.Empty(missing);
            Assert.Empty(unexpected);
            foreach (var (k, v) in a.state_dict()) Assert.True(v.eq(b.state_dict()[k]).all().ToBoolean(), k);
            var partial = a.state_dict().Where(kv => kv.Key != "bn1.bias").ToDictionary(kv => kv.Key, kv => kv.Value);
            var ex = Assert.Throws<InvalidOperationException>(() => b.load_state_dict(partial));
            Assert.Contains("bn1.bias", ex.Message);
            var (m2, u2) = b.load_state_dict(partial, strict: false);
            Assert.Equal(new[] { "bn1.bias" }, m2);
            Assert.Empty(u2);
        }

        [Fact]
        public void ModuleToDtypeAndZeroGrad()
        {
            using var b = new Block(3, 4, 1);
            using (var x = torch.randn(1, 3, 6, 6)) {
                using var y = b.call(x);
                using var s = y.sum();
                s.backward();
            }
            Assert.All(b.parameters(), p => Assert.NotNull(p.grad));
            b.zero_grad();
            Assert.All(b.parameters(), p => Assert.Null(p.grad));
            b.to(ScalarType.Float64);
            Assert.All(b.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
            Assert.Equal(ScalarType.Int64, b.state_dict()["bn1.num_batches_tracked"].dtype);
            b.to(torch.CPU);
            b.cpu();
            Assert.Equal(DeviceType.CPU, b.parameters().First().device_type);
        }

        [Fact]
        public void ForwardHooksSeeInputsAndCanReplaceOutputs()
        {
            using var lin = nn.Linear(3, 2);
            var shapes = new List<long[]>();
            var h1 = lin.register_forward_hook((m, input, output) => { shapes.Add(output.shape); return null!; });
            var h2 = lin.register_forward_pre_hook((m, input) => input * 0);
            using var x = torch.ones(4, 3);
            using var y = lin.call(x);
            Assert.Equal(new long[] { 4, 2 }, shapes.Single());
            Assert.True(y.eq(lin.bias!.expand(4, 2)).all().ToBoolean());
            h1.remove();
            h2.remove();
            using var y2 = lin.call(x);
            Assert.Single(shapes);
        }

        [Fact]
        public void DropoutTrainingZeroesAndRescales()
        {
            using var d = nn.Dropout(0.25);
            using var x = torch.ones(100000);
            using var y = d.call(x);
            var zeros = y.eq(0).to_type(ScalarType.Float32).mean().item<float>();
            Assert.InRange(zeros, 0.24f, 0.26f);
            Assert.Equal(1f / 0.75f, y.max().item<float>(), 5);
            d.eval();
            using var z = d.call(x);
            Assert.Equal(100000f, z.sum().item<float>());
        }

        [Fact]
        public void TensorBasics()
        {
            using var t = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
            Assert.Equal(new long[] { 2, 3 }, t.shape);
            Assert.Equal(2, t.ndim);
            Assert.Equal(6, t.numel());
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(6f, t[1, 2].item<float>());
            Assert.Equal(new float[] { 4, 5, 6 }, t[1].data<float>().ToArray());
            Assert.Equal(21f, t.sum().item<float>());
            using var h = t.to(ScalarType.Float16);
            Assert.Equal(ScalarType.Float16, h.dtype);
            using var bf = t.to_type(ScalarType.BFloat16);
            Assert.Equal(ScalarType.BFloat16, bf.dtype);
            Assert.Equal(ScalarType.Int64, torch.arange(5).dtype);
            Assert.Equal(ScalarType.Float32, torch.arange(0, 1, 0.25).dtype);
            Assert.Equal(new long[] { 4 }, torch.arange(0, 1, 0.25).shape);
            Assert.Equal(ScalarType.Int64, torch.randint(0, 10, new long[] { 3 }).dtype);
            Assert.Equal(7.5f, torch.full(new long[] { 2, 2 }, 7.5f).mean().item<float>());
            Assert.Equal(ScalarType.Bool, torch.zeros(2, dtype: ScalarType.Bool).dtype);
            Assert.Equal(ScalarType.Int32, torch.ones(2, dtype: ScalarType.Int32).dtype);
            using var z = torch.zeros(3).fill_(2).add_(1).mul_(2);
            Assert.Equal(new float[] { 6, 6, 6 }, z.data<float>().ToArray());
            using var u = torch.empty(1000).uniform_(-1, 1);
            Assert.True(u.abs().max().item<float>() <= 1f);
            using var nrm = torch.empty(10000).normal_(2, 0.5);
            Assert.InRange(nrm.mean().item<float>(), 1.95f, 2.05f);
            Assert.Equal(DeviceType.CPU, t.device.type);
            Assert.Equal("cuda:1", new Device(DeviceType.CUDA, 1).ToString());
            Assert.Equal(DeviceType.CUDA, new Device("cuda:0").type);
        }

        [Fact]
        public void AutogradModes()
        {
            using var a = torch.ones(3, requires_grad: true);
            Assert.True(a.requires_grad);
            using (torch.no_grad()) {
                using var b = a * 2;
                Assert.False(b.requires_grad);
                using (torch.enable_grad()) {
                    using var c = a * 2;
                    Assert.True(c.requires_grad);
                }
            }
            using var d = (a * a).sum();
            d.backward();
            Assert.Equal(new float[] { 2, 2, 2 }, a.grad!.data<float>().ToArray());
            using var e = a.detach();
            Assert.False(e.requires_grad);
        }

        [Fact]
        public void GlobalState()
        {
            torch.manual_seed(7);
            using var a = torch.randn(5);
            torch.manual_seed(7);
            using var b = torch.randn(5);
            Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
            var n = torch.get_num_threads();
            torch.set_num_threads(1);
            Assert.Equal(1, torch.get_num_threads());
            torch.set_num_threads(n);
            Assert.False(torch.cuda.is_available());
            Assert.Equal(0, torch.cuda.device_count());
            torch.cuda.synchronize();
        }

        [Fact]
        public void InitFunctions()
        {
            using var w = torch.empty(64, 32, 3, 3);
            nn.init.kaiming_normal_(w, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
            var expectedStd = Math.Sqrt(2.0 / (64 * 9));
            Assert.InRange(w.std().item<float>(), expectedStd * 0.95, expectedStd * 1.05);
            nn.init.trunc_normal_(w, std: 0.02);
            Assert.True(w.abs().max().item<float>() <= 2f);
            Assert.InRange(w.std().item<float>(), 0.018, 0.022);
            nn.init.zeros_(w);
            Assert.Equal(0f, w.abs().sum().item<float>());
            nn.init.ones_(w);
            Assert.Equal(1f, w.mean().item<float>());
            nn.init.constant_(w, 0.5);
            Assert.Equal(0.5f, w.mean().item<float>());
            nn.init.normal_(w, 1, 0.1);
            Assert.InRange(w.mean().item<float>(), 0.98f, 1.02f);
        }
    }

    public sealed class DisposeScopeTests
    {
        [Fact]
        public void ScopeDisposesTemporariesAndMoveToOuterKeepsResult()
        {
            Tensor kept, temp;
            using (var outer = torch.NewDisposeScope()) {
                using (var inner = torch.NewDisposeScope()) {
                    temp = torch.ones(3);
                    kept = (temp * 2).MoveToOuterDisposeScope();
                    Assert.Equal(1, inner.DisposablesCount);
                }
                Assert.True(temp.IsInvalid);
                Assert.False(kept.IsInvalid);
                Assert.True(outer.Contains(kept));
            }
            Assert.True(kept.IsInvalid);
        }

        [Fact]
        public void MoveToOuterWithoutOuterScopeDetaches()
        {
            Tensor t;
            using (torch.NewDisposeScope()) {
                t = torch.zeros(2).MoveToOuterDisposeScope();
            }
            Assert.False(t.IsInvalid);
            t.Dispose();
            Assert.True(t.IsInvalid);
        }

        [Fact]
        public void DetachAndManualDispose()
        {
            Tensor a, b;
            using (var s = torch.NewDisposeScope()) {
                a = torch.zeros(2).DetachFromDisposeScope();
                b = torch.zeros(2);
                b.Dispose();
                Assert.Equal(0, s.DisposablesCount);
            }
            Assert.False(a.IsInvalid);
            a.Dispose();
        }

        [Fact]
        public void ModulesBuiltInsideScopeKeepTheirParameters()
        {
            Linear lin;
            using (torch.NewDisposeScope()) {
                lin = nn.Linear(3, 3);
            }
            using var x = torch.randn(2, 3);
            using var y = lin.call(x);
            Assert.Equal(new long[] { 2, 3 }, y.shape);
        }

        [Fact]
        public void DisposeEverythingBut()
        {
            using var s = torch.NewDisposeScope();
            var a = torch.ones(1);
            var b = torch.ones(1);
            s.DisposeEverythingBut(b);
            Assert.True(a.IsInvalid);
            Assert.False(b.IsInvalid);
        }
    }

    public sealed class ErrorTests
    {
        [Fact]
        public void ShapeMismatchThrowsWithLibtorchMessage()
        {
            using var a = torch.randn(2, 3);
            using var b = torch.randn(4, 5);
            var ex = Assert.Throws<ExternalException>(() => a.matmul(b));
            Assert.Contains("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", ex.Message);
            var ex2 = Assert.ThrowsAny<ExternalException>(() => a + b);
            Assert.Contains("must match the size of tensor b", ex2.Message);
            using var conv = nn.Conv2d(3, 4, 3);
            using var bad = torch.randn(1, 5, 8, 8);
            var ex3 = Assert.ThrowsAny<ExternalException>(() => conv.call(bad));
            Assert.Contains("expected input[1, 5, 8, 8] to have 3 channels", ex3.Message);
        }

        [Fact]
        public void DisposedTensorThrowsManagedException()
        {
            var t = torch.ones(2);
            t.Dispose();
            Assert.Throws<InvalidOperationException>(() => t.sum());
        }

        [Fact]
        public void ThousandRandomInvalidCallsAllThrowManagedExceptions()
        {
            var rng = new Random(42);
            int thrown = 0;
            var calls = new List<Func<Tensor>>();
            for (int i = 0; i < 1000; i++) {
                using var scope = torch.NewDisposeScope();
                long R(int lo, int hi) => rng.Next(lo, hi);
                var x = torch.randn(R(1, 3), R(1, 4), R(1, 5));
                Func<object> call = (i % 25) switch {
                    0 => () => x.view(R(7, 50), R(7, 50)),
                    1 => () => x.reshape(-1, -1),
                    2 => () => x.permute(0, 0, 1),
                    3 => () => x.transpose(R(3, 9), 0),
                    4 => () => x.matmul(torch.randn(R(6, 9), 2)),
                    5 => () => torch.cat(new[] { x, torch.randn(R(1, 3), R(5, 9), 9) }, 0),
                    6 => () => x.narrow(0, R(3, 10), 2),
                    7 => () => x[R(5, 100)],
                    8 => () => x.expand(R(7, 9), 2),
                    9 => () => F.conv2d(x, torch.randn(2, 3, 3, 3)),
                    10 => () => F.max_pool2d(x.unsqueeze(0), R(10, 20)),
                    11 => () => F.cross_entropy(torch.randn(3, 4), torch.tensor(new long[] { R(4, 50), 0, 1 })),
                    12 => () => x.split(new long[] { 1, R(9, 20) }, 2),
                    13 => () => x.squeeze(R(5, 9)),
                    14 => () => x.unsqueeze(R(6, 20)),
                    15 => () => torch.einsum("ij,jk->ik", x, x),
                    16 => () => x.sum(R(4, 9)),
                    17 => () => F.layer_norm(x, new long[] { R(9, 20) }),
                    18 => () => x.index_select(0, torch.tensor(new long[] { R(3, 30) })),
                    19 => () => torch.zeros(new long[] { -R(1, 5), 2 }),
                    20 => () => F.interpolate(x, new long[] { 2, 2, 2, 2 }, mode: InterpolationMode.Bilinear),
                    21 => () => F.unfold(x, 50),
                    22 => () => x.bmm(torch.randn(R(5, 9), 2, 2)),
                    23 => () => F.group_norm(torch.randn(2, 6, 3, 3), R(4, 5)),
                    _ => () => x.to_type((ScalarType)12).add(1),
                };
                try {
                    call();
                    Console.Error.WriteLine($"fuzz case {i % 25} did not throw");
                } catch (ExternalException) {
                    thrown++;
                } catch (ArgumentException) {
                    thrown++;
                } catch (InvalidOperationException) {
                    thrown++;
                } catch (IndexOutOfRangeException) {
                    thrown++;
                }
            }
            Assert.Equal(1000, thrown);
            using var ok = torch.ones(2) + 1;
            Assert.Equal(4f, ok.sum().item<float>());
        }
    }

    public sealed class MemoryTests
    {
        private readonly Xunit.Abstractions.ITestOutputHelper _out;

        public MemoryTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

        private static long RssKb()
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
            return 0;
        }

        [Fact]
        public void TenThousandScopedForwardPassesKeepRssFlat()
        {
            using var net = nn.Sequential(nn.Conv2d(3, 8, 3, padding: 1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4));
            net.eval();
            using var x = torch.randn(2, 3, 8, 8);
            void Run(int n)
            {
                for (int i = 0; i < n; i++) {
                    using var scope = torch.NewDisposeScope();
                    var y = net.call(x);
                    var s = y.softmax(-1).sum();
                    _ = s.shape;
                }
            }
            Run(1000);
            GC.Collect();
            var before = RssKb();
            Run(10000);
            GC.Collect();
            var after = RssKb();
            _out.WriteLine($"VmRSS before {before / 1024.0:F1} MiB, after 10,000 scoped forward passes {after / 1024.0:F1} MiB (growth {(after - before) / 1024.0:F2} MiB)");
            Assert.True(after - before < 20 * 1024, $"RSS grew by {(after - before) / 1024.0:F1} MiB over 10,000 scoped forward passes (before {before / 1024.0:F1} MiB)");
        }
    }
}
