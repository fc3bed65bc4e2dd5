using Xunit;

// The memory test measures process RSS; keep tests sequential so nothing else allocates meanwhile.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
