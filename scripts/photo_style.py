"""Deep photo style transfer: a photograph's colours and tones, without painterly distortion.

F. Luan, S. Paris, E. Shechtman, K. Bala, "Deep Photo Style Transfer", CVPR 2017,
arXiv:1703.07511. The output O must stay a photograph of the content scene: only its
colours and tones may come from the style photograph. Two additions to Gatys et al.:

1. Photorealism regularisation (Sec. 3.1, Eq. 2): locally, the output must be an affine
   function of the content's colours. With the Matting Laplacian L of the content image
   (Levin et al. 2008; 3x3 windows, ε = 1e-7), this is the penalty
       L_m = Σ_c V_c[O]ᵀ L V_c[O]        (O in [0, 1], c the colour channels)
   computed with sparse products beside TensorFlow's gradient at every evaluation.
2. Augmented style loss (Sec. 3.2, Eq. 3): colour-coded segmentations of both photos
   (the deep-photo palette: blue, green, black, white, red, yellow, grey, light blue,
   purple) pair the regions; each region's Gram matrices are measured inside it and
   normalised by its size, as in region_style.py.

    L = α L_content + β Σ_k L_style,k + λ' L_m

Procedure (Sec. 4): half of --iterations without L_m, from the content image, then the
rest with it, from that result. --photo_weight is λ in the paper's normalisation (10⁴);
L_m is weighted λ' = λ · N_c M_c / 10 here, which keeps the paper's balance against
this suite's content loss (see `matting.photorealism_weight`).

--smooth (optional post-processing): refit the result as local affine functions of the
content's colours with He et al.'s guided filter (`matting.guided_filter`, windows of
radius --smooth_radius, regularised by --smooth_epsilon), which removes what L_m left
that is not a local recolouring of the content.

Example:
    python scripts/photo_style.py --content in.jpg --style tar.jpg \
        --content_seg in_seg.png --style_seg tar_seg.png --output out.png --size 512
"""

import dataclasses
import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from style_transfer import cli, losses, masks, matting, transfer, vgg  # noqa: E402

_CONTENT_SEG = cli.define_image("content_seg", "Colour-coded segmentation of --content.")
_STYLE_SEG = cli.define_image("style_seg", "Colour-coded segmentation of --style.")
_PHOTO_WEIGHT = flags.DEFINE_float(
    "photo_weight", 1e4, "λ: weight of the photorealism term (Luan et al. 2017, Eq. 4), in "
    "the paper's normalisation.", lower_bound=0.0)
_MATTING_EPSILON = flags.DEFINE_float(
    "matting_epsilon", matting.DEFAULT_EPSILON, "ε of the Matting Laplacian (Levin et al.).",
    lower_bound=0.0)
_SMOOTH = flags.DEFINE_bool("smooth", False, "Refit the result as local affine recolourings "
                             "of the content (guided filter, He et al. 2013).")
_SMOOTH_RADIUS = flags.DEFINE_integer("smooth_radius", matting.SMOOTH_RADIUS,
                                      "--smooth: window radius in pixels.", lower_bound=1)
_SMOOTH_EPSILON = flags.DEFINE_float("smooth_epsilon", matting.SMOOTH_EPSILON,
                                     "--smooth: ε, in colours in [0, 1] squared (larger: "
                                     "smoother).", lower_bound=1e-12)
_MAP_TOLERANCE = cli.define_map_tolerance()
flags.register_validator("style", lambda styles: styles is None or len(styles) == 1,
                         "--style: give one style photograph")
flags.register_multi_flags_validator(
    ["content_seg", "style_seg"], lambda v: (v["content_seg"] is None) == (v["style_seg"] is None),
    "--content_seg and --style_seg: give both segmentations or neither")


def segmented_style_targets(model, content_image, style_image, layers):
    """One target per label of both segmentations (Eq. 3); the whole photo without them."""
    if _CONTENT_SEG.value is None:
        return [losses.style_target(model, style_image, layers)], {}
    tolerance = _MAP_TOLERANCE.value
    content_seg = masks.read_label_map(_CONTENT_SEG.value, *content_image.shape[:2], tolerance)
    style_seg = masks.read_label_map(_STYLE_SEG.value, *style_image.shape[:2], tolerance)
    pairs, summary = masks.pair_maps(content_seg, style_seg, tolerance,
                                     ("--content_seg", "--style_seg"))
    labels = {"labels": summary["regions"], "content_only": summary["content_only"],
              "style_only": summary["style_only"]}
    cli.say(f"labels: {', '.join(labels['labels'])}" + "".join(
        f"; only in the {where} segmentation: {', '.join(labels[where + '_only'])}"
        for where in ("content", "style") if labels[where + "_only"]), cli.QUIET.value)
    return losses.region_style_targets(model, style_image, content_seg, style_seg, pairs,
                                       layers), labels


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    settings = cli.gatys_settings()  # α, β, λ_tv, layers and w_l.
    content_image, (style_image,) = cli.load_images()
    weights, model = cli.feature_model(settings)
    style_targets, labels = segmented_style_targets(model, content_image, style_image,
                                                    settings.style_layers)

    # The Matting Laplacian of the content, once (Levin et al. 2008).
    laplacian = matting.matting_laplacian(content_image / 255.0, _MATTING_EPSILON.value)
    content_size = sum(np.prod(vgg.feature_shape(model, layer, *content_image.shape[:2]))
                       for layer in settings.content_layers)  # N_c M_c
    photo_weight = matting.photorealism_weight(_PHOTO_WEIGHT.value, content_size)  # λ

    # Stage 1 without L_m, stage 2 with it, from stage 1's result (Sec. 4).
    first = settings.iterations // 2
    stages, image = [], cli.initial_image(content_image, [style_image])
    for name, iterations, term in (
            ("without photorealism", first, None),
            ("with photorealism", settings.iterations - first,
             matting.photorealism_term(laplacian, photo_weight))):
        if iterations == 0:
            continue
        cli.say(f"stage {len(stages) + 1}: {iterations} iterations {name}", cli.QUIET.value)
        stage_settings = dataclasses.replace(settings, iterations=iterations)
        result = transfer.stylize(model, content_image, style_targets, image, stage_settings,
                                  cli.progress(f"stage{len(stages) + 1}", iterations),
                                  numpy_terms=term)
        stages.append(cli.Stage.of(cli.SIZE.value, content_image, [style_image], result))
        image = result.image
        if result.interrupted:
            break
    smooth = None
    if _SMOOTH.value and not (stages and stages[-1].result.interrupted):
        smooth = {"radius": _SMOOTH_RADIUS.value, "epsilon": _SMOOTH_EPSILON.value}
        refit = matting.guided_filter(content_image / 255.0, image / 255.0, **smooth)
        image = (255.0 * np.clip(refit, 0.0, 1.0)).astype(np.float32)
    return cli.finish(image, stages, weights, start_time,
                      extra={"photo_weight_effective": photo_weight, "smooth": smooth, **labels})


def run():
    """Entry point of the installed `photo_style` command."""
    cli.run(main, required=["content", "style"])


if __name__ == "__main__":
    run()
