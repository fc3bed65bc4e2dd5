using System;
using System.IO;
using System.Text.RegularExpressions;
using Xunit;

namespace Torchwright.Package.Tests
{
    public sealed partial class ConsumerTests
    {
        /// <summary>
        /// The README's "Training from C#" example, as written (in the same fixture's folder as the first project): a second
        /// project (its create commands), SmallNet.arch and the Program.cs that trains on an image folder. The folder is made
        /// here: four classes of 64x64 BMP images, each a class colour with per-pixel noise, 24 training and 8 validation
        /// images per class.
        /// </summary>
        [Fact]
        public void Readme_training_example_trains_on_an_image_folder_and_keeps_the_run()
        {
            Assert.True(project.Create.ExitCode == 0, project.Create.ToString());
            var create = project.Run(Repo.ReadmeBlock("train-create"));
            Assert.True(create.ExitCode == 0, create.ToString());
            var dir = Path.Combine(project.Temp, "MyTraining");
            File.WriteAllText(Path.Combine(dir, "Program.cs"), Repo.ReadmeBlock("train.cs"));
            File.WriteAllText(Path.Combine(dir, "SmallNet.arch"), Repo.ReadmeBlock("SmallNet.arch"));
            Assert.True(Repo.ReadmeBlock("train.cs").Split('\n').Length <= 16, "the README's training example is at most 15 lines");
            WritePhotos(Path.Combine(dir, "photos"));

            var run = Shell.Bash("dotnet run", dir, project.Env, TimeSpan.FromMinutes(10));
            Assert.True(run.ExitCode == 0, run.ToString());
            var m = Regex.Match(run.Output, @"eval accuracy (\d+\.\d) %, best (\d+\.\d) % \(runs/smallnet/best\.safetensors\)");
            Assert.True(m.Success, run.ToString());
            // Four flat colours under noise: chance is 25 %.
            Assert.True(double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) >= 75, run.ToString());
            foreach (var f in new[] { "best.safetensors", "last.safetensors", "state.safetensors", "log.json", "log.csv" })
                Assert.True(File.Exists(Path.Combine(dir, "runs", "smallnet", f)), f);
            Assert.True(File.Exists(Path.Combine(dir, "smallnet.safetensors")));

            var again = Shell.Bash("dotnet run --no-build", dir, project.Env, TimeSpan.FromMinutes(5));
            Assert.NotEqual(0, again.ExitCode);
            Assert.Contains("runs/smallnet holds the state of a run", again.Output);
        }

        private static readonly (byte R, byte G, byte B)[] Colours = { (220, 40, 40), (40, 200, 60), (50, 70, 230), (230, 220, 50) };

        private static void WritePhotos(string root)
        {
            var rng = new Random(7);
            foreach (var (split, count) in new[] { ("train", 24), ("val", 8) })
                for (var c = 0; c < Colours.Length; c++)
                {
                    var folder = Path.Combine(root, split, "class" + c);
                    Directory.CreateDirectory(folder);
                    for (var i = 0; i < count; i++)
                        File.WriteAllBytes(Path.Combine(folder, $"{i:D3}.bmp"), Bmp(64, 64, Colours[c], rng));
                }
        }

        /// <summary>A 24-bit BMP (BITMAPINFOHEADER, bottom-up rows padded to 4 bytes) of one colour plus noise of ±40.</summary>
        private static byte[] Bmp(int width, int height, (byte R, byte G, byte B) colour, Random rng)
        {
            int row = (width * 3 + 3) & ~3, size = 54 + row * height;
            var b = new byte[size];
            void U32(int at, int v) => BitConverter.GetBytes(v).CopyTo(b, at);
            b[0] = (byte)'B';
            b[1] = (byte)'M';
            U32(2, size);
            U32(10, 54);
            U32(14, 40);
            U32(18, width);
            U32(22, height);
            b[26] = 1;
            b[28] = 24;
            U32(34, row * height);
            byte Noisy(byte v) => (byte)Math.Clamp(v + rng.Next(-40, 41), 0, 255);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var at = 54 + y * row + x * 3;
                    b[at] = Noisy(colour.B);
                    b[at + 1] = Noisy(colour.G);
                    b[at + 2] = Noisy(colour.R);
                }
            return b;
        }
    }
}
