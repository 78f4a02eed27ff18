"""The optimisation every Gatys-style script shares: Eq. 7 over the pixels, with L-BFGS.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR
2016, Sec. 2.3. What differs between the scripts is only which style targets they pull
on (whole images, masked regions, blended styles); see `losses.StyleTarget`.
"""

import dataclasses

from style_transfer import losses, optimize, patches, vgg


@dataclasses.dataclass(frozen=True)
class GatysSettings:
    """The weights and layers of Eq. 7, and the number of L-BFGS iterations.

    Attributes:
        content_layers: canonical names of the content layers (Gatys et al.: relu4_2).
        style_layer_weights: style layer -> w_l (Eq. 5).
        content_weight: α (Eq. 7).
        style_weight: β (Eq. 7).
        tv_weight: weight of the total variation prior.
        iterations: L-BFGS iterations.
    """
    content_layers: list
    style_layer_weights: dict
    content_weight: float
    style_weight: float
    tv_weight: float
    iterations: int

    @property
    def style_layers(self):
        return list(self.style_layer_weights)


def stylize(model, content_image, style_targets, init_image, settings, callback=None,
            numpy_terms=None):
    """Minimises L = α L_content + β L_style + λ_tv TV from `init_image` (Eq. 7).

    Args:
        model: feature model covering the content layers and the layers the style
            targets read from the whole output; None when nothing does (a doodle's
            sub-image targets run their own).
        content_image: (H, W, 3) RGB in [0, 255]; its features P^l are computed here,
            once. None for no content term (doodles).
        style_targets: list of `losses.StyleTarget`, computed once by the caller.
        init_image: (H, W, 3) starting image.
        settings: `GatysSettings`.
        callback: per-iteration callback for `optimize.lbfgs`.
        numpy_terms: extra loss terms computed outside TensorFlow (`optimize.lbfgs`).

    Returns:
        `optimize.Result`.
    """
    content_features = ({} if content_image is None or not settings.content_layers else
                        losses.content_targets(model, content_image, settings.content_layers))

    def total_loss(image):
        return losses.gatys_loss(
            {} if model is None else losses.features_of(model, image), image,
            content_features, style_targets,
            content_weight=settings.content_weight, style_weight=settings.style_weight,
            tv_weight=settings.tv_weight, style_layer_weights=settings.style_layer_weights)

    return optimize.lbfgs(total_loss, init_image, max_iterations=settings.iterations,
                          callback=callback, numpy_terms=numpy_terms)


def stylize_by_patches(model, content_image, style_image, content_map, style_map, pairs,
                       init_image, settings, patch_settings, callback=None):
    """Eq. 7 with region-wise patch style terms (`patches.py`) instead of Gram matrices.

    Args:
        model: feature model covering the content and style layers.
        content_image: (H, W, 3), or None for a doodle (no content term).
        style_image: (H_s, W_s, 3), the size of `style_map`.
        content_map, style_map: `masks.LabelMap`s of the output and of the style.
        pairs: [(content index, style index)] from `masks.pair_maps`.
        init_image: (H, W, 3) starting image, the size of `content_map`.
        settings: `GatysSettings`.
        patch_settings: `patches.PatchSettings`.
        callback: per-iteration callback.

    Returns:
        `optimize.Result`.
    """
    style_targets = patches.patch_targets(patch_settings, model, style_image, style_map,
                                          content_map, pairs, settings.style_layers)
    if not patches.needs_whole_output(style_targets):
        # Sub-images run the style layers themselves: the whole output runs only as
        # deep as the content layers, or not at all.
        has_content = content_image is not None and settings.content_layers
        model = vgg.sub_model(model, settings.content_layers) if has_content else None
    return stylize(model, content_image, style_targets, init_image, settings, callback)
