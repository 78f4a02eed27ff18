"""Several styles in one image, each confined to its own region by a mask.

Spatial control of Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual
Factors in Neural Style Transfer", CVPR 2017 (arXiv:1611.07865), Sec. 4: the output is
divided into regions R_r, and each region gets its own style target. With a mask m_r
(1 inside, 0 outside), downsampled to every layer as the network pools, the style term
of region r at layer l compares Gram matrices measured inside the region only, each
normalised by the mask's sum so that a small region is styled as strongly as a large one:

    Ĝ_r^l = Σ_k m_r,k F_k F_kᵀ / Σ_k m_r,k
    L = α L_content + β Σ_r Σ_l w_l Σ_ij (Ĝ_r^l - Â_r^l)_ij² / (4 N_l²) + λ_tv TV

where Â_r^l is the mean Gram matrix of style image r. Masks are thresholded at one half:
regions are hard (for soft weights, see mask_style.py). Pixels that no mask covers keep
only the content loss. One forward pass of the network per evaluation serves every mask.

Example:
    python scripts/multi_style.py --content photo.jpg --style a.jpg,b.jpg \
        --style_masks sky.png,ground.png --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli, losses, masks  # noqa: E402

_STYLE_MASKS = cli.define_image_list(
    "style_masks", "One mask per --style image, white where that style goes (Gatys et "
    "al. 2017, Sec. 4).", one_per_style=True)


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    settings = cli.gatys_settings()  # α, β, λ_tv, layers and w_l.
    content_image, style_images = cli.load_images()
    height, width = content_image.shape[:2]
    region_masks = [masks.load_mask(path, height, width) > 0.5  # Hard regions R_r.
                    for path in _STYLE_MASKS.value]
    cli.say(masks.coverage_line(region_masks, cli.STYLE.value), cli.QUIET.value)
    weights, model = cli.feature_model(settings)

    # One style target per region: Â_r^l of the whole style image, Ĝ_r^l over R_r.
    style_targets = losses.masked_style_targets(model, style_images, region_masks,
                                                settings.style_layers)
    return cli.optimize_and_finish(model, content_image, style_images, style_targets,
                                   settings, weights, start_time)


def run():
    """Entry point of the installed `multi_style` command."""
    cli.run(main, required=["content", "style", "style_masks"])


if __name__ == "__main__":
    run()
