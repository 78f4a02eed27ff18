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

    L = β Σ_l w_l Σ_i |Ψ_i(Φ(x)) - Ψ_NN(i)(Φ(s))|² + λ_tv TV                 (Eqs. 2, 3)

Champandard optimises coarse to fine; give --scales 128,256,512 to do the same. With
--patch_loss gram each region takes the Gram matrices of its painting region instead.

Example:
    python scripts/doodle_2_art.py --content_map doodle.png --style painting.jpg \
        --style_map painting_map.png --scales 128,256 --output art.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli, images  # noqa: E402

cli.define_patch_flags("mrf", "The doodle: a colour-coded map of the output, in the "
                       "colours of --style_map.")
flags.FLAGS.set_default("init", "noise")  # Champandard starts from noise.


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    patch_settings, settings = cli.patch_settings(with_content=False)
    doodle = images.load(flags.FLAGS.content_map)  # Its size is the output's.
    style_image = images.load(cli.STYLE.value[0])
    weights, model = cli.feature_model(settings)

    # Region k of the doodle from region k of the painting, coarse to fine.
    stages, image, summary = cli.patch_stages(model, settings, patch_settings, doodle,
                                              style_image, with_content=False)
    return cli.finish(image, stages, weights, start_time, extra=summary)


def run():
    """Entry point of the installed `doodle_2_art` command."""
    cli.run(main, required=["style", "content_map", "style_map"])


if __name__ == "__main__":
    run()
