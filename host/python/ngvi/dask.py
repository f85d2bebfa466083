"""ngvi.dask: one GLM per problem over a Dask collection, each partition fitted by ngvi.fit on a worker.

    import dask.dataframe as dd, ngvi.dask
    events = dd.read_parquet("events/", index="user", calculate_divisions=True)   # one row per event
    posteriors = ngvi.dask.fit(events, features=["x0", "x1", "x2"], response="clicked", seed=1)
    posteriors.compute()           # pandas: one row per user, mean_*, cov_*_*, status, elbo, ...

Results do not depend on the partitioning: the problems are numbered in the order of their ids, and
the fit of a partition whose first problem is number k runs with problem_offset = k, so that it draws
the random numbers of the whole batch's fit (ngvi.fit on all problems in id order). docs/dask.md says
how partitions map to problems, how failures stay within a partition and how to refit one.

Importing ngvi does not import Dask; this module does.
"""
import collections

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .batch import Batch
from .fit import fit as _fit
from .models import glm

__all__ = ["Posteriors", "fit", "fit_block"]

# Per-problem results besides the distribution itself, with their dtypes.
_SUMMARY_FIELDS = (("status", np.int32), ("steps", np.int32), ("elbo", np.float64), ("elbo_mcse", np.float64),
                   ("mean_mcse_sd", np.float64), ("pareto_k", np.float64))
# Options a partition cannot take: the offset is each partition's own, and one file or callback cannot
# serve every partition at once.
_PARTITION_OPTIONS = ("problem_offset", "checkpoint_path", "checkpoint_every")

Posteriors = collections.namedtuple("Posteriors", ("mean", "covariance") + tuple(f for f, _ in _SUMMARY_FIELDS))
Posteriors.__doc__ = """The fit of B problems as Dask arrays chunked like the input's problem axis: mean (B, d),
covariance (B, d, d), or (B, d) variances for family "diagonal", and per problem status (int32, names
in ngvi.FIT_STATUSES), steps, elbo, elbo_mcse, mean_mcse_sd, pareto_k. dask.compute(*posteriors)
fits every block once."""


def _check_options(options):
    for key in _PARTITION_OPTIONS:
        if key in options:
            raise TypeError(f"ngvi.dask.fit: option {key!r} cannot be given: each partition's fit sets its own "
                            f"problem_offset, and a partition that fails is refitted whole (docs/dask.md)")
    if "progress" in options:
        raise TypeError("ngvi.dask.fit: option 'progress' cannot be given: partitions run on other processes")


def _check_prior(prior):
    """A prior shared by every problem: per-problem arrays would have to be split with the partitions."""
    if prior is None:
        return
    precision = None if prior.precision is None else np.asarray(prior.precision)
    mean = None if prior.mean is None else np.asarray(prior.mean)
    shared = ((precision is None or precision.size == 1 or (prior.kind == "full" and precision.ndim == 2))
              and (mean is None or mean.ndim == 1))
    if not shared:
        raise ValueError("ngvi.dask.fit: prior must be shared by every problem (a scalar or (d, d) precision, a (d,) "
                         "mean); per-problem priors are not split across partitions")


def fit_block(x, y, offsets, problem_offset, likelihood="logistic", prior=None, noise_sd=1.0, family="full",
              dtype=None, **options):
    """Fits the problems of one partition in this process: ngvi.glm(likelihood, x, y, offsets) (dense x
    (n, N, d) when offsets is None), a Batch of N(0, I) starts, and ngvi.fit with problem_offset, the
    global index of the partition's first problem. Returns a dict of NumPy arrays: mean, covariance
    and the fields of Posteriors. What ngvi.dask.fit runs on each partition, and what refits one."""
    model = glm(likelihood, x, y, offsets, prior, noise_sd, dtype)
    q = Batch(model.num_problems, model.dimension, family, model.dtype)
    summary = _fit(model, q, problem_offset=int(problem_offset), **options)
    # The diagonal family's second moments are its variances (B, d), as ngvi.dask returns them.
    result = {"mean": q.mean, "covariance": q.variance if family == "diagonal" else q.covariance}
    result.update({name: getattr(summary, name).astype(dt, copy=False) for name, dt in _SUMMARY_FIELDS})
    return result


def fit(data, y=None, *, features=None, response=None, problem=None, likelihood="logistic", prior=None, noise_sd=1.0,
        family="full", dtype=None, **options):
    """Fits one Gaussian posterior per problem of a Dask collection, partition by partition, on the
    workers of the current Dask scheduler; nothing runs until the result is computed.

    A Dask DataFrame `data`, one row per event: the problem id (the index, or the column `problem`),
    the feature columns `features` and the response column `response`. Every partition must hold whole
    problems: a frame indexed by the problem id with known divisions is used as it is; otherwise it is
    set_index'ed by `problem` (a shuffle). Returns a Dask DataFrame indexed by problem id, one row per
    problem, with the divisions of the input: columns mean_<f> for every feature f, cov_<f>_<g> (family
    "full") or var_<f> ("diagonal"), and status, steps, elbo, elbo_mcse, mean_mcse_sd, pareto_k.

    Dask arrays `data` = x (B, N, d) and `y` (B, N), dense rows, chunked along the problem axis only
    (other axes are rechunked whole): returns Posteriors, Dask arrays chunked like x's problem axis.

    Problem b (in id order for a frame) draws the random numbers of problem b in ngvi.fit on all
    problems at once: the results equal that fit's bit for bit, whatever the partitioning (for a frame
    whose rows of each problem come in the same order). likelihood, prior (shared by every problem),
    noise_sd: as ngvi.glm; family, dtype: as ngvi.Batch (dtype None: float32 when the features are all
    float32, else float64); other keywords: the options of ngvi.fit, except problem_offset,
    checkpoint_path, checkpoint_every and progress.
    """
    _check_options(options)
    _check_prior(prior)
    settings = dict(likelihood=likelihood, prior=prior, noise_sd=noise_sd, family=family, **options)
    if isinstance(data, dd.DataFrame):
        if y is not None:
            raise TypeError("ngvi.dask.fit: a DataFrame carries its response as a column: give response=, not y")
        return _fit_frame(data, features, response, problem, dtype, settings)
    if isinstance(data, da.Array):
        if not isinstance(y, da.Array):
            raise TypeError(f"ngvi.dask.fit: x is a Dask array, so y must be one too, not {type(y).__name__}")
        if features is not None or response is not None or problem is not None:
            raise TypeError("ngvi.dask.fit: features, response and problem name DataFrame columns; arrays take x and y")
        return _fit_arrays(data, y, dtype, settings)
    raise TypeError(f"ngvi.dask.fit: data must be a Dask DataFrame or a Dask array (x), not {type(data).__name__}")


# ---------------------------------------------------------------------------------------------- arrays


def _fit_arrays(x, y, dtype, settings):
    if x.ndim != 3 or y.ndim != 2 or y.shape != x.shape[:2]:
        raise ValueError(f"ngvi.dask.fit: x must be (B, N, d) and y (B, N), got x {x.shape} and y {y.shape}")
    if any(np.isnan(n) for n in x.shape + y.shape):
        raise ValueError("ngvi.dask.fit: x and y need known shapes (compute_chunk_sizes() first)")
    B, N, d = x.shape
    x = x.rechunk({1: N, 2: d})
    y = y.rechunk({0: x.chunks[0], 1: N})
    dtype = np.dtype(dtype or (np.float32 if x.dtype == np.float32 else np.float64))
    second = (d, d) if settings["family"] == "full" else (d,)
    shapes = {"mean": (d,), "covariance": second, **{name: () for name, _ in _SUMMARY_FIELDS}}
    dtypes = {"mean": dtype, "covariance": dtype, **dict(_SUMMARY_FIELDS)}
    blocks = {name: [] for name in Posteriors._fields}
    first = 0
    for xb, yb, n in zip(x.to_delayed().ravel(), y.to_delayed().ravel(), x.chunks[0]):
        result = dask.delayed(fit_block, pure=True)(xb, yb, None, first, dtype=dtype, **settings)
        for name in Posteriors._fields:
            blocks[name].append(da.from_delayed(result[name], (n,) + shapes[name], dtype=dtypes[name]))
        first += n
    return Posteriors(**{name: da.concatenate(parts) for name, parts in blocks.items()})


# ---------------------------------------------------------------------------------------------- frames


def _frame_dtype(frame, features, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    return np.dtype(np.float32 if all(frame.dtypes[f] == np.float32 for f in features) else np.float64)


def _columns(features, family, dtype):
    """The result's columns, in order, with their dtypes."""
    columns = {f"mean_{f}": dtype for f in features}
    if family == "full":
        columns.update({f"cov_{f}_{g}": dtype for f in features for g in features})
    else:
        columns.update({f"var_{f}": dtype for f in features})
    columns.update(dict(_SUMMARY_FIELDS))
    return columns


def _empty(columns, index):
    """A result with no rows: the columns with their dtypes, and `index` (empty)."""
    return pd.DataFrame({c: np.empty(0, dt) for c, dt in columns.items()}, index=index)


def _problems(index):
    """The distinct problem ids of a partition's sorted index, and the row offsets of each."""
    if not index.is_monotonic_increasing:  # known divisions promise it
        raise ValueError("ngvi.dask.fit: a partition's index is not sorted by problem id")
    ids, starts = np.unique(np.asarray(index), return_index=True)
    return ids, np.append(starts, len(index)).astype(np.int64)


def _fit_partition(part, first, features, response, dtype, columns, settings):
    """The rows (one per problem) of one partition's result; `first` is its first problem's global index."""
    ids, offsets = _problems(part.index)
    if len(ids) == 0:
        return _empty(columns, pd.Index(ids, name=part.index.name))
    x = part[list(features)].to_numpy(dtype=dtype)
    y = part[response].to_numpy(dtype=dtype)
    result = fit_block(x, y, offsets, first, dtype=dtype, **settings)
    n = len(ids)
    table = np.concatenate([result["mean"], result["covariance"].reshape(n, -1)], axis=1)
    names = list(columns)
    frame = pd.DataFrame(table, index=pd.Index(ids, name=part.index.name), columns=names[:table.shape[1]])
    for name, _ in _SUMMARY_FIELDS:
        frame[name] = result[name]
    return frame


def _fit_frame(frame, features, response, problem, dtype, settings):
    if not features or response is None:
        raise TypeError("ngvi.dask.fit: a DataFrame needs features=[column, ...] and response=column")
    missing = [c for c in list(features) + [response] if c not in frame.columns]
    if missing:
        raise ValueError(f"ngvi.dask.fit: columns {missing} are not in the frame (columns: {list(frame.columns)})")
    if problem is not None and problem != frame.index.name:
        if problem not in frame.columns:
            raise ValueError(f"ngvi.dask.fit: problem = {problem!r} is neither the index nor a column of the frame")
        frame = frame.set_index(problem)  # a shuffle: every problem's rows in one partition, ids sorted
    elif not frame.known_divisions:
        raise ValueError("ngvi.dask.fit: the frame's index has unknown divisions, so a problem's rows may span "
                         "partitions: give problem=<column>, or read it with known divisions (e.g. read_parquet("
                         "..., calculate_divisions=True))")
    dtype = _frame_dtype(frame, features, dtype)
    columns = _columns(features, settings["family"], dtype)
    meta = _empty(columns, pd.Index(np.empty(0, frame.index.dtype), name=frame.index.name))
    # The partitions as they will run (optimizing may merge small ones, e.g. Parquet files), and the
    # global index of each one's first problem: how many distinct ids lie below its lower division, from
    # one pass over the index (Parquet reads that column only). Each partition's fit then depends on its
    # own rows alone, so that one that fails is refitted without the others.
    frame = frame.optimize()
    ids = np.sort(frame.index.unique().compute().to_numpy())
    firsts = np.searchsorted(ids, np.asarray(frame.divisions[:-1]), side="left")
    results = [dask.delayed(_fit_partition, pure=True)(part, int(first), list(features), response, dtype, columns,
                                                       settings)
               for part, first in zip(frame.to_delayed(), firsts, strict=True)]
    return dd.from_delayed(results, meta=meta, divisions=frame.divisions, verify_meta=False)

