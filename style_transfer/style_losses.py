"""The style losses beyond Gram: other statistics of a layer's activations as "style".

Gatys et al. pull the output's Gram matrices towards the style's (`losses.GRAM`). Li,
Wang, Liu & Hou, "Demystifying Neural Style Transfer", IJCAI 2017 (arXiv:1701.01036),
showed that this is a maximum mean discrepancy between the two images' distributions of
activation vectors, with the kernel k(x, y) = (xᵀy)², and that other ways of matching
distributions transfer style too. The losses here, one per `style_loss` value:

- mean_std: each channel's mean and standard deviation (Li et al., batch-normalisation
  statistics);
- mmd_linear: the MMD with the linear kernel k(x, y) = xᵀy (Li et al.), which matches
  the channels' means only;
- histogram: each channel's whole histogram, by histogram remapping (Risser, Wilmot &
  Barnes, arXiv:1701.08893, Sec. 4.2);
- gram_histogram: the Gram loss and the histogram loss together, as Risser et al. use
  them (the Gram matrix for the channels' correlations, the histograms for their
  distributions, which Gram matrices leave free);
- wasserstein: the Wasserstein-2 distance between the Gaussians of the two
  distributions' means and covariances (crowsonkb/style-transfer-pytorch's default);
- sliced_wasserstein: the 1-D Wasserstein-2 distances of random projections, by sorting
  (Heitz, Vanhoey, Chambon & Belcour, "A Sliced Wasserstein Loss for Neural Texture
  Synthesis", CVPR 2021, arXiv:2006.07229, Eq. 6-8).

Notation, at one layer: f_k ∈ R^N the activation vector at position k of the output, and
p_k its weight, 1/M over M positions, or m_k / Σ m inside a soft region (a mask weighs
each position, as `losses.gram_matrix` does): means, covariances, histograms and
quantiles are weighted. The style's statistics are measured the same way, once, with
the weights q_j of its own region.

Scale, this suite's choice: every loss here is a mean over channels (or projections) of
squared activation differences, divided by s_l, the style's mean squared activation at
that layer (1/N Σ_c E_q[f_c²]). Activations of the five style layers differ in size by
two orders of magnitude, so without s_l relu1_1 would set the picture; with it each
layer weighs alike at w_l = 1 (`layer_weights`), as 1/N_l² does for Gram matrices, and a
loss's style weight does not depend on the network's scale (`DEFAULT_STYLE_WEIGHTS`).

Each loss is an object with `measure(features, mask)`, the style's statistic (computed
once, before optimising), and `compare(statistic, features, mask)`, E_l of the output;
`losses.StyleTarget` sums w_l E_l over layers.
"""

import keras
import numpy as np
from keras import ops

from style_transfer import backend, losses

STYLE_LOSSES = ("gram", "mean_std", "mmd_linear", "histogram", "gram_histogram",
                "wasserstein", "sliced_wasserstein")

# β of each loss at 512 px, where Gram's is 1e2 (`transfer.ObjectiveSettings`): the β
# whose style gradient at the content image is as large as Gram's at 1e2 (geometric mean
# over four photo x painting pairs on the ImageNet VGG16, 256 px), judged by the
# pictures (docs/style_losses.md). mean_std, mmd_linear and histogram hardly move with
# it: a tenth or ten times look alike. wasserstein's, 5e6, buried the cat under The
# Starry Night's stars; a tenth keeps it, as Gram's default does. gram_histogram's
# halves are each at their own default (`GramHistogram`); at β = 1e2 it keeps the cat as
# Gram does (256 px, The Starry Night: edges 0.34 against Gram's 0.35; 3e1 gives 0.40)
# and takes the painting's whole palette. The normalisation by s_l makes them
# dimensionless; VGG19's ImageNet weights are not on our machines, so both networks
# take these.
DEFAULT_STYLE_WEIGHTS = {"mean_std": 7e6, "mmd_linear": 2e7, "histogram": 6e6,
                         "gram_histogram": 1e2, "wasserstein": 5e5,
                         "sliced_wasserstein": 1.5e7}

QUANTILES = 4096  # Levels at which a style's quantile functions are kept (sliced).
EPSILON = 1e-6  # Relative to s_l: keeps a standard deviation's gradient finite at 0.


def _probabilities(region):
    """(flat, p, total) of a region (`losses.positions`), p the weights summing to 1 as a
    (M_r, 1) tensor, or None for equal weights."""
    flat, weights, total = region
    return flat, None if weights is None else ops.cast((weights / total)[:, None], flat.dtype)


def weighted_mean(flat, p):
    """Σ_k p_k f_k, (N,)."""
    return ops.mean(flat, axis=0) if p is None else ops.sum(flat * p, axis=0)


def weighted_covariance(flat, p, mean):
    """Σ_k p_k (f_k - μ)(f_k - μ)ᵀ, (N, N), from centred activations (a raw second
    moment minus μμᵀ loses float32's digits when the mean is large)."""
    centred = flat - mean
    weighted = centred / float(flat.shape[0]) if p is None else centred * p
    return ops.matmul(ops.transpose(weighted), centred)


def _style_region(features, mask):
    """The style's positions as float64 NumPy: (values (M_s, N), q (M_s,) summing to 1),
    or None where the region has no position at this layer."""
    region = losses.positions(ops.convert_to_numpy(features), mask)
    if region is None:
        return None
    flat, weights, total = region
    flat = np.asarray(flat, np.float64)
    q = np.full(len(flat), 1.0 / len(flat)) if weights is None else weights / total
    return flat, q


def _scale(values, q):
    """s_l: the style's mean squared activation, 1/N Σ_c Σ_j q_j f_jc²."""
    return max(float(np.mean(q @ np.square(values))), 1e-12)


def _tensor(array, like):
    """`array` as a tensor of the features' dtype (a constant of the loss)."""
    return ops.convert_to_tensor(np.asarray(array),
                                 keras.backend.standardize_dtype(like.dtype))


class StyleStatistics:
    """What every loss here shares: the style's statistics measured once on its weighted
    positions (`statistics`), the output's distance to them at each evaluation
    (`distance`), and no pull where either region has no position at a layer (a region
    narrower than a deep layer's stride; the Gram loss does the same)."""
    layer_weights = "equal"  # w_l: the terms are already divided by s_l.

    def measure(self, features, mask=None):
        """The style's statistics at one layer (inside `mask`), or None."""
        style = _style_region(features, mask)
        return None if style is None else self.statistics(*style, like=features)

    def compare(self, target, features, mask=None):
        """E_l of the output's features (inside `mask`) against `target`."""
        region = losses.positions(features, mask)
        if target is None or region is None:
            return losses.vanished(features)
        return self.distance(target, *region)


class MeanStd(StyleStatistics):
    """Each channel's mean and standard deviation (Li et al. 2017, batch-normalisation
    statistics): E_l = 1/N Σ_c ((μ_c - μ̂_c)² + (σ_c - σ̂_c)²) / s_l.

    σ_c = √(Var_p f_c + ε s_l): ε keeps the gradient finite where a channel is constant
    (a ReLU that never fires in the region).
    """
    name = "mean_std"

    def statistics(self, values, q, like):
        scale = _scale(values, q)
        mean = q @ values
        std = np.sqrt(q @ np.square(values - mean) + EPSILON * scale)
        return {"mean": _tensor(mean, like), "std": _tensor(std, like), "scale": scale}

    def distance(self, target, *region):
        flat, p = _probabilities(region)
        mean = weighted_mean(flat, p)
        variance = weighted_mean(ops.square(flat - mean), p)
        std = ops.sqrt(variance + EPSILON * target["scale"])
        return ops.mean(ops.square(mean - target["mean"])
                        + ops.square(std - target["std"])) / target["scale"]


class LinearMMD(StyleStatistics):
    """The squared MMD with the linear kernel k(x, y) = xᵀy (Li et al. 2017), divided by
    N (their normalisation for this kernel) and s_l: E_l = |μ - μ̂|² / (N s_l).

    With a linear kernel the MMD's three means of kernel values (`mmd_squared`) collapse
    to the squared distance between the mean activation vectors: only first moments are
    matched, at the cost of a mean.
    """
    name = "mmd_linear"

    def statistics(self, values, q, like):
        return {"mean": _tensor(q @ values, like), "scale": _scale(values, q)}

    def distance(self, target, *region):
        flat, p = _probabilities(region)
        return ops.mean(ops.square(weighted_mean(flat, p) - target["mean"])) / target["scale"]


def mmd_squared(x, y, kernel="polynomial", x_weights=None, y_weights=None, degree=2,
                offset=0.0, bandwidth=None):
    """The (biased) squared maximum mean discrepancy between two weighted samples, the
    form in which Li et al. 2017 write style losses:

        MMD² = Σ_ij p_i p_j k(x_i, x_j) + Σ_ij q_i q_j k(y_i, y_j) - 2 Σ_ij p_i q_j k(x_i, y_j).

    With k(x, y) = (xᵀy)² this is Σ (Ĝ_x - Ĝ_y)², N² times Gatys' loss in this suite's
    normalisation (`losses.style_loss`): the Gram loss is this MMD. It costs M² kernel
    values, so the style losses use closed forms (`LinearMMD`); this is the definition
    they are tested against.

    Args:
        x: (M, N) samples (activation vectors); y: (M', N).
        kernel: "linear" (xᵀy), "polynomial" ((xᵀy + offset)^degree) or "gaussian"
            (exp(-|x - y|² / (2 bandwidth²)); bandwidth default: the root of the mean
            squared distance between the samples of x and y).
        x_weights, y_weights: weights summing to 1, or None for equal.
    """
    def gram(a, b):
        inner = ops.matmul(a, ops.transpose(b))
        if kernel == "linear":
            return inner
        if kernel == "polynomial":
            return ops.power(inner + offset, degree)
        squared = (ops.sum(ops.square(a), axis=1)[:, None] + ops.sum(ops.square(b), axis=1)
                   - 2.0 * inner)
        return ops.exp(-squared / (2.0 * width2))

    def expectation(a, b, wa, wb):
        values = gram(a, b)
        wa = ops.full((a.shape[0],), 1.0 / a.shape[0], values.dtype) if wa is None else wa
        wb = ops.full((b.shape[0],), 1.0 / b.shape[0], values.dtype) if wb is None else wb
        return ops.sum(ops.cast(wa, values.dtype)[:, None] * values
                       * ops.cast(wb, values.dtype)[None, :])

    if kernel not in ("linear", "polynomial", "gaussian"):
        raise ValueError(f"kernel {kernel!r}: use linear, polynomial or gaussian")
    x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    width2 = None
    if kernel == "gaussian":
        width2 = bandwidth ** 2 if bandwidth else ops.mean(
            ops.sum(ops.square(x), 1)[:, None] + ops.sum(ops.square(y), 1)
            - 2.0 * ops.matmul(x, ops.transpose(y)))
    return (expectation(x, x, x_weights, x_weights) + expectation(y, y, y_weights, y_weights)
            - 2.0 * expectation(x, y, x_weights, y_weights))


def trace_sqrt_product(covariance, root):
    """tr((R C R)^½) for a symmetric positive semi-definite C and a constant R, with the
    gradient ½ R (R C R)^-½ R.

    The square root is taken by a symmetric eigendecomposition, once per evaluation; the
    gradient reuses it, where differentiating through the eigenvectors would divide by
    the gaps between eigenvalues. (crowsonkb's code takes the square root by 12
    Newton-Schulz iterations instead: on our CPUs one eigendecomposition of a 512 x 512
    matrix costs less than those 36 products, and it is exact.) Eigenvalues below 1e-10
    of the largest are floored there, in the gradient only.
    """
    root = ops.convert_to_tensor(root, covariance.dtype)

    @ops.custom_gradient
    def trace_sqrt(matrix):
        product = ops.matmul(ops.matmul(root, matrix), root)
        product = (product + ops.transpose(product)) / 2.0
        eigenvalues, eigenvectors = ops.eigh(product)
        eigenvalues = ops.maximum(eigenvalues, 0.0)
        value = ops.sum(ops.sqrt(eigenvalues))

        def gradient(*args, upstream=None):
            upstream = args[0] if upstream is None else upstream
            floor = ops.maximum(ops.max(eigenvalues), 1e-30) * 1e-10
            inverse_root = ops.matmul(eigenvectors / ops.sqrt(ops.maximum(eigenvalues, floor)),
                                      ops.transpose(eigenvectors))
            return upstream * 0.5 * ops.matmul(ops.matmul(root, inverse_root), root)
        return value, gradient
    return trace_sqrt(covariance)


class Wasserstein(StyleStatistics):
    """The Wasserstein-2 distance between Gaussians with the two distributions' means and
    covariances (Dowson & Landau 1982; Givens & Shortt 1984), as
    crowsonkb/style-transfer-pytorch (StyleLossW2) uses it for style:

        W2² = |μ - μ̂|² + tr Σ + tr Σ̂ - 2 tr((Σ̂^½ Σ Σ̂^½)^½),   E_l = W2² / (N s_l).

    Σ̂^½ is computed once, on the host, in float64 (`measure`); the trace of the square
    root and its gradient by `trace_sqrt_product`. ε s_l I is added to both covariances
    (crowsonkb adds 1e-4 I to his) so that a channel that never fires keeps a finite
    gradient.
    """
    name = "wasserstein"

    def statistics(self, values, q, like):
        scale = _scale(values, q)
        mean = q @ values
        centred = values - mean
        covariance = (centred * q[:, None]).T @ centred + EPSILON * scale * np.eye(len(mean))
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)
        root = (eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))) @ eigenvectors.T
        return {"mean": _tensor(mean, like), "root": _tensor(root, like),
                "trace": float(np.trace(covariance)), "scale": scale}

    def distance(self, target, *region):
        flat, p = _probabilities(region)
        mean = weighted_mean(flat, p)
        channels = flat.shape[1]
        covariance = (weighted_covariance(flat, p, mean)
                      + EPSILON * target["scale"] * ops.eye(channels, dtype=flat.dtype))
        distance = (ops.sum(ops.square(mean - target["mean"])) + ops.trace(covariance)
                    + target["trace"]
                    - 2.0 * trace_sqrt_product(covariance, target["root"]))
        return distance / (channels * target["scale"])


def _quantile_table(values, q, levels):
    """The weighted quantile function of each column of `values` (M, P) at `levels`:
    (P, len(levels)), the value below which a share u of the weight lies (each sample
    holds its weight's interval; its value is read at the interval's middle, linearly
    between samples)."""
    order = np.argsort(values, axis=0, kind="stable")
    table = np.empty((values.shape[1], len(levels)))
    for column in range(values.shape[1]):
        sorted_values = values[order[:, column], column]
        weights = q[order[:, column]]
        middles = np.cumsum(weights) - weights / 2.0
        table[column] = np.interp(levels, middles, sorted_values)
    return table


def _uniform_levels(count):
    return (np.arange(count) + 0.5) / count


def _read_table(table, levels):
    """Each row of `table` (P, G), the quantile function at levels (j + ½)/G, read at
    `levels` (M,) or (P, M), linearly between neighbouring levels."""
    size = table.shape[1]
    table = backend.unfolded(table)  # Read at run time, not while compiling.
    position = ops.clip(levels * size - 0.5, 0.0, size - 1.0)
    below = ops.floor(position)
    fraction = position - below
    below = ops.cast(below, "int32")
    above = ops.minimum(below + 1, size - 1)
    if len(levels.shape) == 1:
        low, high = ops.take(table, below, axis=1), ops.take(table, above, axis=1)
    else:
        low = ops.take_along_axis(table, below, axis=1)
        high = ops.take_along_axis(table, above, axis=1)
    return low + fraction * (high - low)


class SlicedWasserstein(StyleStatistics):
    """The sliced Wasserstein loss of Heitz et al. 2021 (Eq. 6-8): the mean over P random
    unit directions v of the 1-D Wasserstein-2 distance between the projections vᵀf of
    the output's and the style's activations,

        E_l = 1/P Σ_v Σ_k p_k (vᵀf_(k) - Q̂_v(u_k))² / s_l,

    where vᵀf_(k) is the output's k-th smallest projection, u_k the middle of its share of
    the weight ((k + ½)/M without a mask), and Q̂_v the style's quantile function along
    v. Sorting makes this exact: in 1-D the optimal transport matches values in order,
    and the gradient, 2 p_k (vᵀf_(k) - Q̂_v(u_k)) v at each sorted position, is the one
    the sort passes back.

    Where the paper leaves a choice:
    - P = N directions per layer, as in Heitz et al.
    - Heitz et al. draw new directions at every step of their optimiser. L-BFGS's line
      search and curvature pairs need one objective across the evaluations of a step,
      so the directions here are drawn once per run (seeded by `seed`) and kept: a
      fixed set of N random directions, different at each layer.
    - The style's quantile functions are kept at QUANTILES levels (all of its positions
      where it has fewer), read linearly between levels, so that a style and an output
      of different sizes compare directly.
    """
    name = "sliced_wasserstein"

    def __init__(self, seed=0):
        self.seed = seed

    def directions(self, channels):
        """(N, P) unit directions for a layer of N channels, the same for every target."""
        rng = np.random.default_rng([self.seed, channels])
        directions = rng.standard_normal((channels, channels))
        return directions / np.linalg.norm(directions, axis=0, keepdims=True)

    def statistics(self, values, q, like):
        directions = self.directions(values.shape[1])
        projected = values if directions is None else values @ directions
        levels = _uniform_levels(min(len(values), QUANTILES))
        statistics = {"quantiles": _tensor(_quantile_table(projected, q, levels), like),
                      "scale": _scale(values, q)}
        return statistics | ({} if directions is None else
                             {"directions": _tensor(directions, like)})

    def distance(self, target, flat, weights, total):
        projected = ops.transpose(flat if "directions" not in target else
                                  ops.matmul(flat, target["directions"]))  # (P, M)
        count = projected.shape[1]
        if weights is None:
            ordered = ops.sort(projected, axis=1)
            if target["quantiles"].shape[1] == count:  # The style's own levels.
                matched = target["quantiles"]
            else:
                matched = _read_table(target["quantiles"],
                                      ops.convert_to_tensor(_uniform_levels(count),
                                                            projected.dtype))
            return ops.mean(ops.square(ordered - matched)) / target["scale"]
        order = ops.argsort(projected, axis=1)
        ordered = ops.take_along_axis(projected, order, axis=1)
        p = ops.take(ops.convert_to_tensor(weights / total, projected.dtype), order)  # (P, M)
        levels = ops.cumsum(p, axis=1) - p / 2.0
        matched = _read_table(target["quantiles"], levels)
        return ops.mean(ops.sum(p * ops.square(ordered - matched), axis=1)) / target["scale"]


class Histogram(SlicedWasserstein):
    """The histogram loss of Risser, Wilmot & Barnes 2017 (Sec. 4.2): each channel of the
    output is remapped to the style's histogram, R(f) (histogram matching), and

        E_l = 1/N Σ_c Σ_k p_k (f_kc - R(f_kc))² / s_l.

    Where the paper leaves a choice: Risser et al. match 256-bin histograms and hold R
    constant in the gradient, f - R(f). Here R is exact: f's rank in its channel, sorted,
    read off the style's quantile function (the limit of ever finer bins). Then E_l is
    the 1-D Wasserstein-2 distance of each channel, `SlicedWasserstein` along the N
    channel axes, and f - R(f) is its exact gradient, so L-BFGS's line search sees the
    loss it minimises. (With 256 bins and R held, the value and the gradient disagree
    inside a bin; on an H100 L-BFGS then spent 150 ms an iteration on 4 ms evaluations,
    measured, where the other losses spend 9.) Risser et al. add this loss to the Gram
    loss (`GramHistogram`); here it is alone, so that the figure shows what it does by
    itself.
    """
    name = "histogram"

    def directions(self, channels):
        """None: the channel axes themselves, no projection."""
        return None


class GramHistogram:
    """The Gram loss and the histogram loss (Sec. 4.2) at every style layer, as Risser,
    Wilmot & Barnes 2017 combine them: the Gram term for the channels' correlations, the
    histogram term for each channel's distribution, which a Gram matrix leaves free (two
    very different distributions can share one: the instability they explain). The
    second author's texture code (pierre-wilmot/NeuralTextureSynthesis) adds the
    histogram term at the same five layers as the Gram term; so does this suite:

        E_l = E_l^gram / N_l² + ρ E_l^hist,

    E_l^gram Gatys' loss in this suite's normalisation (`losses.style_loss`) with its
    w_l = 1/N_l² folded in, E_l^hist `Histogram`'s. ρ = HISTOGRAM_SHARE weighs the
    histogram term as `histogram`'s default weighs it alone against `gram`'s (6e6 / 1e2),
    so at the default β = 1e2 each half pulls as hard as it does by itself, and the
    picture (docs/style_losses.md) decides β.
    """
    name = "gram_histogram"
    layer_weights = "equal"  # 1/N_l² is in the Gram half.
    # ρ: at its default β (Gram's), the histogram half gets histogram's own default.
    HISTOGRAM_SHARE = DEFAULT_STYLE_WEIGHTS["histogram"] / DEFAULT_STYLE_WEIGHTS["gram_histogram"]

    def __init__(self):
        self.histogram = Histogram()

    def measure(self, features, mask=None):
        """Â^l and the histogram's quantile tables of the style (or of its region), or
        None where the region has no position at this layer."""
        histogram = self.histogram.measure(features, mask)
        return None if histogram is None else {
            "gram": losses.GRAM.measure(features, mask), "histogram": histogram}

    def compare(self, target, features, mask=None):
        """E_l of the output (or of its region); no pull where either region has no
        position at this layer, as `StyleStatistics`."""
        if target is None or losses.positions(features, mask) is None:
            return losses.vanished(features)
        channels = float(features.shape[-1])
        return (losses.GRAM.compare(target["gram"], features, mask) / channels ** 2
                + self.HISTOGRAM_SHARE * self.histogram.compare(target["histogram"],
                                                                features, mask))


def style_statistics(name, seed=0):
    """The style loss called `name` (one of STYLE_LOSSES), for `StyleTarget`s.

    Args:
        name: the loss.
        seed: the seed of sliced_wasserstein's directions.
    """
    if name == "gram":
        return losses.GRAM
    kinds = {"mean_std": MeanStd, "mmd_linear": LinearMMD, "histogram": Histogram,
             "gram_histogram": GramHistogram, "wasserstein": Wasserstein}
    if name == "sliced_wasserstein":
        return SlicedWasserstein(seed)
    if name not in kinds:
        raise ValueError(f"style loss {name!r}: use one of {', '.join(STYLE_LOSSES)}")
    return kinds[name]()
