"""Speed of the conditional instance norm network: training steps and stylisations per second.

The paper's network (style_transfer/cin.py, 32 base filters, 5 residual blocks) with two
styles, random VGG19 weights for the training loss (speed does not depend on them):
training steps per second at 256 px with batch 4 (Adam, one random style per batch), and
stylised images per second at 256 and 512 px (one image per forward pass, after a
warm-up, as cin_stylize runs it), for the paper's width and for half of it
(cin_train --network_width 16: about a quarter of the multiply-adds).

Target (issue 8): at least 10 images per second at 256 px on a 2-core CPU.

Usage:
    python benchmarks/cin.py --output benchmarks/results/cin.json
"""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from style_transfer import cin, losses, transfer, vgg  # noqa: E402  (first: quiets TF)
from benchmarks.common import write_results  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 5, "Timed training steps.")
_IMAGES = flags.DEFINE_integer("images", 10, "Timed stylisations per size.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def main(argv):
    del argv  # Unused.
    rng = np.random.default_rng(0)
    network = cin.transformer_network(2)
    model = vgg.feature_model(list(vgg.CONTENT_LAYERS + vgg.STYLE_LAYERS))
    styles = rng.uniform(0, 255, (2, 256, 256, 3)).astype(np.float32)
    grams = [losses.style_target(model, s, list(vgg.STYLE_LAYERS)).grams for s in styles]
    settings = transfer.GatysSettings(
        content_layers=list(vgg.CONTENT_LAYERS),
        style_layer_weights={layer: 0.2 for layer in vgg.STYLE_LAYERS}, content_weight=1.0,
        style_weight=1e3, tv_weight=1e-3, iterations=1)
    trainer = cin.StyleTrainer(network, model, grams, settings)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
    photos = rng.uniform(0, 255, (16, 256, 256, 3)).astype(np.float32)
    data = tf.data.Dataset.from_tensor_slices(photos).batch(4, drop_remainder=True).repeat()
    trainer.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # Trace.
    start = time.perf_counter()
    trainer.fit(data, epochs=1, steps_per_epoch=_TRAIN_STEPS.value, verbose=0, shuffle=False)
    steps_per_second = _TRAIN_STEPS.value / (time.perf_counter() - start)
    print(f"training at 256 px, batch 4: {steps_per_second:.3f} steps/s "
          f"({1 / steps_per_second:.1f} s/step)", flush=True)
    results = {"train_steps_per_second_256_batch4": steps_per_second, "stylize": []}

    weights = np.array([[0.5, 0.5]], np.float32)
    for width, stylizer in ((32, network), (16, cin.transformer_network(2, base_filters=16))):
        forward = tf.function(lambda image, w, net=stylizer: net([image, w]),
                              reduce_retracing=True)
        for size in (256, 512):
            image = rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32)
            forward(image, weights).numpy()
            start = time.perf_counter()
            for _ in range(_IMAGES.value):
                forward(image, weights).numpy()
            per_second = _IMAGES.value / (time.perf_counter() - start)
            print(f"stylising at {size} px, network width {width}: {per_second:.2f} images/s",
                  flush=True)
            results["stylize"].append({"size": size, "network_width": width,
                                       "images_per_second": per_second})
    write_results(_OUTPUT.value, results)


if __name__ == "__main__":
    app.run(main)
