"""Colour control (Gatys et al. 2017, Sec. 5): YIQ, luminance matching, histogram matching."""

import numpy as np
import pytest

from style_transfer import color


def test_yiq_round_trip_and_luminance_weights(rng):
    image = rng.uniform(0, 255, (5, 7, 3))
    np.testing.assert_allclose(color.yiq_to_rgb(color.rgb_to_yiq(image)), image, atol=1e-9)
    r, g, b = image[2, 3]
    assert color.rgb_to_yiq(image)[2, 3, 0] == pytest.approx(0.299 * r + 0.587 * g + 0.114 * b)
    grey = np.full((2, 2, 3), 77.0)  # No chroma in a grey image.
    np.testing.assert_allclose(color.rgb_to_yiq(grey)[..., 1:], 0, atol=1e-9)


def test_luminance_result_has_exactly_the_content_chroma(rng):
    content = rng.uniform(60, 200, (6, 8, 3))
    result = rng.uniform(90, 170, (6, 8, 3))  # Chroma and luminance unrelated to content.
    combined = color.with_content_chroma(result, content)
    np.testing.assert_allclose(color.rgb_to_yiq(combined)[..., 1:],
                               color.rgb_to_yiq(content)[..., 1:], atol=1e-3)
    np.testing.assert_allclose(color.rgb_to_yiq(combined)[..., 0],
                               color.rgb_to_yiq(result)[..., 0], atol=1e-3)


def test_match_luminance_gives_the_content_mean_and_std(rng):
    style = rng.uniform(0, 120, (9, 9, 3))
    content = rng.uniform(100, 180, (6, 8, 3))
    matched = color.match_luminance(style, content)
    content_y = color.rgb_to_yiq(content)[..., 0]
    assert matched.shape == (9, 9, 3)
    np.testing.assert_array_equal(matched[..., 0], matched[..., 2])  # Grey: Y in all three.
    assert matched[..., 0].mean() == pytest.approx(content_y.mean(), abs=1e-3)
    assert matched[..., 0].std() == pytest.approx(content_y.std(), abs=1e-3)


def loop_mean_and_covariance(image):
    """Literal per-pixel sums: μ = 1/M Σ p, Σ = 1/M Σ (p - μ)(p - μ)ᵀ."""
    pixels = [np.asarray(p, float) for p in np.asarray(image).reshape(-1, 3)]
    mean = sum(pixels) / len(pixels)
    covariance = sum(np.outer(p - mean, p - mean) for p in pixels) / len(pixels)
    return mean, covariance


@pytest.mark.parametrize("method", color.HISTOGRAM_METHODS)
def test_histogram_matching_gives_the_content_mean_and_covariance(rng, method):
    mixing = np.array([[1.0, 0.4, 0.1], [0.2, 0.8, 0.3], [0.0, 0.5, 0.6]])
    style = rng.normal(0, 30, (20, 16, 3)) @ mixing.T + [90, 120, 60]
    content = rng.normal(0, 20, (12, 10, 3)) @ mixing + [140, 100, 110]
    matched = color.match_color_histogram(style, content, method)
    matched_mean, matched_cov = loop_mean_and_covariance(matched)
    content_mean, content_cov = loop_mean_and_covariance(content)
    np.testing.assert_allclose(matched_mean, content_mean, atol=1e-4)
    np.testing.assert_allclose(matched_cov, content_cov, atol=1e-4 * np.abs(content_cov).max())


def test_the_two_histogram_methods_differ_and_eigen_is_symmetric(rng):
    style = rng.normal(0, 30, (10, 10, 3)) @ np.array([[1, .5, 0], [0, 1, .5], [.3, 0, 1]])
    content = rng.normal(0, 20, (10, 10, 3)) + 128
    eigen = color.match_color_histogram(style, content, "eigen")
    cholesky = color.match_color_histogram(style, content, "cholesky")
    assert not np.allclose(eigen, cholesky)
    with pytest.raises(ValueError, match="colour histogram method 'lab'"):
        color.match_color_histogram(style, content, "lab")


def test_yiq_has_the_published_ntsc_coefficients():
    """NTSC YIQ (FCC NTSC standard): Y = 0.299 R + 0.587 G + 0.114 B,
    I = 0.5959 R - 0.2746 G - 0.3213 B, Q = 0.2115 R - 0.5227 G + 0.3112 B; the same as
    the colour-difference signals U = (B - Y)/2.03211, V = (R - Y)/1.13983 (ITU-R BT.470
    System M) rotated by 33°, and, rounded, the three-decimal table usually quoted."""
    y = np.array([0.299, 0.587, 0.114])
    u = (np.array([0.0, 0.0, 1.0]) - y) / 2.03211
    v = (np.array([1.0, 0.0, 0.0]) - y) / 1.13983
    angle = np.deg2rad(33.0)
    standard = np.stack([y, v * np.cos(angle) - u * np.sin(angle),
                         v * np.sin(angle) + u * np.cos(angle)])
    matrix = color.rgb_to_yiq(np.eye(3)[None])[0].T  # Column j: the image of primary j.
    np.testing.assert_allclose(matrix, [[0.299, 0.587, 0.114], [0.5959, -0.2746, -0.3213],
                                        [0.2115, -0.5227, 0.3112]], atol=5e-5)
    np.testing.assert_allclose(matrix, standard, atol=5e-5)
    np.testing.assert_allclose(matrix, [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322],
                                        [0.211, -0.523, 0.312]], atol=1e-3)
    np.testing.assert_array_equal(matrix[0], y)  # Luminance exactly.
    np.testing.assert_allclose(matrix[1:].sum(axis=1), 0.0, atol=1e-15)


@pytest.mark.parametrize("method", color.HISTOGRAM_METHODS)
def test_histogram_matching_of_a_degenerate_grey_style(rng, method):
    """A flat grey style (zero covariance) and a grey ramp (R = G = B: rank one) still map
    to finite colours with the content's mean; the flat one to the mean itself."""
    content = rng.uniform(0, 255, (6, 7, 3))
    flat = np.full((5, 5, 3), 128.0)
    matched = color.match_color_histogram(flat, content, method)
    assert np.all(np.isfinite(matched))
    np.testing.assert_allclose(matched, np.broadcast_to(content.reshape(-1, 3).mean(0),
                                                        matched.shape), atol=1e-3)
    ramp = np.repeat(np.linspace(0, 255, 25).reshape(5, 5, 1), 3, axis=2)
    matched = color.match_color_histogram(ramp, content, method)
    assert np.all(np.isfinite(matched))
    np.testing.assert_allclose(matched.reshape(-1, 3).mean(0), content.reshape(-1, 3).mean(0),
                               atol=1e-3)
