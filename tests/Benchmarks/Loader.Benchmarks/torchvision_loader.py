"""torchvision's ImageFolder + DataLoader (PIL) on the same folder and transform as Loader.Benchmarks.

Usage: torchvision_loader.py DIR BATCHES WORKERS...  Prints "torchvision workers W: X images/s" per worker count
(one warm-up batch first; DataLoader worker processes, as a training script would use them).
"""
import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T

torch.set_num_threads(1)


def main():
    root, batches, workers = sys.argv[1], int(sys.argv[2]), [int(w) for w in sys.argv[3:]]
    transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    dataset = datasets.ImageFolder(root + "/train", transform)
    paths = [p for p, _ in dataset.samples[:64]]
    start = time.perf_counter()
    images = [datasets.folder.default_loader(p) for p in paths]
    decode = (time.perf_counter() - start) * 1000 / len(paths)
    start = time.perf_counter()
    for img in images:
        transform(img)
    print(f"torchvision one thread: decode {decode:.2f} ms/image, train transform {(time.perf_counter() - start) * 1000 / len(paths):.2f} ms/image")
    for w in workers:
        loader = DataLoader(dataset, batch_size=32, shuffle=True, num_workers=w, drop_last=True,
                            persistent_workers=w > 0, prefetch_factor=2 if w > 0 else 2)
        it = iter(loader)
        next(it)
        start = time.perf_counter()
        for _ in range(batches):
            next(it)
        rate = batches * 32 / (time.perf_counter() - start)
        print(f"torchvision workers {w}: {rate:.1f} images/s", flush=True)
        del it, loader


if __name__ == "__main__":
    main()
