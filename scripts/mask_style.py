"""Styles weighted per pixel by soft masks: gradients, fades and overlaps between styles.

Spatial control with soft guidance channels, Gatys, Ecker, Bethge, Hertzmann &
Shechtman, "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017
(arXiv:1611.07865), Sec. 4: a mask m_s with values in [0, 1] (a greyscale image) weights
how much each output position counts in style s's statistics. Downsampled to every layer
as the network pools, the weighted Gram matrix is normalised by the mask's sum, so a
faint or small mask is not a weak one, and a pixel's pull towards style s grows with m_s:

    Ĝ_s^l = Σ_k m_s,k F_k F_kᵀ / Σ_k m_s,k
    L = α L_content + β Σ_s Σ_l w_l Σ_ij (Ĝ_s^l - Â_s^l)_ij² / (4 N_l²) + λ_tv TV

Masks may overlap (two styles mix there) and need not cover the image. Any number of
(style, mask) pairs share one forward pass of the network; only the Gram matrices are
computed once per mask, never the network's activations.

Example (a left-to-right fade from style a to style b):
    python scripts/mask_style.py --content photo.jpg --style a.jpg,b.jpg \
        --style_masks fade_left.png,fade_right.png --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli, losses, masks  # noqa: E402

_STYLE_MASKS = cli.define_image_list(
    "style_masks", "One greyscale mask per --style image: its weight (white = 1) at each "
    "pixel (Gatys et al. 2017, Sec. 4). A style may be repeated with several masks.",
    one_per_style=True)


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    settings = cli.gatys_settings()  # α, β, λ_tv, layers and w_l.
    content_image, style_images = cli.load_images()
    height, width = content_image.shape[:2]
    soft_masks = [masks.load_mask(path, height, width) for path in _STYLE_MASKS.value]
    cli.say(masks.coverage_line(soft_masks, cli.STYLE.value), cli.QUIET.value)
    weights, model = cli.feature_model(settings)

    # One target per (style, mask): Â_s^l of the style image, Ĝ_s^l weighted by m_s.
    style_targets = losses.masked_style_targets(model, style_images, soft_masks,
                                                settings.style_layers)
    return cli.optimize_and_finish(model, content_image, style_images, style_targets,
                                   settings, weights, start_time)


def run():
    """Entry point of the installed `mask_style` command."""
    cli.run(main, required=["content", "style", "style_masks"])


if __name__ == "__main__":
    run()
