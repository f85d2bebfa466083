"""A Python script that uses the installed ngvi package: reads the logistic batch written by the C++
consumer, fits it with the same options and checks that every result is bit-identical to the C++
API's. Usage: python3 consumer.py DATA_DIR"""
import os
import sys

import numpy as np

import ngvi


def main(data):
    with open(os.path.join(data, "problem.bin"), "rb") as f:
        B, d, rows = np.fromfile(f, np.int64, 3)
        offsets = np.fromfile(f, np.int64, B + 1)
        x = np.fromfile(f, np.float64, rows * d).reshape(rows, d)
        y = np.fromfile(f, np.float64, rows)
    with open(os.path.join(data, "reference.bin"), "rb") as f:
        want_mean = np.fromfile(f, np.float64, B * d).reshape(B, d)
        want_covariance = np.fromfile(f, np.float64, B * d * d).reshape(B, d, d)
        want_elbo = np.fromfile(f, np.float64, B)
        want_status = np.fromfile(f, np.int32, B)

    q = ngvi.Batch(B, d)
    # As FitSettings in ../cpp/main.cpp.
    summary = ngvi.fit(ngvi.logistic(x, y, offsets), q, estimator="stein", samples=8, max_steps=100, seed=7)
    same = True
    for what, got, want in [("mean", q.mean, want_mean), ("covariance", q.covariance, want_covariance),
                            ("elbo", summary.elbo, want_elbo), ("status", summary.status, want_status)]:
        if not np.array_equal(got, want):
            print(f"{what}: the Python package differs from the C++ API", file=sys.stderr)
            same = False
    if not same:
        return 1
    print(f"Python consumer (ngvi {ngvi.__version__} from {os.path.dirname(ngvi.__file__)}): {B} logistic fits "
          f"({summary.status_counts['converged']} converged), bit-identical to the C++ API")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
