using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Torchwright.Dsl.Tests.Fuzz
{
    /// <summary>Valid .arch texts to start mutations from: the language sample plus the repository's zoo.</summary>
    internal static class ArchCorpus
    {
        public const string Sample =
@"# ResNet-50, torchvision ""v1.5"" (stride on the 3x3 conv)
arch ResNet50 {
  input      = 3x224x224
  classes    = 1000
  stem       = resnet          # 7x7/2 conv, BN, ReLU, 3x3/2 max pool
  stem_width = 64
  block      = bottleneck
  depths     = [3, 4, 6, 3]
  widths     = [64, 128, 256, 512]
  outs       = [256, 512, 1024, 2048]
  strides    = [1, 2, 2, 2]
  shortcut   = conv
}

arch BotNet50 : ResNet50 {
  c5.mhsa  = [1, 1, 1]; c5.heads = 4
}

import ""../resnet50.arch""
sweep BotC5Placement : BotNet50 {
  c5.mhsa = [0, 0, 0], [0, 0, 1],
            [0, 1, 1], [1, 1, 1]
  width   = 0.5, 1.0
  layer_scale = 1e-2
}
";

        /// <summary>Every architectures/**/*.arch found by walking up from the test's base directory.</summary>
        public static IReadOnlyList<(string Name, string Text)> ZooFiles()
        {
            var dir = new DirectoryInfo(System.AppContext.BaseDirectory);
            while (dir != null)
            {
                var zoo = Path.Combine(dir.FullName, "architectures");
                if (Directory.Exists(zoo) && (File.Exists(Path.Combine(dir.FullName, "Generator.sln")) || dir.Parent == null))
                {
                    return Directory.EnumerateFiles(zoo, "*.arch", SearchOption.AllDirectories)
                        .OrderBy(f => f, System.StringComparer.Ordinal)
                        .Select(f => (Path.GetFileName(f), File.ReadAllText(f)))
                        .ToList();
                }
                dir = dir.Parent;
            }
            return new List<(string, string)>();
        }

        public static IReadOnlyList<(string Name, string Text)> All()
        {
            var all = new List<(string, string)> { ("sample.arch", Sample) };
            all.AddRange(ZooFiles());
            return all;
        }
    }
}
