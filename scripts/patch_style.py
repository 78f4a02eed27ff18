"""Semantic style transfer by patches: region k of the output takes the style of region k.

Two ways to compare a region of the output with a region of the painting, both guided by
colour-coded maps of the content and the style image (each distinct colour a region):

gram (default, fast). Each region's bounding box is cut out of both images as a
sub-image; its features and Gram matrices are computed on the sub-image alone (the
region's own pixels inside the box), and the output's are pulled towards the painting's:

    L = α L_content + β Σ_k Σ_l w_l mean_ij (Ĝ_k^l - Â_k^l)_ij² + λ_tv TV

mrf. C. Li & M. Wand, "Combining Markov Random Fields and Convolutional Neural Networks
for Image Synthesis", CVPR 2016 (arXiv:1601.04589), with the semantic channels of
A. J. Champandard, "Semantic Style Transfer and Turning Two-Bit Doodles into Fine
Artworks", 2016 (arXiv:1603.01768). Instead of global statistics, every 3x3 patch of
relu3_1 and relu4_1 features is replaced by its most similar patch of the painting,
where similarity (normalised cross-correlation) also counts the maps, appended as
channels weighted by ω, so a patch of region k looks for its match in region k:

    L = α L_content + β Σ_l w_l ½ Σ_i Σ_p |Ψ_i(Φ(x)) - Ψ_NN(i)(Φ(s))|²_p / c_p + λ_tv TV

(Eqs. 1-3; c_p counts the patches covering position p, CNNMRF's normalisation.) Defaults:
gram, Gatys' recipe per region; mrf, chuanli11/CNNMRF's objective: α = 2e1, β = 1e-4 on
relu3_1 and relu4_1, 3x3 patches every 2 positions, three scales of 100 iterations
(style_transfer/semantic.py). Every colour of --content_map must be in --style_map
(within --map_tolerance).

Example:
    python scripts/patch_style.py --content photo.jpg --content_map photo_map.png \
        --style painting.jpg --style_map painting_map.png --patch_loss mrf --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import semantic  # noqa: E402

_CONTENT = cli.input_file("content", "Content image p.")
_CONTENT_MAP = cli.input_file("content_map", "Colour-coded map of the content image.")
_STYLE = cli.input_file("style", "Style image a.")
_STYLE_MAP = cli.input_file("style_map", "Colour-coded map of the style image.")
_SETTINGS = cli.settings_flags(semantic.PatchStyleSettings)
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # At each scale: regions paired by colour, patch targets, L-BFGS from the last scale.
    result = semantic.patch_style(_CONTENT.value, _STYLE.value, _CONTENT_MAP.value,
                                  _STYLE_MAP.value, progress=cli.progress(_OUTPUT),
                                  **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `patch_style` command."""
    cli.run(main, __doc__, required=["content", "style", "content_map", "style_map"])


if __name__ == "__main__":
    run()
