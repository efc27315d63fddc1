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
import sys
import time

import numpy as np
import optuna
import torch

from torch_mlp import accuracy, fit, load  # the MLP anchor's reader and training loop


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
        fit(model, x_tr, y_tr, epochs, lr, cosine=False)
        return accuracy(model, x_val, y_val)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=42))
    study.optimize(objective, n_trials=trials)
    print(f"{time.perf_counter() - t0:.2f} {study.best_value:.4f}")


if __name__ == "__main__":
    main()
