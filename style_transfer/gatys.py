"""Gatys et al.'s neural style transfer and its spatial controls, as library functions.

- `style_transfer`: L. A. Gatys, A. S. Ecker, M. Bethge, "Image Style Transfer Using
  Convolutional Neural Networks", CVPR 2016 (arXiv:1508.06576), with the controls of
  Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in Neural
  Style Transfer", CVPR 2017 (arXiv:1611.07865): several styles, colour, scale and
  coarse-to-fine.
- `multi_style`, `mask_style`, `region_style`: spatial control (Gatys et al. 2017,
  Sec. 4) with hard masks, soft masks, and colour-coded maps.

Defaults (`GatysSettings`): the objective of Gatys' own code for the original VGG19
network, the one Keras ships (leongatys/PytorchNeuralStyleTransfer,
NeuralStyleTransfer.ipynb; the "org" recipe of leongatys/NeuralImageSynthesis): content
as the mean squared error at relu4_2 with weight 1, and style as Σ_l β/N_l² times the
mean squared difference of the Gram matrices per position at relu1_1 ... relu5_1; the
network's max pooling; no total variation term; starting from the content image. In this
suite's normalisation (`losses`) that is α = 1 and w_l = 1/N_l², the same objective at
every image size. Two choices are this suite's own, from pictures on ImageNet weights
(docs/balance.md): β = 1e2 at 512 px, between the notebook's 1e3 and jcjohnson's 20; and
β scaled by (s/512)³ at a stage of longest side s, since the network's receptive fields
are fixed in pixels and the same β buries the content of a small image. (The paper's
α/β = 1e-3 and w_l = 1/5 were for a rescaled VGG19 and do not carry over.) Every
technique runs on VGG19 (default) or VGG16 (`network`).
"""

import dataclasses

import numpy as np

from style_transfer import color, images, losses, masks, memory, reporting, transfer
from style_transfer.parameters import ArgumentError, parameter, settings_from, takes
from style_transfer.transfer import GatysSettings, RegionSettings, as_list

@dataclasses.dataclass(frozen=True)
class StyleTransferSettings(GatysSettings):
    """`style_transfer`'s settings: Eq. 7 and the perceptual controls of Gatys et al. 2017."""
    style_blend_weights: tuple[float, ...] | None = parameter(
        None, "b_s: one weight per style image, normalised to sum 1; default equal.",
        low=0.0, group="method")
    preserve_color: str = parameter(
        "none", "Keep the content's colours (Gatys et al. 2017, Sec. 5): luminance (transfer "
        "on luminance, then the content's I and Q) or histogram (recolour the style to the "
        "content's colour mean and covariance first).", choices=color.PRESERVE_COLOR_MODES,
        group="method")
    histogram_method: str = parameter(
        "eigen", "With preserve_color histogram: eigen (A = Σc^½ Σs^-½, Image Analogies; "
        "Gatys' code) or cholesky (A = Lc Ls⁻¹).", choices=color.HISTOGRAM_METHODS,
        group="method")
    max_memory_gb: float | None = parameter(
        None, "Refuse a run predicted to need more memory than this; default: the memory "
        "available now.", positive=True, group="optimisation")


def blend_weights(num_styles, weights):
    """b_s normalised to sum 1; equal when none are given.

    Raises:
        ArgumentError: not one weight per style, or all zero.
    """
    numbers = list(weights) if weights else [1.0] * num_styles
    if len(numbers) != num_styles or not sum(numbers) > 0:
        raise ArgumentError("style_blend_weights", f"{len(numbers)} values for {num_styles} "
                            f"style images; give one weight >= 0 per style, not all 0")
    return [w / sum(numbers) for w in numbers]


def estimate(content, **options):
    """The predicted peak memory and seconds per iteration of `style_transfer` at each of
    its sizes, without running it (`memory.predict`)."""
    settings = settings_from(StyleTransferSettings, options)
    content_image = images.as_image(content, "content")
    return memory.predict(settings.feature_model(), content_image.shape, settings.sizes(),
                          settings.optimizer)


@takes(StyleTransferSettings)
def style_transfer(content, style, *, progress="bar", **options):
    """Gatys et al.'s neural style transfer, with the perceptual controls of 2017.

    Starting from the content photograph, the pixels change until the image has the
    photograph's activations at the content layers and the painting's Gram matrices at
    the style layers: L = α L_content + β Σ_s b_s Σ_l w_l E_l(a_s) + λ_tv TV (Eq. 7).

    Args:
        content: the photograph p: a path, a PIL image or an array (`images.as_image`).
        style: the painting a, or a list of paintings (blended with style_blend_weights).
        progress: "bar" (default), None, or `progress(step, stage, num_iterations)`.
        **options: `StyleTransferSettings` fields (size, iterations, content_weight, ...).

    Returns:
        `transfer.Result`.

    Raises:
        ArgumentError: a bad argument (the message names it); ValueError: an unusable
            image (named), or a run predicted not to fit in memory.
    """
    settings = settings_from(StyleTransferSettings, options)
    content_image = images.as_image(content, "content")
    style_images = [images.as_image(s, "style") for s in as_list(style)]
    blend = blend_weights(len(style_images), settings.style_blend_weights)  # b_s
    model = settings.feature_model()  # The network to the deepest layer used (Sec. 2).
    predictions = memory.predict(model, content_image.shape, settings.sizes(),
                                 settings.optimizer)
    memory.refuse_if_too_large(predictions, settings.max_memory_gb)
    objective = settings.objective(model)  # α, β, λ_tv, w_l (Eq. 7).
    statistics = settings.style_statistics()  # Gram matrices, or `style_losses`.

    def preserve_color(content_at, styles_at):
        if settings.preserve_color == "histogram":  # Recolour the style (2017, Sec. 5.1).
            styles_at = [color.match_color_histogram(s, content_at, settings.histogram_method)
                         for s in styles_at]
        elif settings.preserve_color == "luminance":  # Luminance only (2017, Sec. 5.2).
            styles_at = [color.match_luminance(s, content_at) for s in styles_at]
            content_at = color.luminance_image(content_at)
        return content_at, styles_at

    def style_targets(canvas, styles_at):  # A^l of each style, weighed b_s.
        return [losses.style_target(model, s, settings.style_layers, weight=b,
                                    style_loss=statistics)
                for s, b in zip(styles_at, blend)]

    stages = transfer.run_stages(settings, model, content_image, style_images, style_targets,
                                 progress, objective=objective,
                                 content_image=content_image, prepare=preserve_color)
    image = stages[-1].result.image
    if settings.preserve_color == "luminance":  # The result's luminance, the content's I, Q.
        image = color.with_content_chroma(image, images.resize(content_image, *image.shape[:2]))
    return transfer.Result(image, "style_transfer", settings, stages, model.weights_source,
                           {"predicted": predictions})


def styles_in_masks(technique, content, styles, style_masks, hard, progress, options):
    """Several styles, each pulling on the output inside its own mask (Gatys et al. 2017,
    Sec. 4): `multi_style` (hard masks) and `mask_style` (soft masks) in one place."""
    settings = settings_from(GatysSettings, options)
    content_image = images.as_image(content, "content")
    style_images = [images.as_image(s, "style") for s in as_list(styles)]
    sources = as_list(style_masks)
    if len(sources) != len(style_images):
        raise ArgumentError("style_masks", f"{len(sources)} masks for {len(style_images)} "
                                           f"style images; give one mask per style")
    model = settings.feature_model()
    objective = settings.objective(model)
    names = [images.describe(s, f"style {k}") for k, s in enumerate(as_list(styles))]
    coverage = None

    def style_targets(canvas, styles_at):
        nonlocal coverage
        region_masks = [masks.load_mask(source, *canvas.shape[:2], "style_masks")
                        for source in sources]
        if hard:  # Regions R_r: masks thresholded at one half.
            region_masks = [(mask > 0.5).astype(np.float32) for mask in region_masks]
        if coverage is None:
            coverage = masks.coverage_line(region_masks, names)
            reporting.note(progress, coverage)
        # One target per (style, mask): Â_s^l of the style, Ĝ_s^l over its mask.
        return losses.masked_style_targets(model, styles_at, region_masks,
                                           settings.style_layers,
                                           settings.style_statistics())

    stages = transfer.run_stages(settings, model, content_image, style_images, style_targets,
                                 progress, objective=objective,
                                 content_image=content_image)
    return transfer.Result(stages[-1].result.image, technique, settings, stages,
                           model.weights_source, {"coverage": coverage})


@takes(GatysSettings)
def multi_style(content, styles, style_masks, *, progress="bar", **options):
    """Several styles in one image, each confined to its own hard region (Gatys et al.
    2017, Sec. 4): masks are thresholded at one half; pixels in no mask keep only the
    content loss.

    Args:
        content: the photograph (path, PIL image or array).
        styles: the style images, one per mask.
        style_masks: one mask per style (white where that style goes).
        progress, **options: as `style_transfer` (`GatysSettings` fields).

    Returns:
        `transfer.Result`.
    """
    return styles_in_masks("multi_style", content, styles, style_masks, True, progress,
                           options)


@takes(GatysSettings)
def mask_style(content, styles, style_masks, *, progress="bar", **options):
    """Styles weighted per pixel by soft masks (Gatys et al. 2017, Sec. 4): a pixel pulls
    towards style s in proportion to m_s; masks may overlap and fade into each other.

    Args: as `multi_style`; masks are weights in [0, 1] (grey values are partial).
    """
    return styles_in_masks("mask_style", content, styles, style_masks, False, progress,
                           options)


@takes(RegionSettings)
def region_style(content, style, content_map, style_map, *, progress="bar", **options):
    """Colour-coded maps: region k of the output takes the style of region k of the
    painting (Gatys et al. 2017, Sec. 4, with Champandard's and Luan et al.'s maps).

    Args:
        content, style: the photograph and the painting.
        content_map, style_map: their colour-coded maps (paths, PIL images or arrays).
        progress, **options: as `style_transfer` (`RegionSettings` fields).

    Returns:
        `transfer.Result`; its details name the paired colours and those in one map only.
    """
    settings = settings_from(RegionSettings, options)
    content_image = images.as_image(content, "content")
    style_image = images.as_image(style, "style")
    model = settings.feature_model()
    objective = settings.objective(model)
    summary = {}

    def style_targets(canvas, styles_at):
        regions = masks.pair_regions(content_map, style_map, canvas.shape, styles_at[0].shape,
                                     tolerance=settings.map_tolerance)
        transfer.note_regions_once(progress, summary, regions)
        # One target per shared colour k: Â_k^l inside style region k, Ĝ_k^l inside k.
        return losses.region_style_targets(model, styles_at[0], regions,
                                           settings.style_layers,
                                           style_loss=settings.style_statistics())

    stages = transfer.run_stages(settings, model, content_image, [style_image], style_targets,
                                 progress, objective=objective,
                                 content_image=content_image)
    return transfer.Result(stages[-1].result.image, "region_style", settings, stages,
                           model.weights_source, summary)


