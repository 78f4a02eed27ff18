"""The L-BFGS-B bridge: gradients, convergence, bounds, iteration count, Ctrl-C."""

import numpy as np
import pytest
import scipy.optimize
import tensorflow as tf

from style_transfer import optimize

SHAPE = (6, 5, 3)


def quadratic(target, scales):
    """Σ s (x - t)², an ill-conditioned problem with a known, partly clipped optimum."""
    target = tf.constant(target, tf.float32)
    scales = tf.constant(scales, tf.float32)

    def loss(image):
        fit = tf.reduce_sum(scales * tf.square(image - target))
        return {"fit": fit, "total": fit}

    return loss


def test_bridge_gradient_matches_finite_differences(rng):
    """d(total)/d(image) from the compiled function, against float64 central differences."""
    target = rng.uniform(0, 255, SHAPE)
    coupling = rng.normal(size=SHAPE)

    def loss(image):  # Smooth and non-separable: exercises the tape, not just an identity.
        total = tf.reduce_sum(tf.sin(image / 40.0) * coupling) + 1e-3 * tf.reduce_sum(
            tf.square(image - target)) + 1e-5 * tf.square(tf.reduce_sum(image))
        return {"total": total}

    compiled = optimize.loss_and_gradient_function(loss, SHAPE)
    x = rng.uniform(0, 255, SHAPE)
    _, gradient = compiled(tf.constant(x, tf.float32))

    def value(v):
        with tf.device("/cpu:0"):
            return float(loss(tf.constant(v, tf.float64))["total"])

    for index in [tuple(i) for i in rng.integers(0, SHAPE, size=(8, 3))]:
        up, down = x.copy(), x.copy()
        up[index] += 1e-3
        down[index] -= 1e-3
        numeric = (value(up) - value(down)) / 2e-3
        assert gradient.numpy()[index] == pytest.approx(numeric, rel=1e-3, abs=1e-4)


def test_lbfgs_lowers_the_loss_tenfold_and_respects_the_bounds(rng):
    target = rng.uniform(-80, 335, SHAPE)  # About a third of the optimum lies outside.
    scales = np.exp(rng.uniform(0, np.log(100), SHAPE))  # Condition number ~100.
    result = optimize.lbfgs(quadratic(target, scales), np.full(SHAPE, 128.0),
                            max_iterations=150)
    assert result.final_losses["total"] < result.history[0].losses["total"] / 10
    assert result.image.min() >= 0.0 and result.image.max() <= 255.0
    outside = (target < 0) | (target > 255)
    np.testing.assert_array_equal(result.image[outside], np.clip(target, 0, 255)[outside])
    optimum = np.sum(scales * (np.clip(target, 0, 255) - target) ** 2)
    # float32 resolves the loss to ~1e-7 of its value; the optimum's own value is large.
    assert result.final_losses["total"] == pytest.approx(optimum, rel=1e-5)


def test_lbfgs_makes_the_iterations_asked_where_scipy_defaults_stop_early(rng):
    """A small-gradient loss: SciPy's default gtol=1e-5 stops it after a few steps."""
    target = rng.uniform(0, 255, SHAPE)
    scales = 1e-9 * np.exp(rng.uniform(0, np.log(1e3), SHAPE))
    loss = quadratic(target, scales)
    compiled = optimize.loss_and_gradient_function(loss, SHAPE)

    def scipy_fun(x):
        terms, gradient = compiled(tf.constant(x.reshape(SHAPE), tf.float32))
        return float(terms["total"]), gradient.numpy().astype(np.float64).ravel()

    defaults = scipy.optimize.minimize(scipy_fun, np.zeros(np.prod(SHAPE)), jac=True,
                                       method="L-BFGS-B", bounds=[(0, 255)] * 90,
                                       options={"maxiter": 25})
    assert defaults.nit < 25  # The pitfall is real on this problem...

    result = optimize.lbfgs(loss, np.zeros(SHAPE), max_iterations=25)
    assert result.num_iterations == 25  # ...and avoided here.
    assert "ITERATIONS REACHED LIMIT" in result.stop_reason
    assert len(result.history) == 26
    assert result.final_losses["total"] < defaults.fun


def test_history_and_callback_see_every_iteration(rng):
    target = rng.uniform(0, 255, SHAPE)
    seen = []
    scales = np.exp(rng.uniform(0, np.log(1e3), SHAPE))  # Needs more than 5 iterations.
    result = optimize.lbfgs(quadratic(target, scales), np.zeros(SHAPE),
                            max_iterations=5, callback=seen.append)
    assert [step.iteration for step in seen] == list(range(6))
    assert all(step.image is None for step in seen)  # Images are dropped after the callback.
    assert result.num_evaluations >= 6
    losses = [step.losses["total"] for step in result.history]
    assert losses == sorted(losses, reverse=True)
    assert set(result.final_losses) == {"fit", "total"}
    # The reported loss is the loss of the returned image.
    expected = np.sum(scales * (result.image.astype(np.float64) - target) ** 2)
    assert result.final_losses["total"] == pytest.approx(expected, rel=1e-5)


def test_ctrl_c_returns_the_latest_accepted_image(rng):
    target = rng.uniform(0, 255, SHAPE)
    images = {}

    def callback(step):
        images[step.iteration] = step.image.copy()
        if step.iteration == 3:
            raise KeyboardInterrupt

    scales = np.exp(rng.uniform(0, np.log(1e3), SHAPE))
    result = optimize.lbfgs(quadratic(target, scales), np.zeros(SHAPE),
                            max_iterations=50, callback=callback)
    assert result.interrupted and result.stop_reason == "interrupted"
    assert result.num_iterations == 3
    np.testing.assert_array_equal(result.image, images[3])


def test_callback_can_end_the_run_early(rng):
    target = rng.uniform(0, 255, SHAPE)
    scales = np.exp(rng.uniform(0, np.log(1e3), SHAPE))

    def stop_at_four(step):
        if step.iteration == 4:
            raise StopIteration

    result = optimize.lbfgs(quadratic(target, scales), np.zeros(SHAPE), max_iterations=50,
                            callback=stop_at_four)
    assert result.num_iterations == 4 and not result.interrupted
    assert "StopIteration" in result.stop_reason


def test_zero_iterations_is_refused():
    with pytest.raises(ValueError, match="max_iterations"):
        optimize.lbfgs(quadratic(np.zeros(SHAPE), np.ones(SHAPE)), np.zeros(SHAPE),
                       max_iterations=0)


def test_numpy_terms_join_the_loss_and_the_gradient(rng):
    """TF pulls towards t1, a NumPy term towards t2 with 3x the weight: optimum in between."""
    t1, t2 = rng.uniform(50, 200, SHAPE), rng.uniform(50, 200, SHAPE)

    def numpy_term(image):
        return {"pull": 3.0 * float(np.sum((image - t2) ** 2))}, 6.0 * (image - t2)

    result = optimize.lbfgs(quadratic(t1, np.ones(SHAPE)), np.zeros(SHAPE), max_iterations=50,
                            numpy_terms=numpy_term)
    np.testing.assert_allclose(result.image, (t1 + 3 * t2) / 4, atol=0.05)
    losses = result.final_losses
    assert losses["total"] == pytest.approx(losses["fit"] + losses["pull"], rel=1e-9)


def test_the_settings_passed_to_scipy_are_pinned(rng, monkeypatch):
    """L-BFGS-B with 10 correction pairs (SciPy's and Byrd et al.'s usual m), no early
    stop by ftol or gtol, pixel bounds, and 20 evaluations per iteration at most."""
    seen = {}

    def recording_minimize(fun, x0, **kwargs):
        seen.update(kwargs)
        return scipy.optimize.OptimizeResult(x=x0, message="recorded")

    monkeypatch.setattr(scipy.optimize, "minimize", recording_minimize)
    optimize.lbfgs(quadratic(rng.uniform(0, 255, SHAPE), np.ones(SHAPE)), np.zeros(SHAPE),
                   max_iterations=7)
    assert seen["method"] == "L-BFGS-B" and seen["jac"] is True
    assert seen["options"] == {"maxiter": 7, "maxfun": 140, "maxcor": 10, "ftol": 0.0,
                               "gtol": 0.0}
    assert (seen["bounds"].lb, seen["bounds"].ub) == (0.0, 255.0)


def test_lbfgs_follows_a_direct_scipy_run_iterate_by_iterate(rng):
    """On a quadratic of condition number 1e4, every iterate of `optimize.lbfgs` is the
    iterate of SciPy's L-BFGS-B run directly with the documented settings."""
    target = rng.uniform(-40, 295, SHAPE)
    scales = np.exp(rng.uniform(0, np.log(1e4), SHAPE))
    scales.flat[[0, 1]] = 1.0, 1e4  # Condition number exactly 1e4.
    loss = quadratic(target, scales)
    compiled = optimize.loss_and_gradient_function(loss, SHAPE)

    def scipy_fun(x):
        terms, gradient = compiled(tf.constant(x.reshape(SHAPE), tf.float32))
        return float(terms["total"]), gradient.numpy().astype(np.float64).ravel()

    direct = []
    start = np.full(np.prod(SHAPE), 100.0)
    scipy.optimize.minimize(scipy_fun, start, jac=True, method="L-BFGS-B",
                            bounds=scipy.optimize.Bounds(0.0, 255.0),
                            callback=lambda xk: direct.append(xk.copy()),
                            options={"maxiter": 30, "maxfun": 600, "maxcor": 10,
                                     "ftol": 0.0, "gtol": 0.0})
    ours = []
    optimize.lbfgs(loss, start.reshape(SHAPE), max_iterations=30,
                   callback=lambda step: ours.append(step.image.ravel().astype(np.float64)))
    assert len(ours) == len(direct) + 1 == 31  # Ours also reports iteration 0.
    np.testing.assert_allclose(np.array(ours[1:]), np.array(direct), rtol=0, atol=1e-4)
    assert np.max(np.abs(direct[-1] - direct[0])) > 1  # It did move.
