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
    L = α L_content + β Σ_k Σ_l w_l Σ_ij (Ĝ_k^l - Â_k^l)_ij² / (4 N_l²) + λ_tv TV

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

from style_transfer import cli, losses, masks  # noqa: E402

_CONTENT_MAP = cli.define_image("content_map", "Colour-coded map of the content image.")
_STYLE_MAP = cli.define_image("style_map", "Colour-coded map of the style image.")
_MAP_TOLERANCE = cli.define_map_tolerance()
cli.define_one_style()


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    settings = cli.gatys_settings()  # α, β, λ_tv, layers and w_l.
    content_image, (style_image,) = cli.load_images()
    tolerance = _MAP_TOLERANCE.value

    # The regions: colours of each map, paired by colour.
    content_map = masks.read_label_map(_CONTENT_MAP.value, *content_image.shape[:2], tolerance)
    style_map = masks.read_label_map(_STYLE_MAP.value, *style_image.shape[:2], tolerance)
    pairs, summary = masks.pair_maps(content_map, style_map, tolerance,
                                     ("--content_map", "--style_map"))
    cli.say(f"regions: {masks.palette_text(content_map, [c for c, _ in pairs])}", cli.QUIET.value)
    for where in ("content", "style"):
        if summary[f"{where}_only"]:
            cli.say(f"only in the {where} map, left to the content loss: "
                    f"{', '.join(summary[where + '_only'])}", cli.QUIET.value)
    weights, model = cli.feature_model(settings)

    # One target per shared colour k: Â_k^l inside style region k, Ĝ_k^l inside content k.
    style_targets = losses.region_style_targets(model, style_image, content_map, style_map,
                                                pairs, settings.style_layers)
    return cli.optimize_and_finish(model, content_image, [style_image], style_targets,
                                   settings, weights, start_time, extra=summary)


def run():
    """Entry point of the installed `region_style` command."""
    cli.run(main, required=["content", "style", "content_map", "style_map"])


if __name__ == "__main__":
    run()
