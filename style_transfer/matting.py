"""The Matting Laplacian of Levin, Lischinski & Weiss, the photorealism term of Luan et al.,
and He et al.'s guided filter (photo_style --smooth): three uses of one local affine model.

A. Levin, D. Lischinski, Y. Weiss, "A Closed-Form Solution to Natural Image Matting",
IEEE TPAMI 30(2), 2008, Eq. 12: for an image I with N pixels, the N x N matrix

    L_ij = Σ_{k | (i, j) ∈ w_k} ( δ_ij - 1/|w_k| (1 + (I_i - μ_k)ᵀ (Σ_k + ε/|w_k| I₃)⁻¹ (I_j - μ_k)) )

over all 3x3 windows w_k (|w_k| = 9) lying inside the image, with μ_k and Σ_k the mean
and covariance of the colours in w_k. Its quadratic form vᵀ L v is zero when v is, in
every window, an affine function of the colours (exactly so for constant v).

F. Luan, S. Paris, E. Shechtman, K. Bala, "Deep Photo Style Transfer", CVPR 2017
(arXiv:1703.07511), Eq. 2: the photorealism regularisation L_m = Σ_c V_c[O]ᵀ L V_c[O]
over the output's colour channels O in [0, 1], with L built from the content image,
penalises outputs that are not locally affine colour transforms of the content.

The matrix is built with vectorised NumPy: each window's 9x9 block is accumulated into
the 25 diagonals of a pixel's 5x5 neighbourhood by slice additions (81 of them in all),
then stored as a SciPy CSR matrix; no Python loop runs over pixels or windows.
"""

import numpy as np
import scipy.sparse

from style_transfer import backend

DEFAULT_EPSILON = 1e-7  # Luan et al.'s value.
# photo_style --smooth's guided filter: chosen on a recoloured photo spoiled by noise or
# stripes (README, photo_style), where they came closest to the clean recolouring.
SMOOTH_RADIUS, SMOOTH_EPSILON = 4, 1e-4
_OFFSETS = [(dy, dx) for dy in range(-1, 2) for dx in range(-1, 2)]  # A 3x3 window.


def _inverse_3x3(matrices):
    """Inverses of (..., 3, 3) matrices by cofactors (4x faster than batched LAPACK)."""
    m = matrices
    cofactors = np.empty_like(m)
    for i in range(3):
        for j in range(3):
            rows, cols = [r for r in range(3) if r != i], [c for c in range(3) if c != j]
            minor = (m[..., rows[0], cols[0]] * m[..., rows[1], cols[1]]
                     - m[..., rows[0], cols[1]] * m[..., rows[1], cols[0]])
            cofactors[..., j, i] = (-1) ** (i + j) * minor  # Transposed: the adjugate.
    determinant = np.einsum("...j,...j->...", m[..., 0, :], cofactors[..., :, 0])
    return cofactors / determinant[..., None, None]


def matting_laplacian(image, epsilon=DEFAULT_EPSILON):
    """The Matting Laplacian of an image (Levin et al. 2008, Eq. 12), 3x3 windows.

    Args:
        image: (H, W, 3) colours in [0, 1].
        epsilon: the regulariser ε.

    Returns:
        scipy.sparse.csr_matrix (H*W, H*W), float64, pixels in row-major order.
    """
    image = np.asarray(image, np.float64)
    height, width, _ = image.shape
    if height < 3 or width < 3:
        raise ValueError(f"matting Laplacian: the image ({width}x{height}) must be at "
                         f"least 3x3")
    inner_h, inner_w = height - 2, width - 2  # Window centres.

    def shifted(dy, dx):  # The pixel at offset (dy, dx) of every window: (h, w, 3).
        return image[1 + dy:1 + dy + inner_h, 1 + dx:1 + dx + inner_w]

    window = np.stack([shifted(dy, dx) for dy, dx in _OFFSETS])  # (9, h, w, 3)
    centred = window - window.mean(axis=0)  # I_i - μ_k
    covariance = np.einsum("khwi,khwj->hwij", centred, centred) / 9.0  # Σ_k
    inverse = _inverse_3x3(covariance + (epsilon / 9.0) * np.eye(3))
    projected = np.einsum("hwij,khwj->khwi", inverse, centred)  # (Σ_k + ε/9)⁻¹ (I_i - μ_k)

    # diagonals[(ry, rx)][y, x] = L between pixel (y, x) and pixel (y + ry, x + rx).
    diagonals = {(ry, rx): np.zeros((height, width)) for ry in range(-2, 3)
                 for rx in range(-2, 3)}
    for a, (ay, ax) in enumerate(_OFFSETS):
        for b in range(a, 9):  # The block is symmetric: (a, b) and (b, a) share a value.
            by, bx = _OFFSETS[b]
            value = np.einsum("hwi,hwi->hw", projected[a], centred[b])
            value += 1.0
            value *= -1.0 / 9.0
            if a == b:
                value += 1.0
            diagonals[(by - ay, bx - ax)][1 + ay:1 + ay + inner_h,
                                          1 + ax:1 + ax + inner_w] += value
            if a != b:
                diagonals[(ay - by, ax - bx)][1 + by:1 + by + inner_h,
                                              1 + bx:1 + bx + inner_w] += value

    size = height * width
    offsets, data = [], []
    for (ry, rx), values in diagonals.items():
        offset = ry * width + rx
        # scipy's DIA format stores the entry (i, i + offset) at data[k, i + offset].
        column_aligned = np.zeros(size)
        flat = values.ravel()
        if offset >= 0:
            column_aligned[offset:] = flat[:size - offset]
        else:
            column_aligned[:size + offset] = flat[-offset:]
        offsets.append(offset)
        data.append(column_aligned)
    return scipy.sparse.dia_matrix((np.array(data), offsets), shape=(size, size)).tocsr()


def photorealism_loss(laplacian, weight):
    """λ L_m, Luan et al. 2017, Eq. 2, as a term of the image x in [0, 255], O = x / 255.

    λ L_m(O) = λ Σ_c V_c[O]ᵀ L V_c[O], gradient 2 λ L V_c / 255. The product runs in float64
    (`backend.symmetric_quadratic_form`: on the device in TensorFlow, on the host in
    JAX): in flat windows the entries of L reach 1/ε ~ 1e7 and cancel, beyond float32's
    precision. One product serves the value and the gradient (L is symmetric).

    Args:
        laplacian: (N, N) sparse Matting Laplacian of the content image.
        weight: λ.

    Returns:
        function (H, W, 3) image tensor -> scalar tensor, for `transfer.optimise`.
    """
    return backend.symmetric_quadratic_form(laplacian, weight, scale=1.0 / 255.0)


def box_mean(x, radius):
    """Mean of x (H, W, ...) over the (2r+1) x (2r+1) window round each pixel, the window
    clipped at the image's edges: two cumulative sums, whatever the radius."""
    x = np.asarray(x, np.float64)
    for axis in (0, 1):
        n = x.shape[axis]
        before = [(0, 0)] * x.ndim
        before[axis] = (1, 0)
        sums = np.pad(np.cumsum(x, axis=axis), before)  # sums[j] = x[0] + ... + x[j - 1]
        ends = np.minimum(np.arange(n) + radius + 1, n)
        starts = np.maximum(np.arange(n) - radius, 0)
        counts = (ends - starts).reshape((-1,) + (1,) * (x.ndim - axis - 1))
        x = (np.take(sums, ends, axis=axis) - np.take(sums, starts, axis=axis)) / counts
    return x


def guided_filter(guide, source, radius, epsilon):
    """Refits `source` as local affine functions of the colours of `guide`.

    K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013, Eq. 19-21
    (colour guide): in each window ω_k of radius r, the least-squares affine map from the
    guide's colours I to the source p, regularised by ε,

        a_k = (Σ_k + ε U)⁻¹ (1/|ω| Σ_{i∈ω_k} I_i p_iᵀ - μ_k p̄_kᵀ),   b_k = p̄_k - a_kᵀ μ_k,

    and at each pixel the average of the maps of the windows that hold it:
    q_i = ā_iᵀ I_i + b̄_i. The same local affine model as the Matting Laplacian (He et al.
    Sec. 3.4 relate them); with the content as guide, it pulls a stylised photo towards
    one that is locally an affine recolouring of the content, as Luan et al.'s L_m does.

    Args:
        guide: (H, W, 3) in [0, 1]; source: (H, W, C); radius: r >= 1; epsilon: ε > 0,
            in the guide's units squared (larger: smoother).

    Returns:
        (H, W, C) float64.
    """
    guide, source = np.asarray(guide, np.float64), np.asarray(source, np.float64)
    mean_guide, mean_source = box_mean(guide, radius), box_mean(source, radius)
    covariance = (box_mean(guide[..., :, None] * guide[..., None, :], radius)
                  - mean_guide[..., :, None] * mean_guide[..., None, :])  # Σ_k (H, W, 3, 3)
    cross = (box_mean(guide[..., :, None] * source[..., None, :], radius)
             - mean_guide[..., :, None] * mean_source[..., None, :])  # (H, W, 3, C)
    a = _inverse_3x3(covariance + epsilon * np.eye(3)) @ cross
    b = mean_source - np.einsum("...gc,...g->...c", a, mean_guide)
    return np.einsum("...gc,...g->...c", box_mean(a, radius), guide) + box_mean(b, radius)
