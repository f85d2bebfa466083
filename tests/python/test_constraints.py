"""ngvi.Parameters and the bijections of ngvi.constraints, in NumPy: the log-Jacobians against the
determinants of finite-difference Jacobians, the inverses, and the layout of named parameters."""
import numpy as np
import pytest

import ngvi

TRANSFORMS = [ngvi.real(3), ngvi.positive(2), ngvi.positive((), lower=-1.5), ngvi.unit_interval(2),
              ngvi.interval(-2.0, 5.0, 3), ngvi.simplex(2), ngvi.simplex(5)]


def constrained_coordinates(transform, u):
    """The map u -> x onto coordinates of the same count: a simplex drops its last entry."""
    x = transform.forward(u)[0].ravel()
    return x[:transform.size]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
def test_the_log_jacobian_is_that_of_the_finite_difference_jacobian(transform):
    rng = np.random.default_rng(1)
    for _ in range(3):
        u = rng.normal(size=transform.size)
        h = 1e-6
        jacobian = np.stack([(constrained_coordinates(transform, u + h * e) -
                              constrained_coordinates(transform, u - h * e)) / (2 * h)
                             for e in np.eye(transform.size)], axis=1)
        _, log_jacobian = transform.forward(u)
        assert log_jacobian == pytest.approx(np.linalg.slogdet(jacobian)[1], abs=1e-7)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=repr)
def test_the_inverse_undoes_the_transform_on_batches_of_points(transform):
    u = np.random.default_rng(2).normal(size=(4, 3, transform.size))
    x, log_jacobian = transform.forward(u)
    assert x.shape == (4, 3) + transform.shape and log_jacobian.shape == (4, 3)
    np.testing.assert_allclose(transform.inverse(x), u, atol=1e-10)


def test_transforms_map_into_their_sets():
    u = np.random.default_rng(3).normal(scale=5.0, size=(100, 4))
    assert np.all(ngvi.positive(4).forward(u)[0] > 0)
    assert np.all((ngvi.interval(-2, 1, 4).forward(u)[0] > -2) & (ngvi.interval(-2, 1, 4).forward(u)[0] < 1))
    w = ngvi.simplex(5).forward(u)[0]
    assert np.all(w > 0) and np.allclose(w.sum(-1), 1.0)
    np.testing.assert_allclose(ngvi.simplex(5).forward(np.zeros(4))[0], np.full(5, 0.2))  # u = 0: uniform


def test_the_positive_transform_carries_a_density_to_a_density():
    """An exponential density on sigma, moved to u = log sigma with the log-Jacobian, integrates to 1."""
    u = np.linspace(-30, 5, 200001)
    sigma, log_jacobian = ngvi.positive(()).forward(u[:, None])
    density = np.exp(-sigma + log_jacobian)  # vanishes at both ends: a plain sum is the trapezoid rule
    assert density.sum() * (u[1] - u[0]) == pytest.approx(1.0, abs=1e-8)


def test_parameters_lay_out_named_blocks_in_order():
    space = ngvi.Parameters(beta=3, sigma=ngvi.positive(), w=ngvi.simplex(3), mu=())
    assert space.dimension == 3 + 1 + 2 + 1
    z = np.random.default_rng(4).normal(size=(2, space.dimension))
    values, log_jacobian = space.constrain(z)
    np.testing.assert_array_equal(values["beta"], z[:, :3])
    np.testing.assert_allclose(values["sigma"], np.exp(z[:, 3]))
    np.testing.assert_array_equal(values["mu"], z[:, 6])
    assert values["w"].shape == (2, 3)
    expected = z[:, 3] + ngvi.simplex(3).forward(z[:, 4:6])[1]
    np.testing.assert_allclose(log_jacobian, expected)
    np.testing.assert_allclose(space.unconstrain(**values), z, atol=1e-12)


def test_parameters_name_what_is_wrong():
    space = ngvi.Parameters(beta=2, sigma=ngvi.positive())
    with pytest.raises(ValueError, match="4 coordinates, the layout 3"):
        space.constrain(np.zeros(4))
    with pytest.raises(ValueError, match="needs exactly beta, sigma"):
        space.unconstrain(beta=np.zeros(2))
    with pytest.raises(ValueError, match="positive: values must exceed 0"):
        space.unconstrain(beta=np.zeros(2), sigma=-1.0)
    with pytest.raises(ValueError, match="lower .* must be below upper"):
        ngvi.interval(1.0, 0.0)
    with pytest.raises(ValueError, match="at least 2 components"):
        ngvi.simplex(1)
