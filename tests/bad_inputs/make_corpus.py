"""Writes the data files of the bad-input corpus (manifest.json says what each case must give).
Run from anywhere: python3 tests/bad_inputs/make_corpus.py. The files are committed; rerunning it
rewrites them identically."""
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
B, N, D = 4, 12, 2


def save(case, name, array):
    (HERE / case).mkdir(exist_ok=True)
    np.save(HERE / case / name, array)


def write_npy_header(case, name, header, data=b""):
    """A version 1.0 .npy file with this header text (padded as NumPy pads it) and data."""
    text = header.encode("latin1")
    text += b" " * ((64 - (10 + len(text) + 1) % 64) % 64) + b"\n"
    (HERE / case).mkdir(exist_ok=True)
    (HERE / case / name).write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data)


def main():
    rng = np.random.default_rng(20240607)
    x = rng.normal(size=(B, N, D))
    y = (rng.random((B, N)) < 0.5).astype(np.float64)  # labels, and valid Poisson counts too
    save("base", "x.npy", x)
    save("base", "y.npy", y)

    bad = x.copy(); bad[1, 3, 0] = np.nan; save("nan_in_x", "x.npy", bad)
    bad = y.copy(); bad[2, 5] = np.inf; save("inf_in_y", "y.npy", bad)
    bad = x.copy(); bad[3, 0, :] = 1e200; save("huge_x", "x.npy", bad)
    bad = y.copy(); bad[0, 4] = 2.0; save("label_outside", "y.npy", bad)
    bad = y.copy(); bad[2, 7] = -1.0; save("negative_count", "y.npy", bad)

    # Ragged: problem 1 has no rows.
    save("empty_problem", "x.npy", x[[0, 2, 3]].reshape(3 * N, D))
    save("empty_problem", "y.npy", y[[0, 2, 3]].reshape(3 * N))
    save("empty_problem", "offsets.npy", np.array([0, N, N, 2 * N, 3 * N], dtype=np.int64))
    save("no_rows", "x.npy", np.zeros((B, 0, D)))
    save("no_rows", "y.npy", np.zeros((B, 0)))
    save("no_problems", "x.npy", np.zeros((0, N, D)))
    save("no_problems", "y.npy", np.zeros((0, N)))
    save("no_covariates", "x.npy", np.zeros((B, N, 0)))

    rows_x, rows_y = x.reshape(B * N, D), y.reshape(B * N)
    save("ragged", "x.npy", rows_x)
    save("ragged", "y.npy", rows_y)
    for case, offsets in [("offsets_decreasing", [0, 12, 6, 36, 48]), ("offsets_first_nonzero", [3, 12, 24, 36, 48]),
                          ("offsets_past_rows", [0, 12, 24, 36, 60])]:
        save(case, "offsets.npy", np.array(offsets, dtype=np.int64))
    save("float_offsets", "offsets.npy", np.array([0, 12, 24, 36, 48], dtype=np.float64))

    save("int_x", "x.npy", np.ones((B, N, D), dtype=np.int64))
    save("complex_x", "x.npy", x.astype(np.complex128))
    whole = (HERE / "base" / "x.npy").read_bytes()
    (HERE / "truncated_data").mkdir(exist_ok=True)
    (HERE / "truncated_data" / "x.npy").write_bytes(whole[:len(whole) - 100])
    (HERE / "truncated_header").mkdir(exist_ok=True)
    (HERE / "truncated_header" / "x.npy").write_bytes(whole[:40])
    (HERE / "not_npy").mkdir(exist_ok=True)
    (HERE / "not_npy" / "x.npy").write_text("1,2\n3,4\n")

    # Headers NumPy would not write, as an adversary or a bug might.
    write_npy_header("huge_dimension", "x.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 0, 4294967297), }")
    save("huge_dimension", "y.npy", np.zeros((2, 0)))
    write_npy_header("fortran_word", "x.npy", "{'descr': '<f8', 'fortran_order': false, 'shape': (4, 12, 2), }",
                     x.tobytes())
    save("fortran_order", "x.npy", np.asfortranarray(x))
    save("uint64_offsets", "offsets.npy", np.array([0, 12, 24, 36, 2**63 + 48], dtype=np.uint64))
    bad = x.copy(); bad[2, 1, 1] = 1e39; save("float32_overflow", "x.npy", bad)

    # Initial precisions: identity (the default start) except problem 1 (indefinite) and 2 (NaN).
    precision = np.tile(np.eye(D), (B, 1, 1))
    precision[1] = [[1.0, 2.0], [2.0, 1.0]]
    precision[2, 0, 0] = np.nan
    save("non_spd_precision", "precision.npy", precision)


if __name__ == "__main__":
    main()
