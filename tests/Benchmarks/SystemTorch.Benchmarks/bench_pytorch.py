"""PyTorch eager side of the SystemTorch benchmark: same workloads, same thread count, prints JSON medians (us/call)."""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


def bench(fn, iters, repeats=7, warmup=None):
    for _ in range(warmup or max(iters // 5, 3)):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - t0) / iters * 1e6)
    return statistics.median(samples)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    torch.set_num_threads(threads)
    a, b = torch.randn(1, 1), torch.randn(1, 1)
    m1, m2 = torch.randn(64, 64), torch.randn(64, 64)
    r = torch.randn(1, 1)
    net = nn.Sequential(*[m for _ in range(3) for m in (nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())])
    net.train()
    x = torch.randn(8, 32, 32, 32)
    xg = x.clone().requires_grad_(True)

    def fwd():
        with torch.no_grad():
            net(x)

    def fwd_bwd():
        net.zero_grad(set_to_none=True)
        net(xg).sum().backward()

    res = {
        "add 1x1": bench(lambda: a + b, int(20000 * scale)),
        "relu 1x1": bench(lambda: torch.relu(r), int(20000 * scale)),
        "add 1x1 + scalar": bench(lambda: a + 1.5, int(20000 * scale)),
        "matmul 64x64": bench(lambda: m1 @ m2, int(5000 * scale)),
        "conv/BN/ReLU x3 fwd (8x32x32x32)": bench(fwd, max(int(20 * scale), 3), 5),
        "conv/BN/ReLU x3 fwd+bwd": bench(fwd_bwd, max(int(10 * scale), 2), 5),
    }
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": res}))


if __name__ == "__main__":
    main()
