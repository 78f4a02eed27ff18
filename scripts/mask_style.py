"""Styles weighted per pixel by soft masks: gradients, fades and overlaps between styles.

Spatial control with soft guidance channels, Gatys, Ecker, Bethge, Hertzmann &
Shechtman, "Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017
(arXiv:1611.07865), Sec. 4: a mask m_s with values in [0, 1] (a greyscale image) weights
how much each output position counts in style s's statistics. Downsampled to every layer
as the network pools, the weighted Gram matrix is normalised by the mask's sum, so a
faint or small mask is not a weak one, and a pixel's pull towards style s grows with m_s:

    Ĝ_s^l = Σ_k m_s,k F_k F_kᵀ / Σ_k m_s,k
    L = α L_content + β Σ_s Σ_l w_l mean_ij (Ĝ_s^l - Â_s^l)_ij² + λ_tv TV

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

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import gatys  # noqa: E402

_CONTENT = cli.input_file("content", "Content image p.")
_STYLE = cli.input_files("style", "Style images, comma-separated, one per mask (a style "
                         "may be repeated with several masks).")
_STYLE_MASKS = cli.input_files("style_masks", "One greyscale mask per --style image: its "
                               "weight (white = 1) at each pixel (Gatys et al. 2017, Sec. 4).")
_SETTINGS = cli.settings_flags(gatys.GatysSettings)
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # One target per (style, mask): Â_s^l of the style image, Ĝ_s^l weighted by m_s.
    result = gatys.mask_style(_CONTENT.value, _STYLE.value, _STYLE_MASKS.value,
                              progress=cli.progress(_OUTPUT), **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `mask_style` command."""
    cli.run(main, __doc__, required=["content", "style", "style_masks"])


if __name__ == "__main__":
    run()
