"""Cost of masked styles: one style against 3 hard masks and 8 soft masks, side by side.

All configurations share one forward pass of the network per evaluation; each mask adds
only the Gram matrices of its own positions (`losses.gram_matrix` gathers a mask's
support), so hard masks that partition the image cost one Gram matrix in all. Measured
in one process on the same content image and network: seconds per loss-and-gradient
evaluation (the bulk of an L-BFGS iteration) and seconds per L-BFGS iteration over a
short run, and the peak resident memory of each configuration's evaluations (Linux
VmHWM, reset before each).

Targets (issue 18): 3 hard masks at most 1.05x, 8 soft masks at most 1.3x the
single-style evaluation time.

Usage:
    python benchmarks/masks.py --sizes 256,512 --output benchmarks/results/masks.json
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import image_paths, write_results  # noqa: E402
from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import gatys, images, losses, masks, memory, optimize, vgg  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Longest sides to measure.")
_REPEATS = flags.DEFINE_integer("repeats", 8, "Timed evaluations per configuration.")
_ITERATIONS = flags.DEFINE_integer("iterations", 10, "L-BFGS iterations per configuration.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")

SETTINGS = gatys.GatysSettings()  # multi_style's and mask_style's defaults.


def configurations(model, content, style):
    """name -> style targets: unmasked, 3 hard vertical bands, 8 soft overlapping ramps."""
    height, width = content.shape[:2]
    layers = list(vgg.STYLE_LAYERS)
    columns = np.arange(width)[None, :].repeat(height, axis=0)
    bands = [((columns * 3 // width) == k).astype(np.float32) for k in range(3)]
    ramps = [np.clip(1 - np.abs(columns / width * 8 - k - 0.5) / 1.5, 0, 1).astype(np.float32)
             for k in range(8)]
    styles = [style, style[:, ::-1], style[::-1]]  # Different statistics per region.

    def targets(region_masks):
        return [losses.style_target(model, styles[k % 3], layers,
                                    output_masks=masks.layer_masks(mask, layers),
                                    weight=1.0)
                for k, mask in enumerate(region_masks)]

    return {"single style": [losses.style_target(model, style, layers)],
            "3 hard masks": targets(bands), "8 soft masks": targets(ramps)}


def measure(model, content, style_targets):
    content_features = losses.content_targets(model, content, list(vgg.CONTENT_LAYERS))
    objective = SETTINGS.objective(model)

    def loss(image):
        return objective.terms(losses.features_of(model, image), image, content_features,
                               style_targets)

    function = optimize.loss_and_gradient_function(loss, content.shape)
    image = tf.constant(content)
    memory._reset_peak()  # Only this configuration's evaluations count.
    resident = memory._resident_bytes()
    function(image)
    seconds = []
    for _ in range(_REPEATS.value):
        start = tf.timestamp()
        function(image)[1].numpy()
        seconds.append(float(tf.timestamp() - start))
    peak_mb = (memory._peak_bytes() - resident) / 2 ** 20
    run = optimize.lbfgs(loss, content, max_iterations=_ITERATIONS.value)
    return {"seconds_per_evaluation": float(np.median(seconds)),
            "seconds_per_iteration": run.seconds_per_iteration,
            "evaluation_memory_mb": peak_mb}


def main(argv):
    del argv  # Unused.
    content_path, style_path = image_paths()
    model = vgg.feature_model(list(vgg.CONTENT_LAYERS + vgg.STYLE_LAYERS),
                              weights=vgg.Weights("random", seed=0), padding=SETTINGS.padding)
    results = []
    for size in (int(s) for s in _SIZES.value):
        content = images.load(content_path, max_size=size)
        style = images.load(style_path, max_size=size)
        rows = {name: measure(model, content, targets)
                for name, targets in configurations(model, content, style).items()}
        base = rows["single style"]
        for name, row in rows.items():
            row["evaluation_ratio"] = row["seconds_per_evaluation"] / base["seconds_per_evaluation"]
            row["iteration_ratio"] = row["seconds_per_iteration"] / base["seconds_per_iteration"]
            print(f"{size:>5} px {name:>13}: {row['seconds_per_evaluation']:.3f} s/evaluation "
                  f"({row['evaluation_ratio']:.2f}x), {row['seconds_per_iteration']:.3f} s/it "
                  f"({row['iteration_ratio']:.2f}x), evaluation memory "
                  f"{row['evaluation_memory_mb']:.0f} MB above resident", flush=True)
        results.append({"size": size, "shape": list(content.shape[:2]), **rows})
    write_results(_OUTPUT.value, {"weights": "random", "content": content_path.name,
                                  "style": style_path.name, "sizes": results})


if __name__ == "__main__":
    app.run(main)
