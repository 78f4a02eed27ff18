"""Semantic style transfer by patches, and neural doodles, as library functions.

- `patch_style`: region k of the photograph takes the style of region k of the painting,
  compared region by region through Gram matrices of sub-images (`patch_loss="gram"`) or
  through MRF patches (`"mrf"`: Li & Wand, CVPR 2016, arXiv:1601.04589, with the
  semantic channels of Champandard 2016, arXiv:1603.01768).
- `doodle_2_art`: A. J. Champandard, "Semantic Style Transfer and Turning Two-Bit Doodles
  into Fine Artworks", 2016: no photograph (or, optionally, one), only a doodle, a map
  painted in a few flat colours, which becomes a painting from noise, coarse to fine.

The mechanics are in `patches` (both losses) and `masks` (maps and their pairing).

Defaults, each technique's reference code on the same network (`RECIPES`, one per patch
loss; a setting you give wins):
- gram: the Gatys recipe per region (`transfer.GatysSettings`: α = 1, β = 1e2 at 512 px,
  w_l = 1/N_l²).
- patch_style, mrf: chuanli11/CNNMRF (cnnmrf.lua, mylib/mrf.lua): content weight 2e1 on
  the mean squared error, MRF weight 1e-4 on each of relu3_1 and relu4_1 in CNNMRF's own
  normalisation (`patches`, "overlap"), 3x3 patches every 2 positions, total variation
  1e-3 on jcjohnson's ½ Σ, three resolutions of 100 iterations each, max pooling. The
  content layer is relu4_2 (layer 23), as in the examples of its run_trans.lua, not its
  cnnmrf.lua default relu4_1 (layer 21). The map channels and their weight ω = 1 are ours.
- doodle_2_art, mrf: alexjc/neural-doodle (doodle.py): style weight 25 and content weight
  10 (with a photograph), both on means, semantic weight ω = 10 in its per-position
  matching, every 3x3 patch (step 1), smoothness 1 on the mean of (Δx² + Δy²)^1.25
  (β = 2.5), average pooling, three phases of 100 iterations, from noise.
"""

import dataclasses
import typing

from style_transfer import images, losses, masks, patches, transfer, vgg
from style_transfer.transfer import GatysSettings, RegionSettings
from style_transfer.parameters import (ArgumentError, field_help, override, parameter,
                                       settings_from, takes)

# Each technique's recipes, one per patch loss: the values of its settings that go with
# that loss (`RECIPES`, applied by `settings_from` to every setting the caller does not
# give), and the parts of its objective that are not settings (`LOSS_FORMS`).
# gram: the Gatys recipe per region (`GatysSettings`' defaults and their sources).
GATYS_REGIONS = dict(content_weight=GatysSettings.content_weight,
                     style_weight=GatysSettings.style_weight,
                     style_weight_exponent=GatysSettings.style_weight_exponent,
                     tv_weight=GatysSettings.tv_weight, style_layers=vgg.STYLE_LAYERS,
                     iterations=GatysSettings.iterations, pooling=GatysSettings.pooling)
GATYS_FORM = dict(layer_weights="inverse_square", octaves=1)
# mrf, patch_style: CNNMRF's (module docstring), at every size (style_weight_exponent 0);
# tv_weight None: its total variation, 1e-3 on ½ Σ, whose mean's weight depends on the size.
CNNMRF_TV_ON_HALF_SUM = 1e-3
CNNMRF = dict(content_weight=2e1, style_weight=1e-4, style_weight_exponent=0.0,
              tv_weight=None, style_layers=patches.MRF_LAYERS, iterations=100,
              pooling="max", semantic_weight=1.0, patch_stride=2)
# mrf, doodle_2_art: neural-doodle's (module docstring).
NEURAL_DOODLE = dict(content_weight=10.0, style_weight=25.0, style_weight_exponent=0.0,
                     tv_weight=1.0, style_layers=patches.MRF_LAYERS, iterations=100,
                     pooling="avg", semantic_weight=10.0, patch_stride=1)
MRF_FORM = dict(layer_weights="equal", octaves=3)
_RECIPE_HELP = "; each --patch_loss has its reference's value (semantic.RECIPES)."


def _recipe_field(settings_class, name, default):
    """Field `name` with `default` (the default patch loss's recipe value), its help
    saying that the patch loss chooses it."""
    return override(settings_class, name, default,
                    help=field_help(settings_class, name).rstrip(".") + _RECIPE_HELP)


@dataclasses.dataclass(frozen=True)
class SemanticSettings(RegionSettings):
    """What `patch_style` and `doodle_2_art` share; each subclass's defaults are its
    default patch loss's recipe, and `RECIPES` gives the other loss's."""
    patch_loss: str = parameter(
        "gram", "gram: Gram matrices of each region's sub-image; mrf: nearest-neighbour "
        "patches (Li & Wand 2016) with semantic channels (Champandard 2016).",
        choices=("gram", "mrf"), group="method")
    # None: patch_style's MRF recipe, CNNMRF's 1e-3 on ½ Σ at each size.
    tv_weight: float | None = _recipe_field(GatysSettings, "tv_weight",
                                            GatysSettings.tv_weight)
    semantic_weight: float = parameter(
        1.0, "ω: weight of the map channels in MRF matching (module docstring of "
        "patches)" + _RECIPE_HELP, low=0.0, high=1e6, group="method")
    patch_size: int = parameter(patches.PATCH_SIZE, "k: MRF patch size in feature "
                                "positions (Li & Wand 2016: 3).", low=1, high=16,
                                group="method")
    patch_stride: int = parameter(
        2, "d: step between MRF patches on both images (CNNMRF 2, neural-doodle 1; 1 is "
        "4x the matching work of 2)" + _RECIPE_HELP, low=1, high=16, group="method")

    LOSS_FORMS: typing.ClassVar[dict] = {"gram": GATYS_FORM, "mrf": MRF_FORM}
    MRF_MATCHING: typing.ClassVar[dict] = {}

    def validate(self):
        super().validate()
        if self.patch_loss == "mrf" and self.style_loss != "gram":
            raise ArgumentError("style_loss", f"{self.style_loss} compares statistics of "
                                              f"regions, and patch_loss mrf compares patches; "
                                              f"use patch_loss gram with it")

    def stage_sizes(self, *shapes):
        """The sizes to optimise at: `scales`, or the loss's octaves (size/4, size/2,
        size for three), leaving out those at which an image of `shapes` would be too
        small for one patch (or one position) at the deepest layer."""
        octaves = self.LOSS_FORMS[self.patch_loss]["octaves"]
        if self.scales is not None or octaves == 1:
            return self.sizes()
        patch = self.patch_size if self.patch_loss == "mrf" else 1
        smallest = max([patch * 2 ** vgg.pooling_depth(layer) for layer in self.style_layers]
                       + [2 ** vgg.pooling_depth(layer) for layer in self.content_layers])
        aspect = max(max(shape[:2]) / min(shape[:2]) for shape in shapes)
        return [size for size in (self.size // 2 ** k for k in reversed(range(octaves)))
                if size == self.size or size >= smallest * aspect]

    def objective(self, model, shape):
        """The effective objective at an output of `shape`."""
        form = self.LOSS_FORMS[self.patch_loss]
        tv_weight = self.tv_weight
        if tv_weight is None:  # CNNMRF's total variation, as the weight of the mean.
            tv_weight = CNNMRF_TV_ON_HALF_SUM * losses.half_sum_per_mean(*shape[:2])
        objective = super().objective(model, tv_weight, form["layer_weights"])
        return dataclasses.replace(objective, tv_beta=form.get("tv_beta", 2.0))

    def recipe(self):
        """The MRF recipe: size, stride, ω, and the technique's matching and reduction."""
        return patches.MRFRecipe(size=self.patch_size, stride=self.patch_stride,
                                 semantic_weight=self.semantic_weight, **self.MRF_MATCHING)


@dataclasses.dataclass(frozen=True)
class PatchStyleSettings(SemanticSettings):
    """`patch_style`'s settings: gram (the default), the Gatys recipe per region; mrf,
    CNNMRF's."""
    RECIPES: typing.ClassVar[dict] = {**GatysSettings.RECIPES, "patch_loss": {
        "gram": dict(GATYS_REGIONS, semantic_weight=1.0, patch_stride=2), "mrf": CNNMRF}}
    MRF_MATCHING: typing.ClassVar[dict] = dict(matching="patch", reduction="overlap")


@dataclasses.dataclass(frozen=True)
class DoodleSettings(SemanticSettings):
    """`doodle_2_art`'s settings: mrf (the default), neural-doodle's; gram, the Gatys
    recipe per region."""
    patch_loss: str = override(SemanticSettings, "patch_loss", "mrf")
    init: str = override(GatysSettings, "init", "noise")
    bounds: bool = override(GatysSettings, "bounds", True)  # neural-doodle's L-BFGS-B.
    content_weight: float = _recipe_field(GatysSettings, "content_weight",
                                          NEURAL_DOODLE["content_weight"])
    style_weight: float = _recipe_field(GatysSettings, "style_weight",
                                        NEURAL_DOODLE["style_weight"])
    style_weight_exponent: float = _recipe_field(GatysSettings, "style_weight_exponent",
                                                 NEURAL_DOODLE["style_weight_exponent"])
    tv_weight: float | None = _recipe_field(GatysSettings, "tv_weight",
                                            NEURAL_DOODLE["tv_weight"])
    style_layers: tuple[str, ...] = _recipe_field(GatysSettings, "style_layers",
                                                  NEURAL_DOODLE["style_layers"])
    iterations: int = _recipe_field(GatysSettings, "iterations", NEURAL_DOODLE["iterations"])
    pooling: str = _recipe_field(GatysSettings, "pooling", NEURAL_DOODLE["pooling"])
    semantic_weight: float = override(SemanticSettings, "semantic_weight",
                                      NEURAL_DOODLE["semantic_weight"])
    patch_stride: int = override(SemanticSettings, "patch_stride",
                                 NEURAL_DOODLE["patch_stride"])
    RECIPES: typing.ClassVar[dict] = {**GatysSettings.RECIPES, "patch_loss": {
        "gram": dict(GATYS_REGIONS, semantic_weight=10.0, patch_stride=1),
        "mrf": NEURAL_DOODLE}}
    LOSS_FORMS: typing.ClassVar[dict] = {"gram": GATYS_FORM,
                                         "mrf": dict(MRF_FORM, tv_beta=2.5)}
    MRF_MATCHING: typing.ClassVar[dict] = dict(matching="position", reduction="mean")


def semantic_transfer(technique, settings, canvas_image, content_image, style_image,
                      canvas_map, style_map, progress, map_names=("content_map", "style_map")):
    """Region k of the output from region k of the painting, at each size coarse to fine.

    At each size the maps are read afresh at the image sizes and paired by colour (every
    colour of the output's map must be in the style's), the patch targets computed
    (`patches`), and the optimisation started from the coarser result.

    Args:
        technique: its name, for the result.
        settings: resolved `SemanticSettings`.
        canvas_image: (H, W, 3) fixes the output's shape (the content, or the doodle).
        content_image: (H, W, 3) the photograph to keep, or None (a doodle alone).
        style_image: (H_s, W_s, 3).
        canvas_map, style_map: the two colour-coded maps.
        progress: as `gatys.style_transfer`.
        map_names: the arguments that gave the maps, for errors.

    Returns:
        `transfer.Result`.
    """
    model = settings.feature_model()
    summary = {}

    def style_targets(canvas, styles_at):
        regions = masks.pair_regions(canvas_map, style_map, canvas.shape, styles_at[0].shape,
                                     tolerance=settings.map_tolerance, names=map_names,
                                     require_all=True)
        transfer.note_regions_once(progress, summary, regions)
        if settings.patch_loss == "mrf":  # Li & Wand, Eq. 2; Champandard, Sec. 3.
            return [patches.mrf_target(model, styles_at[0], regions, settings.style_layers,
                                       settings.recipe())]
        # Each region's sub-image Gram matrices.
        return patches.gram_patch_targets(vgg.sub_model(model, settings.style_layers),
                                          styles_at[0], regions, settings.style_layers,
                                          settings.style_statistics())

    def output_model(targets):
        if patches.needs_whole_output(targets):
            return model
        # Sub-images run the style layers themselves: the whole output runs only as deep
        # as the content layers, or not at all.
        has_content = content_image is not None and settings.content_layers
        return vgg.sub_model(model, settings.content_layers) if has_content else None

    stages = transfer.run_stages(
        settings, model, canvas_image, [style_image], style_targets, progress,
        objective=lambda canvas: settings.objective(model, canvas.shape),
        content_image=content_image, output_model=output_model,
        sizes=settings.stage_sizes(canvas_image.shape, style_image.shape))
    return transfer.Result(stages[-1].result.image, technique, settings, stages,
                           model.weights_source, summary)


@takes(PatchStyleSettings)
def patch_style(content, style, content_map, style_map, *, progress="bar", **options):
    """Semantic style transfer by patches: region k of the photograph takes the style of
    region k of the painting (maps paired by colour; every colour of content_map must be
    in style_map).

    Args:
        content, style: the photograph and the painting (paths, PIL images or arrays).
        content_map, style_map: their colour-coded maps.
        progress, **options: as `gatys.style_transfer` (`PatchStyleSettings` fields;
            patch_loss "gram" or "mrf", whose defaults differ: module docstring).

    Returns:
        `transfer.Result`.
    """
    settings = settings_from(PatchStyleSettings, options)
    content_image = images.as_image(content, "content")
    return semantic_transfer("patch_style", settings, content_image, content_image,
                             images.as_image(style, "style"), content_map, style_map,
                             progress)


@takes(DoodleSettings)
def doodle_2_art(doodle, style, style_map, *, content=None, progress="bar", **options):
    """Neural doodles (Champandard 2016): a colour-coded sketch becomes a painting.

    Args:
        doodle: the doodle, a map in the colours of style_map; its shape is the output's.
        style: the painting; style_map: its map.
        content: optionally a photograph whose map the doodle is (kept by a content term).
        progress, **options: as `gatys.style_transfer` (`DoodleSettings` fields).

    Returns:
        `transfer.Result`.
    """
    settings = settings_from(DoodleSettings, options)
    canvas = images.as_image(doodle, "doodle")
    content_image = None if content is None else images.resize(
        images.as_image(content, "content"), *canvas.shape[:2])
    if content_image is None:  # No photograph, no content term.
        settings = dataclasses.replace(settings, content_layers=())
    return semantic_transfer("doodle_2_art", settings, canvas, content_image,
                             images.as_image(style, "style"), doodle, style_map, progress,
                             map_names=("doodle", "style_map"))
