"""style_transfer's style:content balance at iteration 0 against Gatys' recipe, at 256
and 512 px: the check of issue 15 ("agrees within 5%").

For each size this runs the style_transfer command at its defaults (plus --init noise
and one iteration), reads the content and style terms of iteration 0 from its run
report, and computes the same two terms with Gatys' recipe for the original VGG19
(leongatys/PytorchNeuralStyleTransfer) written out here in NumPy: content = MSE of the
relu4_2 activations, style = Σ_l β/n_l² · MSE(G_l/M_l, A_l/M_s) over relu1_1 ... relu5_1,
with this suite's β = 1e2 (512/s)⁻³ at longest side s (docs/balance.md) where Gatys'
notebook has 1e3 at every size.
Both read the same network (the ImageNet weights if on disk, else a seeded random
network in a weights file: the balance is an identity of the objective, so any weights
test it), the same images and the same noise. The ratio of balances should be 1.

Usage:
    python benchmarks/balance.py --output benchmarks/results/balance.json
"""

import json
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from absl import app, flags  # noqa: E402

from benchmarks.common import image_paths, write_results  # noqa: E402
from style_transfer import cli  # noqa: E402,F401  (quiets TensorFlow)
from style_transfer import gatys, images, vgg  # noqa: E402
import numpy as np  # noqa: E402

_SIZES = flags.DEFINE_list("sizes", ["256", "512"], "Longest sides to check.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def recipe_terms(weights, content, style, start, size):
    """Gatys' recipe, in NumPy on the features of the same network."""
    settings = gatys.StyleTransferSettings()  # The command's network: pooling, padding.
    model = vgg.feature_model(list(vgg.STYLE_LAYERS) + ["relu4_2"], pooling=settings.pooling,
                              weights=weights, padding=settings.padding)

    def features(image):
        batch = model(vgg.preprocess(np.asarray(image, np.float32))[None])
        return {layer: np.asarray(value[0], np.float64) for layer, value in batch.items()}

    def gram(f):
        flat = f.reshape(-1, f.shape[-1])
        return flat.T @ flat / flat.shape[0]  # GramMatrix: bmm / (h w)

    x, p, a = features(start), features(content), features(style)
    content_term = np.mean((x["relu4_2"] - p["relu4_2"]) ** 2)  # content_weights [1e0]
    beta = 1e2 * (size / 512) ** 3  # style_weights β/n²
    style_term = sum(beta / x[l].shape[-1] ** 2 * np.mean((gram(x[l]) - gram(a[l])) ** 2)
                     for l in vgg.STYLE_LAYERS)
    return content_term, style_term


def main(argv):
    del argv
    content_path, style_path = image_paths()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        on_disk = any((d / vgg.VGG19.weights_file).is_file()
                      for d in vgg.weights_search_dirs() + [vgg.keras_cache_dir()])
        if on_disk:
            weights = vgg.resolve_weights("imagenet")
        else:  # No ImageNet weights here: a seeded random network, as a file.
            sys.path.insert(0, str(ROOT / "tests"))
            from conftest import write_legacy_weights
            write_legacy_weights(folder / "vgg19.h5", seed=3)
            weights = vgg.resolve_weights(str(folder / "vgg19.h5"))
        for size in map(int, _SIZES.value):
            report = folder / f"{size}.json"
            subprocess.run([sys.executable, str(ROOT / "scripts" / "style_transfer.py"),
                            "--content", str(content_path), "--style", str(style_path),
                            "--size", str(size), "--init", "noise", "--iterations", "1",
                            "--weights", weights.path, "--output", str(folder / f"{size}.png"),
                            "--report", str(report), "--quiet"], check=True)
            first = json.loads(report.read_text())["loss_history"][0]["losses"]
            content = images.load(content_path, max_size=size)
            style = images.load(style_path, max_size=size)
            start = images.initial_image("noise", content, style, seed=0)
            recipe_content, recipe_style = recipe_terms(weights, content, style, start, size)
            ours = first["style"] / first["content"]
            theirs = recipe_style / recipe_content
            results.append({"size": size, "ours": {"content": first["content"],
                                                  "style": first["style"]},
                            "recipe": {"content": recipe_content, "style": recipe_style},
                            "balance_ratio": ours / theirs})
            print(f"{size} px: style/content ours {ours:.6g}, recipe {theirs:.6g}, "
                  f"ratio {ours / theirs:.6f}", flush=True)
    write_results(_OUTPUT.value, {"weights": weights.source, "images": [
        str(content_path.name), str(style_path.name)], "results": results})


if __name__ == "__main__":
    app.run(main)
