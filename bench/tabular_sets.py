"""Writes the tabular benchmark sets, as CSV files both sides read:
OUTDIR/NAME/{train,validation,test}.csv, a seeded 70/15/15 split, every
column a number (strings one-hot), an empty cell where a value is missing,
the label in column 'label'.  Real public data that Debian ships: the
penguins (pipelines/data), and scikit-learn's bundled copies of the
Wisconsin breast cancer, UCI digits and diabetes sets (python3-sklearn,
read from its files, no download), and 2,000 Fashion-MNIST images.

    python3 bench/tabular_sets.py OUTDIR
prints one line per set: NAME LOSS CLASSES ROWS FEATURES
"""
import csv, gzip, os, sys

import numpy as np
from sklearn import datasets

FMNIST = "/usr/share/datasets/fashion-mnist"


def penguins():
    rows = list(csv.DictReader(open("pipelines/data/penguins.csv")))
    species = sorted({r["species"] for r in rows})
    islands = sorted({r["island"] for r in rows})
    nums = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    names = nums + ["island=" + i for i in islands] + ["sex=female", "sex=male"]
    X, y = [], []
    for r in rows:
        X.append([float(r[k]) if r[k] not in ("", "NA") else np.nan for k in nums] +
                 [1.0 if r["island"] == i else 0.0 for i in islands] +
                 [1.0 if r["sex"] == "female" else 0.0, 1.0 if r["sex"] == "male" else 0.0])
        y.append(species.index(r["species"]))
    return names, np.array(X, dtype=np.float64), np.array(y, dtype=np.float64)


def fashion(n=2000):
    with gzip.open(FMNIST + "/train-images-idx3-ubyte.gz") as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(FMNIST + "/train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return ["pixel%d" % i for i in range(784)], X.astype(np.float64), y.astype(np.float64)


def sk(loader):
    d = loader()
    return ["x%d" % i for i in range(d.data.shape[1])], d.data.astype(np.float64), d.target.astype(np.float64)


SETS = [
    ("penguins", "softmax_cross_entropy", penguins),
    ("breast_cancer", "binary_cross_entropy", lambda: sk(datasets.load_breast_cancer)),
    ("digits", "softmax_cross_entropy", lambda: sk(datasets.load_digits)),
    ("diabetes", "mse", lambda: sk(datasets.load_diabetes)),
    ("fashion2k", "softmax_cross_entropy", fashion),
]


def write(path, names, X, y):
    with open(path, "w") as f:
        f.write(",".join(["label"] + names) + "\n")
        for xr, yr in zip(X, y):
            f.write(",".join(["%.17g" % yr] + ["" if np.isnan(v) else "%.17g" % v for v in xr]) + "\n")


def main():
    out = sys.argv[1]
    for name, loss, load in SETS:
        names, X, y = load()
        perm = np.random.RandomState(42).permutation(len(y))
        a, b = int(0.7 * len(y)), int(0.85 * len(y))
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for split, idx in (("train", perm[:a]), ("validation", perm[a:b]), ("test", perm[b:])):
            write(os.path.join(out, name, split + ".csv"), names, X[idx], y[idx])
        classes = int(y.max()) + 1 if loss == "softmax_cross_entropy" else 0
        print(name, loss, classes, len(y), X.shape[1])


main()
