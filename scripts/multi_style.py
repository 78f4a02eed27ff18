"""Several styles in one image, each confined to its own region by a mask.

Spatial control of Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual
Factors in Neural Style Transfer", CVPR 2017 (arXiv:1611.07865), Sec. 4: the output is
divided into regions R_r, and each region gets its own style target. With a mask m_r
(1 inside, 0 outside), downsampled to every layer as the network pools, the style term
of region r at layer l compares Gram matrices measured inside the region only, each
normalised by the mask's sum so that a small region is styled as strongly as a large one:

    Ĝ_r^l = Σ_k m_r,k F_k F_kᵀ / Σ_k m_r,k
    L = α L_content + β Σ_r Σ_l w_l mean_ij (Ĝ_r^l - Â_r^l)_ij² + λ_tv TV

where Â_r^l is the Gram matrix per position of style image r; the defaults are Gatys'
recipe for this network (α = 1, β = 1e3, w_l = 1/N_l²), per region. Masks are
thresholded at one half: regions are hard (for soft weights, see mask_style.py). Pixels
that no mask covers keep only the content loss. One forward pass of the network per
evaluation serves every mask.

Example:
    python scripts/multi_style.py --content photo.jpg --style a.jpg,b.jpg \
        --style_masks sky.png,ground.png --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import gatys  # noqa: E402

_CONTENT = cli.input_file("content", "Content image p.")
_STYLE = cli.input_files("style", "Style images, comma-separated, one per mask.")
_STYLE_MASKS = cli.input_files("style_masks", "One mask per --style image, white where that "
                               "style goes (Gatys et al. 2017, Sec. 4).")
_SETTINGS = cli.settings_flags(gatys.GatysSettings)
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # Hard regions R_r (masks over one half), one style target each: Â_r^l, Ĝ_r^l.
    result = gatys.multi_style(_CONTENT.value, _STYLE.value, _STYLE_MASKS.value,
                               progress=cli.progress(_OUTPUT), **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `multi_style` command."""
    cli.run(main, __doc__, required=["content", "style", "style_masks"])


if __name__ == "__main__":
    run()
