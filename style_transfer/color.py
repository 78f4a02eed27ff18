"""Colour control: keep the content's colours while transferring the style.

Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in Neural
Style Transfer", CVPR 2017 (arXiv:1611.07865), Sec. 5. Two ways:

- Luminance-only transfer (Sec. 5.2): the style is transferred between the luminance
  channels only, the style's luminance first matched to the content's in mean and
  standard deviation; the result's luminance is then combined with the content's
  chrominance (I and Q of YIQ).
- Colour histogram matching (Sec. 5.1): before the transfer, every style pixel p is
  mapped to A p + b so that the style's colours have the content's mean and covariance.
  Any A with A Σ_S Aᵀ = Σ_C works; two are offered: "eigen", A = Σ_C^½ Σ_S^-½ with
  symmetric square roots from eigen-decompositions (the Image Analogies colour transfer,
  the default of Gatys' own NeuralImageSynthesis code), and "cholesky", A = L_C L_S⁻¹
  with Σ = L Lᵀ.

All functions take and return float RGB images (H, W, 3) in [0, 255] (NumPy).
"""

import numpy as np

# NTSC YIQ (FCC 1953 coefficients, as in e.g. scikit-image's rgb2yiq). The I and Q rows
# sum to exactly zero (grey has no chroma); the usual 8-digit Q row is off by 1e-8.
_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.59590059, -0.27455667, -0.32134392],
                        [0.21153661, -0.52273617, 0.31119956]])
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)

PRESERVE_COLOR_MODES = ("none", "luminance", "histogram")
HISTOGRAM_METHODS = ("eigen", "cholesky")


def rgb_to_yiq(image):
    """(H, W, 3) RGB -> (H, W, 3) YIQ; Y is luminance in the same units as RGB."""
    return np.asarray(image, np.float64) @ _RGB_TO_YIQ.T


def yiq_to_rgb(image):
    """Exact inverse of `rgb_to_yiq` (not clipped)."""
    return np.asarray(image, np.float64) @ _YIQ_TO_RGB.T


def luminance_image(image):
    """The image's luminance Y, repeated in three channels for the RGB network."""
    luminance = rgb_to_yiq(image)[:, :, :1]
    return np.repeat(luminance, 3, axis=2).astype(np.float32)


def match_luminance(style_image, content_image):
    """Style luminance image with the content luminance's mean and std (Sec. 5.2)."""
    style_y = rgb_to_yiq(style_image)[:, :, 0]
    content_y = rgb_to_yiq(content_image)[:, :, 0]
    matched = ((style_y - style_y.mean()) * content_y.std() / max(style_y.std(), 1e-8)
               + content_y.mean())
    return np.repeat(np.clip(matched, 0, 255)[:, :, None], 3, axis=2).astype(np.float32)


def with_content_chroma(result_image, content_image):
    """The result's luminance with the content's I and Q (Sec. 5.2), clipped to [0, 255].

    `result_image` is the output of a luminance-only transfer: its Y channel is kept.
    """
    yiq = rgb_to_yiq(content_image)
    yiq[:, :, 0] = rgb_to_yiq(result_image)[:, :, 0]
    return np.clip(yiq_to_rgb(yiq), 0, 255).astype(np.float32)


def _mean_and_covariance(image):
    pixels = np.asarray(image, np.float64).reshape(-1, 3)  # (M, 3), any (..., 3) input
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    return mean, centred.T @ centred / len(pixels)


def _symmetric_power(matrix, power, eps):
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    return (eigenvectors * np.maximum(eigenvalues, eps) ** power) @ eigenvectors.T


def _linear_color_map(source_pixels, target_pixels, method, eps):
    """(A, b) with A Σ_source Aᵀ = Σ_target and A μ_source + b = μ_target."""
    if method not in HISTOGRAM_METHODS:
        raise ValueError(f"colour histogram method {method!r}: use one of "
                         f"{', '.join(HISTOGRAM_METHODS)}")
    source_mean, source_cov = _mean_and_covariance(source_pixels)
    target_mean, target_cov = _mean_and_covariance(target_pixels)
    source_cov += eps * np.eye(3)
    target_cov += eps * np.eye(3)
    if method == "eigen":
        transform = (_symmetric_power(target_cov, 0.5, eps)
                     @ _symmetric_power(source_cov, -0.5, eps))
    else:
        transform = np.linalg.cholesky(target_cov) @ np.linalg.inv(
            np.linalg.cholesky(source_cov))
    return transform, target_mean - transform @ source_mean


def match_color_histogram(style_image, content_image, method="eigen", eps=1e-5):
    """Maps the style's colours to the content's mean and covariance (Sec. 5.1).

    Args:
        style_image: (H_s, W_s, 3) image to recolour.
        content_image: (H, W, 3) image whose colour statistics are the target.
        method: "eigen" (A = Σ_C^½ Σ_S^-½) or "cholesky" (A = L_C L_S⁻¹).
        eps: added to the covariances' diagonals, so a flat image stays invertible.

    Returns:
        The recoloured style image, float32, not clipped (clipping would move the
        statistics; the optimiser's bounds keep the output in range anyway).
    """
    transform, offset = _linear_color_map(style_image, content_image, method, eps)
    pixels = np.asarray(style_image, np.float64).reshape(-1, 3)
    return (pixels @ transform.T + offset).reshape(np.shape(style_image)).astype(np.float32)


def match_region_colors(image, reference_image, mask, method="eigen", eps=1e-5):
    """Recolours `image` so its pixels inside `mask` have the reference's colour statistics
    there (mean and covariance, as `match_color_histogram`), clipped to [0, 255].

    Args:
        image, reference_image: (H, W, 3), the same size.
        mask: (H, W) weights; pixels above one half form the region.
    """
    region = np.asarray(mask) > 0.5
    if not region.any():
        return np.array(image, np.float32)
    transform, offset = _linear_color_map(np.asarray(image)[region],
                                          np.asarray(reference_image)[region], method, eps)
    pixels = np.asarray(image, np.float64).reshape(-1, 3)
    recoloured = (pixels @ transform.T + offset).reshape(np.shape(image))
    return np.clip(recoloured, 0, 255).astype(np.float32)
