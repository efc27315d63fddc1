"""The anchor for CSV ingest: pandas.read_csv on the same file, best of N.

usage: pandas_read_csv.py FILE [REPEATS]   prints the best time in seconds
"""
import sys
import time

import pandas as pd


def main():
    path = sys.argv[1]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        df = pd.read_csv(path)
        best = min(best, time.perf_counter() - t0)
        del df
    print(f"{best:.4f}")


if __name__ == "__main__":
    main()
