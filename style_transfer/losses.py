"""The losses of neural style transfer, written with `keras.ops` (any Keras backend).

Equation numbers are those of Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016 (arXiv:1508.06576 is the shorter 2015 version).
Notation: layer l has N_l filters, each a feature map of M_l = H_l * W_l positions;
F^l (M_l, N_l) are the activations of the image being generated, P^l those of the
content image, A^l the Gram matrix of the style image.

Every function here is pure: tensors in, tensor out, sizes read from the tensors.
"""

import dataclasses

from keras import ops

from style_transfer import masks, vgg


def gram_matrix(features):
    """Gram matrix G^l_ij = Σ_k F^l_ik F^l_jk (Gatys et al. 2016, Eq. 3).

    Args:
        features: (H, W, C) activations of one layer.

    Returns:
        (C, C) un-normalised Gram matrix (a sum over the H*W positions).
    """
    flat = ops.reshape(features, (-1, ops.shape(features)[-1]))  # (M, N)
    return ops.matmul(ops.transpose(flat), flat)


def content_loss(content_features, generated_features):
    """Content term L_content = 1/2 Σ_ij (F^l_ij - P^l_ij)² (Gatys et al. 2016, Eq. 1).

    Args:
        content_features: (H, W, C) activations P^l of the content image.
        generated_features: (H, W, C) activations F^l of the image being optimised.
    """
    return 0.5 * ops.sum(ops.square(generated_features - content_features))


def style_loss(style_gram, generated_features):
    """Style term E_l = 1/(4 N_l² M_l²) Σ_ij (G^l_ij - A^l_ij)² (Gatys et al. 2016, Eq. 4).

    Computed as Σ (G/M - A/M)² / (4 N²) by `masked_style_loss`, the same number with
    float32-friendly magnitudes (G grows with M times the squared activations).

    Args:
        style_gram: (C, C) Gram matrix A^l of the style image, summed over as many
            positions as the generated image has.
        generated_features: (H, W, C) activations F^l of the image being optimised.
    """
    height, width, _ = ops.shape(generated_features)
    return masked_style_loss(style_gram / float(height * width), generated_features)


def mean_gram_matrix(features, mask=None):
    """Gram matrix per position, over the whole image or a (soft) region of it.

    Without a mask this is G^l / M_l, Eq. 3 divided by the number of positions, so
    images of different sizes compare like with like. With a mask it is
    Σ_k m_k F_ik F_jk / Σ_k m_k: the Gram matrix of the region, normalised by the mask's
    sum rather than the pixel count, so a small region is styled as strongly as a large
    one (spatial control, Gatys et al. 2017, arXiv:1611.07865, Sec. 4). For a binary
    mask this is the Gram matrix of the features multiplied by the mask (m² = m); for
    soft masks each weight enters once, keeping it a weighted mean of F_k F_kᵀ.

    Args:
        features: (H, W, C).
        mask: (H, W) weights in [0, 1] at this layer's size, or None.

    Returns:
        (C, C).
    """
    flat = ops.reshape(features, (-1, ops.shape(features)[-1]))  # (M, C)
    if mask is None:
        return ops.matmul(ops.transpose(flat), flat) / float(flat.shape[0])
    weights = ops.reshape(ops.cast(mask, flat.dtype), (-1, 1))  # (M, 1)
    # A region narrower than a deep layer's stride vanishes there: its Gram is then 0,
    # not 0/0.
    total = ops.maximum(ops.sum(weights), 1e-12)
    return ops.matmul(ops.transpose(flat * weights), flat) / total


def masked_style_loss(target_gram, generated_features, mask=None):
    """Style term of one layer, over the image or a region: Σ_ij (Ĝ_ij - Â_ij)² / (4 N²).

    Ĝ and Â are `mean_gram_matrix` values. Without a mask and with Â = A/M this is
    exactly Eq. 4 of Gatys et al. 2016: Σ (G/M - A/M)² / (4 N²) = Σ (G - A)² / (4 N² M²).

    Args:
        target_gram: (C, C) mean Gram matrix Â^l of the style (or of a style region).
        generated_features: (H, W, C) activations of the image being optimised.
        mask: (H, W) weights of the output region at this layer, or None.
    """
    channels = float(ops.shape(generated_features)[-1])
    difference = mean_gram_matrix(generated_features, mask) - target_gram
    return ops.sum(ops.square(difference)) / (4.0 * channels ** 2)


def total_variation_loss(image):
    """Total variation Σ_ij (x_i,j+1 - x_ij)² + (x_i+1,j - x_ij)², summed over channels.

    Mahendran & Vedaldi, "Understanding Deep Image Representations by Inverting Them",
    2015 (arXiv:1412.0035), Eq. 5 with β = 2, the smoothness prior that Gatys-style
    implementations add. Differences are taken between neighbours inside the image only.

    Args:
        image: (H, W, 3).
    """
    vertical = image[1:, :, :] - image[:-1, :, :]
    horizontal = image[:, 1:, :] - image[:, :-1, :]
    return ops.sum(ops.square(vertical)) + ops.sum(ops.square(horizontal))


@dataclasses.dataclass(frozen=True)
class StyleTarget:
    """One style's statistics, pulled on over one region of the output.

    Attributes:
        grams: layer -> (C_l, C_l) mean Gram matrix Â^l of the style image (or of a
            region of it), computed once before optimising.
        masks: layer -> (H_l, W_l) weights of the output region at that layer, or None
            for the whole image.
        weight: this target's share b of the style loss.
    """
    grams: dict
    masks: dict | None = None
    weight: float = 1.0

    def loss(self, features, image, style_layer_weights):
        """Σ_l w_l E_l (Eq. 5) of this target, from the output's features."""
        del image  # Gram targets read the features only.
        return sum(style_layer_weights[layer] * masked_style_loss(
            gram, features[layer], None if self.masks is None else self.masks[layer])
            for layer, gram in self.grams.items())


def features_of(model, image):
    """Runs the feature model on one RGB image (H, W, 3) in [0, 255]: layer -> (H, W, C)."""
    batch = model(vgg.preprocess(ops.convert_to_tensor(image, model.compute_dtype))[None])
    return {layer: value[0] for layer, value in batch.items()}


def _checked_features(model, image, what):
    features = features_of(model, image)
    for layer, value in features.items():
        if value.shape[0] == 0 or value.shape[1] == 0:
            raise ValueError(
                f"{what} ({image.shape[1]}x{image.shape[0]} px) is too small for layer "
                f"{layer} (each VGG19 block halves the size; relu5_x needs 16 px): use a "
                f"larger --size or --style_scale, or shallower layers")
    return features


def content_targets(model, content_image, content_layers):
    """Content features P^l (Gatys et al. 2016, Sec. 2.1), computed once.

    Raises:
        ValueError: the image is too small for the model's deepest layer.
    """
    features = _checked_features(model, content_image, "the content image")
    return {layer: features[layer] for layer in content_layers}


def style_target(model, style_image, style_layers, *, style_masks=None, output_masks=None,
                 weight=1.0):
    """Style statistics Â^l of one style image (Sec. 2.2), computed once.

    Args:
        model: feature model from `vgg.feature_model`.
        style_image: (H_s, W_s, 3) RGB in [0, 255].
        style_layers: layers to compute the Gram matrices at.
        style_masks: layer -> mask of the style image's region to measure, or None for
            the whole style image.
        output_masks: layer -> mask of the output region it applies to, or None.
        weight: the target's share b of the style loss.

    Raises:
        ValueError: the image is too small for the model's deepest layer.
    """
    features = _checked_features(model, style_image, "the style image")
    grams = {layer: mean_gram_matrix(features[layer],
                                     None if style_masks is None else style_masks[layer])
             for layer in style_layers}
    return StyleTarget(grams, output_masks, weight)


def masked_style_targets(model, style_images, output_masks, style_layers):
    """One `StyleTarget` per (style image, output mask) pair (Gatys et al. 2017, Sec. 4).

    Args:
        model: feature model.
        style_images: list of (H_s, W_s, 3) images; each is measured whole.
        output_masks: list of (H, W) masks at the output's size, one per style image.
        style_layers: layers of the style loss.
    """
    return [style_target(model, style, style_layers,
                         output_masks=masks.layer_masks(mask, style_layers))
            for style, mask in zip(style_images, output_masks)]


def region_style_targets(model, style_image, content_map, style_map, pairs, style_layers):
    """One `StyleTarget` per pair of map regions: Â_k^l measured inside style region k,
    pulled on inside content region k (Gatys et al. 2017, Sec. 4; Luan et al. 2017, Eq. 3).

    Args:
        model: feature model.
        style_image: (H_s, W_s, 3), the size of `style_map`.
        content_map, style_map: `masks.LabelMap`s at the output's and the style's size.
        pairs: [(content index, style index)] from `masks.pair_maps`.
        style_layers: layers of the style loss.
    """
    return [style_target(model, style_image, style_layers,
                         style_masks=masks.layer_masks(style_map.mask(s), style_layers),
                         output_masks=masks.layer_masks(content_map.mask(c), style_layers))
            for c, s in pairs]


def gatys_loss(features, image, content_features, style_targets, *, content_weight,
               style_weight, tv_weight, style_layer_weights):
    """Total loss L = α L_content + β L_style + λ_tv L_tv (Gatys et al. 2016, Eq. 7).

    L_style = Σ_t b_t Σ_l w_l E_l^t (Eq. 5) over style targets t: several style images
    with blend weights b_t (each keeps its own Gram target: a weighted sum of the
    styles' losses, not a loss against an averaged Gram, as jcjohnson/neural-style
    does), or styles confined to regions by masks (Gatys et al. 2017, Sec. 4). One
    forward pass serves every target. L_content is summed over the content layers.

    Args:
        features: layer -> (H_l, W_l, C_l) activations of `image`.
        image: (H, W, 3) the image being optimised, RGB in [0, 255].
        content_features: layer -> P^l, from `content_targets`.
        style_targets: list of `StyleTarget`, or of any target with the same `weight`
            and `loss(features, image, style_layer_weights)` (`patches.py`).
        content_weight: α.
        style_weight: β.
        tv_weight: weight of the total variation prior (0 turns it off).
        style_layer_weights: layer -> w_l.

    Returns:
        dict with the weighted terms "content", "style", "tv" and their sum "total".
    """
    content = sum(content_loss(target, features[layer])
                  for layer, target in content_features.items())
    style = sum(target.weight * target.loss(features, image, style_layer_weights)
                for target in style_targets)
    terms = {"content": content_weight * content,
             "style": style_weight * style,
             "tv": tv_weight * total_variation_loss(image)}
    terms["total"] = terms["content"] + terms["style"] + terms["tv"]
    return terms
