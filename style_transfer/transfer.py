"""The technique layer: what every image-optimising technique shares. Its settings (Eq. 7
and its network, the optimisation over the pixels, colour-coded maps), the objective over
the pixels minimised with L-BFGS, and one stage runner, at one size or coarse to fine
(`run_stages`); the techniques import this, never each other.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR
2016, Sec. 2.3; coarse to fine: Gatys et al., "Controlling Perceptual Factors in Neural
Style Transfer", CVPR 2017 (arXiv:1611.07865), Sec. 6. What differs between the
techniques is only which style targets they pull on (whole images, masked regions,
blended styles, patches) and the weights of their objective (`losses.Objective`).
"""

import dataclasses
import os
import typing

import numpy as np
from PIL import Image

from style_transfer import (images, losses, masks, optimize, parameters, reporting,
                            style_losses, vgg)
from style_transfer.parameters import ArgumentError, parameter


@dataclasses.dataclass
class Stage:
    """One optimisation of a run (a coarse-to-fine run has one per size).

    Attributes:
        size: the requested longest side.
        content_shape: [H, W] of the image optimised.
        style_shapes: [H, W] of each style image.
        objective: the `losses.Objective` optimised (effective weights at this size).
        result: `optimize.Result`.
    """
    size: int
    content_shape: list
    style_shapes: list
    objective: losses.Objective
    result: optimize.Result

    def to_json(self):
        result = self.result
        return {"size": self.size, "content_shape": self.content_shape,
                "style_shapes": self.style_shapes, "objective": self.objective.to_json(),
                "iterations": result.num_iterations,
                "function_evaluations": result.num_evaluations,
                "stop_reason": result.stop_reason,
                "seconds_per_iteration": result.seconds_per_iteration,
                "seconds_per_evaluation": result.seconds_per_evaluation,
                "seconds_outside_evaluation": result.seconds_outside_evaluation,
                "compile_seconds": result.compile_seconds,
                "final_losses": result.final_losses,
                "loss_history": [step.to_json() for step in result.history]}


@dataclasses.dataclass
class Result:
    """What a technique returns.

    Attributes:
        image: (H, W, 3) float32 RGB in [0, 255], the result.
        technique: the technique's name.
        settings: the technique's settings dataclass, every parameter as used.
        stages: `Stage`s, coarse to fine (empty for techniques that do not optimise).
        weights: the `vgg.Weights` used, or None.
        details: what else the technique reports (regions found, predictions, ...).
    """
    image: np.ndarray
    technique: str
    settings: object
    stages: list = dataclasses.field(default_factory=list)
    weights: object = None
    details: dict = dataclasses.field(default_factory=dict)

    @property
    def history(self):
        """Every stage's `optimize.Iteration`s, in order (losses, evaluations, seconds)."""
        return [step for stage in self.stages for step in stage.result.history]

    @property
    def interrupted(self):
        """Whether Ctrl-C stopped the run (the image is then the latest accepted one)."""
        return any(stage.result.interrupted for stage in self.stages)

    @property
    def losses(self):
        """The final loss terms ("total", "content", "style", ...), or {}."""
        return self.stages[-1].result.final_losses if self.stages else {}

    def save(self, path):
        """Writes the image to `path` (its extension picks the format), atomically."""
        images.save(self.image, path)

    def to_pil(self):
        """The image as an 8-bit PIL image (shown inline by notebooks)."""
        return Image.fromarray(images.to_uint8(self.image))

    def _repr_png_(self):
        return self.to_pil()._repr_png_()

    def __repr__(self):
        """A line, not the pixels: technique, image size, iterations, final losses."""
        height, width = self.image.shape[:2]
        losses_ = ", ".join(f"{name} {value:.4g}" for name, value in self.losses.items())
        iterations = sum(stage.result.num_iterations for stage in self.stages)
        parts = [self.technique, f"{width}x{height} px", f"{iterations} iterations"]
        parts += [losses_] if losses_ else []
        parts += ["interrupted"] if self.interrupted else []
        return f"Result({', '.join(parts)})"

    def to_json(self):
        """The run's figures for a report: settings, weights, sizes, losses, timings."""
        report = {"technique": self.technique,
                  "settings": self.settings and parameters.as_dict(self.settings),
                  "weights": self.weights.to_json() if self.weights else None,
                  **self.details}
        if not self.stages:
            return report
        results = [stage.result for stage in self.stages]
        num_iterations = sum(r.num_iterations for r in results)
        last = self.stages[-1]
        report.update({
            "objective": last.objective.to_json(),
            "image_sizes": {"content": last.content_shape, "style": last.style_shapes},
            "interrupted": self.interrupted,
            "stop_reason": last.result.stop_reason,
            "iterations": num_iterations,
            "function_evaluations": sum(r.num_evaluations for r in results),
            "seconds_per_iteration": sum(r.seconds_per_iteration * r.num_iterations
                                         for r in results) / max(num_iterations, 1),
            "seconds_per_evaluation": last.result.seconds_per_evaluation,
            "final_losses": last.result.final_losses,
            "loss_history": [step.to_json() for step in last.result.history],
            "stages": [stage.to_json() for stage in self.stages],
        })
        return report


def loss_function(model, content_image, style_targets, objective, extra_terms=None):
    """The loss over the pixels, image -> {term: value, "total": L} (Eq. 7), with the
    content features P^l computed here, once (arguments as `optimise`)."""
    content_features = ({} if content_image is None or not objective.content_layers else
                        losses.content_targets(model, content_image, objective.content_layers))

    def total_loss(image):
        features = {} if model is None else losses.features_of(model, image)
        terms = objective.terms(features, image, content_features, style_targets)
        for name, term in (extra_terms or {}).items():
            terms[name] = term(image)
            terms["total"] = terms["total"] + terms[name]
        return terms
    return total_loss


def optimise(model, content_image, style_targets, init_image, objective, iterations, *,
             optimizer, bounds=None, callback=None, extra_terms=None):
    """Minimises `objective` over the pixels from `init_image` (Eq. 7, Sec. 2.3).

    Args:
        model: feature model covering the content layers and the layers the style
            targets read from the whole output; None when nothing does (a doodle's
            sub-image targets run their own).
        content_image: (H, W, 3) RGB in [0, 255]; its features P^l are computed here,
            once. None for no content term (doodles).
        style_targets: targets computed once by the caller (`losses.StyleTarget`, or the
            targets of `patches`).
        init_image: (H, W, 3) starting image.
        objective: `losses.Objective`.
        iterations: L-BFGS iterations.
        optimizer: "device" or "scipy" (`optimize.minimize`; the technique's settings choose).
        bounds: (low, high) for every pixel, or None.
        callback: per-iteration callback (`optimize.Iteration`).
        extra_terms: name -> function of the image tensor, more terms of the loss (the
            photorealism term of `matting`).

    Returns:
        `optimize.Result`.
    """
    total_loss = loss_function(model, content_image, style_targets, objective, extra_terms)
    return optimize.minimize(total_loss, init_image, max_iterations=iterations,
                             optimizer=optimizer, bounds=bounds, callback=callback)


def output_sizes(size, scales):
    """The sizes to optimise at, coarse to fine: `scales`, or just `size`."""
    return [int(s) for s in scales] if scales else [int(size)]


# The settings every technique that measures images with a network shares: Eq. 7 and its
# loss network (ObjectiveSettings), its optimisation over the pixels (GatysSettings), and
# colour-coded maps (RegionSettings). Each technique's settings extend these.
_LAYER = vgg.canonical_layer_name


@dataclasses.dataclass(frozen=True)
class ObjectiveSettings:
    """Eq. 7 of Gatys et al. 2016 and its loss network: what every technique that
    measures images with a feature network shares (defaults: Gatys' recipe and this
    suite's β, `gatys`' docstring)."""
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
    padding: str = parameter("replicate", "How the network's convolutions pad: replicate "
                                          "(the edge repeated: no frame along the picture's "
                                          "edges) or zeros (the trained network's, and the "
                                          "reference codes').",
                             choices=vgg.PADDINGS, group="network")
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
                     network=self.network, padding=self.padding)

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
    style_weight: float = parameters.override(
        ObjectiveSettings, "style_weight", ObjectiveSettings.style_weight,
        help=parameters.field_help(ObjectiveSettings, "style_weight") + " Each other "
        "style_loss has its own default (style_losses.DEFAULT_STYLE_WEIGHTS).")
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
        "device", "L-BFGS on the device (device; its iterates are L-BFGS-B's; tf is its "
        "old name) or SciPy's L-BFGS-B on the host (scipy).",
        choices=("device", "scipy", "tf"), group="optimisation")
    style_loss: str = parameter(
        "gram", "What the style of a layer is: gram (Gatys et al.), mean_std or mmd_linear "
        "(Li et al. 2017), histogram (Risser et al. 2017), wasserstein (Gaussian W2) or "
        "sliced_wasserstein (Heitz et al. 2021); each has its own default style_weight "
        "(style_losses).", choices=style_losses.STYLE_LOSSES, group="objective")
    bounds: bool = parameter(
        False, "Keep every pixel in [0, 255] while optimising (L-BFGS-B's bounds; "
        "projection on the device). Gatys', deep-photo's and CNNMRF's codes clip only when "
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
    # Each style loss's own β where the caller gives none (`style_losses`).
    RECIPES: typing.ClassVar[dict] = {"style_loss": {
        name: {"style_weight": weight}
        for name, weight in style_losses.DEFAULT_STYLE_WEIGHTS.items()}}

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
        return output_sizes(self.size, self.scales)

    def style_statistics(self):
        """The style loss's statistics, for `losses.style_target`."""
        return style_losses.style_statistics(self.style_loss, self.seed)

    def objective(self, model, tv_weight=None, layer_weights=None):
        """`ObjectiveSettings.objective`, with the style loss's w_l when none are given."""
        if self.style_loss != "gram":
            layer_weights = self.style_statistics().layer_weights
        return super().objective(model, tv_weight, layer_weights)

    def pixel_bounds(self):
        """The bounds L-BFGS keeps every pixel in, or None."""
        return (0.0, 255.0) if self.bounds else None

    def objective_at(self, objective, size):
        """`objective` with the style weight of a stage of longest side `size`:
        β (size / 512)^p (`style_weight_exponent`)."""
        scale = (size / self.BALANCE_SIZE) ** self.style_weight_exponent
        return dataclasses.replace(objective, style_weight=objective.style_weight * scale)


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


def rescaled(content_image, style_images, size, style_scale):
    """The content at `size` and the styles at `size` x `style_scale` (longest sides)."""
    return (images.resize_longest_side(content_image, size),
            [images.resize_longest_side(style, max(1, round(size * style_scale)))
             for style in style_images])


def note_regions_once(progress, summary, regions):
    """Says which map colours were paired, at the first stage only (`summary` starts {})."""
    if not summary:
        summary.update(regions.summary())
        reporting.note(progress, regions.describe())


def run_stages(settings, model, canvas_image, style_images, style_targets, progress, *,
               objective, content_image=None, sizes=None, prepare=None, output_model=None,
               iterations=None, extra_terms=None, name=None, start=None):
    """The stage runner of every image-optimising technique: at each size, coarse to fine
    (Gatys et al. 2017, Sec. 6; Champandard's phases), the canvas and the styles rescaled,
    the start image, the style targets at that size, and L-BFGS on the objective.

    Each stage starts from the previous stage's result upsampled, the first from `start`
    or the technique's initial image (`settings.init`). A stage that Ctrl-C interrupts
    ends the run.

    Args:
        settings: the technique's `GatysSettings` (sizes, style scale, init, optimiser).
        model: the feature model.
        canvas_image: (H, W, 3): its shape is the output's (the content, or a doodle).
        style_images: the styles, rescaled to size x `style_scale` at each stage.
        style_targets: function (canvas, styles) at a stage's size -> its targets.
        progress: as `gatys.style_transfer`.
        objective: the `losses.Objective`, or a function (canvas) -> one where it depends
            on the size (β is then weighed for the stage's size, `objective_at`).
        content_image: the photograph the content term keeps, the canvas's shape, or None
            (no content term).
        sizes: the sizes (default `settings.sizes()`).
        prepare: function (content, styles) -> (content, styles) at each size (colour).
        output_model: function (targets) -> the model the whole output runs through
            (default `model`).
        iterations: L-BFGS iterations per stage (default `settings.iterations`).
        extra_terms: more terms of the loss (`optimise`).
        name: what the stages are called in progress lines and reports; a named stage,
            and each of several sizes, also carries its size ("stage2_512px").
        start: the image the first stage starts from (default the initial image).

    Returns:
        The `Stage`s run.
    """
    sizes = settings.sizes() if sizes is None else sizes
    iterations = settings.iterations if iterations is None else iterations
    stages, image = [], start
    for size in sizes:
        canvas, styles = rescaled(canvas_image, style_images, size, settings.style_scale)
        content = None if content_image is None else (
            canvas if content_image is canvas_image else images.resize(content_image,
                                                                        *canvas.shape[:2]))
        if prepare is not None:
            content, styles = prepare(content, styles)
        init_image = (images.resize(image, *canvas.shape[:2]) if image is not None else
                      images.initial_image(settings.init, canvas if content is None
                                           else content, styles[0], settings.seed))
        targets = style_targets(canvas, styles)
        # A run of several stages names each, with its size ("stage1_256px", "512px").
        stage_name = ("_".join(filter(None, [name, f"{size}px"]))
                      if name or len(sizes) > 1 else None)
        stage_objective = settings.objective_at(
            objective(canvas) if callable(objective) else objective, size)
        result = optimise(
            model if output_model is None else output_model(targets), content, targets,
            init_image, stage_objective, iterations, optimizer=settings.optimizer,
            bounds=settings.pixel_bounds(), extra_terms=extra_terms,
            callback=reporting.stage_callback(progress, stage_name or None, iterations))
        result.image = np.clip(result.image, 0.0, 255.0)  # An image, as references save it.
        stages.append(Stage(size, list(canvas.shape[:2]), [list(s.shape[:2]) for s in styles],
                            stage_objective, result))
        image = result.image
        if result.interrupted:
            break
    return stages
