"""The anchor of bench_gbdt: XGBoost's Python package (Debian's
python3-xgboost, the same library mlpipe's Trainer calls) on the same CSV
files, with the same parameters and the same per-round measurement of the
training and validation rows.

    python3 bench/xgb_train.py DIR LOSS CLASSES ROUNDS MAX_DEPTH ETA THREADS
prints: seconds (DMatrix and boosting) and, on DIR/test.csv, the accuracy
or (mse) the mean squared error
"""
import sys, time

import numpy as np
import xgboost as xgb


def load(path):
    a = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=np.float32, missing_values="", filling_values=np.nan)
    return a[:, 1:], a[:, 0]


def main():
    d, loss, classes, rounds, depth, eta, threads = sys.argv[1:8]
    objective = {"softmax_cross_entropy": "multi:softprob", "binary_cross_entropy": "binary:logistic",
                 "mse": "reg:squarederror"}[loss]
    xt, yt = load(d + "/train.csv")
    xv, yv = load(d + "/validation.csv")
    xs, ys = load(d + "/test.csv")
    params = {"objective": objective, "max_depth": int(depth), "eta": float(eta), "tree_method": "hist",
              "nthread": int(threads), "seed": 42, "verbosity": 0}
    if objective == "multi:softprob":
        params["num_class"] = int(classes)
    t0 = time.perf_counter()
    dt = xgb.DMatrix(xt, label=yt, missing=np.nan)
    dv = xgb.DMatrix(xv, label=yv, missing=np.nan)
    b = xgb.train(params, dt, int(rounds), evals=[(dt, "train"), (dv, "validation")], verbose_eval=False)
    seconds = time.perf_counter() - t0
    p = b.predict(xgb.DMatrix(xs, missing=np.nan))
    if objective == "multi:softprob":
        metric = float(np.mean(np.argmax(p, axis=1) == ys))
    elif objective == "binary:logistic":
        metric = float(np.mean((p > 0.5) == (ys > 0.5)))
    else:
        metric = float(np.mean((p - ys) ** 2))
    print("%.6f %.6f" % (seconds, metric))


main()
