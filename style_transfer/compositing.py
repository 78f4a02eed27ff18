"""Compositing stylised images through a mask: the one technique here with no network.

O = m̃ S + (1 - m̃) C, with m̃ the mask feathered; optionally each stylised region is first
recoloured to the photograph's colours there (the linear colour transfer of Gatys et al.,
"Controlling Perceptual Factors in Neural Style Transfer", CVPR 2017, Sec. 5.1).
"""

import dataclasses

from style_transfer import color, images, masks, transfer
from style_transfer.parameters import ArgumentError, parameter, settings_from, takes


@dataclasses.dataclass(frozen=True)
class MaskedTransferSettings:
    """`masked_transfer`'s settings."""
    feather_radius: float = parameter(
        8.0, "Width of the soft seam in pixels (Gaussian σ = radius/2); 0 gives a hard "
        "edge.", low=0.0, high=1000.0)
    match_color: str = parameter(
        "none", "content: recolour each stylised region to the content's colour mean and "
        "covariance in that region.", choices=("none", "content"))


@takes(MaskedTransferSettings)
def masked_transfer(content, stylized, mask, **options):
    """Composites stylised images through a mask: O = m̃ S + (1 - m̃) C.

    With one stylised image S, it shows where the mask m is white and the content C
    elsewhere; with two, the first where white and the second where black. m̃ is m
    feathered (a Gaussian of σ = feather_radius / 2), and with match_color="content"
    each stylised region is first recoloured to the content's colours there (the linear
    colour transfer of Gatys et al. 2017, Sec. 5.1). No network runs.

    Args:
        content: the photograph (its size is the output's).
        stylized: one or two stylised images.
        mask: white where the (first) stylised image shows.
        **options: `MaskedTransferSettings` fields.

    Returns:
        `transfer.Result` (no stages).
    """
    settings = settings_from(MaskedTransferSettings, options)
    content_image = images.as_image(content, "content")
    height, width = content_image.shape[:2]
    stylized = [images.resize(images.as_image(s, "stylized"), height, width)
                for s in transfer.as_list(stylized)]
    if len(stylized) not in (1, 2):
        raise ArgumentError("stylized", f"{len(stylized)} images; give one or two")
    mask_image = masks.load_mask(mask, height, width, "mask")  # m, white = 1.
    # The regions each image shows: the mask, and its complement for a second image.
    regions = [mask_image, 1.0 - mask_image][:len(stylized)]
    if settings.match_color == "content":  # Keep the photograph's colours per region.
        stylized = [color.match_region_colors(image, content_image, region)
                    for image, region in zip(stylized, regions)]
    background = stylized[1] if len(stylized) == 2 else content_image
    soft_mask = masks.feather(mask_image, settings.feather_radius)  # m̃
    image = masks.composite(stylized[0], background, soft_mask)
    return transfer.Result(image, "masked_transfer", settings)
