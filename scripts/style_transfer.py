"""Neural style transfer (Gatys, Ecker & Bethge).

L. A. Gatys, A. S. Ecker, M. Bethge, "A Neural Algorithm of Artistic Style", 2015,
arXiv:1508.06576; "Image Style Transfer Using Convolutional Neural Networks", CVPR 2016.

A convolutional network trained for object recognition separates what an image shows
from how it is painted. The content of an image is its activations F^l at a deep layer;
its style is the correlations between the filter responses of several layers, the Gram
matrices G^l = F^lᵀ F^l. Starting from the content photograph (or noise), we change the
pixels x until the activations of x match the photograph p at relu4_2 and its Gram
matrices match those of the painting a at relu1_1 … relu5_1:

    L(p, a, x) = α · 1/2 Σ (F^l - P^l)²                      (Eqs. 1 and 7)
               + β · Σ_l w_l · 1/(4 N_l² M_l²) Σ (G^l - A^l)²   (Eqs. 4, 5 and 7)
               + λ_tv · TV(x)                                 (smoothness prior)

minimised with L-BFGS over the pixels, kept in [0, 255]. The ratio α/β sets how much
of the photograph survives (the paper shows 1e-3 to 1e-4).

Example:
    python scripts/style_transfer.py --content samples/content/lighthouse.jpg \
        --style samples/style/swirls.jpg --output out.png --size 256 --iterations 300
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli, images, losses, optimize, vgg  # noqa: E402


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    quiet = cli.QUIET.value

    # The photograph p and the painting(s) a, at the working size.
    content_image = images.load(cli.CONTENT.value, max_size=cli.SIZE.value)  # (H, W, 3)
    style_images = [images.load(path, max_size=cli.SIZE.value) for path in cli.STYLE.value]
    init_image = images.initial_image(cli.INIT.value, content_image, style_images[0],
                                      seed=cli.SEED.value)

    # The network: VGG19 up to the deepest layer used, average pooling (Sec. 2).
    content_layers = [vgg.canonical_layer_name(name) for name in cli.CONTENT_LAYERS.value]
    style_layer_weights = cli.style_layer_weights(cli.STYLE_LAYERS.value,
                                                  cli.STYLE_LAYER_WEIGHTS.value)  # w_l
    weights = vgg.resolve_weights(cli.WEIGHTS.value, seed=cli.SEED.value)
    model = vgg.feature_model(content_layers + list(style_layer_weights),
                              pooling=cli.POOLING.value, weights=weights)

    # Targets P^l and A^l, computed once (Sec. 2.1 and 2.2).
    targets = losses.gatys_targets(model, content_image, style_images,
                                   content_layers, list(style_layer_weights))

    def total_loss(image):  # Eq. 7, plus the smoothness prior.
        features = losses.features_of(model, image)
        return losses.gatys_loss(
            features, image, targets,
            content_weight=cli.CONTENT_WEIGHT.value,  # α
            style_weight=cli.STYLE_WEIGHT.value,  # β
            tv_weight=cli.TV_WEIGHT.value,
            style_layer_weights=style_layer_weights,
            style_blend_weights=[1.0 / len(style_images)] * len(style_images))

    # Gradient descent on the pixels with L-BFGS (Sec. 2.3).
    cli.say(f"{content_image.shape[1]}x{content_image.shape[0]} px, weights: "
            f"{weights.source}, {cli.ITERATIONS.value} iterations", quiet)
    result = optimize.lbfgs(
        total_loss, init_image, max_iterations=cli.ITERATIONS.value,
        callback=cli.iteration_callback(
            num_iterations=cli.ITERATIONS.value, print_every=cli.PRINT_EVERY.value,
            checkpoint_every=cli.CHECKPOINT_EVERY.value, output=cli.OUTPUT.value,
            quiet=quiet))

    images.save(result.image, cli.OUTPUT.value)
    report = cli.report_path(cli.OUTPUT.value, cli.REPORT.value)
    cli.write_report(
        report, result=result, weights=weights, output=cli.OUTPUT.value,
        start_time=start_time,
        image_sizes={"content": list(content_image.shape[:2]),
                     "style": [list(style.shape[:2]) for style in style_images]})
    cli.say(f"wrote {cli.OUTPUT.value} and {report} ({result.stop_reason}; "
            f"{result.seconds_per_iteration:.3f} s/it)", quiet)
    return cli.EXIT_INTERRUPTED if result.interrupted else 0


def run():
    """Entry point of the installed `style_transfer` command."""
    cli.run(main, required=["content", "style"])


if __name__ == "__main__":
    run()
