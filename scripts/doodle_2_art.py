"""Neural doodles: a colour-coded sketch becomes a painting.

A. J. Champandard, "Semantic Style Transfer and Turning Two-Bit Doodles into Fine
Artworks", 2016 (arXiv:1603.01768), built on the MRF patches of C. Li & M. Wand,
"Combining Markov Random Fields and Convolutional Neural Networks for Image Synthesis",
CVPR 2016 (arXiv:1601.04589).

There is no content image, only a doodle: a map painted with a few flat colours. The
painting comes with a map of its own in the same colours (sky, trees, water, ...). From
noise, the image is changed until every 3x3 patch of its relu3_1 and relu4_1 features
is close to the painting patch that matches it best, where matching also counts the
maps, appended to the features as channels weighted by ω (--semantic_weight), so the
region painted in a colour takes its patches from the painting's region of that colour:

    L = β Σ_l w_l mean_i,p |Ψ_i(Φ(x)) - Ψ_NN(i)(Φ(s))|²_p + λ_tv TV_2.5           (Eqs. 2, 3)

The defaults reproduce alexjc/neural-doodle's objective (style_transfer/semantic.py):
β = 25 on the mean, every 3x3 patch, ω = 10 with matching by cosines per position, the
smoothness prior (Δx² + Δy²)^1.25 weighted 1, average pooling, three scales of 100
iterations from noise. --content adds a photograph whose map the doodle is (α = 10 on
its mean squared error). With --patch_loss gram each region takes the Gram matrices of
its painting region instead.

Example:
    python scripts/doodle_2_art.py --content_map doodle.png --style painting.jpg \
        --style_map painting_map.png --scales 128,256 --output art.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import semantic  # noqa: E402

_DOODLE = cli.input_file("content_map", "The doodle: a colour-coded map of the output, in "
                         "the colours of --style_map.")
_STYLE = cli.input_file("style", "The painting.")
_STYLE_MAP = cli.input_file("style_map", "Colour-coded map of the painting.")
_CONTENT = cli.input_file("content", "Optional photograph whose map the doodle is.")
_SETTINGS = cli.settings_flags(semantic.DoodleSettings)
_OUTPUT = cli.output_flags()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    # From noise, coarse to fine: each doodle region takes patches of its painting region.
    result = semantic.doodle_2_art(_DOODLE.value, _STYLE.value, _STYLE_MAP.value,
                                   content=_CONTENT.value, progress=cli.progress(_OUTPUT),
                                   **cli.values(_SETTINGS))
    return cli.finish(result, _OUTPUT, start_time)


def run():
    """Entry point of the installed `doodle_2_art` command."""
    cli.run(main, __doc__, required=["style", "content_map", "style_map"],
            argument_flags={"doodle": "content_map"})


if __name__ == "__main__":
    run()
