"""Gatys et al.'s neural style transfer and its spatial controls, as library functions.

- `style_transfer`: L. A. Gatys, A. S. Ecker, M. Bethge, "Image Style Transfer Using
  Convolutional Neural Networks", CVPR 2016 (arXiv:1508.06576), with the controls of
  Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual Factors in Neural
  Style Transfer", CVPR 2017 (arXiv:1611.07865): several styles, colour, scale and
  coarse-to-fine.
- `multi_style`, `mask_style`, `region_style`: spatial control (Gatys et al. 2017,
  Sec. 4) with hard masks, soft masks, and colour-coded maps.
- `masked_transfer`: a stylised image composited through a mask (no optimisation).

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
import os
import typing

import numpy as np

from style_transfer import color, images, losses, masks, memory, reporting, transfer, vgg
from style_transfer.parameters import ArgumentError, parameter, settings_from, takes

_LAYER = vgg.canonical_layer_name


@dataclasses.dataclass(frozen=True)
class ObjectiveSettings:
    """Eq. 7 of Gatys et al. 2016 and its loss network: what every technique that
    measures images with a feature network shares (defaults: Gatys' recipe, module docstring)."""
    content_weight: float = parameter(
        1.0, "α: content weight (Gatys et al. 2016, Eq. 7), on the mean squared error of "
        "the content layers' activations.", low=0.0, group="objective")
    # β: this suite's choice, 1e2 at 512 px, judged on ImageNet VGG16 pictures (docs/
    # balance.md): Gatys' notebook's 1e3 (from the content) and jcjohnson's 20 (from
    # noise), both for VGG19 in this normalisation, bracket it.
    style_weight: float = parameter(
        1e2, "β: style weight (Eq. 7), on Σ_l w_l mean((Ĝ_l - Â_l)²) with Gram matrices "
        "per position; at 512 px for the image-optimising techniques (see "
        "style_weight_exponent).", low=0.0, group="objective")
    tv_weight: float = parameter(
        0.0, "λ_tv: weight of the total variation prior, a mean over pixels (Mahendran & "
        "Vedaldi 2015, Eq. 5); 0 turns it off.", low=0.0, group="objective")
    content_layers: tuple[str, ...] = parameter(
        vgg.CONTENT_LAYERS, "Content layers (Gatys et al.: relu4_2; conv4_2 names the same).",
        item=_LAYER, group="objective")
    style_layers: tuple[str, ...] = parameter(
        vgg.STYLE_LAYERS, "Style layers (Gatys et al.: relu1_1 ... relu5_1).", item=_LAYER,
        group="objective")
    style_layer_weights: tuple[float, ...] | None = parameter(
        None, "w_l, one per style layer (Eq. 5); default 1/N_l², N_l the layer's filters "
        "(Gatys' code for the original network).", low=0.0, group="objective")
    network: str = parameter("vgg19", "The feature network: vgg19 (the reference codes') or "
                                      "vgg16 (magenta's, titu1994's).",
                             choices=tuple(vgg.NETWORKS), group="network")
    pooling: str = parameter("max", "Network pooling: max (the trained network's, and the "
                                    "reference codes') or avg (Gatys et al.'s paper).",
                             choices=vgg.POOLINGS, group="network")
    weights: str = parameter("imagenet", "Network weights: imagenet (vgg_weights/, the Keras "
                                         "cache, or a download), random (plumbing only: its "
                                         "pictures mean nothing), or a weights file.",
                             group="network")
    seed: int = parameter(0, "Seed of noise images, random weights and training.", low=0,
                          high=2 ** 31 - 1, group="network")

    # w_l when none are given: "inverse_square" (1/N_l², Gatys' code) or "equal" (1).
    LAYER_WEIGHTS: typing.ClassVar[str] = "inverse_square"

    def validate(self):
        """Checks the values that must fit together (each value alone is checked by
        `parameters.settings_from`)."""
        if self.style_layer_weights is not None and self.style_layers is not None and len(
                self.style_layer_weights) != len(self.style_layers):
            raise ArgumentError("style_layer_weights", f"{len(self.style_layer_weights)} "
                                f"values for {len(self.style_layers)} style layers; give one "
                                f"weight per layer")
        network = vgg.get_network(self.network)
        for name in ("content_layers", "style_layers"):
            try:
                layers = [network.layer(layer) for layer in getattr(self, name) or ()]
            except ValueError as error:
                raise ArgumentError(name, str(error)) from None
            repeated = sorted({layer for layer in layers if layers.count(layer) > 1})
            if repeated:
                raise ArgumentError(name, f"{', '.join(repeated)} given twice; name each "
                                          f"layer once")
        if self.weights not in ("imagenet", "random") and not os.path.isfile(self.weights):
            raise ArgumentError("weights", f"{self.weights}: no such file; use imagenet, "
                                           f"random, or a weights file's path")

    def feature_model(self, fresh=False):
        """The network up to the deepest content or style layer, as the settings ask.

        Args:
            fresh: build a new model rather than share the one built before (a model
                whose variables must belong to a `tf.distribute` strategy's scope).
        """
        build = vgg.build_feature_model if fresh else vgg.feature_model
        return build(list(self.content_layers) + list(self.style_layers),
                     pooling=self.pooling, weights=self.weights, seed=self.seed,
                     network=self.network)

    def objective(self, model, tv_weight=None, layer_weights=None):
        """The effective `losses.Objective`, w_l resolved from the model's layers.

        Args:
            model: the feature model (for N_l).
            tv_weight: the effective λ_tv, where a technique converts its own.
            layer_weights: the rule for w_l when none are given (default: the class's).
        """
        layers = [_LAYER(layer) for layer in self.style_layers]
        if self.style_layer_weights is not None:
            weights = dict(zip(layers, self.style_layer_weights))
        elif (layer_weights or self.LAYER_WEIGHTS) == "equal":
            weights = {layer: 1.0 for layer in layers}
        else:
            weights = {layer: 1.0 / vgg.channels(model, layer) ** 2 for layer in layers}
        return losses.Objective(
            content_weight=self.content_weight, style_weight=self.style_weight,
            tv_weight=self.tv_weight if tv_weight is None else tv_weight,
            content_layers=tuple(map(_LAYER, self.content_layers)),
            style_layer_weights=weights)


@dataclasses.dataclass(frozen=True)
class GatysSettings(ObjectiveSettings):
    """Eq. 7 optimised over the pixels: what the image-optimising techniques share."""
    size: int = parameter(512, "Longest side of the output in pixels.", low=16,
                          high=16384, group="optimisation")
    scales: tuple[int, ...] | None = parameter(
        None, "Coarse-to-fine sizes, e.g. 256,512,1024: each stage starts from the "
        "upsampled result of the one before (Gatys et al. 2017, Sec. 6); the last is the "
        "output size (instead of size).", low=16, high=16384, group="optimisation")
    style_scale: float = parameter(
        1.0, "Size of the style images relative to the output's: below 1 gives smaller "
        "style features, above 1 larger.", low=0.01, high=100.0, group="optimisation")
    iterations: int = parameter(500, "L-BFGS iterations (at each size).", low=1,
                                high=10 ** 7, group="optimisation")
    init: str = parameter("content", "Starting image: content, noise (white noise), style, "
                                     "or an image file.", group="optimisation")
    optimizer: str = parameter(
        "tf", "L-BFGS on the device in TensorFlow (tf; its iterates are L-BFGS-B's) or "
        "SciPy's L-BFGS-B on the host (scipy).", choices=("tf", "scipy"), group="optimisation")
    bounds: bool = parameter(
        False, "Keep every pixel in [0, 255] while optimising (L-BFGS-B's bounds; "
        "projection with tf). Gatys', deep-photo's and CNNMRF's codes clip only when "
        "saving.", group="optimisation")
    # p: this suite's choice, from the pictures of docs/balance.md. The losses are means,
    # so the objective is the same at every size, but the picture is not: the network's
    # receptive fields are fixed in pixels, so at 256 px the deep style layers see much
    # more of the image and the same β buries the content. β 1e2 at 512, 3e1 at 384 and
    # 1e1 at 256 px look alike on VGG16; (s/512)³ gives 1e2, 42 and 12.5.
    style_weight_exponent: float = parameter(
        3.0, "p: a stage of longest side s weighs its style by β (s/512)^p, so the "
        "picture keeps its balance across sizes; 0 keeps β at every size.", low=0.0,
        high=8.0, group="objective")

    BALANCE_SIZE: typing.ClassVar[int] = 512  # The size at which β is β (see above).

    def validate(self):
        super().validate()
        if self.scales is not None and list(self.scales) != sorted(set(self.scales)):
            raise ArgumentError("scales", f"{','.join(map(str, self.scales))}: give "
                                          f"increasing sizes")
        if self.init not in images.INITS and not os.path.isfile(self.init):
            raise ArgumentError("init", f"{self.init}: use content, noise, style, or the "
                                        f"path of an existing image")

    def sizes(self):
        """The sizes to optimise at, coarse to fine."""
        return transfer.output_sizes(self.size, self.scales)

    def pixel_bounds(self):
        """The bounds L-BFGS keeps every pixel in, or None."""
        return (0.0, 255.0) if self.bounds else None

    def objective_at(self, objective, size):
        """`objective` with the style weight of a stage of longest side `size`:
        β (size / 512)^p (`style_weight_exponent`)."""
        scale = (size / self.BALANCE_SIZE) ** self.style_weight_exponent
        return dataclasses.replace(objective, style_weight=objective.style_weight * scale)


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


@dataclasses.dataclass(frozen=True)
class RegionSettings(GatysSettings):
    """Settings of the techniques that read colour-coded maps."""
    map_tolerance: float = parameter(
        masks.DEFAULT_TOLERANCE, "Largest RGB distance (0-255 units) at which a pixel or a "
        "colour of the other map counts as a region's colour.", low=0.0, high=442.0,
        group="method")


def as_list(value):
    """One item or several, as a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


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


def rescaled(content_image, style_images, size, style_scale):
    """The content at `size` and the styles at `size` x `style_scale` (longest sides)."""
    return (images.resize_longest_side(content_image, size),
            [images.resize_longest_side(style, max(1, round(size * style_scale)))
             for style in style_images])


def optimise_stage(stage, model, content_image, style_images, style_targets, init_image,
                   objective, settings, progress, extra_terms=None):
    """One optimisation of a run as a `transfer.Stage`, with its progress callback."""
    size, name = stage
    objective = settings.objective_at(objective, size)
    result = transfer.optimise(
        model, content_image, style_targets, init_image, objective, settings.iterations,
        optimizer=settings.optimizer, bounds=settings.pixel_bounds(), extra_terms=extra_terms,
        callback=reporting.stage_callback(progress, name, settings.iterations))
    result.image = np.clip(result.image, 0.0, 255.0)  # An image, as the references save it.
    shape = list((content_image if content_image is not None else init_image).shape[:2])
    return transfer.Stage(size, shape, [list(s.shape[:2]) for s in style_images], objective,
                          result)


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

    def run_stage(size, previous, name):
        content_at, styles_at = rescaled(content_image, style_images, size,
                                         settings.style_scale)
        if settings.preserve_color == "histogram":  # Recolour the style (2017, Sec. 5.1).
            styles_at = [color.match_color_histogram(s, content_at, settings.histogram_method)
                         for s in styles_at]
        elif settings.preserve_color == "luminance":  # Luminance only (2017, Sec. 5.2).
            styles_at = [color.match_luminance(s, content_at) for s in styles_at]
            content_at = color.luminance_image(content_at)
        init_image = transfer.start_image(previous, content_at, lambda: images.initial_image(
            settings.init, content_at, styles_at[0], settings.seed))
        targets = [losses.style_target(model, s, settings.style_layers, weight=b)  # A^l
                   for s, b in zip(styles_at, blend)]
        return optimise_stage((size, name), model, content_at, styles_at, targets,
                              init_image, objective, settings, progress)

    stages = transfer.coarse_to_fine(settings.sizes(), run_stage)
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

    def run_stage(size, previous, name):
        nonlocal coverage
        content_at, styles_at = rescaled(content_image, style_images, size,
                                         settings.style_scale)
        region_masks = [masks.load_mask(source, *content_at.shape[:2], "style_masks")
                        for source in sources]
        if hard:  # Regions R_r: masks thresholded at one half.
            region_masks = [(mask > 0.5).astype(np.float32) for mask in region_masks]
        if coverage is None:
            coverage = masks.coverage_line(region_masks, names)
            reporting.note(progress, coverage)
        init_image = transfer.start_image(previous, content_at, lambda: images.initial_image(
            settings.init, content_at, styles_at[0], settings.seed))
        # One target per (style, mask): Â_s^l of the style, Ĝ_s^l over its mask.
        targets = losses.masked_style_targets(model, styles_at, region_masks,
                                              settings.style_layers)
        return optimise_stage((size, name), model, content_at, styles_at, targets,
                              init_image, objective, settings, progress)

    stages = transfer.coarse_to_fine(settings.sizes(), run_stage)
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

    def run_stage(size, previous, name):
        content_at, (style_at,) = rescaled(content_image, [style_image], size,
                                           settings.style_scale)
        regions = masks.pair_regions(content_map, style_map, content_at.shape, style_at.shape,
                                     tolerance=settings.map_tolerance)
        if not summary:
            summary.update(regions.summary())
            reporting.note(progress, regions.describe())
        init_image = transfer.start_image(previous, content_at, lambda: images.initial_image(
            settings.init, content_at, style_at, settings.seed))
        # One target per shared colour k: Â_k^l inside style region k, Ĝ_k^l inside k.
        targets = losses.region_style_targets(model, style_at, regions, settings.style_layers)
        return optimise_stage((size, name), model, content_at, [style_at], targets,
                              init_image, objective, settings, progress)

    stages = transfer.coarse_to_fine(settings.sizes(), run_stage)
    return transfer.Result(stages[-1].result.image, "region_style", settings, stages,
                           model.weights_source, summary)


@dataclasses.dataclass(frozen=True)
class MaskedTransferSettings:
    """`masked_transfer`'s settings."""
    feather_radius: float = parameter(
        8.0, "Width of the soft seam in pixels (Gaussian σ = radius/2); 0 gives a hard "
        "edge.", low=0.0, high=1000.0)
    match_color: str = parameter(
        "none", "content: recolour each stylised region to the content's colour mean and "
        "covariance in that region.", choices=("none", "content"))


@takes(MaskedTransferSettings)
def masked_transfer(content, stylized, mask, **options):
    """Composites stylised images through a mask: O = m̃ S + (1 - m̃) C.

    With one stylised image S, it shows where the mask m is white and the content C
    elsewhere; with two, the first where white and the second where black. m̃ is m
    feathered (a Gaussian of σ = feather_radius / 2), and with match_color="content"
    each stylised region is first recoloured to the content's colours there (the linear
    colour transfer of Gatys et al. 2017, Sec. 5.1). No network runs.

    Args:
        content: the photograph (its size is the output's).
        stylized: one or two stylised images.
        mask: white where the (first) stylised image shows.
        **options: `MaskedTransferSettings` fields.

    Returns:
        `transfer.Result` (no stages).
    """
    settings = settings_from(MaskedTransferSettings, options)
    content_image = images.as_image(content, "content")
    height, width = content_image.shape[:2]
    stylized = [images.resize(images.as_image(s, "stylized"), height, width)
                for s in as_list(stylized)]
    if len(stylized) not in (1, 2):
        raise ArgumentError("stylized", f"{len(stylized)} images; give one or two")
    mask_image = masks.load_mask(mask, height, width, "mask")  # m, white = 1.
    # The regions each image shows: the mask, and its complement for a second image.
    regions = [mask_image, 1.0 - mask_image][:len(stylized)]
    if settings.match_color == "content":  # Keep the photograph's colours per region.
        stylized = [color.match_region_colors(image, content_image, region)
                    for image, region in zip(stylized, regions)]
    background = stylized[1] if len(stylized) == 2 else content_image
    soft_mask = masks.feather(mask_image, settings.feather_radius)  # m̃
    image = masks.composite(stylized[0], background, soft_mask)
    return transfer.Result(image, "masked_transfer", settings)
