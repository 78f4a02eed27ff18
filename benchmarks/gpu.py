"""The suite's speed on one accelerator, in one run of a few minutes: for the README's GPU
table (issue 28). Runs on any Keras backend (KERAS_BACKEND); a GPU without TensorFlow
runs it on JAX.

At each size (the longest side of a 4:3 image, VGG19 to relu5_1, style_transfer's
objective; random weights: speed does not depend on them):
- floor: one bare forward+backward pass of the truncated network;
- evaluation: the objective and its gradient (`backend.loss_and_gradient_function`);
- iteration: seconds per L-BFGS iteration over a short run, with the on-device L-BFGS
  (`optimize.lbfgs_device`) and with SciPy's L-BFGS-B, and the host's share of each
  iteration (`Result.seconds_outside_evaluation`);
- peak device memory after the size (the backend's allocator; absent on a CPU).
Then style_transfer itself, end to end, at 512 px with its defaults (500 iterations).

Then CIN (the paper's network, two styles): training steps per second at 256 px with
batch 16 (Magenta's), the step alone on photos held in memory; and stylised images per
second at 512 and 1024 px, one image per pass, through the backend's stylizer
(`cin_inference.stylizer`).

Usage:
    KERAS_BACKEND=jax python benchmarks/gpu.py --output benchmarks/results/gpu.json
"""

import datetime
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import (SAMPLES, cin_training_steps_per_second,  # noqa: E402
                               device_name, floor_function, mean_seconds, write_results)
from style_transfer import cli  # noqa: E402,F401  (first: quiets the backend)
from style_transfer import (backend, cin_inference, cin_network, gatys, images,  # noqa: E402
                            losses, optimize, transfer)
import keras  # noqa: E402
import numpy as np  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["512", "1024", "2048"], "Longest sides to measure.")
_REPEATS = flags.DEFINE_integer("repeats", 20, "Timed passes per measurement.")
_ITERATIONS = flags.DEFINE_integer("iterations", 50, "L-BFGS iterations timed per size "
                                   "(SciPy's: a fifth of them at 2048 px).")
_END_TO_END = flags.DEFINE_integer("end_to_end_size", 512, "style_transfer's size, end to "
                                   "end (0: skip).")
_CIN_STEPS = flags.DEFINE_integer("cin_steps", 20, "CIN training steps timed (0: skip).")
_CIN_BATCH = flags.DEFINE_integer("cin_batch_size", 16, "CIN training batch (Magenta's 16).")
_CIN_SIZES = flags.DEFINE_list("cin_sizes", ["512", "1024"], "Sides of the square images "
                               "CIN stylises (none: skip).")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")

SETTINGS = gatys.StyleTransferSettings(weights="random")  # Defaults; weights for speed only.


def peak_memory_bytes():
    if backend.name() == "jax":
        import jax
        stats = jax.devices()[0].memory_stats() or {}
        return stats.get("peak_bytes_in_use")
    if backend.name() == "torch":
        import torch
        return torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
    import tensorflow as tf
    if tf.config.list_physical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"]
    return None


def problem(size):
    """Model, a 4:3 content image of `size`, and style_transfer's loss on it."""
    height, width = round(size * 3 / 4), size
    content = images.resize(images.load(SAMPLES / "content" / "coffee.jpg"), height, width)
    style = images.load(SAMPLES / "style" / "starry_night.jpg", max_size=size)
    model = SETTINGS.feature_model()
    objective = SETTINGS.objective(model)
    targets = [losses.style_target(model, style, objective.style_layers)]
    return model, content, transfer.loss_function(model, content, targets, objective)


def measure_size(size):
    model, content, loss = problem(size)
    floor = mean_seconds(floor_function(model, content.shape), content, _REPEATS.value)
    evaluation = mean_seconds(backend.loss_and_gradient_function(loss, content.shape),
                              content, _REPEATS.value)
    figures = {"size": size, "image_shape": list(content.shape[:2]), "floor_seconds": floor,
               "evaluation_seconds": evaluation, "evaluation_over_floor": evaluation / floor}
    for optimizer in ("device", "scipy"):
        iterations = _ITERATIONS.value if optimizer == "device" or size < 2048 else max(
            2, _ITERATIONS.value // 5)
        run = optimize.minimize(loss, content, max_iterations=iterations, optimizer=optimizer)
        figures[optimizer] = {
            "iterations": run.num_iterations,
            "seconds_per_iteration": run.seconds_per_iteration,
            "seconds_per_evaluation": run.seconds_per_evaluation,
            "evaluations_per_iteration": (run.num_evaluations - 1) / max(run.num_iterations, 1),
            "host_seconds_per_iteration": run.seconds_outside_evaluation,
            "iteration_over_evaluation": run.seconds_per_iteration / evaluation,
            "compile_seconds": run.compile_seconds}
    figures["peak_device_memory_bytes"] = peak_memory_bytes()
    print(f"{size:>5} px: floor {1e3 * floor:.1f} ms, evaluation {1e3 * evaluation:.1f} ms "
          f"({evaluation / floor:.2f}x), iteration: device "
          f"{1e3 * figures['device']['seconds_per_iteration']:.1f} ms, SciPy "
          f"{1e3 * figures['scipy']['seconds_per_iteration']:.1f} ms", flush=True)
    return figures


def end_to_end(size):
    """style_transfer with its defaults (500 iterations), from the call to the result."""
    start = time.perf_counter()
    result = gatys.style_transfer(SAMPLES / "content" / "coffee.jpg",
                                  SAMPLES / "style" / "starry_night.jpg", size=size,
                                  weights="random", progress=None)
    seconds = time.perf_counter() - start
    iterations = len(result.history) - 1
    print(f"style_transfer at {size} px, {iterations} iterations: {seconds:.1f} s end to "
          f"end", flush=True)
    return {"size": size, "iterations": iterations, "wall_seconds": seconds}


def cin_figures():
    """CIN's training steps and stylisations per second (module docstring)."""
    rng = np.random.default_rng(0)
    figures = {"network_width": 32, "stylize": []}
    if _CIN_STEPS.value:
        figures["train_steps_per_second"] = cin_training_steps_per_second(
            cin_network.transformer_network(2, seed=0), rng, size=256,
            batch_size=_CIN_BATCH.value, steps=_CIN_STEPS.value)
        figures["train_batch_size"] = _CIN_BATCH.value
    stylizer = cin_inference.stylizer(cin_network.transformer_network(2, seed=1))
    weights = np.array([[0.5, 0.5]], np.float32)
    for size in (int(size) for size in _CIN_SIZES.value):
        image = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32)
        start = time.perf_counter()
        np.asarray(stylizer([image, weights]))  # Compiles at this size.
        first_call = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(_REPEATS.value):
            output = stylizer([image, weights])
        np.asarray(output)
        rate = _REPEATS.value / (time.perf_counter() - start)
        figures["stylize"].append({"size": size, "images_per_second": rate,
                                   "precision": stylizer.precision,
                                   "first_call_seconds": first_call})
        print(f"CIN stylising at {size} px: {rate:.1f} images/s ({stylizer.precision})",
              flush=True)
    return figures


def main(argv):
    del argv
    results = {"date": datetime.date.today().isoformat(), "device": device_name(),
               "keras_backend": backend.name(), "keras": keras.__version__,
               "network": SETTINGS.network, "sizes": []}
    print(f"{results['device']}, Keras {keras.__version__} on {backend.name()}", flush=True)
    for size in (int(size) for size in _SIZES.value):
        results["sizes"].append(measure_size(size))
        write_results(_OUTPUT.value, results)  # After each size: a time limit keeps them.
    if _END_TO_END.value:
        results["style_transfer"] = end_to_end(_END_TO_END.value)
        write_results(_OUTPUT.value, results)
    results["cin"] = cin_figures()
    write_results(_OUTPUT.value, results)


if __name__ == "__main__":
    app.run(main)
