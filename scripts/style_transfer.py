"""Neural style transfer (Gatys, Ecker & Bethge), with perceptual controls.

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

Controls from Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer",
CVPR 2017 (arXiv:1611.07865): several styles with blend weights b_s (the style term
becomes Σ_s b_s L_style(a_s)); colour preservation (Sec. 5); coarse-to-fine
optimisation for large outputs (Sec. 6); and the style scale of jcjohnson/neural-style.

Example:
    python scripts/style_transfer.py --content samples/content/chelsea.jpg \
        --style samples/style/swirls.jpg --output out.png --size 256 --iterations 300
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli, color, images, losses, memory, transfer  # noqa: E402


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    quiet, preserve_color = cli.QUIET.value, cli.PRESERVE_COLOR.value
    sizes = cli.output_sizes(cli.SIZE.value, cli.SCALES.value)  # Coarse to fine.
    settings = cli.gatys_settings()  # α, β, λ_tv, layers and w_l of Eq. 7.

    # The photograph p and the painting(s) a, read in full once (errors surface here).
    content_original = images.load(cli.CONTENT.value)
    style_originals = [images.load(path) for path in cli.STYLE.value]
    blend_weights = cli.style_blend_weights(len(style_originals),
                                            cli.STYLE_BLEND_WEIGHTS.value)  # b_s

    # The network: VGG19 up to the deepest layer used, average pooling (Sec. 2).
    weights, model = cli.feature_model(settings)
    needs = memory.check(model, content_original.shape, sizes, cli.ESTIMATE.value,
                         cli.MAX_MEMORY_GB.value, quiet)
    if cli.ESTIMATE.value:
        return 0

    stages, image = [], None
    for size in sizes:
        content_image = images.resize_longest_side(content_original, size)  # (H, W, 3)
        style_images = [images.resize_longest_side(style, round(size * cli.STYLE_SCALE.value))
                        for style in style_originals]
        if preserve_color == "histogram":  # Recolour the style first (2017, Sec. 5.1).
            style_images = [color.match_color_histogram(style, content_image,
                                                        cli.HISTOGRAM_METHOD.value)
                            for style in style_images]
        elif preserve_color == "luminance":  # Luminance channels only (2017, Sec. 5.2).
            style_images = [color.match_luminance(style, content_image)
                            for style in style_images]
            content_image = color.luminance_image(content_image)
        if image is None:
            init_image = cli.initial_image(content_image, style_images)
        else:  # Start from the coarser result, upsampled (2017, Sec. 6).
            init_image = images.resize(image, *content_image.shape[:2])
        # Style targets A^l, once per size; each style with its blend weight b_s.
        style_targets = [losses.style_target(model, style, settings.style_layers, weight=b)
                         for style, b in zip(style_images, blend_weights)]
        cli.say(f"{content_image.shape[1]}x{content_image.shape[0]} px, weights: "
                f"{weights.source}, {settings.iterations} iterations", quiet)
        result = transfer.stylize(model, content_image, style_targets, init_image, settings,
                                  cli.progress(stage=f"{size}px" if len(sizes) > 1 else None))
        stages.append(cli.Stage.of(size, content_image, style_images, result))
        image = result.image
        if result.interrupted:
            break

    if preserve_color == "luminance":  # The result's luminance, the content's I and Q.
        image = color.with_content_chroma(
            image, images.resize(content_original, *image.shape[:2]))
    return cli.finish(image, stages, weights, start_time, extra={"predicted": needs})


def run():
    """Entry point of the installed `style_transfer` command."""
    cli.run(main, required=["content", "style"])


if __name__ == "__main__":
    run()
