"""The anchor for convolutional training speed: the CNN of
pipelines/fashion_mnist_cnn.yaml in PyTorch on the same data.

conv 16 (3x3, same) ReLU, max pool 2, conv 32 (3x3, same) ReLU, max pool 2,
flatten, dense 64 ReLU, dense 10; softmax cross-entropy, Adam (lr 0.001,
decayed to 0 by a cosine over all steps), batch 64, pixels scaled to
[0, 1], shuffled every epoch.  Batches are cut from tensors held in memory
(the strongest anchor, not a strawman); channels first, PyTorch's own layout.

usage: torch_cnn.py DATA_DIR EPOCHS THREADS   (THREADS 0: PyTorch's default)
prints one line: samples_per_second test_accuracy peak_rss_mb train_seconds
"""
import resource
import sys

import numpy as np
import torch

from torch_mlp import accuracy, fit, load  # the MLP anchor's reader and training loop


def main():
    data, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(42)
    img = lambda p: torch.from_numpy(load(p, 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    x_train, x_test = img(f"{data}/train-images-idx3-ubyte.gz"), img(f"{data}/t10k-images-idx3-ubyte.gz")
    y_train = torch.from_numpy(load(f"{data}/train-labels-idx1-ubyte.gz", 8).astype(np.int64))
    y_test = torch.from_numpy(load(f"{data}/t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))
    n = x_train.shape[0]
    train_s = fit(model, x_train, y_train, epochs)
    acc = accuracy(model, x_test, y_test, 1000)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{epochs * n / train_s:.1f} {acc:.4f} {rss_mb:.1f} {train_s:.2f}")


if __name__ == "__main__":
    main()
