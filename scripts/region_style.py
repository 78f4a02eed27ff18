"""Semantic style transfer with colour-coded maps: region k takes the style of region k.

Spatial control of Gatys, Ecker, Bethge, Hertzmann & Shechtman, "Controlling Perceptual
Factors in Neural Style Transfer", CVPR 2017 (arXiv:1611.07865), Sec. 4, with the
region correspondence drawn as colour-coded maps, as in Champandard's semantic style
transfer (arXiv:1603.01768) and Luan et al.'s deep photo style transfer
(arXiv:1703.07511). The content image and the style image each come with a map; each
distinct colour is a region. For every colour k found in both maps, the Gram matrices of
the output measured inside content region k are pulled towards those of the style
image measured inside style region k, each normalised by its own region's size:

    Â_k^l = Σ_j s_k,j S_j S_jᵀ / Σ_j s_k,j        (style features S, style-map mask s_k)
    Ĝ_k^l = Σ_j c_k,j F_j F_jᵀ / Σ_j c_k,j        (output features F, content-map mask c_k)
    L = α L_content + β Σ_k Σ_l w_l mean_ij (Ĝ_k^l - Â_k^l)_ij² + λ_tv TV

Regions whose colour is in one map only are left to the content loss (the run says
which). Colours are matched within --map_tolerance, so maps saved as JPEG work.

Example:
    python scripts/region_style.py --content photo.jpg --content_map photo_map.png \
        --style painting.jpg --style_map painting_map.png --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import gatys  # noqa: E402

_CONTENT = cli.input_file("content", "Content image p.")
_CONTENT_MAP = cli.input_file("content_map", "Colour-coded map of the content image.")
_STYLE = cli.input_file("style", "Style image a.")
_STYLE_MAP = cli.input_file("style_map", "Colour-coded map of the style image.")
_SETTINGS = cli.settings_flags(gatys.RegionSettings)
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # Colours paired across the maps; one target per shared colour k: Â_k^l, Ĝ_k^l.
    result = gatys.region_style(_CONTENT.value, _STYLE.value, _CONTENT_MAP.value,
                                _STYLE_MAP.value, progress=cli.progress(_OUTPUT),
                                **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `region_style` command."""
    cli.run(main, __doc__, required=["content", "style", "content_map", "style_map"])


if __name__ == "__main__":
    run()
