"""Masked style transfer by compositing: the style shows only where the mask is white.

The fast way to confine a style to a region, used by titu1994's Keras suite and many
others: stylise the whole image once (e.g. with style_transfer.py), then composite the
stylised image over the content through a mask m (white = 1):

    O = m̃ · S + (1 - m̃) · C          (S stylised, C content or a second stylised image)

The plain composite has two known drawbacks, fixed here:
- a sharp seam along the mask's edge: m̃ is m feathered by a Gaussian of σ = r/2
  (--feather_radius r, in pixels), so the stylised region fades in over about r pixels;
- a colour jump between the regions, since the style recolours its region:
  --match_color content maps the stylised pixels inside the region to the content's
  colour mean and covariance there (the linear colour transfer of Gatys et al. 2017,
  arXiv:1611.07865, Sec. 5.1), so the region keeps the colours of the photograph.

With two stylised images, style A shows where the mask is white and style B where it is
black. No network runs: this takes well under a second.

Example:
    python scripts/masked_transfer.py --content photo.jpg --stylized styled.png \
        --mask sky.png --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import compositing  # noqa: E402

_CONTENT = cli.input_file("content", "The photograph (its size is the output's).")
_STYLIZED = cli.input_files("stylized", "One stylised image (shown where the mask is "
                            "white, the content elsewhere) or two (A where white, B where "
                            "black).")
_MASK = cli.input_file("mask", "Mask: white where the (first) stylised image shows.")
_SETTINGS = cli.settings_flags(compositing.MaskedTransferSettings)
_OUTPUT = cli.output_flags(iterative=False)


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # O = m̃ S + (1 - m̃) C, with m̃ feathered and S recoloured per region if asked.
    result = compositing.masked_transfer(_CONTENT.value, _STYLIZED.value, _MASK.value,
                                   **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `masked_transfer` command."""
    cli.run(main, __doc__, required=["content", "stylized", "mask"])


if __name__ == "__main__":
    run()
