"""Seconds per L-BFGS iteration of style_transfer against the floor and a naive baseline.

Measured in one process, on the same images, network and loss:
- floor: one bare forward+backward pass of the truncated VGG19 (to relu5_1), the least
  that a loss-and-gradient evaluation can cost (and the same with the trained network's
  zero padding, to show what style_transfer's replicated edges cost);
- ours: one loss-and-gradient evaluation (`optimize.loss_and_gradient_function`), and
  seconds per L-BFGS iteration over a short run with style_transfer's optimiser (an
  iteration costs 1-2 evaluations);
- baseline: the common Keras-tutorial approach: the whole VGG19 (to block5_pool) on a
  batch of content, style and image at every step, targets recomputed every step, plain
  gradient descent (tf.keras SGD, exponentially decayed learning rate as in the Keras
  example). Its learning rate is the best of a few, tried on a short run first.
  We report the ratio of its time per step to ours, and the time each needs to reach the
  loss that the baseline has after --baseline_steps steps.

Targets (issue 3): an evaluation within 1.15x the floor, and at least 10x less time than
the baseline to reach the baseline's loss after 500 steps.

Usage:
    python benchmarks/iteration.py --sizes 256,512 --output benchmarks/results/iteration.json
"""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import (floor_function, image_paths, mean_seconds,  # noqa: E402
                               write_results)
from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import gatys, images, losses, optimize, transfer, vgg  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Longest sides to measure.")
_WEIGHTS = flags.DEFINE_string(
    "weights", None, "VGG19 weights; default: imagenet if on disk, else random.")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed passes per measurement.")
_ITERATIONS = flags.DEFINE_integer("iterations", 30, "L-BFGS iterations timed per size.")
_BASELINE_STEPS = flags.DEFINE_integer("baseline_steps", 500, "Baseline SGD steps.")
_BASELINE_SIZE = flags.DEFINE_integer("baseline_size", 256, "Size of the time-to-loss race.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")

SETTINGS = gatys.StyleTransferSettings()  # style_transfer's defaults: Gatys' recipe.
OPTIMIZER = {"optimizer": SETTINGS.optimizer, "bounds": SETTINGS.pixel_bounds()}  # Its L-BFGS.


def default_weights():
    try:
        on_disk = vgg.resolve_weights("imagenet") if any(
            (d / vgg.VGG19.weights_file).is_file()
            for d in vgg.weights_search_dirs() + [vgg.keras_cache_dir()]) else None
    except ValueError:
        on_disk = None
    return on_disk or vgg.Weights("random", seed=0)


def gatys_problem(weights, size, full_network=False):
    """Model, content, style, targets and the loss function at one size."""
    content_path, style_path = image_paths()
    content = images.load(content_path, max_size=size)
    style = images.load(style_path, max_size=size)
    layers = list(vgg.CONTENT_LAYERS + vgg.STYLE_LAYERS) + (["pool5"] if full_network else [])
    model = vgg.feature_model(layers, pooling=SETTINGS.pooling, weights=weights,
                              padding=SETTINGS.padding)
    objective = SETTINGS.objective(model)
    style_targets = [losses.style_target(model, style, list(vgg.STYLE_LAYERS))]
    loss = transfer.loss_function(model, content, style_targets, objective)
    return model, content, style, loss, objective


def measure_size(weights, size):
    model, content, _, loss, _ = gatys_problem(weights, size)
    shape = content.shape
    image = tf.constant(content)
    floor = mean_seconds(floor_function(model, shape), image, _REPEATS.value)
    # The same network as the trained one pads, with zeros: what replicating costs.
    zeros = vgg.feature_model(list(model.output), pooling=SETTINGS.pooling, weights=weights,
                              padding="zeros")
    zeros_floor = mean_seconds(floor_function(zeros, shape), image, _REPEATS.value)
    evaluation = mean_seconds(optimize.loss_and_gradient_function(loss, shape), image,
                              _REPEATS.value)
    run = optimize.minimize(loss, content, max_iterations=_ITERATIONS.value, **OPTIMIZER)
    figures = {"size": size, "image_shape": list(shape[:2]),
               "floor_seconds": floor, "evaluation_seconds": evaluation,
               "evaluation_over_floor": evaluation / floor,
               "zero_padding_floor_seconds": zeros_floor,
               f"{SETTINGS.padding}_padding_over_zeros": floor / zeros_floor,
               "lbfgs_seconds_per_iteration": run.seconds_per_iteration,
               "lbfgs_seconds_per_evaluation": run.seconds_per_evaluation,
               "lbfgs_evaluations_per_iteration": (run.num_evaluations - 1)
               / max(run.num_iterations, 1)}
    print(f"{size:>5} px {shape[1]}x{shape[0]}: floor {floor:.3f} s, evaluation "
          f"{evaluation:.3f} s ({evaluation / floor:.2f}x floor; the floor with zero "
          f"padding {zeros_floor:.3f} s), L-BFGS "
          f"{run.seconds_per_iteration:.3f} s/iteration, {run.seconds_per_evaluation:.3f} "
          f"s/evaluation", flush=True)
    return figures


def baseline_race(weights, size, steps):
    """The tutorial approach against ours: time to reach the baseline's final loss."""
    model, content, style, _, objective = gatys_problem(weights, size, full_network=True)
    loss = gatys_problem(weights, size)[3]  # Ours: the truncated network, as in the script.
    style = images.resize(style, *content.shape[:2])  # The batch needs one size.
    content_layer, = vgg.CONTENT_LAYERS

    @tf.function
    def naive_step(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            batch = tf.stack([tf.constant(content), tf.constant(style), image])
            features = model(vgg.preprocess(batch))  # Whole network, three images.
            targets = [losses.StyleTarget({layer: losses.gram_matrix(features[layer][1])
                                           for layer in vgg.STYLE_LAYERS})]
            total = objective.terms({layer: value[2] for layer, value in features.items()},
                                    image, {content_layer: features[content_layer][0]},
                                    targets)["total"]
        return total, tape.gradient(total, image)

    def descend(learning_rate, num_steps):
        schedule = keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=100, decay_rate=0.96)  # The Keras example's decay.
        optimizer = keras.optimizers.SGD(schedule)
        image = tf.Variable(content)
        history, start = [], time.perf_counter()
        for step in range(num_steps):
            total, gradient = naive_step(image)
            optimizer.apply_gradients([(gradient, image)])
            history.append((float(total), time.perf_counter() - start))
        return history

    _, first_gradient = naive_step(tf.Variable(content))
    scale = 1.0 / float(tf.reduce_max(tf.abs(first_gradient)))  # lr that moves 1 px unit.
    trials = {factor: descend(factor * scale, 20)[-1][0] for factor in (1.0, 4.0, 16.0)}
    trials = {f: v for f, v in trials.items() if np.isfinite(v)}
    best = min(trials, key=trials.get)
    history = descend(best * scale, steps)
    baseline_loss, baseline_seconds = history[-1]
    step_seconds = (history[-1][1] - history[0][1]) / (len(history) - 1)

    def stop_at_baseline_loss(step):
        if step.losses["total"] <= baseline_loss:
            raise StopIteration

    ours = optimize.minimize(loss, content, max_iterations=steps,
                             callback=stop_at_baseline_loss, **OPTIMIZER)
    reached = ours.final_losses["total"] <= baseline_loss
    reached_at = ours.num_iterations if reached else None
    ours_seconds = sum(step.seconds for step in ours.history) if reached else None
    figures = {"size": size, "baseline_steps": steps,
               "baseline_learning_rate": best * scale,
               "baseline_seconds_per_step": step_seconds,
               "baseline_final_loss": baseline_loss, "baseline_seconds": baseline_seconds,
               "ours_seconds_per_iteration": ours.seconds_per_iteration,
               "step_time_ratio": step_seconds / ours.seconds_per_iteration,
               "ours_iterations_to_baseline_loss": reached_at,
               "ours_seconds_to_baseline_loss": ours_seconds,
               "speedup_to_baseline_loss": (baseline_seconds / ours_seconds
                                            if ours_seconds else None)}
    print(f"baseline at {size} px: {steps} SGD steps, {step_seconds:.3f} s/step "
          f"({figures['step_time_ratio']:.2f}x our s/iteration), loss {baseline_loss:.4g} "
          f"after {baseline_seconds:.0f} s; ours reaches it at iteration {reached_at} "
          f"after {ours_seconds or float('nan'):.1f} s: "
          f"{figures['speedup_to_baseline_loss'] or float('nan'):.1f}x less time",
          flush=True)
    return figures


def main(argv):
    del argv  # Unused.
    weights = vgg.resolve_weights(_WEIGHTS.value) if _WEIGHTS.value else default_weights()
    content_path, style_path = image_paths()
    print(f"images: {content_path.name}, {style_path.name}; weights: {weights.source}"
          + (" (plumbing speed only: random weights say nothing about image quality)"
             if weights.source == "random" else ""), flush=True)
    results = {"weights": weights.to_json(), "content": content_path.name,
               "style": style_path.name, "tensorflow": tf.__version__,
               "sizes": [measure_size(weights, int(size)) for size in _SIZES.value]}
    if _BASELINE_STEPS.value:
        results["baseline"] = baseline_race(weights, _BASELINE_SIZE.value,
                                            _BASELINE_STEPS.value)
    write_results(_OUTPUT.value, results)


if __name__ == "__main__":
    app.run(main)
