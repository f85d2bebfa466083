"""Random problems shared by the Python tests (imported as a plain module: pytest puts this folder on
sys.path)."""
import numpy as np


def logistic_data(seed, B, N, d):
    """B logistic-regression problems of N rows: x (B, N, d) standard normal over sqrt(d), labels y (B, N)
    in {0, 1}, each 1 with probability 0.4 whatever x."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(B, N, d)) / np.sqrt(d)
    y = (rng.random((B, N)) < 0.4).astype(np.float64)
    return x, y
