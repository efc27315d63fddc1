"""The anchor for batch prediction: what a PyTorch user writes to score a
file of images with a 784-128-10 MLP and save the predictions as CSV.

Reads the gzip IDX images with numpy, applies a per-pixel z-score, runs the
network under torch.no_grad() in batches of 256, and writes one row per
image (class, then the 10 probabilities, %.9g) through pandas' C CSV writer
(faster here than numpy.savetxt).  The weights are random: the work does
not depend on them.

usage: torch_predict.py IMAGES OUT.csv
prints one line: examples_per_second peak_rss_mb seconds
"""
import gzip
import resource
import sys
import time

import numpy as np
import pandas as pd
import torch


def main():
    images, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    model.eval()
    t0 = time.perf_counter()
    with gzip.open(images, "rb") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784).astype(np.float32)
    mean = np.full(784, 72.9, dtype=np.float32)
    std = np.full(784, 90.0, dtype=np.float32)
    x = torch.from_numpy((x - mean) / std)
    probs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], 256):
            probs.append(torch.softmax(model(x[i:i + 256]), dim=1))
    p = torch.cat(probs).numpy()
    df = pd.DataFrame(p, columns=[f"p_{k}" for k in range(10)])
    df.insert(0, "class", p.argmax(1))
    df.to_csv(out, index=False, float_format="%.9g")
    secs = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"{x.shape[0] / secs:.1f} {rss_mb:.1f} {secs:.2f}")


if __name__ == "__main__":
    main()
