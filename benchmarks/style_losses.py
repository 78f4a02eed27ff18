"""Seconds per evaluation of each style loss (`style_losses`) against the Gram loss's, in one
run on any backend (KERAS_BACKEND), at each size (issue 29).

At each size (the longest side of a 4:3 photo; the style painting at the same size;
style_transfer's objective with each --style_loss; VGG19 to relu5_1 by default; random
weights: speed does not depend on them):
- floor: one bare forward+backward pass of the network;
- evaluation: the objective and its gradient, per loss, and its ratio to Gram's;
- sort: for sliced_wasserstein, the sorts of its projections at every style layer alone
  (forward), the work that histogram matching by bins avoids.

Target: every loss within 1.3x Gram's evaluation time.

Usage:
    python benchmarks/style_losses.py --sizes 256,512 \
        --output benchmarks/results/style_losses.json
"""

import datetime
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import (SAMPLES, device_name, floor_function,  # noqa: E402
                               mean_seconds, write_results)
from style_transfer import (backend, gatys, images, losses, style_losses,  # noqa: E402
                            transfer)
from style_transfer.parameters import settings_from  # noqa: E402
from keras import ops  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Longest sides to measure.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed evaluations per loss and size.")
_NETWORK = flags.DEFINE_string("network", "vgg19", "The feature network.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def settings(style_loss):
    return settings_from(gatys.StyleTransferSettings, dict(
        style_loss=style_loss, weights="random", network=_NETWORK.value))


def sort_function(model, statistics, shape):
    """The sorts sliced_wasserstein runs at one evaluation, alone: each style layer's
    projections of the image's activations, sorted position by position (forward)."""
    def sorts(image):
        features = losses.features_of(model, image)
        total = 0.0
        for layer, target in statistics.items():
            flat = ops.reshape(features[layer], (-1, features[layer].shape[-1]))
            projected = ops.transpose(ops.matmul(flat, target["directions"]))
            total = total + ops.sum(ops.sort(projected, axis=1)[:, :1])
        return {"total": total}
    return backend.loss_and_gradient_function(sorts, shape)


def measure_size(size):
    content = images.resize(images.load(SAMPLES / "content" / "coffee.jpg"),
                            round(size * 3 / 4), size)
    style = images.load(SAMPLES / "style" / "starry_night.jpg", max_size=size)
    model = settings("gram").feature_model()
    floor = mean_seconds(floor_function(model, content.shape), content, _REPEATS.value)
    figures = {"size": size, "image_shape": list(content.shape[:2]), "floor_seconds": floor,
               "losses": {}}
    for name in style_losses.STYLE_LOSSES:
        options = settings(name)
        target = losses.style_target(model, style, options.style_layers,
                                     style_loss=options.style_statistics())
        loss = transfer.loss_function(model, content, [target], options.objective(model))
        seconds = mean_seconds(backend.loss_and_gradient_function(loss, content.shape),
                               content, _REPEATS.value)
        figures["losses"][name] = {"evaluation_seconds": seconds}
        if name == "sliced_wasserstein":
            # The sorts alone, with the forward pass they need, minus a forward+backward.
            with_sorts = mean_seconds(sort_function(model, target.statistics, content.shape),
                                      content, _REPEATS.value)
            figures["losses"][name]["sort_seconds"] = max(with_sorts - floor, 0.0)
    gram = figures["losses"]["gram"]["evaluation_seconds"]
    for name, entry in figures["losses"].items():
        entry["over_gram"] = entry["evaluation_seconds"] / gram
        sort = (f", sorts {1e3 * entry['sort_seconds']:.0f} ms" if "sort_seconds" in entry
                else "")
        print(f"{size:>5} px {name:>18}: {1e3 * entry['evaluation_seconds']:7.1f} ms "
              f"({entry['over_gram']:.2f}x Gram){sort}", flush=True)
    print(f"{size:>5} px {'floor':>18}: {1e3 * floor:7.1f} ms", flush=True)
    return figures


def main(argv):
    del argv
    results = {"date": datetime.date.today().isoformat(), "device": device_name(),
               "keras_backend": backend.name(), "network": _NETWORK.value,
               "target": "every loss within 1.3x Gram's evaluation", "sizes": []}
    print(results["device"], backend.name(), flush=True)
    for size in map(int, _SIZES.value):
        results["sizes"].append(measure_size(size))
        write_results(_OUTPUT.value, results)  # What is measured survives a timeout.


if __name__ == "__main__":
    app.run(main)
