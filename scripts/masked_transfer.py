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

from absl import flags  # noqa: E402

from style_transfer import cli, color, images, masks  # noqa: E402

_STYLIZED = cli.define_image_list(
    "stylized", "One stylised image (shown where the mask is white, the content "
    "elsewhere) or two (A where white, B where black).")
_MASK = cli.define_image("mask", "Mask: white where the (first) stylised image shows.")
_FEATHER_RADIUS = flags.DEFINE_float(
    "feather_radius", 8.0, "Width of the soft seam in pixels (Gaussian σ = radius/2); "
    "0 gives a hard edge.", lower_bound=0.0)
_MATCH_COLOR = flags.DEFINE_enum(
    "match_color", "none", ["none", "content"], "content: recolour each stylised region "
    "to the content's colour mean and covariance in that region.")
flags.register_validator("stylized", lambda paths: paths is None or len(paths) in (1, 2),
                         "--stylized: give one or two stylised images")


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    content_image = images.load(cli.CONTENT.value)  # (H, W, 3), the output's size.
    height, width = content_image.shape[:2]
    stylized = [images.resize(images.load(path), height, width) for path in _STYLIZED.value]
    mask = masks.load_mask(_MASK.value, height, width)  # m, white = 1.

    # The regions each image shows: the mask, and its complement for a second image.
    regions = [mask, 1.0 - mask][:len(stylized)]
    if _MATCH_COLOR.value == "content":  # Keep the photograph's colours per region.
        stylized = [color.match_region_colors(image, content_image, region)
                    for image, region in zip(stylized, regions)]
    background = stylized[1] if len(stylized) == 2 else content_image
    soft_mask = masks.feather(mask, _FEATHER_RADIUS.value)  # m̃
    image = masks.composite(stylized[0], background, soft_mask)
    return cli.finish(image, [], None, start_time)


def run():
    """Entry point of the installed `masked_transfer` command."""
    cli.run(main, required=["content", "stylized", "mask"])


if __name__ == "__main__":
    run()
