"""Speed of the conditional instance norm network: training steps and stylisations per second.

The paper's network (style_transfer/cin.py, 32 base filters, 5 residual blocks) with two
styles, random VGG19 weights for the training loss (speed does not depend on them):
training steps per second at 256 px with batch 4 (Adam, one random style per batch), and
stylised images per second at 256 and 512 px, one image per forward pass as cin_stylize
runs it, best of three rounds after a warm-up:
  - keras: the Keras network itself (what training runs);
  - stylizer float32 / bfloat16: cin_inference.Stylizer, the same function rewritten
    (cin_stylize's --precision; its default, auto, is bfloat16 on CPUs that have it),
    with its difference from the Keras output;
  - width 16: cin_train --network_width 16 (about a quarter of the multiply-adds).
γ and β are random (a fresh network has 1 and 0), so the differences are not flattered.

Target (issue 8): at least 10 images per second at 256 px on a 2-core CPU.

Usage:
    python benchmarks/cin.py --output benchmarks/results/cin.json
    # bfloat16 emulated, as on AVX512 CPUs without BF16 (why auto picks float32 there):
    ONEDNN_MAX_CPU_ISA=AVX512_CORE_VNNI python benchmarks/cin.py --train_steps 0 \
        --output benchmarks/results/cin_avx512_without_bf16.json
"""

import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import cin_inference, cin_network  # noqa: E402
from benchmarks.common import cin_training_steps_per_second, write_results  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 5, "Timed training steps (0: none).",
                                    lower_bound=0)
_IMAGES = flags.DEFINE_integer("images", 10, "Timed stylisations per size.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def main(argv):
    del argv  # Unused.
    rng = np.random.default_rng(0)
    network = cin_network.transformer_network(2)
    results = {"train_steps_per_second_256_batch4": None, "stylize": [],
               "auto_precision_here": cin_inference.resolve_precision("auto"),
               "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA")}
    if _TRAIN_STEPS.value:
        results["train_steps_per_second_256_batch4"] = cin_training_steps_per_second(
            network, rng, size=256, batch_size=4, steps=_TRAIN_STEPS.value)
    weights = np.array([[0.5, 0.5]], np.float32)
    narrow = cin_network.transformer_network(2, base_filters=16)
    for variable in network.weights + narrow.weights:  # Trained-looking γ and β.
        if variable.name in ("gamma", "beta"):
            variable.assign(rng.normal(float(variable.name == "gamma"), 0.3, variable.shape))
    keras_forward = tf.function(lambda image, w: network([image, w]), reduce_retracing=True)
    candidates = [("keras", 32, lambda inputs: keras_forward(*inputs))]
    for precision in ("float32", "bfloat16"):
        candidates.append((f"stylizer {precision}", 32,
                           cin_inference.Stylizer(network, precision)))
    candidates.append(("stylizer float32", 16, cin_inference.Stylizer(narrow, "float32")))
    for size in (256, 512):
        image = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32)
        expected = keras_forward(image, weights).numpy()
        for name, width, forward in candidates:
            call = lambda f=forward: np.asarray(f([image, weights]))  # noqa: E731
            start = time.perf_counter()
            output = call()  # Traces at this size.
            first_call = time.perf_counter() - start
            rounds = []
            for _ in range(3):
                start = time.perf_counter()
                for _ in range(_IMAGES.value):
                    call()
                rounds.append(_IMAGES.value / (time.perf_counter() - start))
            row = {"size": size, "network_width": width, "path": name,
                   "images_per_second": max(rounds), "first_call_seconds": first_call}
            if width == 32:
                row["max_grey_level_difference"] = float(np.abs(output - expected).max())
                row["mean_grey_level_difference"] = float(np.abs(output - expected).mean())
            print(f"stylising at {size} px, {name}, width {width}: "
                  f"{row['images_per_second']:.2f} images/s (first call {first_call:.1f} s)"
                  + (f", max difference {row['max_grey_level_difference']:.3g} grey levels"
                     if width == 32 else ""), flush=True)
            results["stylize"].append(row)
    write_results(_OUTPUT.value, results)


if __name__ == "__main__":
    app.run(main)
