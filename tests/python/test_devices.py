"""Options devices and problem_offset from Python: a batch sharded across CPU "devices" (thread groups)
ends bit for bit as on one, and a shard fitted alone with its problem_offset matches the whole batch."""
import numpy as np
import pytest

import ngvi

from problems import logistic_data


@pytest.fixture
def problem():
    B, d = 24, 3
    return (*logistic_data(7, B, 40, d), B, d)


OPTIONS = dict(estimator="stein", samples=8, max_steps=40, final_samples=20, minibatch_rows=10, seed=3,
               num_threads=3)


def test_results_do_not_depend_on_the_devices(problem):
    x, y, B, d = problem
    model = ngvi.logistic(x, y)
    one = ngvi.Batch(B, d)
    reference = ngvi.fit(model, one, **OPTIONS)
    for devices in ([0, 1], (0, 1, 2), "all"):
        sharded = ngvi.Batch(B, d)
        summary = ngvi.fit(model, sharded, devices=devices, **OPTIONS)
        np.testing.assert_array_equal(sharded.mean, one.mean)
        np.testing.assert_array_equal(summary.elbo, reference.elbo)
        np.testing.assert_array_equal(summary.steps, reference.steps)


def test_a_shard_with_its_problem_offset_matches_the_whole_batch(problem):
    x, y, B, d = problem
    whole = ngvi.Batch(B, d)
    reference = ngvi.fit(ngvi.logistic(x, y), whole, **OPTIONS)
    first, count = 9, 8
    shard = ngvi.Batch(count, d)
    summary = ngvi.fit(ngvi.logistic(x[first:first + count], y[first:first + count]), shard, problem_offset=first,
                       **OPTIONS)
    np.testing.assert_array_equal(shard.mean, whole.mean[first:first + count])
    np.testing.assert_array_equal(summary.elbo, reference.elbo[first:first + count])


def test_bad_devices_are_refused_by_name(problem):
    x, y, B, d = problem
    model = ngvi.logistic(x, y)
    with pytest.raises(ngvi.NgviError, match=r"options.devices\[1\] = 0 is invalid: device 0 is listed twice"):
        ngvi.fit(model, ngvi.Batch(B, d), devices=[0, 0])
    with pytest.raises(ValueError, match="devices"):
        ngvi.fit(model, ngvi.Batch(B, d), devices="every")
    with pytest.raises(TypeError):
        ngvi.fit(model, ngvi.Batch(B, d), devices=[0.5])
