using System.IO;
using System.Linq;
using Xunit;

namespace Torchwright.Cli.Tests
{
    /// <summary>
    /// Issue 24, sweeps: every error that is not one grid point's own stops the sweep before the results store is opened
    /// or created (exit 1, with --dry-run too); an ad-hoc sweep whose automatic name is taken says so; numeric options
    /// are range-checked when parsed.
    /// </summary>
    public sealed class SweepChecksTests : System.IDisposable
    {
        private readonly TempDir dir = new TempDir();

        public void Dispose() => dir.Dispose();

        private const string Data = "shapes:32:n=64:test=16";

        private string Db => Path.Combine(dir.Path, "r.db");

        private CliRunner.Result Sweep(string arch, bool dryRun, params string[] args) =>
            CliRunner.Run(new[] { "sweep", arch, "--db", Db, "--dataset", Data, "--steps", "1", "--batch", "4", "--threads", "1", "--progress", "plain" }
                .Concat(args).Concat(dryRun ? new[] { "--dry-run" } : new string[0]).ToArray());

        private void AssertStoppedBeforeTheStore(CliRunner.Result r, string lastLine)
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Equal("", r.Out);
            Assert.Equal(lastLine, r.Error.TrimEnd('\n').Split('\n').Last());
            Assert.False(File.Exists(Db), "the results store must not be created for a sweep that does not check");
            Assert.DoesNotContain("internal error", r.Error);
        }

        /// <summary>Repeated grid values made TW0013 and then crashed with "An item with the same key has already been added" (exit 3)
        /// after creating an empty database; --dry-run printed the error and exited 0.</summary>
        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void A_repeated_grid_value_stops_the_sweep_before_the_store(bool dryRun)
        {
            var r = Sweep(dir.Write("tiny.arch", SweepTests.TinyArch), dryRun, "--set", "classes=8,8");
            Assert.Contains("tiny.arch(8,7): error TW0013: Variant 'TinyGrid/c5.mhsa=[0]/c3.depth=1/classes=8' is declared more than once (first at an earlier grid point)", r.Error);
            AssertStoppedBeforeTheStore(r, "sweep: TinyGrid does not check (the errors above are not one grid point's own); fix them; nothing was trained");

            var declared = dir.Write("repeat.arch", SweepTests.TinyArch.Replace("c3.depth = 1, 2", "c3.depth = 1, 1"));
            r = Sweep(declared, dryRun);
            Assert.Contains("error TW0013: Variant 'TinyGrid/c5.mhsa=[0]/c3.depth=1' is declared more than once", r.Error);
            AssertStoppedBeforeTheStore(r, "sweep: TinyGrid does not check (the errors above are not one grid point's own); fix them; nothing was trained");
        }

        /// <summary>A fixed --set is applied to the sweep's base; one the base does not read, or an out-of-range one, was printed as an
        /// error while every variant trained and config_json recorded it as applied.</summary>
        [Theory]
        [InlineData("qk_head_dim=0", "error TW0024: Tiny+set: 'qk_head_dim' has no effect")]
        [InlineData("stem_widths=[0,0,0]", "error TW0024: Tiny+set: 'stem_widths' has no effect")]
        [InlineData("width=-1", "--set #1(1,7): error TW0016: Tiny+set: width = -1 is out of range: a width multiplier must be in (0, 16]")]
        public void A_fixed_setting_that_does_not_check_on_the_base_stops_the_sweep(string setting, string diagnostic)
        {
            var r = Sweep(dir.Write("tiny.arch", SweepTests.TinyArch), dryRun: false, "--set", setting);
            Assert.Contains(diagnostic, r.Error);
            AssertStoppedBeforeTheStore(r, "sweep: TinyGrid does not check (the errors above are not one grid point's own); fix them; nothing was trained");
        }

        [Fact]
        public void A_grid_point_that_does_not_check_is_still_skipped_alone()
        {
            // c5 attention width at 1/8 width is 64: 3 heads do not divide it, 4 do (the base has no attention to check).
            var r = Sweep(dir.Write("tiny.arch", SweepTests.TinyArch), dryRun: true, "--name", "Tiny", "--set", "c5.mhsa=[1]", "--set", "c5.heads=3,4");
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Contains("skipping TinySweep/c5.heads=3: it does not check", r.Error);
        }

        /// <summary>A sweep opens its dataset once: variants whose augmentation differs (a train.* axis over it) are refused
        /// before the store, rather than trained with the first variant's augmentation.</summary>
        [Fact]
        public void Variants_that_differ_in_augmentation_are_refused_before_the_store()
        {
            var r = Sweep(dir.Write("tiny.arch", SweepTests.TinyArch), dryRun: false, "--name", "Tiny", "--set", "train.augment=on,off");
            Assert.Equal(2, r.ExitCode);
            Assert.StartsWith("torchwright sweep: the variants differ in their augmentation settings (augment on;", r.Error);
            Assert.EndsWith("but a sweep opens its dataset once, with one augmentation; sweep those settings in separate sweeps\n", r.Error);
            Assert.False(File.Exists(Db));
        }

        [Fact]
        public void An_ad_hoc_sweep_whose_automatic_name_is_declared_says_so_and_names_the_option()
        {
            var arch = dir.Write("tiny.arch", SweepTests.TinyArch.Replace("sweep TinyGrid", "sweep TinySweep"));
            var r = Sweep(arch, dryRun: false, "--name", "Tiny", "--set", "width=0.25,0.125");
            Assert.Equal(2, r.ExitCode);
            Assert.Equal($"torchwright sweep: the sweep that --name Tiny and --set make is named TinySweep by default, but {arch}(8,7) declares a sweep of that name; "
                + "name the new one with --sweep-name (or run the declared one with --name TinySweep)\n", r.Error);
            Assert.False(File.Exists(Db));

            r = Sweep(arch, dryRun: true, "--name", "Tiny", "--set", "width=0.25,0.125", "--sweep-name", "Widths");
            Assert.True(r.ExitCode == 0, r.Error);
            Assert.Contains("sweep Widths: 2 grid points", r.Out);
        }

        [Theory]
        [InlineData("--lr", "1e308", "torchwright sweep: --lr 1e308: lr must be in (0, 1000000], not 1e308")]
        [InlineData("--lr", "0", "torchwright sweep: --lr 0: lr must be in (0, 1000000], not 0")]
        [InlineData("--epochs", "2000000000", "torchwright sweep: --epochs 2000000000: 2000000000 epochs of 64 images in batches of 4 is more than 2147483647 steps")]
        public void Numeric_options_are_range_checked_before_anything_runs(string option, string value, string message)
        {
            var r = CliRunner.Run("sweep", dir.Write("tiny.arch", SweepTests.TinyArch), "--db", Db, "--dataset", Data, "--batch", "4", option, value);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal(message, r.Error.Split('\n')[0]);
            Assert.False(File.Exists(Db));
        }
    }
}
