"""Semantic style transfer by patches: region k of the output takes the style of region k.

Two ways to compare a region of the output with a region of the painting, both guided by
colour-coded maps of the content and the style image (each distinct colour a region):

gram (default, fast). Each region's bounding box is cut out of both images as a
sub-image; its features and Gram matrices are computed on the sub-image alone (the
region's own pixels inside the box), and the output's are pulled towards the painting's:

    L = α L_content + β Σ_k Σ_l w_l Σ_ij (Ĝ_k^l - Â_k^l)_ij² / (4 N_l²) + λ_tv TV

mrf. C. Li & M. Wand, "Combining Markov Random Fields and Convolutional Neural Networks
for Image Synthesis", CVPR 2016 (arXiv:1601.04589), with the semantic channels of
A. J. Champandard, "Semantic Style Transfer and Turning Two-Bit Doodles into Fine
Artworks", 2016 (arXiv:1603.01768). Instead of global statistics, every 3x3 patch of
relu3_1 and relu4_1 features is replaced by its most similar patch of the painting,
where similarity (normalised cross-correlation) also counts the maps, appended as
channels weighted by ω, so a patch of region k looks for its match in region k:

    L = α L_content + β Σ_l w_l Σ_i |Ψ_i(Φ(x)) - Ψ_NN(i)(Φ(s))|² + λ_tv TV   (Eqs. 1-3)

Every colour of --content_map must be in --style_map (within --map_tolerance).

Example:
    python scripts/patch_style.py --content photo.jpg --content_map photo_map.png \
        --style painting.jpg --style_map painting_map.png --patch_loss mrf --output out.png
"""

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cli, images  # noqa: E402

cli.define_patch_flags("gram", "Colour-coded map of the content image.")


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    patch_settings, settings = cli.patch_settings()  # mrf: Li & Wand's layers, β = 1.
    content_image = images.load(cli.CONTENT.value)
    style_image = images.load(cli.STYLE.value[0])
    weights, model = cli.feature_model(settings)

    # Region k to region k, coarse to fine over --scales (or just --size).
    stages, image, summary = cli.patch_stages(model, settings, patch_settings,
                                              content_image, style_image, with_content=True)
    return cli.finish(image, stages, weights, start_time, extra=summary)


def run():
    """Entry point of the installed `patch_style` command."""
    cli.run(main, required=["content", "style", "content_map", "style_map"])


if __name__ == "__main__":
    run()
