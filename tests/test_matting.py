"""The Matting Laplacian against a literal per-window construction, its theory, L_m, and
the guided filter against a literal per-window fit."""

import numpy as np
import pytest
import tensorflow as tf

from style_transfer import matting


def photorealism_reference(laplacian, image):
    """L_m = Σ_c V_c[O]ᵀ L V_c[O] and its gradient 2 L V_c[O] (Luan et al. 2017, Eq. 2), in
    NumPy: the reference `matting.photorealism_loss` (TensorFlow) is checked against.

    Args:
        laplacian: (N, N) sparse Matting Laplacian of the content image.
        image: (H, W, 3) output O in [0, 1], H*W = N.

    Returns:
        (loss, gradient (H, W, 3)), float64.
    """
    channels = np.asarray(image, np.float64).reshape(-1, 3)  # V_c[O] as columns.
    products = laplacian @ channels  # L V_c
    loss = float(np.sum(channels * products))
    return loss, (2.0 * products).reshape(np.shape(image))


def laplacian_reference(image, epsilon):
    """Levin et al. 2008, Eq. 12, window by window, entry by entry."""
    height, width, _ = image.shape
    size = height * width
    laplacian = np.zeros((size, size))
    for cy in range(1, height - 1):
        for cx in range(1, width - 1):
            index = [(cy + dy) * width + cx + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            colours = np.array([image[i // width, i % width] for i in index])
            mean = colours.mean(axis=0)
            covariance = (colours - mean).T @ (colours - mean) / 9
            inverse = np.linalg.inv(covariance + epsilon / 9 * np.eye(3))
            for a, i in enumerate(index):
                for b, j in enumerate(index):
                    laplacian[i, j] += (a == b) - (
                        1 + (colours[a] - mean) @ inverse @ (colours[b] - mean)) / 9
    return laplacian


@pytest.mark.parametrize("epsilon", [1e-7, 1e-3])
def test_matches_the_literal_construction(rng, epsilon):
    image = rng.uniform(0, 1, (6, 7, 3))
    image[:3, :3] = 0.5  # A flat patch: nearly singular covariances, where ε matters.
    fast = matting.matting_laplacian(image, epsilon).toarray()
    np.testing.assert_allclose(fast, laplacian_reference(image, epsilon), rtol=0, atol=1e-8)


def test_theoretical_properties(rng):
    image = rng.uniform(0, 1, (7, 8, 3))
    laplacian = matting.matting_laplacian(image, 1e-5)
    dense = laplacian.toarray()
    np.testing.assert_allclose(dense, dense.T, atol=1e-10)  # Symmetric.
    assert np.linalg.eigvalsh(dense).min() > -1e-9  # Positive semi-definite.
    np.testing.assert_allclose(dense.sum(axis=1), 0, atol=1e-9)  # Rows sum to zero.
    for channel in range(3):  # A constant image of each channel is in the null space,
        constant = np.zeros((7, 8, 3))
        constant[:, :, channel] = 0.7
        assert photorealism_reference(laplacian, constant)[0] == pytest.approx(0, abs=1e-12)
    # and a locally affine function of the colours nearly is (exactly as ε -> 0).
    affine = image @ np.array([[0.5, 0.1, 0], [0.2, 0.3, 0.1], [0, 0.4, 0.6]]) + 0.1
    random = rng.uniform(0, 1, (7, 8, 3))
    assert (photorealism_reference(laplacian, affine)[0]
            < 1e-3 * photorealism_reference(laplacian, random)[0])
    assert laplacian.nnz <= 25 * 7 * 8  # A 5x5 neighbourhood per pixel.


def test_photorealism_loss_and_gradient(rng):
    image = rng.uniform(0, 1, (5, 6, 3))
    laplacian = matting.matting_laplacian(image)
    output = rng.uniform(0, 1, (5, 6, 3))
    loss, gradient = photorealism_reference(laplacian, output)
    dense = laplacian.toarray()
    expected = sum(output[:, :, c].ravel() @ dense @ output[:, :, c].ravel() for c in range(3))
    assert loss == pytest.approx(expected, rel=1e-12)
    for index in [(0, 0, 0), (2, 3, 1), (4, 5, 2)]:
        up, down = output.copy(), output.copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        numeric = (photorealism_reference(laplacian, up)[0]
                   - photorealism_reference(laplacian, down)[0]) / 2e-6
        assert gradient[index] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    # On [0, 255] images, the TensorFlow term scales by λ and the chain rule, in float64
    # inside whatever the image's dtype.
    term = matting.photorealism_loss(laplacian, weight=3.0)
    for dtype, tolerance in ((tf.float64, 1e-12), (tf.float32, 1e-6)):
        pixels = tf.constant(output * 255.0, dtype)
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            value = term(pixels)
        assert float(value) == pytest.approx(3.0 * loss, rel=tolerance)
        np.testing.assert_allclose(tape.gradient(value, pixels).numpy(),
                                   3.0 * gradient / 255.0, rtol=tolerance, atol=1e-12)


def test_too_small_image_is_refused():
    with pytest.raises(ValueError, match="at least 3x3"):
        matting.matting_laplacian(np.zeros((2, 5, 3)))


def window(y, x, radius):
    """The pixels of the window of radius r round (y, x), clipped at the edges."""
    return (slice(max(y - radius, 0), y + radius + 1), slice(max(x - radius, 0), x + radius + 1))


def guided_filter_reference(guide, source, radius, epsilon):
    """He et al. 2013, Eq. 19-21, window by window: a least-squares fit in each, then the
    mean of the fits that hold each pixel."""
    height, width, channels = source.shape
    a = np.zeros((height, width, 3, channels))
    b = np.zeros((height, width, channels))
    for y in range(height):
        for x in range(width):
            pixels = window(y, x, radius)
            colours, values = guide[pixels].reshape(-1, 3), source[pixels].reshape(-1, channels)
            centred = colours - colours.mean(axis=0)
            covariance = centred.T @ centred / len(colours)
            cross = centred.T @ (values - values.mean(axis=0)) / len(colours)
            a[y, x] = np.linalg.solve(covariance + epsilon * np.eye(3), cross)
            b[y, x] = values.mean(axis=0) - a[y, x].T @ colours.mean(axis=0)
    out = np.zeros_like(source)
    for y in range(height):
        for x in range(width):
            pixels = window(y, x, radius)
            mean_a = a[pixels].reshape(-1, 3, channels).mean(axis=0)
            out[y, x] = mean_a.T @ guide[y, x] + b[pixels].reshape(-1, channels).mean(axis=0)
    return out


@pytest.mark.parametrize("radius", [1, 2, 6])  # 6: every window clipped on a 7x9 image.
def test_box_mean_and_guided_filter_match_the_literal_loops(rng, radius):
    guide, source = rng.uniform(0, 1, (7, 9, 3)), rng.uniform(0, 1, (7, 9, 2))
    expected_mean = np.array([[source[window(y, x, radius)].mean(axis=(0, 1))
                               for x in range(9)] for y in range(7)])
    np.testing.assert_allclose(matting.box_mean(source, radius), expected_mean, atol=1e-12)
    np.testing.assert_allclose(matting.guided_filter(guide, source, radius, 1e-3),
                               guided_filter_reference(guide, source, radius, 1e-3), atol=1e-10)


def test_guided_filter_keeps_affine_recolourings_and_removes_artefacts(rng):
    yy, xx = np.mgrid[0:48, 0:64] / 64.0
    guide = np.clip(np.stack([xx, yy, 0.5 + 0.4 * np.sin(6 * xx * yy)], -1)
                    + 0.05 * rng.normal(size=(48, 64, 3)), 0, 1)
    recoloured = guide @ np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.0], [0.2, 0.1, 0.9]]) + 0.05
    np.testing.assert_allclose(matting.guided_filter(guide, recoloured, 3, 1e-9), recoloured,
                               atol=1e-6)  # An affine recolouring is its own best fit.
    noisy = recoloured + 0.05 * rng.normal(size=recoloured.shape)
    error = lambda image: np.sqrt(np.mean((image - recoloured) ** 2))  # noqa: E731
    assert error(matting.guided_filter(guide, noisy, 4, 1e-4)) < error(noisy) / 3
