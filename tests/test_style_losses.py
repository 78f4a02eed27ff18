"""The style losses beyond Gram (`style_losses`), each against a literal NumPy reference
(loops over positions, channels, directions and bins), with their invariances and
gradients against central differences."""

import numpy as np
import pytest
import scipy.linalg

from conftest import as_numpy, central_difference, tape_gradient
from style_transfer import losses, style_losses, transfer
from test_losses import gram_reference

NAMES = [name for name in style_losses.STYLE_LOSSES if name != "gram"]


def activations(rng, shape):
    """ReLU-like activations: non-negative, skewed, some exact zeros."""
    return np.maximum(rng.gamma(1.2, size=shape) - 0.3, 0.0)


def positions_reference(features, mask=None):
    """(rows, weights summing to 1), position by position."""
    rows, weights = [], []
    for y in range(features.shape[0]):
        for x in range(features.shape[1]):
            weight = 1.0 if mask is None else mask[y, x]
            if weight > 0:
                rows.append(features[y, x])
                weights.append(weight)
    weights = np.array(weights)
    return np.array(rows), weights / weights.sum()


def moments_reference(rows, weights):
    channels = rows.shape[1]
    mean = np.zeros(channels)
    for row, weight in zip(rows, weights):
        mean += weight * row
    covariance = np.zeros((channels, channels))
    for row, weight in zip(rows, weights):
        for i in range(channels):
            for j in range(channels):
                covariance[i, j] += weight * (row[i] - mean[i]) * (row[j] - mean[j])
    scale = sum(weight * np.sum(row ** 2) for row, weight in zip(rows, weights)) / channels
    return mean, covariance, scale


def mean_std_reference(output, style, output_mask=None, style_mask=None):
    """1/N Σ_c ((μ_c - μ̂_c)² + (σ_c - σ̂_c)²) / s, Li et al. 2017, channel by channel."""
    rows, p = positions_reference(output, output_mask)
    style_rows, q = positions_reference(style, style_mask)
    mean, covariance, _ = moments_reference(rows, p)
    style_mean, style_covariance, scale = moments_reference(style_rows, q)
    total = 0.0
    for c in range(output.shape[-1]):
        std = np.sqrt(covariance[c, c] + style_losses.EPSILON * scale)
        style_std = np.sqrt(style_covariance[c, c] + style_losses.EPSILON * scale)
        total += (mean[c] - style_mean[c]) ** 2 + (std - style_std) ** 2
    return total / output.shape[-1] / scale


def mmd_reference(x, y, kernel, p=None, q=None, bandwidth=None):
    """The biased MMD², Σ_ij p_i p_j k(x_i, x_j) + ... - 2 Σ_ij p_i q_j k(x_i, y_j), pair by
    pair."""
    p = np.full(len(x), 1 / len(x)) if p is None else p
    q = np.full(len(y), 1 / len(y)) if q is None else q

    def k(a, b):
        if kernel == "linear":
            return a @ b
        if kernel == "polynomial":
            return (a @ b) ** 2
        return np.exp(-np.sum((a - b) ** 2) / (2 * bandwidth ** 2))

    total = 0.0
    for i in range(len(x)):
        for j in range(len(x)):
            total += p[i] * p[j] * k(x[i], x[j])
    for i in range(len(y)):
        for j in range(len(y)):
            total += q[i] * q[j] * k(y[i], y[j])
    for i in range(len(x)):
        for j in range(len(y)):
            total -= 2 * p[i] * q[j] * k(x[i], y[j])
    return total


def wasserstein_reference(output, style, output_mask=None, style_mask=None):
    """W2² between Gaussians with SciPy's `sqrtm`, over N s."""
    rows, p = positions_reference(output, output_mask)
    style_rows, q = positions_reference(style, style_mask)
    mean, covariance, _ = moments_reference(rows, p)
    style_mean, style_covariance, scale = moments_reference(style_rows, q)
    identity = style_losses.EPSILON * scale * np.eye(len(mean))
    covariance, style_covariance = covariance + identity, style_covariance + identity
    root = scipy.linalg.sqrtm(style_covariance)
    cross = scipy.linalg.sqrtm(root @ covariance @ root)
    distance = (np.sum((mean - style_mean) ** 2) + np.trace(covariance)
                + np.trace(style_covariance) - 2 * np.trace(cross).real)
    return distance / len(mean) / scale


def sliced_reference(output, style, directions):
    """Heitz et al. 2021, Eq. 6-8 for images of as many positions: each direction's sorted
    projections, paired in order."""
    rows, _ = positions_reference(output)
    style_rows, q = positions_reference(style)
    _, _, scale = moments_reference(style_rows, q)
    total = 0.0
    for v in directions.T:
        projected = sorted(float(row @ v) for row in rows)
        style_projected = sorted(float(row @ v) for row in style_rows)
        total += sum((a - b) ** 2 for a, b in zip(projected, style_projected)) / len(rows)
    return total / directions.shape[1] / scale


def histogram_reference(output, style):
    """Risser et al. 2017, Sec. 4.2 with exact histogram matching, for images of as many
    positions: each value remapped to the style's value of the same rank in its channel."""
    rows, p = positions_reference(output)
    style_rows, q = positions_reference(style)
    _, _, scale = moments_reference(style_rows, q)
    total = 0.0
    for c in range(output.shape[-1]):
        style_sorted = sorted(style_rows[:, c])
        for k, value in enumerate(rows[:, c]):
            rank = sum(1 for other in rows[:, c] if other < value)
            total += p[k] * (value - style_sorted[rank]) ** 2
    return total / output.shape[-1] / scale


@pytest.mark.parametrize("loss, reference", [
    (style_losses.MeanStd(), mean_std_reference),  # Li et al.'s channel statistics.
    (style_losses.Wasserstein(), wasserstein_reference)])  # W2 with SciPy's sqrtm.
def test_each_moment_loss_is_its_literal_reference(rng, loss, reference):
    output, style = activations(rng, (6, 7, 5)), activations(rng, (8, 5, 5))
    np.testing.assert_allclose(as_numpy(loss.compare(loss.measure(style), output)),
                               reference(output, style), rtol=1e-7)


def test_statistics_are_weighted_by_soft_masks(rng):
    output, style = activations(rng, (5, 6, 4)), activations(rng, (7, 4, 4))
    mask = rng.random((5, 6)) * (rng.random((5, 6)) > 0.3)
    style_mask = rng.random((7, 4)) * (rng.random((7, 4)) > 0.3)
    for loss, reference in ((style_losses.MeanStd(), mean_std_reference),
                            (style_losses.Wasserstein(), wasserstein_reference)):
        value = loss.compare(loss.measure(style, style_mask), output, mask)
        np.testing.assert_allclose(as_numpy(value),
                                   reference(output, style, mask, style_mask), rtol=1e-7)


@pytest.mark.parametrize("kernel", ["linear", "polynomial", "gaussian"])
def test_mmd_is_the_pairwise_definition(rng, kernel):
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.5
    p = rng.random(7)
    p /= p.sum()
    np.testing.assert_allclose(
        as_numpy(style_losses.mmd_squared(x, y, kernel, x_weights=p, bandwidth=1.3)),
        mmd_reference(x, y, kernel, p=p, bandwidth=1.3), rtol=1e-10)


def test_gram_loss_is_mmd_with_the_squared_polynomial_kernel(rng):
    """Li et al. 2017: Σ_ij (Ĝ - Â)² = MMD² with k(x, y) = (xᵀy)², so Gatys' loss, a mean
    over the N² entries, is MMD² / N²."""
    output, style = rng.normal(size=(4, 5, 3)), rng.normal(size=(6, 3, 3))
    gram_loss = as_numpy(losses.style_loss(gram_reference(style) / 18, output))
    mmd = mmd_reference(output.reshape(-1, 3), style.reshape(-1, 3), "polynomial")
    np.testing.assert_allclose(gram_loss * 3 ** 2, mmd, rtol=1e-10)


def test_linear_mmd_is_the_linear_kernel_mmd_over_n_s(rng):
    output, style = activations(rng, (4, 5, 3)), activations(rng, (6, 3, 3))
    loss = style_losses.LinearMMD()
    _, _, scale = moments_reference(*positions_reference(style))
    np.testing.assert_allclose(
        as_numpy(loss.compare(loss.measure(style), output)),
        mmd_reference(output.reshape(-1, 3), style.reshape(-1, 3), "linear") / 3 / scale,
        rtol=1e-9)


def test_wasserstein_is_zero_for_the_same_statistics(rng):
    style = activations(rng, (6, 7, 5))
    loss = style_losses.Wasserstein()
    shuffled = rng.permutation(style.reshape(-1, 5)).reshape(7, 6, 5)  # Same mean and Σ.
    assert abs(float(as_numpy(loss.compare(loss.measure(style), shuffled)))) < 1e-9
    assert float(as_numpy(loss.compare(loss.measure(style), style + 0.1))) > 1e-4


def test_sliced_wasserstein_with_fixed_directions_is_heitz_et_al(rng):
    output, style = activations(rng, (5, 6, 4)), activations(rng, (6, 5, 4))
    loss = style_losses.SlicedWasserstein(seed=3)
    directions = loss.directions(4)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=0), 1.0)
    np.testing.assert_allclose(as_numpy(loss.compare(loss.measure(style), output)),
                               sliced_reference(output, style, directions), rtol=1e-9)


def test_sliced_wasserstein_compares_images_of_different_sizes(rng):
    """A style that is the output tiled twice has the output's distribution: no loss; a
    binary mask compares the positions it covers, as a crop of them would."""
    output = activations(rng, (5, 6, 4))
    loss = style_losses.SlicedWasserstein()
    tiled = np.concatenate([output, output[::-1]], axis=0)
    assert abs(float(as_numpy(loss.compare(loss.measure(tiled), output)))) < 1e-12
    style = activations(rng, (6, 5, 4))
    mask = np.zeros((5, 6))
    mask[1:4, 2:5] = 1.0
    target = loss.measure(style)
    np.testing.assert_allclose(as_numpy(loss.compare(target, output, mask)),
                               as_numpy(loss.compare(target, output[1:4, 2:5])), rtol=1e-9)


def test_histogram_is_risser_et_al_remapping(rng):
    output, style = rng.gamma(1.2, size=(5, 6, 3)), activations(rng, (6, 5, 3))  # No ties.
    loss = style_losses.Histogram()
    np.testing.assert_allclose(as_numpy(loss.compare(loss.measure(style), output)),
                               histogram_reference(output, style), rtol=1e-9)


def test_gram_histogram_is_risser_et_als_sum(rng):
    """Risser et al. 2017: Gatys' loss (the mean over the N² entries of the difference of
    the Gram matrices per position), with its w_l = 1/N², plus ρ times the histogram loss;
    ρ weighs the histogram as the two losses' default β do alone."""
    output, style = rng.gamma(1.2, size=(5, 6, 3)), activations(rng, (6, 5, 3))  # No ties.
    loss = style_losses.GramHistogram()
    gram = np.mean(np.square(gram_reference(output) / 30 - gram_reference(style) / 30))
    expected = gram / 3 ** 2 + loss.HISTOGRAM_SHARE * histogram_reference(output, style)
    np.testing.assert_allclose(as_numpy(loss.compare(loss.measure(style), output)),
                               expected, rtol=1e-9)
    gram_beta = transfer.GatysSettings().style_weight  # Gram's default β.
    assert loss.HISTOGRAM_SHARE == style_losses.DEFAULT_STYLE_WEIGHTS["histogram"] / gram_beta
    assert style_losses.DEFAULT_STYLE_WEIGHTS["gram_histogram"] <= gram_beta


@pytest.mark.parametrize("name", ["histogram", "sliced_wasserstein", "mean_std",
                                  "mmd_linear", "wasserstein", "gram_histogram"])
def test_a_permutation_of_the_styles_positions_has_no_loss(rng, name):
    style = activations(rng, (6, 8, 4))
    shuffled = rng.permutation(style.reshape(-1, 4)).reshape(8, 6, 4)
    loss = style_losses.style_statistics(name)
    target = loss.measure(style)
    assert abs(float(as_numpy(loss.compare(target, shuffled)))) < 1e-9
    assert float(as_numpy(loss.compare(target, 1.5 * shuffled))) > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_each_style_loss_gradient_matches_finite_differences(rng, name):
    style = activations(rng, (6, 5, 4))
    x = rng.gamma(1.2, size=(5, 4, 4)) + 0.05  # No ties (sorting), no values at 0.
    loss = style_losses.style_statistics(name)
    mask = np.where(rng.random((5, 4)) > 0.25, 0.3 + 0.7 * rng.random((5, 4)), 0.0)
    target = loss.measure(style)
    for region in (None, mask):
        def function(v):
            return loss.compare(target, v, region)
        indices = [tuple(i) for i in rng.integers(0, [5, 4, 4], size=(8, 3))]
        numeric = central_difference(lambda v: float(as_numpy(function(v))), x, indices,
                                     1e-6)
        analytic = tape_gradient(function, x)
        np.testing.assert_allclose([analytic[i] for i in indices], numeric, rtol=1e-5,
                                   atol=1e-9)


def test_unknown_style_loss_is_named():
    with pytest.raises(ValueError, match="'gramm'.*gram, mean_std"):
        style_losses.style_statistics("gramm")


def test_a_region_with_no_position_weighs_nothing(rng):
    """An output or a style region narrower than a deep layer's stride has no position
    there: no pull, and no error (as for Gram matrices)."""
    features = activations(rng, (3, 3, 4))
    for name in NAMES:
        loss = style_losses.style_statistics(name)
        value = loss.compare(loss.measure(features), features + 1.0, np.zeros((3, 3)))
        assert float(as_numpy(value)) == 0.0
        empty_style = loss.measure(features, np.zeros((3, 3)))
        assert float(as_numpy(loss.compare(empty_style, features + 1.0))) == 0.0
