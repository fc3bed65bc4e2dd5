namespace Torchwright.Dsl.Model
{
    /// <summary>
    /// State-dict names of the top-level components, per family, as the reference implementations name them
    /// (torchvision/timm for ResNet-style networks, the official VAN and ResT repositories). The cost model's
    /// layer paths and the emitter's register_module names both come from here.
    /// </summary>
    public static class Naming
    {
        public static string Stage(Family family, int stage) => family switch
        {
            Family.ResNet => $"layer{stage + 1}",
            Family.Van => $"block{stage + 1}",
            _ => $"stage{stage + 1}",
        };

        public static string Block(Family family, int stage, int block) => $"{Stage(family, stage)}.{block}";

        /// <summary>The patch embedding in front of a van/rest stage (null where the stage has none).</summary>
        public static string? PatchEmbed(Family family, int stage) => family switch
        {
            Family.Van => $"patch_embed{stage + 1}",
            Family.Rest when stage > 0 => $"patch_embed_{stage + 1}",
            _ => null,
        };

        /// <summary>VAN's per-stage LayerNorm.</summary>
        public static string StageNorm(int stage) => $"norm{stage + 1}";

        public static string Head(Family family) => family == Family.ResNet ? "fc" : "head";
    }
}
