using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using TorchSharp;
using Torchwright.Zoo;
using Xunit;
using static TorchSharp.torch;

namespace Torchwright.Zoo.Tests
{
    /// <summary>The generated zoo modules: runtime counts equal the compile-time constants and the published models' (the README's zoo table); they run.</summary>
    public class GeneratedZooTests
    {
        public sealed record Model(string Name, Func<nn.Module<Tensor, Tensor>> Create, long ParameterCount, long Expected, long[] StageChannels, long InputSize = 224, long[]? StageSizes = null);

        private static readonly Model[] All =
        {
            new("ResNet50", () => new ResNet50(), ResNet50.ParameterCount, 25_557_032, new[] { ResNet50.C2Channels, ResNet50.C3Channels, ResNet50.C4Channels, ResNet50.C5Channels }),
            new("BotNet50", () => new BotNet50(), BotNet50.ParameterCount, 20_852_008, new[] { BotNet50.C2Channels, BotNet50.C3Channels, BotNet50.C4Channels, BotNet50.C5Channels }),
            new("BotNet50_011", () => new BotNet50_011(), BotNet50_011.ParameterCount, 22_417_960, new[] { BotNet50_011.C2Channels, BotNet50_011.C3Channels, BotNet50_011.C4Channels, BotNet50_011.C5Channels }),
            new("ResNeSt50", () => new ResNeSt50(), ResNeSt50.ParameterCount, 27_483_240, new[] { ResNeSt50.C2Channels, ResNeSt50.C3Channels, ResNeSt50.C4Channels, ResNeSt50.C5Channels }),
            new("VanB0", () => new VanB0(), VanB0.ParameterCount, 4_105_800, new[] { VanB0.C2Channels, VanB0.C3Channels, VanB0.C4Channels, VanB0.C5Channels }),
            new("VanB1", () => new VanB1(), VanB1.ParameterCount, 13_861_800, new[] { VanB1.C2Channels, VanB1.C3Channels, VanB1.C4Channels, VanB1.C5Channels }),
            new("CotNet50", () => new CotNet50(), CotNet50.ParameterCount, 22_222_416, new[] { CotNet50.C2Channels, CotNet50.C3Channels, CotNet50.C4Channels, CotNet50.C5Channels }),
            new("ResTLite", () => new ResTLite(), ResTLite.ParameterCount, 10_508_300, new[] { ResTLite.C2Channels, ResTLite.C3Channels, ResTLite.C4Channels, ResTLite.C5Channels }),
            new("ResTSmall", () => new ResTSmall(), ResTSmall.ParameterCount, 13_679_708, new[] { ResTSmall.C2Channels, ResTSmall.C3Channels, ResTSmall.C4Channels, ResTSmall.C5Channels }),
            new("ResTLitePaperStem", () => new ResTLitePaperStem(), ResTLitePaperStem.ParameterCount, 10_489_196, new[] { ResTLitePaperStem.C2Channels, ResTLitePaperStem.C3Channels, ResTLitePaperStem.C4Channels, ResTLitePaperStem.C5Channels }),
            new("ResTSmallPaperStem", () => new ResTSmallPaperStem(), ResTSmallPaperStem.ParameterCount, 13_660_604, new[] { ResTSmallPaperStem.C2Channels, ResTSmallPaperStem.C3Channels, ResTSmallPaperStem.C4Channels, ResTSmallPaperStem.C5Channels }),
            new("CotNeXt50", () => new CotNeXt50(), CotNeXt50.ParameterCount, 30_046_276, new[] { CotNeXt50.C2Channels, CotNeXt50.C3Channels, CotNeXt50.C4Channels, CotNeXt50.C5Channels }),
            new("CotNeXt101", () => new CotNeXt101(), CotNeXt101.ParameterCount, 53_346_068, new[] { CotNeXt101.C2Channels, CotNeXt101.C3Channels, CotNeXt101.C4Channels, CotNeXt101.C5Channels }),
            new("ResNeSt50d_1s4x24d", () => new ResNeSt50d_1s4x24d(), ResNeSt50d_1s4x24d.ParameterCount, 25_677_000, new[] { ResNeSt50d_1s4x24d.C2Channels, ResNeSt50d_1s4x24d.C3Channels, ResNeSt50d_1s4x24d.C4Channels, ResNeSt50d_1s4x24d.C5Channels }),
            new("ResNeSt50d_4s2x40d", () => new ResNeSt50d_4s2x40d(), ResNeSt50d_4s2x40d.ParameterCount, 30_417_592, new[] { ResNeSt50d_4s2x40d.C2Channels, ResNeSt50d_4s2x40d.C3Channels, ResNeSt50d_4s2x40d.C4Channels, ResNeSt50d_4s2x40d.C5Channels }),
            new("SeResNet50", () => new SeResNet50(), SeResNet50.ParameterCount, 28_088_024, new[] { SeResNet50.C2Channels, SeResNet50.C3Channels, SeResNet50.C4Channels, SeResNet50.C5Channels }),
            new("BotNet26t256", () => new BotNet26t256(), BotNet26t256.ParameterCount, 12_488_672, new[] { BotNet26t256.C2Channels, BotNet26t256.C3Channels, BotNet26t256.C4Channels, BotNet26t256.C5Channels }, 256),
            new("EcaBotNeXt26ts256", () => new EcaBotNeXt26ts256(), EcaBotNeXt26ts256.ParameterCount, 10_593_301, new[] { EcaBotNeXt26ts256.C2Channels, EcaBotNeXt26ts256.C3Channels, EcaBotNeXt26ts256.C4Channels, EcaBotNeXt26ts256.C5Channels }, 256),
            new("HaloNet26t", () => new HaloNet26t(), HaloNet26t.ParameterCount, 12_480_288, new[] { HaloNet26t.C2Channels, HaloNet26t.C3Channels, HaloNet26t.C4Channels, HaloNet26t.C5Channels }, 256),
            new("EcaHaloNeXt26ts", () => new EcaHaloNeXt26ts(), EcaHaloNeXt26ts.ParameterCount, 10_756_885, new[] { EcaHaloNeXt26ts.C2Channels, EcaHaloNeXt26ts.C3Channels, EcaHaloNeXt26ts.C4Channels, EcaHaloNeXt26ts.C5Channels }, 256),
            new("HaloNet50ts", () => new HaloNet50ts(), HaloNet50ts.ParameterCount, 22_733_280, new[] { HaloNet50ts.C2Channels, HaloNet50ts.C3Channels, HaloNet50ts.C4Channels, HaloNet50ts.C5Channels }, 256),
            new("LambdaResNet26t", () => new LambdaResNet26t(), LambdaResNet26t.ParameterCount, 10_958_272, new[] { LambdaResNet26t.C2Channels, LambdaResNet26t.C3Channels, LambdaResNet26t.C4Channels, LambdaResNet26t.C5Channels }, 256),
            new("LambdaResNet26rpt256", () => new LambdaResNet26rpt256(), LambdaResNet26rpt256.ParameterCount, 10_988_688, new[] { LambdaResNet26rpt256.C2Channels, LambdaResNet26rpt256.C3Channels, LambdaResNet26rpt256.C4Channels, LambdaResNet26rpt256.C5Channels }, 256),
            new("LambdaResNet50ts", () => new LambdaResNet50ts(), LambdaResNet50ts.ParameterCount, 21_536_832, new[] { LambdaResNet50ts.C2Channels, LambdaResNet50ts.C3Channels, LambdaResNet50ts.C4Channels, LambdaResNet50ts.C5Channels }, 256),
            new("BotNet50ts256", () => new BotNet50ts256(), BotNet50ts256.ParameterCount, 22_742_688, new[] { BotNet50ts256.C2Channels, BotNet50ts256.C3Channels, BotNet50ts256.C4Channels, BotNet50ts256.C5Channels }, 256),
            new("BotNetS1_59", () => new BotNetS1_59(), BotNetS1_59.ParameterCount, 33_659_480, new[] { BotNetS1_59.C2Channels, BotNetS1_59.C3Channels, BotNetS1_59.C4Channels, BotNetS1_59.C5Channels }, 224, new long[] { 56, 28, 14, 14 }),
            new("BotNetS1_110", () => new BotNetS1_110(), BotNetS1_110.ParameterCount, 54_898_328, new[] { BotNetS1_110.C2Channels, BotNetS1_110.C3Channels, BotNetS1_110.C4Channels, BotNetS1_110.C5Channels }, 224, new long[] { 56, 28, 14, 14 }),
            new("BotNetS1_128", () => new BotNetS1_128(), BotNetS1_128.ParameterCount, 75_449_240, new[] { BotNetS1_128.C2Channels, BotNetS1_128.C3Channels, BotNetS1_128.C4Channels, BotNetS1_128.C5Channels }, 256, new long[] { 64, 32, 16, 16 }),
            new("ResNet18", () => new ResNet18(), ResNet18.ParameterCount, 11_689_512, new[] { ResNet18.C2Channels, ResNet18.C3Channels, ResNet18.C4Channels, ResNet18.C5Channels }),
            new("ResNet34", () => new ResNet34(), ResNet34.ParameterCount, 21_797_672, new[] { ResNet34.C2Channels, ResNet34.C3Channels, ResNet34.C4Channels, ResNet34.C5Channels }),
            new("SeBotNet33ts256", () => new SeBotNet33ts256(), SeBotNet33ts256.ParameterCount, 13_701_984, new[] { SeBotNet33ts256.C2Channels, SeBotNet33ts256.C3Channels, SeBotNet33ts256.C4Channels, SeBotNet33ts256.C5Channels }, 256),
            new("SeHaloNet33ts", () => new SeHaloNet33ts(), SeHaloNet33ts.ParameterCount, 13_691_712, new[] { SeHaloNet33ts.C2Channels, SeHaloNet33ts.C3Channels, SeHaloNet33ts.C4Channels, SeHaloNet33ts.C5Channels }, 256),
            new("Halo2BotNet50ts256", () => new Halo2BotNet50ts256(), Halo2BotNet50ts256.ParameterCount, 22_635_360, new[] { Halo2BotNet50ts256.C2Channels, Halo2BotNet50ts256.C3Channels, Halo2BotNet50ts256.C4Channels, Halo2BotNet50ts256.C5Channels }, 256),
            new("LamHaloBotNet50ts256", () => new LamHaloBotNet50ts256(), LamHaloBotNet50ts256.ParameterCount, 22_569_824, new[] { LamHaloBotNet50ts256.C2Channels, LamHaloBotNet50ts256.C3Channels, LamHaloBotNet50ts256.C4Channels, LamHaloBotNet50ts256.C5Channels }, 256),
        };

        public static IEnumerable<object[]> Names => All.Select(m => new object[] { m.Name });

        private static Model Get(string name) => All.Single(m => m.Name == name);

        [Theory]
        [MemberData(nameof(Names))]
        public void Runtime_parameter_count_equals_the_generated_constant_and_reference(string name)
        {
            var m = Get(name);
            Assert.Equal(m.Expected, m.ParameterCount);
            using var module = m.Create();
            long runtime = module.parameters().Sum(p => p.numel());
            Assert.Equal(m.ParameterCount, runtime);
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void Forward_gives_logits_and_features_of_the_declared_shapes(string name)
        {
            var m = Get(name);
            using var module = m.Create();
            module.eval();
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(0);
            var x = torch.randn(1, 3, m.InputSize, m.InputSize);
            var logits = module.call(x);
            Assert.Equal(new long[] { 1, 1000 }, logits.shape);
            Assert.True((logits - logits).eq(0).all().item<bool>(), "non-finite logits"); // NaN and inf give NaN

            var features = (dynamic)module;
            var f = features.forward_features(x);
            var maps = new Tensor[] { f.C2, f.C3, f.C4, f.C5 };
            Assert.Equal(m.StageChannels, maps.Select(t => t.shape[1]));
            Assert.Equal(m.StageSizes ?? new long[] { m.InputSize / 4, m.InputSize / 8, m.InputSize / 16, m.InputSize / 32 }, maps.Select(t => t.shape[2]));
        }

        [Fact]
        public void BotNet50_rejects_an_input_size_it_was_not_declared_for()
        {
            using var model = new BotNet50();
            using var scope = torch.NewDisposeScope();
            var e = Assert.Throws<ArgumentException>(() => model.call(torch.zeros(1, 3, 256, 256)));
            Assert.Contains("expected input (N, 3, 224, 224) but got (1, 3, 256, 256)", e.Message);
            Assert.Contains("relative-position tables of layer4.0 are sized for 14x14", e.Message);
        }

        [Fact]
        public void Generated_ResNet50_has_torchvisions_state_dict_keys()
        {
            using var model = new ResNet50();
            var ours = model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
            var psi = new ProcessStartInfo("/usr/bin/python3", "-c \"import torchvision; print('\\n'.join(sorted(torchvision.models.resnet50().state_dict().keys())))\"")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd());
            var theirs = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).OrderBy(k => k, StringComparer.Ordinal).ToArray();
            Assert.Equal(theirs, ours);
        }

        [Fact]
        public void VanB0_trains_one_sgd_step()
        {
            using var model = new VanB0();
            model.train();
            using var scope = torch.NewDisposeScope();
            torch.manual_seed(1);
            var optimizer = torch.optim.SGD(model.parameters(), 0.01, momentum: 0.9);
            var x = torch.randn(2, 3, 224, 224);
            var target = torch.tensor(new long[] { 3, 7 });
            var loss = torch.nn.functional.cross_entropy(model.call(x), target);
            optimizer.zero_grad();
            loss.backward();
            Assert.All(model.parameters(), p => Assert.NotNull(p.grad));
            var before = model.parameters().First().clone();
            optimizer.step();
            Assert.True((before - model.parameters().First()).abs().max().item<float>() > 0, "SGD step changed nothing");
        }

        [Fact]
        public void The_placement_sweep_lists_its_variants_with_factories()
        {
            Assert.Equal(new[] { "BotC5Placement/c5.mhsa=[0,0,0]", "BotC5Placement/c5.mhsa=[0,0,1]", "BotC5Placement/c5.mhsa=[0,1,1]", "BotC5Placement/c5.mhsa=[1,1,1]" },
                BotC5Placement.Variants.Select(v => v.Name));
            var v011 = BotC5Placement.Variants[2];
            Assert.Equal(BotNet50_011.ParameterCount, v011.ParameterCount);
            using var module = v011.Create();
            Assert.Equal(v011.ParameterCount, module.parameters().Sum(p => p.numel()));
        }
    }
}
