"""The Matting Laplacian's cost, and photo_style's seconds per iteration.

Measured in one process: the time to build the Laplacian (median of --repeats) and the
peak memory the build adds (Linux VmHWM, reset before it), at 256 and 512 px squares of
a real photo; the cost of the photorealism term per evaluation (three sparse products)
and of the --smooth guided-filter refit (its defaults, once per run); and seconds per
L-BFGS iteration of photo_style's second stage (Gatys loss plus L_m) against its first
stage (Gatys loss alone) at 512 px.

Target (issue 7): 512x512 in at most 0.5 s and a few hundred MB.

Usage:
    python benchmarks/matting.py --output benchmarks/results/matting.json
"""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import image_paths, write_results  # noqa: E402
from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import images, losses, matting, memory, transfer  # noqa: E402
from style_transfer import photo as photo_technique  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed builds per size.")
_ITERATIONS = flags.DEFINE_integer("iterations", 8, "L-BFGS iterations per stage timed.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def build_figures(photo, side):
    square = images.resize(photo, side, side) / 255.0
    memory._reset_peak()
    resident = memory._resident_bytes()
    laplacian = matting.matting_laplacian(square)
    peak_mb = (memory._peak_bytes() - resident) / 2 ** 20
    seconds = []
    for _ in range(_REPEATS.value):
        start = time.perf_counter()
        matting.matting_laplacian(square)
        seconds.append(time.perf_counter() - start)
    term = matting.photorealism_loss(laplacian, 1.0)  # What photo_style runs: L_m, ∂L_m.
    pixels = tf.constant(square * 255.0, tf.float32)
    start = time.perf_counter()
    for _ in range(_REPEATS.value):
        with tf.GradientTape() as tape:
            tape.watch(pixels)
            value = term(pixels)
        tape.gradient(value, pixels).numpy()
    term_seconds = (time.perf_counter() - start) / _REPEATS.value
    start = time.perf_counter()
    matting.guided_filter(square, square, matting.SMOOTH_RADIUS, matting.SMOOTH_EPSILON)
    smooth_seconds = time.perf_counter() - start
    figures = {"side": side, "build_seconds": float(np.median(seconds)),
               "build_memory_mb": peak_mb, "nonzeros": int(laplacian.nnz),
               "matrix_mb": (laplacian.data.nbytes + laplacian.indices.nbytes
                             + laplacian.indptr.nbytes) / 2 ** 20,
               "photorealism_term_seconds": term_seconds, "smooth_seconds": smooth_seconds}
    print(f"{side}x{side}: build {figures['build_seconds']:.3f} s, +{peak_mb:.0f} MB peak, "
          f"matrix {figures['matrix_mb']:.0f} MB; L_m and gradient {term_seconds:.3f} s; "
          f"--smooth {smooth_seconds:.2f} s",
          flush=True)
    return figures


def iteration_figures(content, style):
    settings = photo_technique.PhotoSettings(weights="random")  # photo_style's defaults.
    model = settings.feature_model()
    objective = settings.objective(model, tv_weight=settings.tv_weight_at(content.shape))
    targets = [losses.style_target(model, style, settings.style_layers)]
    laplacian = matting.matting_laplacian(content / 255.0)
    optimizer = {"optimizer": settings.optimizer, "bounds": settings.pixel_bounds()}
    plain = transfer.optimise(model, content, targets, content, objective, _ITERATIONS.value,
                              **optimizer)
    photo = transfer.optimise(model, content, targets, plain.image, objective,
                              _ITERATIONS.value, extra_terms={"photo": matting.photorealism_loss(
                                  laplacian, settings.photo_weight)}, **optimizer)
    figures = {"shape": list(content.shape[:2]),
               "stage1_seconds_per_iteration": plain.seconds_per_iteration,
               "stage2_seconds_per_iteration": photo.seconds_per_iteration}
    print(f"photo_style at {content.shape[1]}x{content.shape[0]}: "
          f"{plain.seconds_per_iteration:.2f} s/it without L_m, "
          f"{photo.seconds_per_iteration:.2f} s/it with it", flush=True)
    return figures


def main(argv):
    del argv  # Unused.
    content_path, style_path = image_paths()
    photo = images.load(content_path)
    results = {"builds": [build_figures(photo, side) for side in (256, 512)],
               "iterations_512": iteration_figures(images.load(content_path, max_size=512),
                                                   images.load(style_path, max_size=512))}
    write_results(_OUTPUT.value, results)


if __name__ == "__main__":
    app.run(main)
