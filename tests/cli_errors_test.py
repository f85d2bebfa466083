"""Every bad input to `ngvi fit` ends with one line on stderr naming the problem, a non-zero exit, and no
output (neither the output directory nor a staging directory is left behind)."""
import numpy as np
import pytest

from cli_support import assert_one_line_error, leftovers, run, write_logistic_inputs


@pytest.fixture
def data(tmp_path):
    """A small valid logistic dataset in every layout (dense, ragged, CSV), plus a folder for bad files."""
    x, y = write_logistic_inputs(tmp_path, 0, 4, 10, 3)
    np.save(tmp_path / "xr.npy", x.reshape(40, 3))
    np.save(tmp_path / "yr.npy", y.reshape(40))
    np.save(tmp_path / "offsets.npy", np.array([0, 10, 20, 30, 40]))
    return tmp_path


def fails(folder, args, *fragments):
    """Runs `ngvi fit --out out ARGS` in `folder` and checks the error contract."""
    result = run("fit", *args, "--out", "out", cwd=folder)
    assert_one_line_error(result, *fragments)
    assert not (folder / "out").exists(), "an output directory was left behind"
    assert leftovers(folder) == []
    assert result.stdout == ""
    return result


DENSE = ["--model", "logistic", "--x", "x.npy", "--y", "y.npy"]
RAGGED = ["--model", "logistic", "--x", "xr.npy", "--y", "yr.npy", "--offsets", "offsets.npy"]


# --- files that cannot be read -------------------------------------------------------------------------------------

def test_missing_files(data):
    fails(data, ["--model", "logistic", "--x", "nope.npy", "--y", "y.npy"], "--x nope.npy", "cannot be opened")
    fails(data, ["--model", "logistic", "--x", "x.npy", "--y", "nope.npy"], "--y nope.npy", "cannot be opened")
    fails(data, RAGGED[:-1] + ["nope.npy"], "--offsets nope.npy", "cannot be opened")
    fails(data, ["--model", "logistic", "--csv", "nope.csv"], "--csv nope.csv", "cannot be opened")


def test_files_that_are_not_npy(data):
    (data / "text.npy").write_text("a,b\n1,2\n")
    fails(data, ["--model", "logistic", "--x", "text.npy", "--y", "y.npy"], "--x text.npy", "not a NumPy .npy file")
    whole = (data / "x.npy").read_bytes()
    (data / "short.npy").write_bytes(whole[: len(whole) - 8])
    fails(data, ["--model", "logistic", "--x", "short.npy", "--y", "y.npy"], "--x short.npy", "truncated")


# --- dtypes and memory order ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("array, described", [
    (np.zeros((4, 10, 3), dtype=np.complex128), "'<c16'"),
    (np.zeros((4, 10, 3), dtype=np.int64), "int64"),
    (np.zeros((4, 10, 3), dtype=np.float16), "'<f2'"),
])
def test_x_of_a_wrong_dtype(data, array, described):
    np.save(data / "bad.npy", array)
    fails(data, ["--model", "logistic", "--x", "bad.npy", "--y", "y.npy"], "--x bad.npy", f"dtype {described}",
          "not supported")


def test_y_of_strings(data):
    np.save(data / "bad.npy", np.full((4, 10), "a"))
    fails(data, ["--model", "logistic", "--x", "x.npy", "--y", "bad.npy"], "--y bad.npy", "dtype '<U1'")


def test_offsets_of_floats(data):
    np.save(data / "bad.npy", np.array([0.0, 10, 20, 30, 40]))
    fails(data, RAGGED[:-1] + ["bad.npy"], "--offsets bad.npy", "dtype float64", "integers expected")


def test_fortran_order(data):
    np.save(data / "bad.npy", np.asfortranarray(np.load(data / "xr.npy")))
    fails(data, RAGGED[:2] + ["--x", "bad.npy"] + RAGGED[4:], "--x bad.npy", "Fortran order")


# --- shapes --------------------------------------------------------------------------------------------------------

def test_wrong_shapes(data):
    np.save(data / "x1.npy", np.zeros(5))
    fails(data, ["--model", "logistic", "--x", "x1.npy", "--y", "y.npy"], "--x x1.npy has shape (5,)")
    np.save(data / "y_short.npy", np.zeros((4, 9)))
    fails(data, ["--model", "logistic", "--x", "x.npy", "--y", "y_short.npy"], "shape (4, 9)", "y must be (4, 10)")
    fails(data, ["--model", "logistic", "--x", "xr.npy", "--y", "y.npy"], "y must be (40,)")
    np.save(data / "x_empty.npy", np.zeros((4, 10, 0)))
    fails(data, ["--model", "logistic", "--x", "x_empty.npy", "--y", "y.npy"], "no covariates")
    fails(data, ["--model", "logistic", "--x", "x.npy", "--y", "yr.npy", "--offsets", "offsets.npy"],
          "with --offsets, x must be (rows, d)")


@pytest.mark.parametrize("offsets, fragment", [
    ([0, 10, 20, 30, 41], "the last offset is 41 but --x xr.npy has 40 rows"),
    ([0, 10, 5, 30, 40], "offsets[2] = 5 is less than offsets[1] = 10"),
    ([1, 10, 20, 30, 40], "offsets[0] = 1 (must be 0)"),
    ([0], "(B + 1,) with B >= 1 expected"),
])
def test_bad_offsets(data, offsets, fragment):
    np.save(data / "bad.npy", np.array(offsets, dtype=np.int64))
    fails(data, RAGGED[:-1] + ["bad.npy"], "--offsets bad.npy", fragment)


# --- values --------------------------------------------------------------------------------------------------------

def test_nan_and_inf_in_data(data):
    x = np.load(data / "x.npy")
    x[2, 7, 1] = np.nan
    np.save(data / "bad.npy", x)
    fails(data, ["--model", "logistic", "--x", "bad.npy", "--y", "y.npy"], "--x bad.npy", "nan at index (2, 7, 1)")
    y = np.load(data / "yr.npy")
    y[13] = np.inf
    np.save(data / "bad.npy", y)
    fails(data, RAGGED[:4] + ["--y", "bad.npy"] + RAGGED[6:], "--y bad.npy", "inf at index (13,)")


def test_values_outside_the_likelihood(data):
    y = np.load(data / "y.npy")
    y[3, 4] = 2
    np.save(data / "bad.npy", y)
    fails(data, ["--model", "logistic", "--x", "x.npy", "--y", "bad.npy"], "problem 3", "y[row 4] = 2",
          "not a label in {0, 1}")
    y[3, 4] = -1
    np.save(data / "bad.npy", y)
    fails(data, ["--model", "poisson", "--x", "x.npy", "--y", "bad.npy"], "problem 3", "not a non-negative integer")
    big = np.load(data / "x.npy")
    big[1, 0, 0] = 1e300  # finite in float64, infinite in float32
    np.save(data / "big.npy", big)
    fails(data, ["--model", "logistic", "--x", "big.npy", "--y", "y.npy", "--precision", "float32"], "--x big.npy",
          "1e+300 at index (1, 0, 0)", "float32", "--precision float32")


# --- CSV -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("", "empty file"),
    ("problem,a,y\n", "no data rows"),
    ("group,a,y\np,1,0\n", "no column named 'problem'"),
    ("problem,a,response\np,1,0\n", "no column named 'y'"),
    ("problem,y\np,1\n", "no covariate columns"),
    ("problem,a,y\np,1,0\np,abc,1\n", "line 3, column 2 ('a'): 'abc' is not a number"),
    ("problem,a,y\np,1,0\np,nan,1\n", "line 3, column 2 ('a'): 'nan' is a missing value"),
    ("problem,a,y\np,1,0\np,inf,1\n", "line 3, column 2 ('a'): inf is not a finite number"),
    ("problem,a,y\np,1,0\np,1\n", "line 3 has 2 fields but the header has 3"),
    ("problem,a,a,y\np,1,2,0\n", "column name 'a' appears twice"),
])
def test_bad_csv(data, text, fragment):
    (data / "bad.csv").write_text(text)
    fails(data, ["--model", "logistic", "--csv", "bad.csv"], "--csv bad.csv", fragment)


def test_csv_labels_outside_the_likelihood(data):
    (data / "bad.csv").write_text("problem,a,y\np,1,0\nq,2,1\nq,3,7\n")
    fails(data, ["--model", "logistic", "--csv", "bad.csv"], "problem 1 ('q')", "y[row 1] = 7")


# --- options -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, fragments", [
    (["--foo"], ["--foo"]),
    (["--samples", "-1"], ["--samples", "-1 is out of range"]),
    (["--samples", "abc"], ["--samples", "'abc' is not an integer"]),
    (["--max-steps", "0"], ["--max-steps", "out of range"]),
    (["--threads", "-1"], ["--threads", "out of range"]),
    (["--step-size", "0"], ["--step-size", "out of range"]),
    (["--step-size", "nan"], ["--step-size", "out of range"]),
    (["--step-size", "1.5"], ["--step-size 1.5 is out of range", "rule iblr"]),
    (["--step-size", "x"], ["--step-size", "'x' is not a number"]),
    (["--tol", "-1"], ["--tol", "out of range"]),
    (["--prior-precision", "0"], ["--prior-precision", "out of range"]),
    (["--prior-precision", "inf"], ["--prior-precision", "out of range"]),
    (["--rule", "sgd"], ["--rule", "'sgd' is not one of iblr|blr|cholesky|adam"]),
    (["--estimator", "magic"], ["--estimator", "'magic'"]),
    (["--family", "banded"], ["--family", "'banded'"]),
    (["--backend", "tpu"], ["--backend", "'tpu'"]),
    (["--precision", "half"], ["--precision", "'half'"]),
    (["--noise-sd", "2"], ["--noise-sd applies only to --model linear"]),
    (["--quiet", "--verbose"], ["--quiet excludes --verbose"]),
    (["--estimator", "quadrature", "--csv", "data.csv"], ["--csv cannot be combined"]),
])
def test_bad_options(data, extra, fragments):
    fails(data, DENSE + extra, *fragments)


def test_bad_model_and_missing_arguments(data):
    fails(data, ["--model", "gamma", "--x", "x.npy", "--y", "y.npy"], "--model", "'gamma' is not one of")
    fails(data, ["--x", "x.npy", "--y", "y.npy"], "--model is required")
    fails(data, ["--model", "logistic"], "no data")
    fails(data, ["--model", "logistic", "--x", "x.npy"], "--x is given without --y")
    fails(data, ["--model", "logistic", "--y", "y.npy"], "--y is given without --x")
    fails(data, DENSE + ["--problem-column", "unit"], "apply only to --csv")
    fails(data, ["--model", "linear", "--x", "x.npy", "--y", "y.npy", "--noise-sd", "-1"], "--noise-sd")


def test_bad_output_directories(data):
    result = run("fit", *DENSE, "--out", "missing/out", cwd=data)
    assert_one_line_error(result, "missing/out", "parent folder missing does not exist")
    (data / "file").write_text("x")
    assert_one_line_error(run("fit", *DENSE, "--out", "file", cwd=data), "file: exists and is not a directory")
    (data / "full").mkdir()
    (data / "full" / "keep.txt").write_text("mine")
    assert_one_line_error(run("fit", *DENSE, "--out", "full", cwd=data), "directory exists and is not empty",
                          "--overwrite")
    assert (data / "full" / "keep.txt").read_text() == "mine"
    assert leftovers(data) == []


def test_rules_and_backends_the_library_may_lack(data):
    """The command line maps every name; until the library has a rule or backend, its one-line error is shown."""
    for extra in (["--rule", "cholesky"], ["--rule", "adam", "--step-size", "0.05"], ["--backend", "cuda"]):
        result = run("fit", *DENSE, *extra, "--out", "out", cwd=data)
        if result.returncode == 0:
            assert (data / "out" / "summary.json").exists()
            (data / "out").rename(data / f"done-{extra[1]}")
        else:
            assert_one_line_error(result, "ngvi::fit")
            assert not (data / "out").exists() and leftovers(data) == []


def test_unknown_command():
    assert_one_line_error(run("frobnicate"), "'frobnicate' is not a command")
