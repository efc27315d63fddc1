"""The anchor for the Tuner: Optuna's TPE over the same space with the same
budget, on the same MLP in PyTorch.

784-W-10, ReLU, Adam at a constant rate, batch 64; W in {32, 64, 128, 256},
the rate log-uniform in [1e-4, 1e-1]; pixels z-scored per pixel (fitted on
the training part, as mlpipe's Transform does); each trial trains EPOCHS
epochs on 90% of train and is scored on the other 10% (a seeded split).
One thread per trial's PyTorch: the trials run one after the other.

usage: optuna_tune.py DATA_DIR TRIALS EPOCHS
prints one line: seconds best_val_accuracy
"""
import gzip
import sys
import time

import numpy as np
import optuna
import torch


def load(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    data, trials, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(2)
    x = load(f"{data}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32)
    y = load(f"{data}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    perm = np.random.default_rng(42).permutation(len(y))
    nval = len(y) // 10
    val, tr = perm[:nval], perm[nval:]
    mean, std = x[tr].mean(0), x[tr].std(0) + 1e-6
    x = (x - mean) / std
    x_tr, y_tr = torch.from_numpy(x[tr]), torch.from_numpy(y[tr])
    x_val, y_val = torch.from_numpy(x[val]), torch.from_numpy(y[val])

    def objective(trial):
        width = trial.suggest_categorical("width", [32, 64, 128, 256])
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        torch.manual_seed(42)
        model = torch.nn.Sequential(torch.nn.Linear(784, width), torch.nn.ReLU(), torch.nn.Linear(width, 10))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        loss_fn = torch.nn.CrossEntropyLoss()
        n = x_tr.shape[0]
        for _ in range(epochs):
            p = torch.randperm(n)
            for i in range(0, n, 64):
                idx = p[i:i + 64]
                opt.zero_grad()
                loss_fn(model(x_tr[idx]), y_tr[idx]).backward()
                opt.step()
        with torch.no_grad():
            return (model(x_val).argmax(1) == y_val).float().mean().item()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=42))
    study.optimize(objective, n_trials=trials)
    print(f"{time.perf_counter() - t0:.2f} {study.best_value:.4f}")


if __name__ == "__main__":
    main()
