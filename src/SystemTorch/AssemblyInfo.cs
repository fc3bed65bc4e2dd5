using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("SystemTorch.Tests")]
