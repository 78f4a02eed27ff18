"""Deep photo style transfer: a photograph's colours and tones, without painterly distortion.

F. Luan, S. Paris, E. Shechtman, K. Bala, "Deep Photo Style Transfer", CVPR 2017,
arXiv:1703.07511. The output O must stay a photograph of the content scene; only its
colours and tones may come from the style photograph. Two additions to Gatys et al.:

1. Photorealism regularisation (Sec. 3.1, Eq. 2): locally, the output must be an affine
   function of the content's colours. With the Matting Laplacian L of the content image
   (Levin et al. 2008; 3x3 windows, ε = 1e-7), L_m = Σ_c V_c[O]ᵀ L V_c[O] over the colour
   channels of O in [0, 1] (`matting.photorealism_loss`).
2. Augmented style loss (Sec. 3.2, Eq. 3): colour-coded segmentations of both photos pair
   the regions; each region's Gram matrices are measured inside it (`masks.RegionPairs`,
   `losses.region_style_targets`).

    L = α L_content + β Σ_k L_style,k + λ_tv TV + λ L_m

Procedure (Sec. 4): the first half of the iterations without L_m (coarse to fine when
scales are given), then the rest with it at the output size, from that result.

Defaults (`PhotoSettings`): the objective of luanfujun/deep-photo-styletransfer
(neuralstyle_seg.lua, deepmatting_seg.lua) on the same network: content weight 5 on the
mean squared error at relu4_2; style weight 1e2 on the mean squared difference of Gram
matrices divided by C·H·W, which is 1/N_l² times ours (w_l = 1/N_l²); each region's
term weighted by its share of the output at that layer (the code's l_mean); λ = 1e4 on
the image in [0, 1]; total variation 1e-3 on jcjohnson's ½ Σ of squared neighbour
differences, a sum, so 1.5e-3 (H-1)(W-1) on our mean at each size (`losses.
half_sum_per_mean`); max pooling. That code starts its first stage from the ImageNet mean
colour and runs 1000 + 1000 iterations; we start from the content and split `iterations`.
"""

import dataclasses
import typing

import numpy as np

from style_transfer import images, losses, masks, matting, transfer
from style_transfer.transfer import GatysSettings, RegionSettings
from style_transfer.parameters import ArgumentError, override, parameter, settings_from, takes

# deep-photo's -tv_weight, on the ½ Σ of jcjohnson's TVLoss (a sum over the pixels).
TV_ON_HALF_SUM = 1e-3


@dataclasses.dataclass(frozen=True)
class PhotoSettings(RegionSettings):
    """`photo_style`'s settings (defaults: module docstring)."""
    content_weight: float = override(GatysSettings, "content_weight", 5.0)
    style_weight: float = override(GatysSettings, "style_weight", 1e2)
    # deep-photo weighs its style the same at every size.
    style_weight_exponent: float = override(GatysSettings, "style_weight_exponent", 0.0)
    tv_weight: float | None = override(
        GatysSettings, "tv_weight", None,
        help="λ_tv: weight of the total variation prior, a mean over pixels; default: "
             "deep-photo's 1e-3 on the sum ½ Σ, i.e. 1.5e-3 (H-1)(W-1) at each size.")
    photo_weight: float = parameter(
        1e4, "λ: weight of the photorealism term L_m (Luan et al. 2017, Eq. 4), the Matting "
        "Laplacian's quadratic form of the output in [0, 1].", low=0.0, group="method")
    matting_epsilon: float = parameter(
        matting.DEFAULT_EPSILON, "ε of the Matting Laplacian (Levin et al. 2008).",
        positive=True, high=1.0, group="method")
    smooth: bool = parameter(
        False, "Refit the result as local affine recolourings of the content (guided "
        "filter, He et al. 2013).", group="method")
    smooth_radius: int = parameter(matting.SMOOTH_RADIUS, "smooth: window radius in pixels.",
                                   low=1, high=1000, group="method")
    smooth_epsilon: float = parameter(
        matting.SMOOTH_EPSILON, "smooth: ε, in colours in [0, 1] squared (larger: "
        "smoother).", positive=True, high=1e6, group="method")

    # Each region's term weighted by its share of the output at the layer (l_mean).
    AREA_WEIGHTED: typing.ClassVar[bool] = True

    def tv_weight_at(self, shape):
        """λ_tv at an image of `shape`: as given, or deep-photo's converted to our mean."""
        if self.tv_weight is not None:
            return self.tv_weight
        return TV_ON_HALF_SUM * losses.half_sum_per_mean(*shape[:2])


@takes(PhotoSettings)
def photo_style(content, style, content_seg=None, style_seg=None, *, progress="bar",
                **options):
    """Deep photo style transfer (Luan et al. 2017): Gatys et al.'s objective with the
    augmented style loss of segmentations, then the photorealism term.

    Args:
        content, style: the two photographs (paths, PIL images or arrays).
        content_seg, style_seg: their colour-coded segmentations (both or neither; the
            deep-photo palette: blue, green, black, white, red, yellow, grey, light blue,
            purple). Without them the whole style photo is one region.
        progress, **options: as `gatys.style_transfer` (`PhotoSettings` fields).

    Returns:
        `transfer.Result`; its details hold the paired labels and the refit settings.
    """
    settings = settings_from(PhotoSettings, options)
    if (content_seg is None) != (style_seg is None):
        raise ArgumentError("content_seg", "give both segmentations (content_seg and "
                                           "style_seg) or neither")
    content_image = images.as_image(content, "content")
    style_image = images.as_image(style, "style")
    model = settings.feature_model()
    labels = {}

    def style_targets(canvas, styles_at):
        """One target per label of both segmentations (Eq. 3); the whole photo without."""
        if content_seg is None:
            return [losses.style_target(model, styles_at[0], settings.style_layers,
                                        style_loss=settings.style_statistics())]
        regions = masks.pair_regions(content_seg, style_seg, canvas.shape, styles_at[0].shape,
                                     tolerance=settings.map_tolerance,
                                     names=("content_seg", "style_seg"))
        transfer.note_regions_once(progress, labels, regions)
        return losses.region_style_targets(model, styles_at[0], regions,
                                           settings.style_layers,
                                           area_weighted=settings.AREA_WEIGHTED,
                                           style_loss=settings.style_statistics())

    def stages_of(**phase):  # The objective's TV weight follows each stage's size.
        return transfer.run_stages(
            settings, model, content_image, [style_image], style_targets, progress,
            objective=lambda canvas: settings.objective(
                model, tv_weight=settings.tv_weight_at(canvas.shape)),
            content_image=content_image, **phase)

    # Stage 1 without L_m, coarse to fine; stage 2 with it, from stage 1's result (Sec. 4).
    first, sizes = settings.iterations // 2, settings.sizes()
    stages = [] if first == 0 else stages_of(iterations=first, name="stage1")
    if not (stages and stages[-1].result.interrupted):
        content_at = images.resize_longest_side(content_image, sizes[-1])
        laplacian = matting.matting_laplacian(content_at / 255.0, settings.matting_epsilon)
        stages += stages_of(sizes=sizes[-1:], iterations=settings.iterations - first,
                            name="stage2", start=stages[-1].result.image if stages else None,
                            extra_terms={"photo": matting.photorealism_loss(
                                laplacian, settings.photo_weight)})
    image, smooth = stages[-1].result.image, None
    if settings.smooth and not stages[-1].result.interrupted:
        smooth = {"radius": settings.smooth_radius, "epsilon": settings.smooth_epsilon}
        content_at = images.resize(content_image, *image.shape[:2])
        refit = matting.guided_filter(content_at / 255.0, image / 255.0, **smooth)
        image = (255.0 * np.clip(refit, 0.0, 1.0)).astype(np.float32)
    return transfer.Result(image, "photo_style", settings, stages, model.weights_source,
                           {"labels": labels.get("regions", []),
                            "content_only": labels.get("content_only", []),
                            "style_only": labels.get("style_only", []), "smooth": smooth})
