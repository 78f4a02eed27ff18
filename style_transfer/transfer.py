"""The optimisation every image-optimising technique shares: its objective over the
pixels, minimised with L-BFGS, at one size or coarse to fine.

Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks", CVPR
2016, Sec. 2.3; coarse to fine: Gatys et al., "Controlling Perceptual Factors in Neural
Style Transfer", CVPR 2017 (arXiv:1611.07865), Sec. 6. What differs between the
techniques is only which style targets they pull on (whole images, masked regions,
blended styles, patches) and the weights of their objective (`losses.Objective`).
"""

import dataclasses

import numpy as np
from PIL import Image

from style_transfer import images, losses, optimize, parameters


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
        return (f"Result({self.technique}, {width}x{height} px, {iterations} iterations"
                f"{', ' + losses_ if losses_ else ''}{', interrupted' if self.interrupted else ''})")

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
        optimizer: "scipy" or "tf" (`optimize.minimize`; the technique's settings choose).
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


def start_image(previous, canvas, initial):
    """The image a stage starts from: the coarser stage's result upsampled to the canvas'
    size, or `initial()` at the first stage."""
    return initial() if previous is None else images.resize(previous, *canvas.shape[:2])


def coarse_to_fine(sizes, run_stage):
    """Runs `run_stage(size, previous_image, stage_name)` at each size, coarse to fine.

    Each stage starts from the previous stage's result (`start_image`), as Gatys et al.
    2017, Sec. 6, and Champandard's phases; the first from the technique's initial image.
    A stage that Ctrl-C interrupts ends the run.

    Returns:
        The `Stage`s run.
    """
    stages, image = [], None
    for size in sizes:
        stage = run_stage(size, image, f"{size}px" if len(sizes) > 1 else None)
        stages.append(stage)
        image = stage.result.image
        if stage.result.interrupted:
            break
    return stages
