"""The losses of neural style transfer, written with `keras.ops` (any Keras backend).

Equation numbers are those of Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016 (arXiv:1508.06576 is the shorter 2015 version).
Notation: layer l has N_l filters, each a feature map of M_l = H_l * W_l positions;
F^l (M_l, N_l) are the activations of the image being generated, P^l those of the
content image, A^l the Gram matrix of the style image.

One normalisation, the same at every image size: every term is a mean. The content term
is a mean over the N_l M_l activations, a Gram matrix is a mean over the positions, the
style term a mean over the N_l² entries of the Gram matrix, and total variation a mean
over the pixels. A loss then weighs the same whether the image has 256 or 1024 pixels
across, so one set of weights serves every size and every stage of a coarse-to-fine run.
Each function's docstring gives the exact factor between the paper's form and ours.

Every function here is pure: tensors in, tensor out, sizes read from the tensors.
"""

import dataclasses

import numpy as np
from keras import ops

from style_transfer import masks, vgg


def positions(features, mask=None):
    """The positions a statistic of a layer is taken over, and their weights.

    A mask given as an array (as every technique's masks are) is read once, when the loss
    is traced: only the positions where it is not zero are gathered, so that k regions
    that partition the image cost one whole image, and a soft mask costs its support.

    Args:
        features: (H, W, C) activations of one layer.
        mask: (H, W) array of weights in [0, 1] at this layer's size, or None.

    Returns:
        (flat, weights, total): flat (M_r, C) the features at the region's positions,
        weights (M_r,) float64 NumPy weights or None where every weight is 1, and their
        sum; None when the region has no position at this layer (a region narrower than a
        deep layer's stride vanishes there).
    """
    flat = ops.reshape(features, (-1, ops.shape(features)[-1]))  # (M, C)
    if mask is None:
        return flat, None, float(flat.shape[0])
    weights = np.asarray(mask, np.float64).ravel()
    support = np.flatnonzero(weights > 0)
    if support.size == 0:
        return None
    if support.size < weights.size:
        flat = ops.take(flat, support, axis=0)  # (M_r, C): the region's positions.
    weights = weights[support]
    total = float(weights.sum())
    return flat, None if np.all(weights == 1.0) else weights, total


def vanished(features):
    """0 with a gradient: the style term of a region with no position at this layer."""
    return 0.0 * ops.sum(features[:1, :1])


def gram_matrix(features, mask=None):
    """Gram matrix per position, Ĝ^l = G^l / M_l: Gatys et al. 2016, Eq. 3, divided by M_l.

    G^l_ij = Σ_k F^l_ik F^l_jk sums over the M_l positions, so it grows with the image;
    Ĝ^l is the mean of F_k F_kᵀ over them, and images of different sizes compare like
    with like. With a mask m it is the Gram matrix of a region per unit of mask,
    Σ_k m_k F_k F_kᵀ / Σ_k m_k (spatial control, Gatys et al. 2017, arXiv:1611.07865,
    Sec. 4): a small region is styled as strongly as a large one. For a binary mask this
    is the Gram matrix of the features multiplied by the mask (m² = m); for a soft mask
    each weight enters once, keeping it a weighted mean of F_k F_kᵀ. A mask given as an
    array costs only its support (`positions`).

    Args:
        features: (H, W, C) activations of one layer.
        mask: (H, W) weights in [0, 1] at this layer's size (an array, or a tensor), or
            None.

    Returns:
        (C, C).
    """
    if mask is None or isinstance(mask, np.ndarray):
        region = positions(features, mask)
        if region is None:  # 0, with a gradient.
            channels = ops.shape(features)[-1]
            return vanished(features) * ops.zeros((channels, channels), features.dtype)
        flat, weights, total = region
        weighted = flat if weights is None else flat * ops.cast(weights[:, None], flat.dtype)
        return ops.matmul(ops.transpose(weighted), flat) / total
    flat = ops.reshape(features, (-1, ops.shape(features)[-1]))  # (M, C)
    weights = ops.reshape(ops.cast(mask, flat.dtype), (-1, 1))  # (M, 1)
    # A region narrower than a deep layer's stride vanishes there: its Gram is then 0,
    # not 0/0.
    total = ops.maximum(ops.sum(weights), 1e-12)
    return ops.matmul(ops.transpose(flat * weights), flat) / total


def content_loss(content_features, generated_features):
    """L_content as a mean: 1/(N_l M_l) Σ_ij (F^l_ij - P^l_ij)².

    Gatys et al. 2016, Eq. 1 is the sum ½ Σ_ij (F - P)²; ours is Eq. 1 times 2/(N_l M_l),
    the mean squared error of the reference code (leongatys/PytorchNeuralStyleTransfer).

    Args:
        content_features: (H, W, C) activations P^l of the content image.
        generated_features: (H, W, C) activations F^l of the image being optimised.
    """
    return ops.mean(ops.square(generated_features - content_features))


def style_loss(target_gram, generated_features, mask=None):
    """The style term of one layer as a mean over the N_l² entries: Σ_ij (Ĝ - Â)²_ij / N_l².

    With Ĝ = G/M and Â = A/M (`gram_matrix`), this is exactly 4 times Eq. 4 of Gatys et
    al. 2016, E_l = Σ_ij (G - A)²_ij / (4 N_l² M_l²). With a mask it compares the Gram
    matrix of the output's region (per unit of mask) with the target's.

    Args:
        target_gram: (C, C) Gram matrix per position Â^l of the style (or of a region).
        generated_features: (H, W, C) activations F^l of the image being optimised.
        mask: (H, W) weights of the output region at this layer, or None.
    """
    return ops.mean(ops.square(gram_matrix(generated_features, mask) - target_gram))


def total_variation_loss(image, beta=2.0):
    """Total variation as a mean over pixels: mean_ij,c ((x_i,j+1 - x_ij)² + (x_i+1,j - x_ij)²)^(β/2).

    Mahendran & Vedaldi, "Understanding Deep Image Representations by Inverting Them",
    2015 (arXiv:1412.0035), Eq. 5, R_V^β, over the (H-1)(W-1) pixels that have a right
    and a lower neighbour, per colour channel. Theirs is the sum; ours is the sum divided
    by 3 (H-1)(W-1). β = 2 is the usual smoothness prior; Champandard's neural-doodle
    uses β = 2.5 (its exponent 1.25 on the squared differences).

    Args:
        image: (H, W, 3) in [0, 255].
        beta: β.
    """
    across = image[:-1, 1:, :] - image[:-1, :-1, :]
    down = image[1:, :-1, :] - image[:-1, :-1, :]
    squared = ops.square(across) + ops.square(down)
    return ops.mean(squared if beta == 2.0 else ops.power(squared, beta / 2.0))


def half_sum_per_mean(height, width):
    """½ Σ of squared neighbour differences, the total variation of jcjohnson/neural-style's
    TVLoss (used by deep-photo and CNNMRF), divided by `total_variation_loss` (β = 2): the
    factor 1.5 (H-1)(W-1) that turns a weight on their sum into one on our mean."""
    return 1.5 * (height - 1) * (width - 1)


class GramStatistics:
    """The Gram matrix as "the style of a layer" (Gatys et al. 2016, Sec. 2.2): what a
    style target measures of the style image (`measure`) and how the output is compared
    with it (`compare`). The other statistics, and how to pick one, are in `style_losses`.
    """
    name = "gram"  # Its w_l are `ObjectiveSettings.LAYER_WEIGHTS`' default, 1/N_l².

    def measure(self, features, mask=None):
        """Â^l: the Gram matrix per position of the style (or of its region)."""
        return gram_matrix(features, mask)

    def compare(self, target, features, mask=None):
        """E_l of the output (or of its region) against Â^l (`style_loss`)."""
        return style_loss(target, features, mask)


GRAM = GramStatistics()


@dataclasses.dataclass(frozen=True)
class StyleTarget:
    """One style's statistics, pulled on over one region of the output.

    Attributes:
        statistics: layer -> the style image's statistic at that layer (or that of a
            region of it), computed once before optimising: the Gram matrix per position
            Â^l, or another statistic of `style_losses`.
        masks: layer -> (H_l, W_l) weights of the output region at that layer, or None
            for the whole image.
        weight: this target's share b of the style loss.
        area_weighted: also weigh each layer's term by the region's share of the output
            at that layer (the mean of its mask), as Luan et al.'s code does.
        style_loss: what the statistics are and how the output is compared with them
            (`GRAM`, or one of `style_losses.STYLE_LOSSES`).
    """
    statistics: dict
    masks: dict | None = None
    weight: float = 1.0
    area_weighted: bool = False
    style_loss: object = GRAM

    def loss(self, features, image, style_layer_weights):
        """Σ_l w_l E_l (Eq. 5) of this target, from the output's features."""
        del image  # Style statistics read the features only.
        total = 0.0
        for layer, statistic in self.statistics.items():
            mask = None if self.masks is None else self.masks[layer]
            term = style_layer_weights[layer] * self.style_loss.compare(
                statistic, features[layer], mask)
            if self.area_weighted and mask is not None:
                term = term * float(mask.mean())
            total = total + term
        return total


def features_of(model, image):
    """Runs the feature model on one RGB image (H, W, 3) in [0, 255]: layer -> (H, W, C)."""
    batch = model(vgg.preprocess(ops.convert_to_tensor(image, model.compute_dtype))[None])
    return {layer: value[0] for layer, value in batch.items()}


def checked_features(model, image, what):
    """`features_of`, refusing (before running it) an image too small for the model's
    deepest layer: max pooling of an empty map fails inside oneDNN, not with a message.

    Raises:
        ValueError: some layer would have no position (the message says which and what
            to do).
    """
    height, width = image.shape[:2]
    for layer in model.output:
        depth = vgg.pooling_depth(layer)
        if height >> depth == 0 or width >> depth == 0:
            raise ValueError(
                f"{what} ({width}x{height} px) is too small for layer {layer} (each network "
                f"block halves the size; relu5_x needs 16 px): use a larger size or style "
                f"scale, or shallower layers")
    return features_of(model, image)


def content_targets(model, content_image, content_layers):
    """Content features P^l (Gatys et al. 2016, Sec. 2.1), computed once."""
    features = checked_features(model, content_image, "the content image")
    return {layer: features[layer] for layer in content_layers}


def style_target(model, style_image, style_layers, *, style_masks=None, output_masks=None,
                 weight=1.0, area_weighted=False, style_loss=GRAM):
    """Style statistics Â^l of one style image (Sec. 2.2), computed once.

    Args:
        model: feature model from `vgg.feature_model`.
        style_image: (H_s, W_s, 3) RGB in [0, 255].
        style_layers: layers to compute the Gram matrices at.
        style_masks: layer -> mask of the style image's region to measure, or None for
            the whole style image.
        output_masks: layer -> mask of the output region it applies to, or None.
        weight: the target's share b of the style loss.
        area_weighted: see `StyleTarget`.
        style_loss: the statistics (`GRAM`, or one of `style_losses.STYLE_LOSSES`).
    """
    features = checked_features(model, style_image, "the style image")
    statistics = {layer: style_loss.measure(features[layer], None if style_masks is None
                                            else style_masks[layer])
                  for layer in style_layers}
    return StyleTarget(statistics, output_masks, weight, area_weighted, style_loss)


def masked_style_targets(model, style_images, output_masks, style_layers, style_loss=GRAM):
    """One `StyleTarget` per (style image, output mask) pair (Gatys et al. 2017, Sec. 4).

    Args:
        model: feature model.
        style_images: list of (H_s, W_s, 3) images; each is measured whole.
        output_masks: list of (H, W) masks at the output's size, one per style image.
        style_layers: layers of the style loss.
        style_loss: the statistics (`style_target`).
    """
    return [style_target(model, style, style_layers, style_loss=style_loss,
                         output_masks=masks.layer_masks(mask, style_layers))
            for style, mask in zip(style_images, output_masks)]


def region_style_targets(model, style_image, regions, style_layers, area_weighted=False,
                         style_loss=GRAM):
    """One `StyleTarget` per pair of map regions: Â_k^l measured inside style region k,
    pulled on inside content region k (Gatys et al. 2017, Sec. 4; Luan et al. 2017, Eq. 3).

    Args:
        model: feature model.
        style_image: (H_s, W_s, 3), the size of the style map.
        regions: `masks.RegionPairs` at the output's and the style's sizes.
        style_layers: layers of the style loss.
        area_weighted: weigh each region by its share of the output (Luan et al.'s code).
        style_loss: the statistics (`style_target`).
    """
    return [style_target(model, style_image, style_layers, style_loss=style_loss,
                         style_masks=masks.layer_masks(style_mask, style_layers),
                         output_masks=masks.layer_masks(output_mask, style_layers),
                         area_weighted=area_weighted)
            for output_mask, style_mask in regions.mask_pairs()]


@dataclasses.dataclass(frozen=True)
class Objective:
    """L = α L_content + β Σ_t b_t Σ_l w_l E_l^t + λ_tv TV (Gatys et al. 2016, Eq. 7), as
    numbers: the effective weights of a run, which its report records.

    Attributes:
        content_weight: α.
        style_weight: β.
        tv_weight: λ_tv (0 turns the prior off).
        content_layers: the layers of L_content (summed over).
        style_layer_weights: layer -> w_l (Eq. 5).
        tv_beta: β of the total variation prior.
    """
    content_weight: float
    style_weight: float
    tv_weight: float
    content_layers: tuple
    style_layer_weights: dict
    tv_beta: float = 2.0

    @property
    def style_layers(self):
        return list(self.style_layer_weights)

    @property
    def layers(self):
        """Every layer the objective reads, content first."""
        return list(dict.fromkeys(list(self.content_layers) + self.style_layers))

    def terms(self, features, image, content_features, style_targets):
        """The weighted terms "content", "style", "tv" and their sum "total".

        L_style = Σ_t b_t Σ_l w_l E_l^t (Eq. 5) over style targets t: several style
        images with blend weights b_t (each keeps its own Gram target: a weighted sum of
        the styles' losses, not a loss against an averaged Gram, as jcjohnson/neural-style
        does), or styles confined to regions (Gatys et al. 2017, Sec. 4). One forward
        pass serves every target.

        Args:
            features: layer -> (H_l, W_l, C_l) activations of `image`.
            image: (H, W, 3) the image being optimised, RGB in [0, 255].
            content_features: layer -> P^l, from `content_targets` ({} for no content).
            style_targets: targets with a `weight` and `loss(features, image,
                style_layer_weights)`: `StyleTarget`, or the patch targets of `patches`.
        """
        content = sum(content_loss(target, features[layer])
                      for layer, target in content_features.items())
        style = sum(target.weight * target.loss(features, image, self.style_layer_weights)
                    for target in style_targets)
        terms = {"content": self.content_weight * content,
                 "style": self.style_weight * style,
                 "tv": (self.tv_weight * total_variation_loss(image, self.tv_beta)
                        if self.tv_weight else 0.0 * ops.sum(image))}
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        return terms

    def to_json(self):
        return {"content_weight": self.content_weight, "style_weight": self.style_weight,
                "tv_weight": self.tv_weight, "tv_beta": self.tv_beta,
                "content_layers": list(self.content_layers),
                "style_layer_weights": dict(self.style_layer_weights)}
