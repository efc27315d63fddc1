"""The anchor for training speed: the seed MLP in PyTorch on the same data.

784-128-10, ReLU, softmax cross-entropy, Adam (lr 0.001, decayed to 0 by a
cosine over all steps, as the demo pipeline's lr_schedule: {name: cosine}),
batch 64, pixels scaled to [0, 1], shuffled every epoch.  The rate is set on
the param group each step: cheaper than an LRScheduler object.  Batches are cut from tensors held in
memory (faster than a DataLoader: the strongest anchor, not a strawman).

usage: torch_mlp.py DATA_DIR EPOCHS THREADS   (THREADS 0: PyTorch's default)
prints one line: samples_per_second test_accuracy peak_rss_mb train_seconds
"""
import gzip
import math
import resource
import sys
import time

import numpy as np
import torch


def load(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def fit(model, x, y, epochs, lr=0.001, cosine=True):
    """Adam over shuffled batches of 64 cut from tensors in memory, the rate
    decayed to 0 by a cosine over all steps (or constant); the seconds."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    total, step = epochs * ((n + 63) // 64), 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            if cosine:
                opt.param_groups[0]["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            step += 1
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def accuracy(model, x, y, chunk=None):
    """The share of x the model classes as y, chunk rows at a time."""
    chunk = chunk or x.shape[0]
    with torch.no_grad():
        return sum((model(x[i:i + chunk]).argmax(1) == y[i:i + chunk]).sum().item()
                   for i in range(0, x.shape[0], chunk)) / x.shape[0]


def main():
    data, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if threads > 0:  # 0: PyTorch's default
        torch.set_num_threads(threads)
    torch.manual_seed(42)
    x_train = torch.from_numpy(load(f"{data}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0)
    y_train = torch.from_numpy(load(f"{data}/train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    x_test = torch.from_numpy(load(f"{data}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0)
    y_test = torch.from_numpy(load(f"{data}/t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))

    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    n = x_train.shape[0]
    train_s = fit(model, x_train, y_train, epochs)
    acc = accuracy(model, x_test, y_test)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{epochs * n / train_s:.1f} {acc:.4f} {rss_mb:.1f} {train_s:.2f}")


if __name__ == "__main__":
    main()
